// The interactive model graph: dbt's selector syntax, search, focus, paths.
// Zoom, pan and taps: Cytoscape.js (vendor/cytoscape.min.js, MIT), which also
// draws views of up to CY_LIMIT nodes; larger ones (the whole graph at load) are
// drawn on one canvas under it (see "views" below). Layout: layered, computed here
// for whatever is shown, long edges routed through reserved slots so that no edge
// crosses a node box. No network, no inline code.
(function () {
  "use strict";
  var started = performance.now();
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  // The block is column-wise with small tables (graph_page.py): one object per node here.
  var nodes = data.id.map(function (id, k) {
    var name = data.name[k], prefix = data.fqn[k], patch = data.patch[k];
    return {
      id: id, name: name, label: data.label[k] || name, type: data.types[data.type[k]],
      fqn: prefix < 0 ? data.fqn_full[k] : data.prefixes[prefix].concat([name]),
      tags: data.tags[k] || [], path: data.path[k] || null,
      patch: patch < 0 ? null : data.patches[patch], pkg: data.pkgs[data.pkg[k]],
      src: data.src[k] || "", href: data.href[k] || "nodes/" + id.replace(/[^A-Za-z0-9_.-]/g, "_") + ".html"
    };
  });
  var tParsed = performance.now();
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

  // ---- views ----------------------------------------------------------------
  // Cytoscape costs about a millisecond per element on a loaded 2-core machine
  // (style, bounds, drawing: 3-6 s for the 4,158 elements of a 2,002-node
  // project), so it holds only views of at most CY_LIMIT nodes. Larger views,
  // the whole graph at load among them, are drawn from the same geometry on one
  // canvas under Cytoscape's (empty) layer: Cytoscape's viewport, zoom, pan and
  // taps drive both, so every control works the same in either mode.
  var CY_LIMIT = 250;
  var MAX_LABEL = 30, LABEL_ZOOM = 5 / 12;  // labels from 5 px on, as min-zoomed-font-size
  var FILL = { model: "#eef3ff", source: "#ecf9ef", seed: "#fff6e3", snapshot: "#f6edff",
    exposure: "#ffecec", semantic_model: "#e9f8fa", metric: "#fdeef7", saved_query: "#f2f2f2" };
  var BORDER = "#7c8aa8", EDGE = "#9aa3b5", TEXT = "#1d2330", PATH_FILL = "#ffe8a3", PATH = "#b07d00",
    MATCH = "#2957c5", FOCUS = "#d08a00", FONT = "Helvetica Neue, Helvetica, sans-serif";
  function shortLabel(text) { return text.length <= MAX_LABEL ? text : text.slice(0, MAX_LABEL - 1) + "…"; }

  // What a view shows and where: boxes' centres, and each drawn edge's polyline
  // (model coordinates, from the right side of its parent's box through its
  // reserved slots to the left side of its child's).
  function geometry(members) {
    var placed = layout(members);
    var keep = new Uint8Array(n);
    members.forEach(function (k) { keep[k] = 1; });
    var drawn = [], lines = {};
    edges.forEach(function (e, ei) {
      if (!keep[e[0]] || !keep[e[1]] || !(ei in placed.bends)) return;
      var a = placed.centre[e[0]], b = placed.centre[e[1]];
      lines[ei] = [[a[0] + W / 2, a[1]]].concat(placed.bends[ei], [[b[0] - W / 2, b[1]]]);
      drawn.push(ei);
    });
    return { members: members.slice(), keep: keep, centre: placed.centre, drawn: drawn, lines: lines };
  }
  var everything = null;  // the geometry of the whole graph, computed once
  function geometryOf(members) {
    if (members.length !== n) return geometry(members);
    if (!everything) everything = geometry(members);
    return everything;
  }
  // An edge's bend points as Cytoscape's segment weights and distances (relative
  // to the line between its endpoints).
  function segments(line) {
    var a = line[0], b = line[line.length - 1];
    var vx = b[0] - a[0], vy = b[1] - a[1], len2 = vx * vx + vy * vy, len = Math.sqrt(len2);
    var ws = [], ds = [];
    for (var j = 1; j + 1 < line.length; j++) {
      var px = line[j][0] - a[0], py = line[j][1] - a[1];
      ws.push(((px * vx + py * vy) / len2).toFixed(5));
      ds.push(((px * -vy + py * vx) / len).toFixed(2));
    }
    return { w: ws.join(" "), d: ds.join(" ") };
  }

  var container = document.getElementById("cy");
  var canvas = document.createElement("canvas");
  canvas.className = "cy-overview";
  canvas.setAttribute("aria-hidden", "true");
  container.appendChild(canvas);  // before Cytoscape's layer, so under it
  var ctx = canvas.getContext("2d");
  var cy = cytoscape({
    container: container,
    elements: [],
    layout: { name: "preset", fit: false },
    minZoom: 0.02,
    maxZoom: 4,
    pixelRatio: 1,
    boxSelectionEnabled: false,
    autoungrabify: true,
    style: [
      { selector: "node", style: {
        shape: "round-rectangle", width: W, height: H, "background-color": FILL.model,
        "border-width": 1, "border-color": BORDER, label: "data(label)", "font-size": 12,
        "text-valign": "center", "text-halign": "center", "min-zoomed-font-size": 5, color: TEXT } },
      { selector: "node.source", style: { "background-color": FILL.source } },
      { selector: "node.seed", style: { "background-color": FILL.seed } },
      { selector: "node.snapshot", style: { "background-color": FILL.snapshot } },
      { selector: "node.exposure", style: { "background-color": FILL.exposure } },
      { selector: "node.semantic_model", style: { "background-color": FILL.semantic_model } },
      { selector: "node.metric", style: { "background-color": FILL.metric } },
      { selector: "node.saved_query", style: { "background-color": FILL.saved_query } },
      { selector: "node.match", style: { "border-color": MATCH, "border-width": 3 } },
      { selector: "node.focus", style: { "border-color": FOCUS, "border-width": 3 } },
      { selector: "node.path", style: { "background-color": PATH_FILL, "border-color": PATH, "border-width": 2 } },
      { selector: "edge", style: {
        width: 1.2, "line-color": EDGE, "curve-style": "straight",
        "target-arrow-shape": "triangle", "target-arrow-color": EDGE, "arrow-scale": 0.7,
        // In pixels from the centre, exactly where geometry() starts and ends them.
        "source-endpoint": W / 2 + "px 0px", "target-endpoint": -W / 2 + "px 0px" } },
      { selector: "edge.bent", style: {
        "curve-style": "segments", "edge-distances": "endpoints",
        "segment-weights": "data(w)", "segment-distances": "data(d)", "segment-radii": 0 } },
      { selector: "edge.path", style: { "line-color": PATH, "target-arrow-color": PATH, width: 3 } }
    ]
  });
  var tCy = performance.now();

  // The view on screen: its geometry, mode and highlights.
  var view = null;
  var matched = new Uint8Array(n), pathNodes = new Uint8Array(n), pathEdges = {}, focused = -1;
  var drawQueued = false;
  function onCanvas() { return view.mode === "canvas"; }
  function nodeClasses(k) {
    return nodes[k].type + (matched[k] ? " match" : "") + (pathNodes[k] ? " path" : "") +
      (k === focused ? " focus" : "");
  }
  function fillCytoscape() {
    var els = [];
    view.members.forEach(function (k) {
      els.push({ group: "nodes", data: { id: "n" + k, label: shortLabel(nodes[k].label), k: k },
        classes: nodeClasses(k), position: { x: view.centre[k][0], y: view.centre[k][1] } });
    });
    view.drawn.forEach(function (ei) {
      var line = view.lines[ei], seg = line.length > 2 ? segments(line) : null;
      els.push({ group: "edges",
        data: { id: "e" + ei, source: "n" + edges[ei][0], target: "n" + edges[ei][1], w: seg ? seg.w : "", d: seg ? seg.d : "" },
        classes: (seg ? "bent" : "") + (pathEdges[ei] ? " path" : "") });
    });
    cy.batch(function () {
      cy.elements().remove();
      cy.add(els);
    });
  }
  function show(members, options) {
    var t0 = performance.now();
    options = options || {};
    var next = geometryOf(members);
    var t1 = performance.now();
    pathNodes = new Uint8Array(n); pathEdges = {};
    (options.highlight || []).forEach(function (k) { pathNodes[k] = 1; });
    (options.highlightEdges || []).forEach(function (ei) { pathEdges[ei] = true; });
    focused = options.focus === undefined ? -1 : options.focus;
    matched = new Uint8Array(n);
    search.value = "";
    view = next;
    view.mode = members.length > CY_LIMIT ? "canvas" : "cytoscape";
    if (onCanvas()) {
      if (cy.elements().length) cy.elements().remove();
      canvas.hidden = false;
    } else {
      canvas.hidden = true;
      fillCytoscape();
    }
    shown = view.members;
    var t2 = performance.now();
    fit(members);
    redraw();
    api.lastShownAt = null;
    afterFrame(function () { api.lastShownAt = performance.now(); });
    api.lastFitMs = performance.now() - t2;
    api.lastApplyMs = performance.now() - t0;
    api.lastLayoutMs = t1 - t0;
  }
  // Calls fn once the frame with the view on it has been produced.
  function afterFrame(fn) {
    var next = function () { requestAnimationFrame(function () { requestAnimationFrame(fn); }); };
    if (onCanvas()) next(); else cy.one("render", function () { requestAnimationFrame(fn); });
  }
  // Zoom and pan so that the members' boxes fill the view (at least the minimum zoom).
  function fit(members) {
    var x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
    members.forEach(function (k) {
      var c = view.centre[k];
      if (!c) return;
      x1 = Math.min(x1, c[0] - W / 2); x2 = Math.max(x2, c[0] + W / 2);
      y1 = Math.min(y1, c[1] - H / 2); y2 = Math.max(y2, c[1] + H / 2);
    });
    if (x1 === Infinity) return;
    var pad = 30, w = cy.width(), h = cy.height();
    var zoom = Math.min((w - 2 * pad) / (x2 - x1), (h - 2 * pad) / (y2 - y1));
    zoom = Math.max(cy.minZoom(), Math.min(cy.maxZoom(), zoom));
    cy.viewport({ zoom: zoom, pan: { x: w / 2 - zoom * (x1 + x2) / 2, y: h / 2 - zoom * (y1 + y2) / 2 } });
  }
  function centreOn(k, zoom) {
    var c = view.centre[k];
    cy.viewport({ zoom: zoom, pan: { x: cy.width() / 2 - zoom * c[0], y: cy.height() / 2 - zoom * c[1] } });
  }

  // ---- the canvas of large views ---------------------------------------------
  function sizeCanvas() {
    canvas.width = container.clientWidth;
    canvas.height = container.clientHeight;
  }
  function redraw() {
    if (!onCanvas() || drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(draw);
  }
  function draw() {
    drawQueued = false;
    if (!onCanvas()) return;
    var t0 = performance.now();
    var z = cy.zoom(), pan = cy.pan(), cw = canvas.width, ch = canvas.height;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, cw, ch);
    ctx.setTransform(z, 0, 0, z, pan.x, pan.y);
    // The model rectangle on screen, a box wider each way: what is drawn.
    var left = -pan.x / z - W, top = -pan.y / z - H, right = (cw - pan.x) / z + W, bottom = (ch - pan.y) / z + H;
    var px = 1 / z;  // one screen pixel in model units
    var inView = [];
    view.members.forEach(function (k) {
      var c = view.centre[k];
      if (c[0] >= left && c[0] <= right && c[1] >= top && c[1] <= bottom) inView.push(k);
    });
    function edgePath(wantPath) {
      ctx.beginPath();
      view.drawn.forEach(function (ei) {
        if (!!pathEdges[ei] !== wantPath) return;
        var line = view.lines[ei];
        ctx.moveTo(line[0][0], line[0][1]);
        for (var j = 1; j < line.length; j++) ctx.lineTo(line[j][0], line[j][1]);
      });
    }
    function arrows(wantPath) {
      if (z < 0.15) return;
      ctx.beginPath();
      view.drawn.forEach(function (ei) {
        if (!!pathEdges[ei] !== wantPath) return;
        var line = view.lines[ei], q = line[line.length - 1], p = line[line.length - 2];
        if (q[0] < left || q[0] > right || q[1] < top || q[1] > bottom) return;
        var dx = q[0] - p[0], dy = q[1] - p[1], len = Math.sqrt(dx * dx + dy * dy) || 1, s = 7;
        dx /= len; dy /= len;
        ctx.moveTo(q[0], q[1]);
        ctx.lineTo(q[0] - s * dx - s * 0.6 * dy, q[1] - s * dy + s * 0.6 * dx);
        ctx.lineTo(q[0] - s * dx + s * 0.6 * dy, q[1] - s * dy - s * 0.6 * dx);
        ctx.closePath();
      });
      ctx.fill();
    }
    ctx.lineWidth = Math.max(1.2, 0.5 * px);
    ctx.strokeStyle = ctx.fillStyle = EDGE;
    edgePath(false); ctx.stroke(); arrows(false);
    ctx.lineWidth = Math.max(3, px);
    ctx.strokeStyle = ctx.fillStyle = PATH;
    edgePath(true); ctx.stroke(); arrows(true);
    // Boxes, one path per fill colour; borders once they are a pixel apart.
    var byFill = {};
    inView.forEach(function (k) {
      var colour = pathNodes[k] ? PATH_FILL : (FILL[nodes[k].type] || FILL.model);
      (byFill[colour] = byFill[colour] || []).push(k);
    });
    Object.keys(byFill).forEach(function (colour) {
      ctx.fillStyle = colour;
      ctx.beginPath();
      byFill[colour].forEach(function (k) { var c = view.centre[k]; ctx.rect(c[0] - W / 2, c[1] - H / 2, W, H); });
      ctx.fill();
    });
    function borders(pick, colour, width) {
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.beginPath();
      inView.forEach(function (k) {
        if (!pick(k)) return;
        var c = view.centre[k];
        ctx.rect(c[0] - W / 2, c[1] - H / 2, W, H);
      });
      ctx.stroke();
    }
    if (z * H >= 6) borders(function (k) { return !pathNodes[k] && !matched[k] && k !== focused; }, BORDER, 1);
    borders(function (k) { return pathNodes[k] && !matched[k] && k !== focused; }, PATH, Math.max(2, 1.5 * px));
    borders(function (k) { return matched[k] && k !== focused; }, MATCH, Math.max(3, 2 * px));
    borders(function (k) { return k === focused; }, FOCUS, Math.max(3, 2 * px));
    if (z >= LABEL_ZOOM) {
      ctx.fillStyle = TEXT;
      ctx.font = "12px " + FONT;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      inView.forEach(function (k) {
        var c = view.centre[k];
        ctx.fillText(shortLabel(nodes[k].label), c[0], c[1], W - 8);
      });
    }
    api.lastDrawMs = performance.now() - t0;
    api.draws++;
  }
  function hit(position) {  // the shown node whose box holds a model position, or -1
    for (var j = 0; j < view.members.length; j++) {
      var k = view.members[j], c = view.centre[k];
      if (Math.abs(position.x - c[0]) <= W / 2 && Math.abs(position.y - c[1]) <= H / 2) return k;
    }
    return -1;
  }

  // ---- controls -------------------------------------------------------------
  var form = document.getElementById("graph-controls");
  var selector = document.getElementById("selector");
  var levels = document.getElementById("levels");
  var search = document.getElementById("graph-search");
  var info = document.getElementById("graph-info");
  var shown = [];

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
    var onPathEdges = [];
    edges.forEach(function (e, ei) { if (inPath[e[0]] && inPath[e[1]]) onPathEdges.push(ei); });
    var members = shown.filter(function (k) { return !inPath[k]; }).concat(path);
    show(members, { highlight: path, highlightEdges: onPathEdges });
    say("path from " + nodes[a].label + " to " + nodes[b].label + ": " + path.length + " nodes");
    return path;
  }
  function searchShown() {
    var text = search.value.trim().toLowerCase();
    var hits = [];
    matched = new Uint8Array(n);
    if (text) {
      shown.forEach(function (k) {
        if (nodes[k].label.toLowerCase().indexOf(text) !== -1) { matched[k] = 1; hits.push(k); }
      });
    }
    if (onCanvas()) {
      redraw();
    } else {
      cy.batch(function () {
        cy.nodes(".match").removeClass("match");
        hits.forEach(function (k) { cy.getElementById("n" + k).addClass("match"); });
      });
    }
    say(text ? hits.length + " shown nodes match '" + search.value.trim() + "'" : shown.length + " nodes");
    return hits;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    api.lastInputAt = performance.now();
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
  selector.addEventListener("keydown", function (event) {
    // The input delay: from the key event's creation until its handler runs.
    if (event.key === "Enter") api.lastKeyDelayMs = performance.now() - event.timeStamp;
  });
  // The path fields' suggestions: every node's label, filled in when first wanted.
  var names = document.getElementById("graph-names");
  function suggest() {
    if (names.options.length) return;
    var labels = Object.keys(nodes.reduce(function (acc, node) { acc[node.label] = 1; return acc; }, {})).sort();
    var list = document.createDocumentFragment();
    labels.forEach(function (label) { var o = document.createElement("option"); o.value = label; list.appendChild(o); });
    names.appendChild(list);
  }
  document.getElementById("path-from").addEventListener("focus", suggest);
  document.getElementById("path-to").addEventListener("focus", suggest);
  search.addEventListener("input", searchShown);
  search.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    event.preventDefault();
    var first = -1;
    for (var j = 0; j < shown.length && first < 0; j++) if (matched[shown[j]]) first = shown[j];
    if (first >= 0) { centreOn(first, 1); describe(first); }
  });
  cy.on("tap", "node", function (event) { focus(event.target.data("k")); });
  cy.on("tap", function (event) {
    if (event.target !== cy || !onCanvas()) return;
    var k = hit(event.position);
    if (k >= 0) focus(k);
  });
  cy.on("viewport", redraw);
  cy.on("resize", function () { sizeCanvas(); redraw(); });

  function ids(list) { return list.map(function (k) { return nodes[k].id; }); }
  function boxOf(k, c) {
    return { id: nodes[k].id, x1: c[0] - W / 2, y1: c[1] - H / 2, x2: c[0] + W / 2, y2: c[1] + H / 2 };
  }
  var api = {
    ready: false,
    select: applySelector,
    focus: focus,
    path: highlightPath,
    // Which renderer draws the view: "canvas" (large views) or "cytoscape".
    mode: function () { return view.mode; },
    // What is on screen: from Cytoscape's elements when it draws the view, from
    // the geometry the canvas was drawn from otherwise.
    visible: function () {
      if (onCanvas()) return ids(view.members);
      return cy.nodes().map(function (x) { return nodes[x.data("k")].id; });
    },
    highlighted: function () {
      if (onCanvas()) return ids(view.members.filter(function (k) { return pathNodes[k]; }));
      return cy.nodes(".path").map(function (x) { return nodes[x.data("k")].id; });
    },
    focused: function () {
      if (onCanvas()) return focused >= 0 ? ids([focused]) : [];
      return cy.nodes(".focus").map(function (x) { return nodes[x.data("k")].id; });
    },
    // Model coordinates of every shown box and of every shown edge's polyline.
    boxes: function () {
      if (onCanvas()) return view.members.map(function (k) { return boxOf(k, view.centre[k]); });
      return cy.nodes().map(function (x) { var p = x.position(); return boxOf(x.data("k"), [p.x, p.y]); });
    },
    polylines: function () {
      if (onCanvas()) {
        return view.drawn.map(function (ei) {
          return { source: nodes[edges[ei][0]].id, target: nodes[edges[ei][1]].id,
            points: view.lines[ei].map(function (p) { return { x: p[0], y: p[1] }; }) };
        });
      }
      return cy.edges().map(function (e) {
        var pts = [e.sourceEndpoint()];
        if (e.hasClass("bent")) pts = pts.concat(e.segmentPoints() || []);
        pts.push(e.targetEndpoint());
        return { source: nodes[e.source().data("k")].id, target: nodes[e.target().data("k")].id, points: pts };
      });
    },
    renderedCentre: function (id) {
      var c = view.centre[byId[id]], z = cy.zoom(), pan = cy.pan(), box = container.getBoundingClientRect();
      return { x: box.left + pan.x + z * c[0], y: box.top + pan.y + z * c[1] };
    },
    zoomTo: function (id) { centreOn(byId[id], 1); },
    lastSelectMs: null,
    lastApplyMs: null,
    lastInputAt: null,  // when the last selector's submit began to be handled
    lastKeyDelayMs: null,  // how long the last Enter in the selector waited for the page
    lastShownAt: null,  // when the frame with the last view on it had been produced
    lastDrawMs: null,
    draws: 0,
    timing: null
  };
  window.lineageGraph = api;

  sizeCanvas();
  var hash = decodeURIComponent((location.hash || "").replace(/^#select=/, ""));
  if (location.hash.indexOf("#select=") === 0 && hash) {
    selector.value = hash;
    var picked = applySelector(hash);
    if (!picked || !picked.length) show(all());
  } else {
    show(all());
    say(n + " nodes, " + edges.length + " edges: type a selector, click a node to focus it");
  }
  var tShown = performance.now();
  // Ready once the first frame with the graph has been produced (performance.now()
  // counts from the navigation's start).
  afterFrame(function () {
    api.timing = { script: started, parsed: tParsed, cytoscape: tCy, shown: tShown,
      layout: api.lastLayoutMs, ready: performance.now() };
    api.readyMs = api.timing.ready;
    api.ready = true;
  });
  if (!onCanvas()) cy.forceRender();
})();
