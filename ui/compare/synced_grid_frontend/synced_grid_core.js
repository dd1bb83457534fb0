/* Synced video grid: one control (play all / pause / seek / speed / loop / sound from) for a grid of
 * <video> elements that stay on the same frame.
 *
 * Plain JS, no modules, no network: this file is inlined as is by
 *   - ui/compare/synced_grid.py (the Streamlit v2 component: this file + a default export), and
 *   - core/review_pack.py (the review pack's self-contained index.html: this file + the pack's script).
 *
 * createSyncedGrid(root, spec) -> controller
 *   spec = {rows: [label], cols: [label], cells: [[cell]], audio: [row, col] | null}
 *   cell = null | {url, label, href?} | [{url, label, href?}, ...]   (several takes stack in one cell)
 *
 * The clock: a virtual master clock (media time = base + wall time elapsed × speed). It starts only when
 * every video that still has frames at that time is ready (readyState >= 3), and holds while one of them
 * is stalled. A tick (every TICK_MS) compares each video with the clock: more than HARD_DRIFT_S off -> a
 * seek; more than SOFT_DRIFT_S -> its playbackRate is nudged until it catches up. A clip shorter than
 * the longest one holds its last frame. Every label is set with textContent (user text is never HTML).
 */
var SYNCED_GRID_SPEEDS = [0.25, 0.5, 1, 1.5, 2];

