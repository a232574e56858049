// The column graph on a model page: click a column (in the table or the graph)
// to highlight the columns it derives from and those derived from it, with the
// kind of each transformation. Cytoscape.js draws it; no inline code.
(function () {
  "use strict";
  var block = document.getElementById("column-data");
  if (!block) return;
  var data = JSON.parse(block.textContent);
  var nodes = data.nodes, n = nodes.length;
  var up = [], down = [], k;
  for (k = 0; k < n; k++) { up.push([]); down.push([]); }
  data.edges.forEach(function (e) { down[e[0]].push(e[1]); up[e[1]].push(e[0]); });
  var W = 230, H = 26, GAP_X = 80, GAP_Y = 8;
  var rows = {}, elements = [];
  nodes.forEach(function (c, i) {
    var row = rows[c.level] = (rows[c.level] || 0) + 1;
    var label = c.model + "." + c.column + (c.kind && c.level !== 0 ? " (" + c.kind + ")" : "");
    elements.push({ group: "nodes", data: { id: "c" + i, i: i, label: label.length > 36 ? label.slice(0, 35) + "…" : label },
      classes: (c.level === 0 ? "own " : "") + (c.status || ""),
      position: { x: c.level * (W + GAP_X), y: row * (H + GAP_Y) } });
  });
  data.edges.forEach(function (e, j) {
    elements.push({ group: "edges", data: { id: "l" + j, source: "c" + e[0], target: "c" + e[1], kind: nodes[e[1]].kind || "" } });
  });
  var cy = cytoscape({
    container: document.getElementById("column-graph"),
    elements: elements,
    layout: { name: "preset" },
    autoungrabify: true,
    boxSelectionEnabled: false,
    minZoom: 0.05,
    maxZoom: 3,
    style: [
      { selector: "node", style: { shape: "round-rectangle", width: W, height: H, label: "data(label)",
        "font-size": 11, "text-valign": "center", "text-halign": "center", "background-color": "#f4f6fb",
        "border-width": 1, "border-color": "#9aa3b5" } },
      { selector: "node.own", style: { "background-color": "#eef3ff", "border-color": "#2957c5" } },
      { selector: "node.unknown", style: { "border-style": "dashed", "border-color": "#8a5a00" } },
      { selector: "node.picked", style: { "background-color": "#ffe8a3", "border-color": "#b07d00", "border-width": 3 } },
      { selector: "node.up", style: { "background-color": "#dff5e4", "border-color": "#2f7a43", "border-width": 2 } },
      { selector: "node.down", style: { "background-color": "#fde5f3", "border-color": "#9a2f6b", "border-width": 2 } },
      { selector: "node.faded, edge.faded", style: { opacity: 0.25 } },
      { selector: "edge", style: { width: 1, "line-color": "#b5bccb", "curve-style": "bezier",
        "target-arrow-shape": "triangle", "target-arrow-color": "#b5bccb", "arrow-scale": 0.7 } },
      { selector: "edge.lit", style: { width: 2.5, "line-color": "#b07d00", "target-arrow-color": "#b07d00",
        label: "data(kind)", "font-size": 10, "text-background-color": "#fff", "text-background-opacity": 1 } }
    ]
  });
  cy.fit(undefined, 20);

  function closure(start, adjacency) {
    var seen = {}, stack = [start], out = [];
    while (stack.length) {
      var x = stack.pop();
      adjacency[x].forEach(function (y) { if (!seen[y]) { seen[y] = true; out.push(y); stack.push(y); } });
    }
    return out;
  }
  var info = document.getElementById("column-info");
  function describe(list, title) {
    var li = document.createElement("li");
    li.textContent = title + ": " + (list.length ? list.map(function (i) {
      var c = nodes[i];
      return c.model + "." + c.column + (c.kind ? " (" + c.kind + ")" : "");
    }).join(", ") : "none");
    info.appendChild(li);
  }
  function pick(column) {
    var start = -1;
    for (var i = 0; i < n; i++) if (nodes[i].level === 0 && nodes[i].column.toLowerCase() === column.toLowerCase()) start = i;
    if (start < 0) return null;
    var ups = closure(start, up), downs = closure(start, down);
    var side = {};  // 1: upstream (or the column), 2: downstream (or the column)
    side[start] = 3;
    ups.forEach(function (i) { side[i] = 1; });
    downs.forEach(function (i) { side[i] = 2; });
    cy.batch(function () {
      cy.elements().removeClass("picked up down lit faded");
      cy.nodes().forEach(function (node) {
        var i = node.data("i");
        if (i === start) node.addClass("picked");
        else if (side[i] === 1) node.addClass("up");
        else if (side[i] === 2) node.addClass("down");
        else node.addClass("faded");
      });
      cy.edges().forEach(function (edge) {
        var a = edge.source().data("i"), b = edge.target().data("i");
        edge.addClass((side[a] || 0) & (side[b] || 0) ? "lit" : "faded");
      });
    });
    info.textContent = "";
    var title = document.createElement("li");
    title.textContent = "column " + nodes[start].column;
    info.appendChild(title);
    describe(ups, "derives from");
    describe(downs, "feeds");
    var result = { up: ups.map(function (i) { return nodes[i].id; }), down: downs.map(function (i) { return nodes[i].id; }) };
    api.picked = result;
    return result;
  }
  cy.on("tap", "node", function (event) {
    var c = nodes[event.target.data("i")];
    if (c.level === 0) pick(c.column);
    else if (c.href) window.location.href = c.href;
  });
  Array.prototype.forEach.call(document.querySelectorAll("#columns tbody tr[data-column]"), function (row) {
    var name = row.querySelector(".col-name code");
    if (!name) return;
    name.classList.add("pickable");
    name.setAttribute("tabindex", "0");
    name.addEventListener("click", function () { pick(row.getAttribute("data-column")); });
    name.addEventListener("keydown", function (event) { if (event.key === "Enter") pick(row.getAttribute("data-column")); });
  });
  var api = { ready: true, pick: pick, picked: null, size: n };
  window.columnGraph = api;
})();
