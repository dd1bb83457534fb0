/* The motion brush drawn on the first frame: a Streamlit v2 component (inlined by ui/create/brush_canvas.py).
 * Plain JS, no modules, no network but the first frame's own link when it is one.
 *
 * data = {image: URL or data URL | null, size: [w, h] | null, measure: bool, rev: n,
 *         drawing: {static: [stroke], brushes: [{strokes: [stroke], path: [[fx, fy]]}]},   (canvas fractions)
 *         masks: {static: data URL | null, brushes: [data URL | null]},  (mask images given as files, tinted)
 *         limits: {brushes, points_min, points_max}, colours: {static, brushes: [css colour]}}
 * stroke = {r: radius as a fraction of the width, erase: bool, pts: [[fx, fy]]}
 *
 * Sends (trigger values): "edit" = {rev, canvas: [css w, css h], static, brushes} in CSS pixels of the
 * canvas (Python maps them to the picture's pixels: core/authoring/brush_canvas.py); "natural" = [w, h]
 * of a linked picture as the browser loaded it (only when data.measure).
 * Pointer events (mouse, pen, finger) with touch-action: none on the canvas. Every label is textContent.
 */
var BRUSH_CANVAS_MOUNTS = new WeakMap();

var BRUSH_CANVAS_CSS = [
  ".kbc{font-family:inherit;color:var(--st-text-color,#31333f);}",
  ".kbc-bar{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:0 0 6px 0;}",
  ".kbc-bar button{min-height:36px;padding:4px 10px;border-radius:8px;cursor:pointer;font:inherit;",
  "border:1px solid var(--st-border-color,#d5d6db);background:var(--st-background-color,#fff);",
  "color:inherit;}",
  ".kbc-bar button[aria-pressed=true]{border-color:var(--st-primary-color,#ff4b4b);",
  "box-shadow:inset 0 0 0 1px var(--st-primary-color,#ff4b4b);font-weight:600;}",
  ".kbc-bar button:disabled{opacity:.45;cursor:default;}",
  ".kbc-swatch{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px;}",
  ".kbc-size{display:flex;align-items:center;gap:4px;}",
  ".kbc-stage{position:relative;max-width:100%;user-select:none;-webkit-user-select:none;}",
  ".kbc-stage img{display:block;width:100%;height:100%;pointer-events:none;border-radius:4px;}",
  ".kbc-stage canvas{position:absolute;left:0;top:0;width:100%;height:100%;touch-action:none;",
  "cursor:crosshair;}",
  ".kbc-note{min-height:1.4em;font-size:.875rem;opacity:.85;margin-top:4px;}",
].join("");

