"""Live views without a script run every 2 s (issue 21): a zero-height component in a live fragment asks the
server what changed (core/storage/change_feed.py, GET /api/changes: answered from memory) and asks
Streamlit for a rerun of its fragment only when a change concerns this tab.

    live_trigger(key, watch=[job ids shown], new_jobs=True, active=shown count, finished=True)

What concerns a tab: a change to a job it shows (`watch`), a new job where the view lists new jobs
(`new_jobs`), the active count when it shows one (`active`), a job that ended when it toasts them
(`finished`), and a reset (the tab fell behind or the ledger changed). Reruns of one fragment are at least
`min_gap_s` apart, and at least the server's pace apart (`pace_s`: the live views of all tabs together use
at most config.LIVE_CPU_SHARE of a core; their fragments are `measured`); a take being made is not paced.
One asker per browser tab serves every live component in it, and it pauses while the
tab is hidden (it asks again at once when the tab is shown). When answers were lost (the server restarting,
the network), the first answer after them reruns every listener once. A listener with a clock (`tick_every_s`:
the Jobs table's elapsed times) also reruns that often, but only while the server has active jobs. The
fragments keep a very slow timer of their own (config.LIVE_FALLBACK_EVERY_S), the last resort for a trigger
lost on its way into Streamlit. A listener may ask for quicker answers while it is mounted (`ask_every_s`:
the Create page's take card while its job is being made); such listeners are woken first.

Streamlit's v2 components: our own inline script, no iframe, nothing loaded from elsewhere.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable

import streamlit as st

from ui import session
from ui.media_links import base_path

COMPONENT_NAME = "studio_live_trigger"

_JS = """
function studioFeed(url, everyMs) {
  // tab: a random id the server counts the tabs asking with; paceMs: the server's least gap between two
  // reruns of a listener now (the more tabs watch, the further apart: core/storage/change_feed.py)
  var feed = {listeners: new Map(), cursor: null, timer: null, busy: false, lost: false, paceMs: 0,
              tab: Math.random().toString(36).slice(2, 14)};
  function concerns(l, a) {
    if (a.reset) return true;
    if (l.anyNew && a.new > 0) return true;
    if (l.finished && a.finished > 0) return true;
    if (l.active !== null && l.active !== undefined && a.active !== l.active) return true;
    for (var i = 0; i < a.tokens.length; i++) if (l.watch.has(a.tokens[i])) return true;
    return false;
  }
  // Streamlit applies one fragment's widget updates per batch: two triggers sent together would rerun
  // only one of the fragments, so they go out one at a time, SPACING_MS apart.
  var SPACING_MS = 250;
  var queue = [], draining = false;
  function drain() {
    var next = queue.shift();
    if (!next) { draining = false; return; }
    draining = true;
    next();
    setTimeout(drain, SPACING_MS);
  }
  function fire(id, l, seq) {
    if (l.pending) return;
    var gap = l.askMs ? l.gapMs : Math.max(l.gapMs, feed.paceMs);  // a take being made is never paced
    var wait = Math.max(0, l.last + gap - Date.now());
    l.pending = setTimeout(function () {
      queue.push(function () {
        var now = feed.listeners.get(id);  // the listener as mounted now (a rerun mounts it again)
        if (!now) return;
        now.pending = null;
        now.last = Date.now();
        now.trigger("changed", seq);
      });
      if (!draining) drain();
    }, wait);
  }
  function every() {  // a listener may ask for quicker answers while it is mounted (a take being made)
    var ms = everyMs;
    feed.listeners.forEach(function (l) { if (l.askMs && l.askMs < ms) ms = l.askMs; });
    return ms;
  }
  function schedule(ms) {
    clearTimeout(feed.timer);
    if (feed.listeners.size === 0) { feed.timer = null; return; }
    feed.timer = setTimeout(ask, ms);
  }
  function ask() {
    if (document.hidden || feed.busy || feed.cursor === null) { schedule(every()); return; }
    feed.busy = true;
    fetch(url + "?after=" + feed.cursor + "&tab=" + feed.tab, {cache: "no-store", credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (a) {
        if (!a) { feed.lost = true; return; }
        // answers were lost (the server restarting, the network): what changed meanwhile is unknown, so
        // every listener reruns once, as on a reset
        if (feed.lost) { a.reset = true; feed.lost = false; }
        feed.paceMs = a.pace_ms || 0;
        var now = Date.now();
        // a listener that asked for quick answers (a take being made) is woken first: the others' reruns
        // (the sidebar's full run on a new video) go out after it
        [true, false].forEach(function (quick) {
          feed.listeners.forEach(function (l, id) {
            if (!!l.askMs !== quick) return;
            // a listener with a clock (the Jobs table's "Time") reruns every tickMs while jobs are active
            if (concerns(l, a) || (l.tickMs && a.active > 0 && now - l.last >= l.tickMs)) fire(id, l, a.seq);
            if (l.active !== null) l.active = a.active;
          });
        });
        feed.cursor = a.seq;
      })
      .catch(function () { feed.lost = true; })
      .then(function () { feed.busy = false; schedule(every()); });
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) schedule(0); });
  feed.listen = function (id, l) {
    var old = feed.listeners.get(id);
    if (old) { l.last = old.last; l.pending = old.pending; }
    if (!l.last) l.last = Date.now();  // it was just drawn: its clock starts now
    feed.listeners.set(id, l);
    if (feed.cursor === null || l.seq < feed.cursor) feed.cursor = l.seq;
    if (!feed.timer || (l.askMs && l.askMs < everyMs)) schedule(every());
  };
  feed.unlisten = function (id, mine) {
    var l = feed.listeners.get(id);
    if (l !== mine) return;  // mounted again since: that one stays
    if (l.pending) clearTimeout(l.pending);
    feed.listeners.delete(id);
  };
  return feed;
}

