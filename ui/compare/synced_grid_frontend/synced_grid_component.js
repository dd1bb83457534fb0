/* The Streamlit v2 component's entry (appended to synced_grid_core.js by ui/compare/synced_grid.py).
 * Streamlit calls the default export on mount and again whenever the data changes; the grid is rebuilt
 * only when the cells, labels or sound source really changed, keeping the position and play state. */
var SYNCED_GRID_MOUNTS = new WeakMap();

export default function (component) {
  var parent = component.parentElement;
  var data = component.data || {};
  var json = JSON.stringify(data);
  var mounted = SYNCED_GRID_MOUNTS.get(parent);
  if (mounted && mounted.json === json) return mounted.cleanup;
  var resume = null;
  if (mounted) {
    var s = mounted.controller.state();
    resume = {time: s.time, playing: s.playing, rate: s.rate, loop: s.loop};
    mounted.controller.destroy();
  }
  var host = parent.querySelector(".ksg-root") || parent;
  if (!parent.querySelector("style.ksg-style")) {
    var style = document.createElement("style");
    style.className = "ksg-style";
    style.textContent = SYNCED_GRID_CSS;
    parent.appendChild(style);
  }
  var controller = createSyncedGrid(host, data);
  if (resume) {
    controller.setRate(resume.rate);
    controller.setLoop(resume.loop);
    controller.seek(resume.time);
    if (resume.playing) controller.play();
  }
  var cleanup = function () {
    controller.destroy();
    SYNCED_GRID_MOUNTS.delete(parent);
  };
  SYNCED_GRID_MOUNTS.set(parent, {json: json, controller: controller, cleanup: cleanup});
  return cleanup;
}