function createBrushCanvas(root, data, send) {
  "use strict";
  var HANDLE_HIT_PX = 16;  // a finger needs room
  var PATH_SPACING_PX = 18;  // a drag on the path tool adds a point every this many CSS px
  var STROKE_SPACING_PX = 2;
  var UNDO_MAX = 60;
  var TINT_ALPHA = 0.45;
  var DEFAULT_SIZE_PX = 18;
  var limits = data.limits || {brushes: 6, points_min: 2, points_max: 77};
  var colours = data.colours || {static: "#2878ff", brushes: ["#ff5028"]};

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function button(text, label) {
    var b = el("button", null, text);
    b.type = "button";
    if (label) b.setAttribute("aria-label", label);
    return b;
  }
  function copy(x) { return JSON.parse(JSON.stringify(x)); }

  var state = {drawing: null, selected: -1, tool: "paint", size: DEFAULT_SIZE_PX, undo: [], rev: data.rev,
               masks: data.masks || {static: null, brushes: []}, action: null, note: ""};
  function fromData(d) {
    var drawing = copy(d.drawing || {static: [], brushes: []});
    drawing.static = drawing.static || [];
    drawing.brushes = drawing.brushes || [];
    return drawing;
  }
  state.drawing = fromData(data);

  // ---- DOM ------------------------------------------------------------------------------------------
  root.textContent = "";
  var wrap = el("div", "kbc");
  var layersBar = el("div", "kbc-bar");
  layersBar.setAttribute("role", "toolbar");
  layersBar.setAttribute("aria-label", "What you draw");
  var toolsBar = el("div", "kbc-bar");
  toolsBar.setAttribute("role", "toolbar");
  toolsBar.setAttribute("aria-label", "Tools");
  var tools = {paint: button("Paint area"), erase: button("Erase"), path: button("Draw path")};
  Object.keys(tools).forEach(function (name) {
    tools[name].dataset.tool = name;
    tools[name].addEventListener("click", function () { state.tool = name; refreshBars(); });
    toolsBar.appendChild(tools[name]);
  });
  var sizeBox = el("label", "kbc-size", "Size");
  var sizeInput = el("input");
  sizeInput.type = "range"; sizeInput.min = "4"; sizeInput.max = "60"; sizeInput.value = String(state.size);
  sizeInput.setAttribute("aria-label", "Brush size");
  sizeInput.addEventListener("input", function () { state.size = Number(sizeInput.value); });
  sizeBox.appendChild(sizeInput);
  toolsBar.appendChild(sizeBox);
  var undoBtn = button("Undo");
  var clearBtn = button("Clear", "Clear what is drawn for the chosen brush");
  var removeBtn = button("Remove brush");
  toolsBar.appendChild(undoBtn);
  toolsBar.appendChild(clearBtn);
  toolsBar.appendChild(removeBtn);
  var stage = el("div", "kbc-stage");
  var img = el("img");
  img.alt = "The first frame";
  var canvas = el("canvas");
  canvas.setAttribute("aria-label", "Drawing on the first frame");
  canvas.setAttribute("role", "img");
  stage.appendChild(img);
  stage.appendChild(canvas);
  var note = el("div", "kbc-note");
  note.setAttribute("aria-live", "polite");
  wrap.appendChild(layersBar);
  wrap.appendChild(toolsBar);
  wrap.appendChild(stage);
  wrap.appendChild(note);
  root.appendChild(wrap);
  var ctx = canvas.getContext("2d");

  // ---- layers (the still area and the moving brushes) ---------------------------------------------------
  function layer(i) { return i < 0 ? {strokes: state.drawing.static, path: null} : state.drawing.brushes[i]; }
  function colour(i) { return i < 0 ? colours.static : colours.brushes[i % colours.brushes.length]; }
  function layerName(i) { return i < 0 ? "Still area" : "Brush " + (i + 1); }

  function refreshBars() {
    layersBar.textContent = "";
    for (var i = -1; i < state.drawing.brushes.length; i++) {
      (function (i) {
        var b = button("");
        var sw = el("span", "kbc-swatch");
        sw.style.background = colour(i);
        b.appendChild(sw);
        b.appendChild(document.createTextNode(layerName(i)));
        b.setAttribute("aria-pressed", String(state.selected === i));
        b.addEventListener("click", function () {
          state.selected = i;
          if (i < 0 && state.tool === "path") state.tool = "paint";
          refreshBars();
          redraw();
        });
        layersBar.appendChild(b);
      })(i);
    }
    var add = button("+ Moving brush", "Add a moving brush");
    add.disabled = state.drawing.brushes.length >= limits.brushes;
    add.addEventListener("click", function () {
      pushUndo();
      state.drawing.brushes.push({strokes: [], path: []});
      state.selected = state.drawing.brushes.length - 1;
      state.tool = "paint";
      say(layerName(state.selected) + ": paint what moves, then draw its path.");
      changed();
    });
    layersBar.appendChild(add);
    Object.keys(tools).forEach(function (name) {
      tools[name].setAttribute("aria-pressed", String(state.tool === name));
    });
    tools.path.disabled = state.selected < 0;
    removeBtn.disabled = state.selected < 0;
    undoBtn.disabled = state.undo.length === 0;
    sizeInput.disabled = state.tool === "path";
  }

  // ---- geometry ---------------------------------------------------------------------------------------
  function box() { return canvas.getBoundingClientRect(); }
  function fracOf(ev) {
    var r = box();
    return [(ev.clientX - r.left) / r.width, (ev.clientY - r.top) / r.height];
  }
  function dist(a, b) { var r = box(); return Math.hypot((a[0] - b[0]) * r.width, (a[1] - b[1]) * r.height); }

  function layout() {
    var size = data.size || (img.naturalWidth ? [img.naturalWidth, img.naturalHeight] : null);
    var avail = wrap.clientWidth || root.clientWidth || 600;
    if (!size) { stage.style.width = avail + "px"; stage.style.height = "0px"; return; }
    var maxH = Math.max(200, Math.min(window.innerHeight * 0.7, 720));
    var w = Math.min(avail, maxH * size[0] / size[1]);
    stage.style.width = w + "px";
    stage.style.height = (w * size[1] / size[0]) + "px";
    var dpr = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(w * dpr));
    canvas.height = Math.max(1, Math.round(w * size[1] / size[0] * dpr));
    tinted = {};
    redraw();
  }

  // ---- drawing ----------------------------------------------------------------------------------------
  var tinted = {};  // "index|url" -> a canvas of the given mask in the layer's colour
  var maskImgs = {};
  function maskCanvas(i, url) {
    var id = i + "|" + url;
    if (tinted[id]) return tinted[id];
    var m = maskImgs[url];
    if (!m) {
      m = maskImgs[url] = new Image();
      m.onload = function () { tinted = {}; redraw(); };
      m.src = url;
    }
    if (!m.complete || !m.naturalWidth) return null;
    var c = document.createElement("canvas");
    c.width = canvas.width; c.height = canvas.height;
    var g = c.getContext("2d");
    g.drawImage(m, 0, 0, c.width, c.height);
    var pixels = g.getImageData(0, 0, c.width, c.height);
    var hex = colour(i), rgb = [parseInt(hex.substr(1, 2), 16), parseInt(hex.substr(3, 2), 16),
                                parseInt(hex.substr(5, 2), 16)];
    for (var p = 0; p < pixels.data.length; p += 4) {
      var on = pixels.data[p] >= 128;
      pixels.data[p] = rgb[0]; pixels.data[p + 1] = rgb[1]; pixels.data[p + 2] = rgb[2];
      pixels.data[p + 3] = on ? 255 : 0;
    }
    g.putImageData(pixels, 0, 0);
    tinted[id] = c;
    return c;
  }

  function paintLayer(i, strokes, maskUrl) {
    if (!strokes.length && !maskUrl) return;
    var off = document.createElement("canvas");
    off.width = canvas.width; off.height = canvas.height;
    var g = off.getContext("2d");
    var W = off.width, H = off.height;
    if (maskUrl) {
      var m = maskCanvas(i, maskUrl);
      if (m) g.drawImage(m, 0, 0);
    }
    g.lineCap = "round"; g.lineJoin = "round";
    strokes.forEach(function (s) {
      g.globalCompositeOperation = s.erase ? "destination-out" : "source-over";
      g.strokeStyle = colour(i); g.fillStyle = colour(i);
      var r = s.r * W;
      if (s.pts.length === 1) {
        g.beginPath(); g.arc(s.pts[0][0] * W, s.pts[0][1] * H, r, 0, 2 * Math.PI); g.fill();
        return;
      }
      g.lineWidth = 2 * r;
      g.beginPath();
      s.pts.forEach(function (p, k) { if (k) g.lineTo(p[0] * W, p[1] * H); else g.moveTo(p[0] * W, p[1] * H); });
      g.stroke();
    });
    ctx.globalAlpha = TINT_ALPHA;
    ctx.drawImage(off, 0, 0);
    ctx.globalAlpha = 1;
  }

  function drawPath(i, path, selected) {
    if (!path || !path.length) return;
    var W = canvas.width, H = canvas.height, dpr = window.devicePixelRatio || 1;
    ctx.strokeStyle = colour(i); ctx.fillStyle = colour(i);
    ctx.lineWidth = 3 * dpr; ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.beginPath();
    path.forEach(function (p, k) { if (k) ctx.lineTo(p[0] * W, p[1] * H); else ctx.moveTo(p[0] * W, p[1] * H); });
    ctx.stroke();
    for (var k = 1; k < path.length; k++) {  // an arrow's head half way along each step: the way it goes
      var a = path[k - 1], b = path[k];
      var ax = a[0] * W, ay = a[1] * H, bx = b[0] * W, by = b[1] * H;
      var len = Math.hypot(bx - ax, by - ay), head = 11 * dpr;
      if (len < head * 1.5) continue;
      var ang = Math.atan2(by - ay, bx - ax), mx = (ax + bx) / 2 + Math.cos(ang) * head / 2,
          my = (ay + by) / 2 + Math.sin(ang) * head / 2;
      ctx.beginPath();
      ctx.moveTo(mx, my);
      ctx.lineTo(mx - head * Math.cos(ang - 0.45), my - head * Math.sin(ang - 0.45));
      ctx.lineTo(mx - head * Math.cos(ang + 0.45), my - head * Math.sin(ang + 0.45));
      ctx.closePath(); ctx.fill();
    }
    path.forEach(function (p, k) {
      var r = (selected ? 6 : 4) * dpr * (k === 0 ? 1.4 : 1);
      ctx.beginPath(); ctx.arc(p[0] * W, p[1] * H, r, 0, 2 * Math.PI);
      ctx.fillStyle = selected ? "#fff" : colour(i); ctx.fill();
      ctx.lineWidth = 2 * dpr; ctx.strokeStyle = colour(i); ctx.stroke();
    });
    ctx.fillStyle = "#fff"; ctx.strokeStyle = "#000"; ctx.lineWidth = 3 * dpr;
    ctx.font = (12 * dpr) + "px sans-serif";
    ctx.strokeText(String(i + 1), path[0][0] * W + 9 * dpr, path[0][1] * H - 9 * dpr);
    ctx.fillText(String(i + 1), path[0][0] * W + 9 * dpr, path[0][1] * H - 9 * dpr);
  }

  var frame = 0;
  function redraw() {
    if (frame) return;
    frame = requestAnimationFrame(function () {
      frame = 0;
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      paintLayer(-1, state.drawing.static, state.masks.static);
      state.drawing.brushes.forEach(function (b, i) { paintLayer(i, b.strokes, (state.masks.brushes || [])[i]); });
      state.drawing.brushes.forEach(function (b, i) { drawPath(i, b.path, i === state.selected); });
    });
  }

  // ---- talking to Python ---------------------------------------------------------------------------------
  function say(text) { state.note = text || ""; note.textContent = state.note; }
  function toPx(strokes) {
    var r = box();
    return strokes.map(function (s) {
      return {r: s.r * r.width, erase: !!s.erase, pts: s.pts.map(function (p) { return [p[0] * r.width, p[1] * r.height]; })};
    });
  }
  function changed() {
    refreshBars();
    redraw();
    var r = box();
    send("edit", {
      rev: state.rev, canvas: [r.width, r.height], static: toPx(state.drawing.static),
      brushes: state.drawing.brushes.map(function (b) {
        return {id: b.id || null, strokes: toPx(b.strokes),
                path: b.path.map(function (p) { return [p[0] * r.width, p[1] * r.height]; })};
      }),
    });
  }
  function pushUndo() {
    state.undo.push(JSON.stringify(state.drawing));
    if (state.undo.length > UNDO_MAX) state.undo.shift();
  }

  undoBtn.addEventListener("click", function () {
    if (!state.undo.length) return;
    state.drawing = JSON.parse(state.undo.pop());
    if (state.selected >= state.drawing.brushes.length) state.selected = state.drawing.brushes.length - 1;
    say("Undone.");
    changed();
  });
  clearBtn.addEventListener("click", function () {
    pushUndo();
    if (state.selected < 0) state.drawing.static = [];
    else state.drawing.brushes[state.selected] = {strokes: [], path: []};
    say(layerName(state.selected) + " cleared (Undo brings it back).");
    changed();
  });
  removeBtn.addEventListener("click", function () {
    if (state.selected < 0) return;
    pushUndo();
    state.drawing.brushes.splice(state.selected, 1);
    say(layerName(state.selected) + " removed (Undo brings it back).");
    state.selected = state.drawing.brushes.length ? Math.min(state.selected, state.drawing.brushes.length - 1) : -1;
    changed();
  });

  // ---- pointer --------------------------------------------------------------------------------------
  function hitHandle(pos) {
    var b = layer(state.selected);
    if (!b || !b.path) return -1;
    var best = -1, bestD = HANDLE_HIT_PX;
    b.path.forEach(function (p, k) { var d = dist(p, pos); if (d <= bestD) { best = k; bestD = d; } });
    return best;
  }
  function addPathPoint(b, pos) {
    if (b.path.length >= limits.points_max) {
      say("This path has " + limits.points_max + " points, the most Kling takes: drag its points, or Clear.");
      return false;
    }
    b.path.push(pos);
    return true;
  }

  canvas.addEventListener("pointerdown", function (ev) {
    if (ev.pointerType === "mouse" && ev.button !== 0) return;
    ev.preventDefault();
    try { canvas.setPointerCapture(ev.pointerId); } catch (e) { /* an old browser: moves still arrive */ }
    var pos = fracOf(ev);
    pushUndo();
    var b = layer(state.selected);
    if (state.tool === "path") {
      if (!b || !b.path) { state.undo.pop(); return; }
      var k = hitHandle(pos);
      if (k >= 0) { state.action = {kind: "drag", index: k, moved: false, id: ev.pointerId}; return; }
      var added = addPathPoint(b, pos);
      state.action = {kind: "path", last: pos, moved: added, id: ev.pointerId};
    } else {
      var stroke = {r: state.size / 2 / box().width, erase: state.tool === "erase", pts: [pos]};
      b.strokes.push(stroke);
      state.action = {kind: "stroke", stroke: stroke, last: pos, moved: true, id: ev.pointerId};
    }
    redraw();
  });
  canvas.addEventListener("pointermove", function (ev) {
    var a = state.action;
    if (!a || a.id !== ev.pointerId) return;
    ev.preventDefault();
    var pos = fracOf(ev);
    var b = layer(state.selected);
    if (a.kind === "drag") {
      b.path[a.index] = pos; a.moved = true;
    } else if (a.kind === "path") {
      if (dist(a.last, pos) >= PATH_SPACING_PX && addPathPoint(b, pos)) { a.last = pos; a.moved = true; }
    } else if (dist(a.last, pos) >= STROKE_SPACING_PX) {
      a.stroke.pts.push(pos); a.last = pos;
    }
    redraw();
  });
  function finish(ev) {
    var a = state.action;
    if (!a || a.id !== ev.pointerId) return;
    state.action = null;
    if (!a.moved) { state.undo.pop(); return; }
    var b = layer(state.selected);
    if (b && b.path && state.selected >= 0) {
      var n = b.path.length;
      if (state.tool === "path") {
        say(layerName(state.selected) + ": " + n + (n === 1 ? " point" : " points") +
            (n < limits.points_min ? " — a path needs at least " + limits.points_min + "." : "."));
      }
    }
    changed();
  }
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  canvas.addEventListener("dblclick", function (ev) {  // a double click on a point of the path removes it
    if (state.tool !== "path" || state.selected < 0) return;
    var k = hitHandle(fracOf(ev));
    if (k < 0) return;
    ev.preventDefault();
    pushUndo();
    var b = layer(state.selected);
    b.path.splice(k, 1);
    say(layerName(state.selected) + ": point " + (k + 1) + " removed (Undo brings it back); " + b.path.length +
        (b.path.length === 1 ? " point." : " points."));
    changed();
  });

  // ---- the picture ------------------------------------------------------------------------------------
  img.addEventListener("load", function () {
    if (data.measure && img.naturalWidth) send("natural", [img.naturalWidth, img.naturalHeight]);
    layout();
  });
  img.addEventListener("error", function () {
    say("The first frame could not be shown here. Upload the picture instead of a link to draw on it.");
  });
  if (data.image) img.src = data.image;
  var observer = typeof ResizeObserver === "function" ? new ResizeObserver(function () { layout(); }) : null;
  if (observer) observer.observe(wrap);
  state.selected = state.drawing.brushes.length ? 0 : -1;
  refreshBars();
  layout();

  return {
    update: function (d) {  // new data from Python: a change made elsewhere (the table, a load) replaces ours
      limits = d.limits || limits;
      colours = d.colours || colours;
      state.masks = d.masks || {static: null, brushes: []};
      tinted = {};
      if (d.rev !== state.rev) {
        state.rev = d.rev;
        state.drawing = fromData(d);
        state.undo = [];
        if (state.selected >= state.drawing.brushes.length) state.selected = state.drawing.brushes.length - 1;
      } else {  // our own edit came back: learn the ids Python gave to brushes added here
        var given = (d.drawing && d.drawing.brushes) || [];
        if (given.length === state.drawing.brushes.length) {
          state.drawing.brushes.forEach(function (b, i) { if (!b.id && given[i].id) b.id = given[i].id; });
        }
      }
      data = d;
      refreshBars();
      redraw();
    },
    destroy: function () { if (observer) observer.disconnect(); root.textContent = ""; },
  };
}

export default function (component) {
  var parent = component.parentElement;
  var data = component.data || {};
  var mounted = BRUSH_CANVAS_MOUNTS.get(parent);
  if (mounted && mounted.image === data.image) {
    mounted.api = component;
    mounted.controller.update(data);
    return mounted.cleanup;
  }
  if (mounted) mounted.controller.destroy();
  var host = parent.querySelector(".kbc-root") || parent;
  if (!parent.querySelector("style.kbc-style")) {
    var style = document.createElement("style");
    style.className = "kbc-style";
    style.textContent = BRUSH_CANVAS_CSS;
    parent.appendChild(style);
  }
  var entry = {image: data.image, api: component};
  entry.controller = createBrushCanvas(host, data, function (name, value) { entry.api.setTriggerValue(name, value); });
  entry.cleanup = function () { entry.controller.destroy(); BRUSH_CANVAS_MOUNTS.delete(parent); };
  BRUSH_CANVAS_MOUNTS.set(parent, entry);
  return entry.cleanup;
}