function createSyncedGrid(root, spec) {
  "use strict";
  var TICK_MS = 50;
  var SOFT_DRIFT_S = 0.05;
  var HARD_DRIFT_S = 0.3;
  var NUDGE_GAIN = 2.0;
  var NUDGE_MAX = 0.5;
  var END_EPSILON_S = 0.04;
  var HAVE_FUTURE_DATA = 3;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function asList(cell) {
    if (!cell) return [];
    return Array.isArray(cell) ? cell.filter(Boolean) : [cell];
  }
  function fmt(t) {
    if (!isFinite(t)) t = 0;
    var m = Math.floor(t / 60), s = t - m * 60;
    return m + ":" + (s < 10 ? "0" : "") + s.toFixed(1);
  }

  var state = {playing: false, running: false, rate: 1, loop: true, base: 0, wall: 0, dragging: false,
               audio: spec.audio || null, soundNote: ""};
  var entries = [];  // {video, row, col, take}

  // ---- DOM ------------------------------------------------------------------------------------------
  root.textContent = "";
  var wrap = el("div", "ksg");
  var bar = el("div", "ksg-bar");
  var playBtn = el("button", "ksg-play", "▶ Play all");
  playBtn.type = "button";
  var seek = el("input", "ksg-seek");
  seek.type = "range"; seek.min = "0"; seek.max = "0"; seek.step = "0.01"; seek.value = "0";
  seek.setAttribute("aria-label", "Position");
  var timeLbl = el("span", "ksg-time", "0:00.0 / 0:00.0");
  var speedSel = el("select", "ksg-speed");
  speedSel.setAttribute("aria-label", "Speed");
  SYNCED_GRID_SPEEDS.forEach(function (s) {
    var o = el("option", null, s + "×"); o.value = String(s); if (s === 1) o.selected = true;
    speedSel.appendChild(o);
  });
  var loopLbl = el("label", "ksg-loop");
  var loopBox = el("input"); loopBox.type = "checkbox"; loopBox.checked = true; loopBox.className = "ksg-loop-box";
  loopLbl.appendChild(loopBox); loopLbl.appendChild(document.createTextNode(" Loop"));
  var audioSel = el("select", "ksg-audio");
  audioSel.setAttribute("aria-label", "Sound from");
  var note = el("span", "ksg-note", "");
  [playBtn, seek, timeLbl, speedSel, loopLbl, el("span", "ksg-audio-lbl", "Sound from"), audioSel, note]
    .forEach(function (n) { bar.appendChild(n); });

  var table = el("table", "ksg-grid");
  var head = el("tr");
  head.appendChild(el("th", "ksg-corner", ""));
  (spec.cols || []).forEach(function (c) { head.appendChild(el("th", "ksg-col", c)); });
  table.appendChild(head);
  var offOpt = el("option", null, "no sound"); offOpt.value = "";
  audioSel.appendChild(offOpt);
  (spec.cells || []).forEach(function (rowCells, r) {
    var tr = el("tr");
    tr.appendChild(el("th", "ksg-row", (spec.rows || [])[r] || ""));
    (spec.cols || []).forEach(function (_c, c) {
      var td = el("td", "ksg-cell");
      var items = asList(rowCells[c]);
      if (!items.length) td.appendChild(el("div", "ksg-empty", "no video"));
      items.forEach(function (item, k) {
        var box = el("div", "ksg-item");
        var v = el("video", "ksg-video");
        v.muted = true; v.playsInline = true; v.preload = "auto"; v.controls = false;
        v.setAttribute("muted", ""); v.setAttribute("playsinline", "");
        v.dataset.row = String(r); v.dataset.col = String(c); v.dataset.take = String(k);
        v.src = item.url;
        box.appendChild(v);
        if (item.label) {
          var cap;
          if (item.href && String(item.href).charAt(0) === "#") {
            cap = el("a", "ksg-label", item.label); cap.href = item.href;
          } else {
            cap = el("div", "ksg-label", item.label);
          }
          box.appendChild(cap);
        }
        td.appendChild(box);
        entries.push({video: v, row: r, col: c, take: k});
        if (k === 0) {
          var o = el("option", null, ((spec.rows || [])[r] || "") + " · " + ((spec.cols || [])[c] || ""));
          o.value = r + "," + c;
          audioSel.appendChild(o);
        }
        v.addEventListener("loadedmetadata", function () {
          refreshDuration();
          var want = targetFor(v, now());
          if (Math.abs(v.currentTime - want) > SOFT_DRIFT_S) v.currentTime = want;
        });
      });
      tr.appendChild(td);
    });
    table.appendChild(tr);
  });
  wrap.appendChild(bar);
  wrap.appendChild(table);
  root.appendChild(wrap);

  // ---- clock ----------------------------------------------------------------------------------------
  function now() {
    if (!state.running) return state.base;
    return state.base + (performance.now() - state.wall) / 1000 * state.rate;
  }
  function hold() { state.base = now(); state.wall = performance.now(); state.running = false; }
  function duration() {
    var d = 0;
    entries.forEach(function (e) { if (isFinite(e.video.duration)) d = Math.max(d, e.video.duration); });
    return d;
  }
  function refreshDuration() { seek.max = String(duration()); }
  function targetFor(v, t) {
    var d = isFinite(v.duration) ? v.duration : Infinity;
    return Math.min(t, Math.max(0, d - END_EPSILON_S));
  }
  function activeAt(v, t) { return !isFinite(v.duration) || t < v.duration - END_EPSILON_S; }

  function applyAudio() {
    entries.forEach(function (e) {
      var on = !!state.audio && e.take === 0 && e.row === state.audio[0] && e.col === state.audio[1];
      e.video.muted = !on;
    });
    audioSel.value = state.audio ? state.audio[0] + "," + state.audio[1] : "";
  }

  function playVideo(v) {
    var p = v.play();
    if (p && p.catch) {
      p.catch(function (err) {
        if (err && err.name === "NotAllowedError" && !v.muted) {
          v.muted = true;  // the browser refused sound without a click: play muted, say so
          note.textContent = "Sound was blocked by the browser: click Play all again.";
          v.play().catch(function () {});
        }
      });
    }
  }

  function allReady(t) {
    return entries.every(function (e) {
      var v = e.video;
      if (v.error) return true;          // a broken clip never holds the others
      if (!activeAt(v, t)) return v.readyState >= 1;
      return v.readyState >= HAVE_FUTURE_DATA && !v.seeking;
    });
  }

  function seekAll(t) {
    var d = duration();
    t = Math.max(0, Math.min(t, d || t));
    state.base = t; state.wall = performance.now();
    if (state.playing) state.running = false;  // wait until every video is there again
    entries.forEach(function (e) {
      var v = e.video;
      if (v.readyState >= 1) v.currentTime = targetFor(v, t);
      if (!state.playing) v.pause();
    });
    render(t);
  }

  function play() {
    note.textContent = "";
    if (duration() && now() >= duration() - END_EPSILON_S) seekAll(0);
    state.playing = true; state.running = false;  // the clock starts at the next tick with all ready
    render(now());
  }

  function pause() {
    var t = now();
    state.playing = false; state.running = false; state.base = t;
    entries.forEach(function (e) {
      e.video.pause();
      e.video.playbackRate = state.rate;
      if (e.video.readyState >= 1 && Math.abs(e.video.currentTime - targetFor(e.video, t)) > 0.001) {
        e.video.currentTime = targetFor(e.video, t);
      }
    });
    render(t);
  }

  function setRate(r) {
    var t = now();
    state.base = t; state.wall = performance.now(); state.rate = r;
    entries.forEach(function (e) { e.video.playbackRate = r; });
    speedSel.value = String(r);
  }

  function render(t) {
    playBtn.textContent = state.playing ? "❚❚ Pause" : "▶ Play all";
    if (!state.dragging) seek.value = String(t);
    timeLbl.textContent = fmt(t) + " / " + fmt(duration());
  }

  function tick() {
    var d = duration();
    if (state.playing) {
      var t = now();
      if (d && t >= d) {
        if (state.loop) { seekAll(0); t = 0; }
        else { pause(); state.base = d; render(d); return; }
      }
      if (!state.running) {
        if (allReady(t)) {
          state.base = t; state.wall = performance.now(); state.running = true;
          entries.forEach(function (e) {
            var v = e.video;
            v.playbackRate = state.rate;
            if (!activeAt(v, t)) return;
            if (Math.abs(v.currentTime - targetFor(v, t)) > SOFT_DRIFT_S) v.currentTime = targetFor(v, t);
            playVideo(v);
          });
        } else {
          entries.forEach(function (e) { if (!e.video.paused) e.video.pause(); });
        }
      } else {
        var stalled = entries.some(function (e) {
          var v = e.video;
          return !v.error && activeAt(v, t) && (v.readyState < HAVE_FUTURE_DATA || v.seeking);
        });
        if (stalled) {
          hold();
          entries.forEach(function (e) { e.video.pause(); });
        } else {
          entries.forEach(function (e) { correct(e.video, t); });
        }
      }
      render(now());
    } else {
      render(state.base);
    }
  }

  function correct(v, t) {
    if (v.error) return;
    if (!activeAt(v, t)) {
      if (!v.paused) v.pause();
      return;
    }
    if (v.paused) {
      if (Math.abs(v.currentTime - t) > SOFT_DRIFT_S) v.currentTime = t;
      playVideo(v);
      return;
    }
    var drift = v.currentTime - t;  // > 0: the video is ahead of the clock
    if (Math.abs(drift) > HARD_DRIFT_S) {
      v.currentTime = t; v.playbackRate = state.rate;
    } else if (Math.abs(drift) > SOFT_DRIFT_S) {
      var nudge = Math.max(-NUDGE_MAX, Math.min(NUDGE_MAX, -drift * NUDGE_GAIN));
      v.playbackRate = state.rate * (1 + nudge);
    } else if (v.playbackRate !== state.rate) {
      v.playbackRate = state.rate;
    }
  }

  // ---- wiring ---------------------------------------------------------------------------------------
  playBtn.addEventListener("click", function () { if (state.playing) pause(); else play(); });
  seek.addEventListener("input", function () { state.dragging = true; seekAll(parseFloat(seek.value)); });
  seek.addEventListener("change", function () { state.dragging = false; seekAll(parseFloat(seek.value)); });
  speedSel.addEventListener("change", function () { setRate(parseFloat(speedSel.value)); });
  loopBox.addEventListener("change", function () { state.loop = loopBox.checked; });
  audioSel.addEventListener("change", function () {
    var v = audioSel.value;
    state.audio = v ? v.split(",").map(Number) : null;
    applyAudio();
  });
  applyAudio();
  var timer = setInterval(tick, TICK_MS);

  var controller = {
    play: play, pause: pause, seek: seekAll, setRate: setRate,
    setLoop: function (on) { state.loop = !!on; loopBox.checked = !!on; },
    setAudio: function (rc) { state.audio = rc; applyAudio(); },
    time: now, duration: duration,
    videos: function () { return entries.map(function (e) { return e.video; }); },
    state: function () {
      return {playing: state.playing, running: state.running, rate: state.rate, loop: state.loop,
              time: now(), audio: state.audio};
    },
    destroy: function () {
      clearInterval(timer);
      entries.forEach(function (e) { e.video.pause(); e.video.removeAttribute("src"); e.video.load(); });
      root.textContent = "";
    },
  };
  wrap.syncedGrid = controller;
  return controller;
}

