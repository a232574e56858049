// Client-side search over the index table: no library, no network, text only.
(function () {
  "use strict";
  var input = document.getElementById("search");
  var count = document.getElementById("search-count");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#node-table tbody tr"));
  var haystacks = rows.map(function (row) { return (row.getAttribute("data-search") || "").toLowerCase(); });
  function apply() {
    var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var ok = terms.every(function (t) { return haystacks[i].indexOf(t) !== -1; });
      rows[i].hidden = !ok;
      if (ok) shown++;
    }
    count.textContent = terms.length ? shown + " of " + rows.length + " match" : rows.length + " nodes";
  }
  input.addEventListener("input", apply);
  input.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    var first = rows.find(function (row) { return !row.hidden; });
    if (first) window.location.href = first.querySelector("a").getAttribute("href");
  });
  apply();
})();
