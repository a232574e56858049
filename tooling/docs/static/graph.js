// The interactive model graph: dbt's selector syntax, search, focus, paths.
// Rendering, zoom and pan: Cytoscape.js (vendor/cytoscape.min.js, MIT). Layout:
// layered, computed here for whatever is shown, long edges routed through
// reserved slots so that no edge crosses a node box. No network, no inline code.
(function () {
  "use strict";
  var started = performance.now();
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var nodes = data.nodes;
  var n = nodes.length;
  var parents = [], children = [], byId = {};
  var i;
  for (i = 0; i < n; i++) { parents.push([]); children.push([]); byId[nodes[i].id] = i; }
  var edges = [];
  for (i = 0; i < data.edges.length; i += 2) {
    var p = data.edges[i], c = data.edges[i + 1];
    children[p].push(c); parents[c].push(p); edges.push([p, c]);
  }

  function all() { var out = []; for (var k = 0; k < n; k++) out.push(k); return out; }
  var W = 220, H = 30, GAP_X = 90, GAP_Y = 12, SLOT = 4, SLOT_GAP = 4;
  var message = document.getElementById("graph-message");
  function say(text, kind) {
    message.textContent = text;
    message.className = kind ? "graph-message " + kind : "graph-message";
  }

  // ---- selectors, as dbt has them -------------------------------------------
  var METHODS = ["fqn", "tag", "path", "resource_type", "source", "package", "file",
    "exposure", "metric", "semantic_model", "saved_query"];
  var TYPES = ["model", "source", "seed", "snapshot", "exposure", "semantic_model",
    "metric", "saved_query", "analysis", "test", "unit_test", "function"];
  var ATOM = /^(@)?(?:(\d*)\+)?(?:([\w.]+):)?(.*?)(?:\+(\d*))?$/;

  function globRegex(glob, pathLike) {
    var out = "", k = 0;
    while (k < glob.length) {
      var ch = glob[k];
      if (ch === "*") {
        if (pathLike && glob[k + 1] === "*") { out += ".*"; k += 2; if (glob[k] === "/") k++; continue; }
        out += pathLike ? "[^/]*" : ".*";
      } else if (ch === "?") {
        out += pathLike ? "[^/]" : ".";
      } else if (ch === "[") {
        var end = glob.indexOf("]", k + 2);
        if (end === -1) { out += "\\["; } else {
          var body = glob.slice(k + 1, end).replace(/\\/g, "\\\\");
          if (body[0] === "!") body = "^" + body.slice(1);
          out += "[" + body + "]"; k = end;
        }
      } else {
        out += ch.replace(/[.+^${}()|\\\/]/g, "\\$&");
      }
      k++;
    }
    return new RegExp("^" + out + "$");
  }
  function fnmatch(text, glob) { return globRegex(glob, false).test(text); }
  function hasWildcard(text) { return /[*?\[\]]/.test(text); }

  function fqnMatch(fqn, selector) {
    // A name matches the leaf of the fqn; dotted parts match its leading parts,
    // from a wildcard on by pattern; with or without the package name.
    function one(parts) {
      if (!parts.length) return false;
      if (parts[parts.length - 1] === selector) return true;
      var flat = [];
      parts.forEach(function (s) { flat.push.apply(flat, s.split(".")); });
      var sel = selector.split(".");
      if (flat.length < sel.length) return false;
      for (var k = 0; k < sel.length; k++) {
        if (hasWildcard(sel[k])) {
          if (fnmatch(flat.slice(k).join("."), sel.slice(k).join("."))) return true;
          return selector.indexOf(".") === -1 && fnmatch(parts[parts.length - 1], selector);
        }
        if (flat[k] !== sel[k]) return false;
      }
      return true;
    }
    return one(fqn) || one(fqn.slice(1));
  }

  function pathMatch(node, selector) {
    var glob = selector.replace(/\/+$/, "");
    var re = globRegex(glob, true);
    var file = node.path || "";
    if (!file) return false;
    if (re.test(file) || (node.patch && re.test(node.patch))) return true;
    var parts = file.split("/");
    for (var k = parts.length - 1; k > 0; k--) {
      if (re.test(parts.slice(0, k).join("/"))) return true;
    }
    return false;
  }

  function fileMatch(path, value) {  // the file name, or the name without its suffix
    var base = path.split("/").pop();
    return fnmatch(base, value) || fnmatch(base.replace(/\.[^.]*$/, ""), value);
  }

  function methodMatches(method, value) {
    var out = [], k, node;
    if (method === "source") {
      var bits = value.split(".");
      if (bits.length > 3) throw new Error("source:" + value + " must be source, source.table or package.source.table");
      var pkg = bits.length === 3 ? bits[0] : "*";
      var src = bits.length === 3 ? bits[1] : bits[0];
      var table = bits.length === 1 ? "*" : bits[bits.length - 1];
      for (k = 0; k < n; k++) {
        node = nodes[k];
        if (node.type === "source" && fnmatch(node.pkg, pkg) && fnmatch(node.src, src) && fnmatch(node.name, table)) out.push(k);
      }
      return out;
    }
    if (method === "resource_type" && TYPES.indexOf(value) === -1) {
      throw new Error("'" + value + "' is not a resource type (" + TYPES.join(", ") + ")");
    }
    for (k = 0; k < n; k++) {
      node = nodes[k];
      var ok = false;
      if (method === "fqn") ok = node.type !== "source" && fqnMatch(node.fqn, value);
      else if (method === "tag") ok = node.tags.some(function (t) { return fnmatch(t, value); });
      else if (method === "path") ok = pathMatch(node, value);
      else if (method === "file") ok = !!node.path && fileMatch(node.path, value);
      else if (method === "resource_type") ok = node.type === value;
      else if (method === "package") ok = fnmatch(node.pkg, value);
      else ok = node.type === method && fnmatch(node.name, value);
      if (ok) out.push(k);
    }
    return out;
  }

  function walk(start, adjacency, depth) {
    var seen = {}, frontier = start.slice(), level = 0, out = [];
    start.forEach(function (k) { seen[k] = true; out.push(k); });
    while (frontier.length && (depth === null || level < depth)) {
      var next = [];
      frontier.forEach(function (k) {
        adjacency[k].forEach(function (m) { if (!seen[m]) { seen[m] = true; next.push(m); out.push(m); } });
      });
      frontier = next; level++;
    }
    return out;
  }

  function atom(text) {
    var m = ATOM.exec(text);
    if (!m || !m[4]) throw new Error("'" + text + "' is not a selector (e.g. +my_model, my_model+2, tag:nightly)");
    if (m[1] && m[2] !== undefined) throw new Error("'" + text + "': @ and a leading + cannot be combined");
    if (/\+/.test(m[4])) throw new Error("'" + text + "': a + belongs at the start or the end");
    var method = m[3];
    var value = m[4];
    if (!method) {
      method = value.indexOf("/") !== -1 ? "path"
        : /\.(sql|py|csv)$/i.test(value) ? "file" : "fqn";
    } else if (METHODS.indexOf(method.split(".")[0]) === -1) {
      throw new Error("'" + method + "' is not a selector method this page knows (" + METHODS.join(", ") + ")");
    }
    var found = methodMatches(method.split(".")[0], value);
    var result = found.slice();
    if (m[1]) {
      var down = walk(found, children, null);
      result = walk(down, parents, null);
    } else {
      if (m[2] !== undefined) result = result.concat(walk(found, parents, m[2] === "" ? null : +m[2]));
      if (m[5] !== undefined) result = result.concat(walk(found, children, m[5] === "" ? null : +m[5]));
    }
    return result;
  }

  // Spaces: union; commas: intersection (dbt's --select).
  function select(text) {
    var terms = text.trim().split(/\s+/).filter(Boolean);
    if (!terms.length) throw new Error("empty selector");
    var union = {};
    terms.forEach(function (term) {
      var parts = term.split(",");
      if (parts.some(function (s) { return !s; })) throw new Error("'" + term + "': empty part around a comma");
      var counts = {};
      parts.forEach(function (part) {
        var seen = {};
        atom(part).forEach(function (k) { if (!seen[k]) { seen[k] = true; counts[k] = (counts[k] || 0) + 1; } });
      });
      Object.keys(counts).forEach(function (k) { if (counts[k] === parts.length) union[k] = true; });
    });
    return Object.keys(union).map(Number);
  }

  // ---- layered layout -------------------------------------------------------
  function layout(members) {
    var keep = new Uint8Array(n);
    members.forEach(function (k) { keep[k] = 1; });
    var indeg = new Int32Array(n), layer = new Int32Array(n).fill(-1), queue = [], order = [];
    members.forEach(function (k) {
      indeg[k] = parents[k].filter(function (p) { return keep[p]; }).length;
      if (!indeg[k]) queue.push(k);
    });
    for (var q = 0; q < queue.length; q++) {
      var k = queue[q];
      order.push(k);
      children[k].forEach(function (c) { if (keep[c] && --indeg[c] === 0) queue.push(c); });
    }
    var ordered = new Uint8Array(n);
    order.forEach(function (k) { ordered[k] = 1; });
    members.forEach(function (k) { if (!ordered[k]) order.push(k); });  // cycles, if any
    order.forEach(function (k) {
      var best = -1;
      parents[k].forEach(function (p) { if (keep[p] && layer[p] > best) best = layer[p]; });
      layer[k] = best + 1;
    });
    // Vertices: real nodes, then one dummy per layer a long edge passes through.
    var vl = [], up = [], down = [], real = [], chains = [];
    var vid = new Int32Array(n).fill(-1);
    order.forEach(function (k) { vid[k] = vl.length; vl.push(layer[k]); up.push([]); down.push([]); real.push(k); });
    edges.forEach(function (e, ei) {
      var p = e[0], c = e[1];
      if (!keep[p] || !keep[c]) return;
      if (layer[c] <= layer[p]) return;  // a cycle: not drawn
      var prev = vid[p], chain = [];
      for (var L = layer[p] + 1; L < layer[c]; L++) {
        var d = vl.length;
        vl.push(L); up.push([prev]); down.push([]); real.push(-1);
        down[prev].push(d); prev = d; chain.push(d);
      }
      down[prev].push(vid[c]); up[vid[c]].push(prev);
      chains.push([ei, chain]);
    });
    var layers = [];
    for (var v = 0; v < vl.length; v++) {
      (layers[vl[v]] = layers[vl[v]] || []).push(v);
    }
    var pos = new Float64Array(vl.length);
    layers.forEach(function (ids) {
      ids.sort(function (a, b) {
        var ra = real[a] >= 0, rb = real[b] >= 0;
        if (ra && rb) return nodes[real[a]].label < nodes[real[b]].label ? -1 : 1;
        return ra === rb ? a - b : (ra ? -1 : 1);
      });
      ids.forEach(function (x, idx) { pos[x] = idx; });
    });
    function sweep(ids, nbrs) {
      var key = new Float64Array(vl.length);
      ids.forEach(function (x) {
        var list = nbrs[x];
        if (!list.length) { key[x] = pos[x]; return; }
        var s = 0;
        list.forEach(function (y) { s += pos[y]; });
        key[x] = s / list.length;
      });
      ids.sort(function (a, b) { return key[a] - key[b] || pos[a] - pos[b]; });
      ids.forEach(function (x, idx) { pos[x] = idx; });
    }
    for (var it = 0; it < 4; it++) {
      for (var L1 = 1; L1 < layers.length; L1++) sweep(layers[L1], up);
      for (var L2 = layers.length - 2; L2 >= 0; L2--) sweep(layers[L2], down);
    }
    // Coordinates: boxes and slots stacked per layer, layers centred vertically.
    var vy = new Float64Array(vl.length), heights = [];
    layers.forEach(function (ids, L) {
      var y = 0;
      ids.forEach(function (x) {
        var tall = real[x] >= 0 ? H : SLOT;
        vy[x] = y + tall / 2;
        y += tall + (real[x] >= 0 ? GAP_Y : SLOT_GAP);
      });
      heights[L] = y;
    });
    var tallest = Math.max.apply(null, heights.concat([0]));
    layers.forEach(function (ids, L) {
      var shift = (tallest - heights[L]) / 2;
      ids.forEach(function (x) { vy[x] += shift; });
    });
    var centre = {}, bends = {};
    order.forEach(function (k) { centre[k] = [layer[k] * (W + GAP_X) + W / 2, vy[vid[k]]]; });
    chains.forEach(function (item) {
      var pts = [];
      item[1].forEach(function (d) {
        var x0 = vl[d] * (W + GAP_X);
        pts.push([x0 - 3, vy[d]], [x0 + W + 3, vy[d]]);
      });
      bends[item[0]] = pts;
    });
    return { centre: centre, bends: bends };
  }

  // ---- rendering ------------------------------------------------------------
  var MAX_LABEL = 30;
  function shortLabel(text) { return text.length <= MAX_LABEL ? text : text.slice(0, MAX_LABEL - 1) + "…"; }
  // Where the boxes go and, for each drawn edge, its bend points as Cytoscape's
  // segment weights and distances (relative to the line between its endpoints).
  function geometry(members) {
    var placed = layout(members);
    var keep = new Uint8Array(n);
    members.forEach(function (k) { keep[k] = 1; });
    var bends = {};
    edges.forEach(function (e, ei) {
      if (!keep[e[0]] || !keep[e[1]] || !(ei in placed.bends)) return;
      var pts = placed.bends[ei];
      if (!pts.length) { bends[ei] = null; return; }
      var a = [placed.centre[e[0]][0] + W / 2, placed.centre[e[0]][1]];
      var b = [placed.centre[e[1]][0] - W / 2, placed.centre[e[1]][1]];
      var vx = b[0] - a[0], vy = b[1] - a[1], len2 = vx * vx + vy * vy, len = Math.sqrt(len2);
      var ws = [], ds = [];
      pts.forEach(function (pt) {
        var px = pt[0] - a[0], py = pt[1] - a[1];
        ws.push(((px * vx + py * vy) / len2).toFixed(5));
        ds.push(((px * -vy + py * vx) / len).toFixed(2));
      });
      bends[ei] = { w: ws.join(" "), d: ds.join(" ") };
    });
    return { keep: keep, centre: placed.centre, bends: bends };
  }

  var tInit = performance.now();
  var first = geometry(all());
  var layoutMs = performance.now() - tInit;
  var elements = [];
  nodes.forEach(function (node, k) {
    elements.push({ group: "nodes", data: { id: "n" + k, label: shortLabel(node.label), k: k },
      classes: node.type, position: { x: first.centre[k][0], y: first.centre[k][1] } });
  });
  edges.forEach(function (e, ei) {
    var bend = first.bends[ei];
    elements.push({ group: "edges",
      data: { id: "e" + ei, source: "n" + e[0], target: "n" + e[1], w: bend ? bend.w : "", d: bend ? bend.d : "" },
      classes: bend ? "bent" : (ei in first.bends ? "" : "hidden") });
  });
  var cy = cytoscape({
    container: document.getElementById("cy"),
    elements: elements,
    layout: { name: "preset" },
    minZoom: 0.02,
    maxZoom: 4,
    pixelRatio: 1,
    textureOnViewport: n > 800,
    hideEdgesOnViewport: n > 800,
    boxSelectionEnabled: false,
    autoungrabify: true,
    style: [
      { selector: "node", style: {
        shape: "round-rectangle", width: W, height: H, "background-color": "#eef3ff",
        "border-width": 1, "border-color": "#7c8aa8", label: "data(label)", "font-size": 12,
        "text-valign": "center", "text-halign": "center", "min-zoomed-font-size": 5, color: "#1d2330" } },
      { selector: "node.source", style: { "background-color": "#ecf9ef" } },
      { selector: "node.seed", style: { "background-color": "#fff6e3" } },
      { selector: "node.snapshot", style: { "background-color": "#f6edff" } },
      { selector: "node.exposure", style: { "background-color": "#ffecec" } },
      { selector: "node.semantic_model", style: { "background-color": "#e9f8fa" } },
      { selector: "node.metric", style: { "background-color": "#fdeef7" } },
      { selector: "node.saved_query", style: { "background-color": "#f2f2f2" } },
      { selector: "node.match", style: { "border-color": "#2957c5", "border-width": 3 } },
      { selector: "node.focus", style: { "border-color": "#d08a00", "border-width": 3 } },
      { selector: "node.path", style: { "background-color": "#ffe8a3", "border-color": "#b07d00", "border-width": 2 } },
      { selector: "node.hidden, edge.hidden", style: { display: "none" } },
      { selector: "edge", style: {
        width: 1.2, "line-color": "#9aa3b5", "curve-style": "straight",
        "target-arrow-shape": "triangle", "target-arrow-color": "#9aa3b5", "arrow-scale": 0.7,
        // In pixels from the centre, exactly where geometry() starts and ends them.
        "source-endpoint": W / 2 + "px 0px", "target-endpoint": -W / 2 + "px 0px" } },
      { selector: "edge.bent", style: {
        "curve-style": "segments", "edge-distances": "endpoints",
        "segment-weights": "data(w)", "segment-distances": "data(d)", "segment-radii": 0 } },
      { selector: "edge.path", style: { "line-color": "#b07d00", "target-arrow-color": "#b07d00", width: 3 } }
    ]
  });
  var initMs = performance.now() - tInit;
  var nodeEls = [], edgeEls = [];
  var nodeShown = new Uint8Array(n).fill(1), edgeShown = new Uint8Array(edges.length);
  for (i = 0; i < n; i++) nodeEls.push(cy.getElementById("n" + i));
  for (i = 0; i < edges.length; i++) {
    edgeEls.push(cy.getElementById("e" + i));
    edgeShown[i] = i in first.bends ? 1 : 0;
  }

  var shown = all();
  function show(members, options) {
    var t0 = performance.now();
    options = options || {};
    var placed = geometry(members);
    var t1 = performance.now();
    var keep = placed.keep;
    var hide = [], unhide = [], bent = [], straight = [];
    cy.batch(function () {
      cy.elements(".path, .match, .focus").removeClass("path match focus");
      for (var k = 0; k < n; k++) {
        if (!keep[k] && !nodeShown[k]) continue;
        var node = nodeEls[k];
        if (keep[k]) {
          if (!nodeShown[k]) unhide.push(node);
          node.position({ x: placed.centre[k][0], y: placed.centre[k][1] });
        } else {
          hide.push(node);
        }
        nodeShown[k] = keep[k];
      }
      for (var ei = 0; ei < edges.length; ei++) {
        var want = ei in placed.bends;
        if (!want && !edgeShown[ei]) continue;
        var edge = edgeEls[ei];
        if (!want) { hide.push(edge); edgeShown[ei] = 0; continue; }
        if (!edgeShown[ei]) unhide.push(edge);
        edgeShown[ei] = 1;
        var bend = placed.bends[ei];
        if (bend) { edge.data({ w: bend.w, d: bend.d }); bent.push(edge); } else { straight.push(edge); }
      }
      cy.collection(hide).addClass("hidden");
      cy.collection(unhide).removeClass("hidden");
      cy.collection(bent).addClass("bent");
      cy.collection(straight).removeClass("bent");
      (options.highlight || []).forEach(function (k) { nodeEls[k].addClass("path"); });
      (options.highlightEdges || []).forEach(function (ei) { edgeEls[ei].addClass("path"); });
      if (options.focus !== undefined) nodeEls[options.focus].addClass("focus");
    });
    shown = members.slice();
    var t2 = performance.now();
    fit(members);
    api.lastFitMs = performance.now() - t2;
    api.lastApplyMs = performance.now() - t0;
    api.lastLayoutMs = t1 - t0;
  }
  function fit(members) {
    cy.fit(members ? cy.collection(members.map(function (k) { return nodeEls[k]; })) : cy.nodes(), 30);
    if (cy.zoom() < 0.05) cy.zoom(0.05);
  }

  // ---- controls -------------------------------------------------------------
  var form = document.getElementById("graph-controls");
  var selector = document.getElementById("selector");
  var levels = document.getElementById("levels");
  var search = document.getElementById("graph-search");
  var info = document.getElementById("graph-info");

  function applySelector(text) {
    var t0 = performance.now();
    var found;
    try {
      found = select(text);
      api.lastMatchMs = performance.now() - t0;
    } catch (err) {
      say("selector error: " + err.message, "error");
      return null;
    }
    if (!found.length) {
      say("nothing matches " + text.trim(), "empty");
      return found;
    }
    show(found);
    api.lastSelectMs = performance.now() - t0;
    say(found.length + " of " + n + " nodes match " + text.trim());
    return found;
  }
  function depth() {
    var value = parseInt(levels.value, 10);
    return isNaN(value) || value < 0 ? 2 : value;
  }
  function focus(k) {
    var lv = depth();
    var members = walk([k], parents, lv).concat(walk([k], children, lv));
    var unique = Object.keys(members.reduce(function (acc, m) { acc[m] = 1; return acc; }, {})).map(Number);
    show(unique, { focus: k });
    selector.value = lv + "+" + nodes[k].name + "+" + lv;
    describe(k);
    say(nodes[k].label + ": " + lv + " levels up and down, " + unique.length + " nodes");
  }
  function describe(k) {
    var node = nodes[k];
    info.textContent = "";
    var title = document.createElement("strong");
    title.textContent = node.label + " (" + node.type + ")";
    var link = document.createElement("a");
    link.href = node.href; link.textContent = "open its page"; link.id = "graph-open";
    info.appendChild(title); info.appendChild(document.createTextNode(" · ")); info.appendChild(link);
    info.hidden = false;
  }
  function find(text) {
    var wanted = text.trim();
    if (wanted in byId) return byId[wanted];
    for (var k = 0; k < n; k++) if (nodes[k].label === wanted || nodes[k].name === wanted) return k;
    return -1;
  }
  function highlightPath(fromText, toText) {
    var a = find(fromText), b = find(toText);
    if (a < 0 || b < 0) { say("no node named " + (a < 0 ? fromText : toText), "error"); return null; }
    var down = walk([a], children, null), up = walk([b], parents, null);
    var onA = {}; down.forEach(function (k) { onA[k] = true; });
    var path = up.filter(function (k) { return onA[k]; });
    if (!path.length) {
      down = walk([b], children, null); up = walk([a], parents, null);
      onA = {}; down.forEach(function (k) { onA[k] = true; });
      path = up.filter(function (k) { return onA[k]; });
    }
    if (!path.length) { say("no path between " + nodes[a].label + " and " + nodes[b].label, "empty"); return []; }
    var inPath = {}; path.forEach(function (k) { inPath[k] = true; });
    var pathEdges = [];
    edges.forEach(function (e, ei) { if (inPath[e[0]] && inPath[e[1]]) pathEdges.push(ei); });
    var members = shown.filter(function (k) { return !inPath[k]; }).concat(path);
    show(members, { highlight: path, highlightEdges: pathEdges });
    say("path from " + nodes[a].label + " to " + nodes[b].label + ": " + path.length + " nodes");
    return path;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (selector.value.trim()) applySelector(selector.value);
    else { show(all()); say(n + " nodes"); }
  });
  document.getElementById("reset").addEventListener("click", function () {
    selector.value = ""; show(all()); info.hidden = true; say(n + " nodes");
  });
  document.getElementById("path-form").addEventListener("submit", function (event) {
    event.preventDefault();
    highlightPath(document.getElementById("path-from").value, document.getElementById("path-to").value);
  });
  search.addEventListener("input", function () {
    var text = search.value.trim().toLowerCase();
    cy.batch(function () {
      cy.nodes().removeClass("match");
      if (!text) return;
      cy.nodes(":visible").forEach(function (node) {
        if (nodes[node.data("k")].label.toLowerCase().indexOf(text) !== -1) node.addClass("match");
      });
    });
    var hits = cy.nodes(".match");
    say(text ? hits.length + " shown nodes match '" + search.value.trim() + "'" : shown.length + " nodes");
  });
  search.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    event.preventDefault();
    var hit = cy.nodes(".match").first();
    if (hit.length) { cy.zoom(1); cy.center(hit); describe(hit.data("k")); }
  });
  cy.on("tap", "node", function (event) { focus(event.target.data("k")); });

  var api = {
    ready: false,
    select: applySelector,
    focus: focus,
    path: highlightPath,
    visible: function () { return cy.nodes(":visible").map(function (x) { return nodes[x.data("k")].id; }); },
    highlighted: function () { return cy.nodes(".path").map(function (x) { return nodes[x.data("k")].id; }); },
    focused: function () { return cy.nodes(".focus").map(function (x) { return nodes[x.data("k")].id; }); },
    // Model coordinates of every shown box and of every shown edge's polyline.
    boxes: function () {
      return cy.nodes(":visible").map(function (x) {
        var p = x.position();
        return { id: nodes[x.data("k")].id, x1: p.x - W / 2, y1: p.y - H / 2, x2: p.x + W / 2, y2: p.y + H / 2 };
      });
    },
    polylines: function () {
      return cy.edges(":visible").map(function (e) {
        var pts = [e.sourceEndpoint()];
        var seg = e.segmentPoints() || [];
        if (e.hasClass("bent")) pts = pts.concat(seg);
        pts.push(e.targetEndpoint());
        return { source: nodes[e.source().data("k")].id, target: nodes[e.target().data("k")].id, points: pts };
      });
    },
    renderedCentre: function (id) {
      var node = cy.getElementById("n" + byId[id]);
      var p = node.renderedPosition(), box = cy.container().getBoundingClientRect();
      return { x: box.left + p.x, y: box.top + p.y };
    },
    zoomTo: function (id) { var node = cy.getElementById("n" + byId[id]); cy.zoom(1); cy.center(node); },
    lastSelectMs: null,
    initMs: initMs,
    layoutMs: layoutMs,
    lastApplyMs: null
  };
  window.lineageGraph = api;

  var hash = decodeURIComponent((location.hash || "").replace(/^#select=/, ""));
  if (location.hash.indexOf("#select=") === 0 && hash) {
    selector.value = hash;
    if (!applySelector(hash)) show(all());
  } else {
    fit();
    say(n + " nodes, " + edges.length + " edges: type a selector, click a node to focus it");
  }
  cy.one("render", function () {
    api.ready = true;
    api.readyMs = performance.now() - started;
  });
  cy.forceRender();
})();
