"""Words typed are kept at each pause in typing, not only when the box is left.

A Streamlit text area sends its text to the server only when it loses focus (or on Ctrl+Enter), so words typed
just before a reload were lost: the Create page saves its draft on every run, but no run had seen them. This
zero-height component (Streamlit's v2 components: our own inline script, no iframe, nothing loaded from
elsewhere) listens once per browser tab for typing in the page's text areas (prompts, shot prompts); after a
pause of `PAUSE_MS` it tells the box it was left (a `focusout` event: the box keeps the focus and the caret,
the text is committed exactly as a real blur would), and the run that follows saves the draft.

Not touched: one-line boxes (a rerun would close the popover a preset name is typed in; a key box is a form)
and text areas inside a form (they commit on submit only). The frame calls `commit_on_pause()` once per run,
on every page.
"""

from __future__ import annotations

import functools

import streamlit as st

COMPONENT_NAME = "studio_typing_pause"
PAUSE_MS = 700  # a pause in typing this long commits what was typed (and the page saves its draft)

_JS = """
export default function (component) {
  var data = component.data || {};
  window.__studioTypingPauseMs = data.pause;
  if (window.__studioTypingPause) return;
  window.__studioTypingPause = true;
  var timers = new WeakMap();
  function commit(box) {
    timers.delete(box);
    if (!box.isConnected || document.activeElement !== box) return;  // left already: committed by then
    box.dispatchEvent(new FocusEvent("focusout", {bubbles: true, relatedTarget: null}));
  }
  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!box || box.tagName !== "TEXTAREA" || !box.closest('[data-testid="stTextArea"]')) return;
    if (box.closest('[data-testid="stForm"]')) return;  // a form commits on submit only
    clearTimeout(timers.get(box));
    timers.set(box, setTimeout(function () { commit(box); }, window.__studioTypingPauseMs || 700));
  }, true);
}
"""


@functools.cache
def _component():
    return st.components.v2.component(COMPONENT_NAME, html="<span></span>", js=_JS)


def commit_on_pause() -> None:
    """Call once per run (the frame does): typing in any text box is committed at each pause."""
    _component()(key="studio.typing_pause", data={"pause": PAUSE_MS}, height=0)