export default function (component) {
  var d = component.data || {};
  var feed = window.__studioLiveFeed;
  if (!feed) feed = window.__studioLiveFeed = studioFeed(d.url, d.every_ms);
  var mine = {
    watch: new Set((d.watch || "").split(" ").filter(Boolean)), anyNew: !!d.new_jobs, finished: !!d.finished,
    active: (d.active === null || d.active === undefined) ? null : d.active,
    seq: d.seq, gapMs: d.gap_ms, last: 0, pending: null, trigger: component.setTriggerValue,
    askMs: d.ask_ms || 0, tickMs: d.tick_ms || 0
  };
  feed.listen(d.id, mine);
  return function () { feed.unlisten(d.id, mine); };
}
"""


def measured(view):
    """A live view's fragment body, its CPU noted for the pace of all tabs' live reruns (the change feed's
    `note_run`; this thread's CPU time, so other sessions' work is not counted)."""

    @functools.wraps(view)
    def run(*args, **kwargs):
        started = time.thread_time()
        try:
            return view(*args, **kwargs)
        finally:
            with contextlib.suppress(Exception):  # the services not up yet: nothing to note
                session.change_feed().note_run(time.thread_time() - started)

    return run


@contextlib.contextmanager
def interaction():
    """Around a person's own script run (the page's, the Create form's fragment; a decorator too): the change
    feed holds the live reruns of every tab until it ends (core/storage/change_feed.py `interaction`)."""
    try:
        marked = session.change_feed().interaction()
    except Exception:  # the services not up yet: nothing to hold
        marked = contextlib.nullcontext()
    with marked:
        yield


def pace_s() -> float:
    """The least gap between two live reruns of a view in any tab now (0 when the room is small)."""
    try:
        return session.change_feed().pace_s()
    except Exception:
        return 0.0


@functools.cache
def _component():
    return st.components.v2.component(COMPONENT_NAME, html="<span></span>", js=_JS)


def _noop() -> None:
    return None


def live_trigger(key: str, *, watch: list[str] = (), new_jobs: bool = False, active: int | None = None,
                 finished: bool = False, min_gap_s: float | None = None,
                 ask_every_s: float | None = None, tick_every_s: float | None = None,
                 on_change: Callable[[], None] | None = None) -> None:
    """Mount the asker for the fragment this is called in (call it once per run of that fragment).
    `ask_every_s`: while this one is mounted, the tab asks that often (quicker than config.LIVE_ASK_EVERY_S;
    the Create page's take card, for its player within a second of the video).
    `tick_every_s`: the fragment also reruns that often while the server has active jobs (a clock of
    elapsed times); never while nothing runs, so an idle tab runs no script.
    `on_change`: called back when the tab is told of a change, before the fragment's run (a callback may ask
    Streamlit for another fragment's run instead: the take card, for its end)."""
    from core import config

    feed = session.change_feed()
    data = {
        "id": key,
        "url": base_path(st.get_option("server.baseUrlPath")) + config.CHANGES_ROUTE,
        "every_ms": int(config.LIVE_ASK_EVERY_S * 1000),
        "gap_ms": int((min_gap_s if min_gap_s is not None else session.live_min_gap_s()) * 1000),
        "seq": feed.seq,
        # one string, not a list: a list or dict in a component's data makes Streamlit import pandas to ask
        # whether it is a data frame (issue 21: fast start)
        "watch": " ".join(feed.token(job_id) for job_id in watch),
        "new_jobs": new_jobs,
        "active": active,
        "finished": finished,
        "ask_ms": int(ask_every_s * 1000) if ask_every_s else 0,
        "tick_ms": int(tick_every_s * 1000) if tick_every_s else 0,
    }
    _component()(key=key, data=data, height=0, on_changed_change=on_change or _noop)