var SYNCED_GRID_CSS = [
  ".ksg{font-family:system-ui,sans-serif;font-size:14px;color:inherit}",
  ".ksg-bar{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.25rem 0 .5rem}",
  ".ksg-bar button,.ksg-bar select{font:inherit;padding:.2rem .6rem;border-radius:.4rem;",
  "border:1px solid #bbb;background:#fff;color:#222;cursor:pointer}",
  ".ksg-seek{flex:1 1 12rem;min-width:8rem}",
  ".ksg-time{font-variant-numeric:tabular-nums;min-width:7.5rem}",
  ".ksg-note{color:#a15c00}",
  ".ksg-grid{border-collapse:collapse;width:100%;table-layout:fixed}",
  ".ksg-grid th{font-weight:600;padding:.25rem;text-align:center;word-break:break-word}",
  ".ksg-grid th.ksg-row{text-align:right;width:8rem}",
  ".ksg-grid th.ksg-corner{width:8rem}",
  ".ksg-cell{padding:.2rem;vertical-align:top}",
  ".ksg-video{width:100%;display:block;background:#000;border-radius:.3rem}",
  ".ksg-item+.ksg-item{margin-top:.3rem}",
  ".ksg-label{display:block;font-size:12px;opacity:.8;padding:.1rem 0;word-break:break-word}",
  ".ksg-empty{background:#888;color:#fff;aspect-ratio:16/9;display:flex;align-items:center;",
  "justify-content:center;border-radius:.3rem}",
].join("");
