"""On a phone, close the sidebar after the user picked a page in it; and tell the pages whether this tab
is phone-sized (`is_narrow`), so they draw one layout, not both hidden by CSS (issue 21: building the
hidden phone cards took a third of an idle Jobs tab's server time).

Streamlit 1.67 leaves the sidebar open over the page after a tapped link when the sidebar has content of
its own (upstream streamlit/streamlit#12065, confirmed, open). This zero-height component (Streamlit's
v2 components: our own inline script, no iframe, nothing loaded from elsewhere) remembers the page it
last saw; when the page changed and the screen is narrow, it presses the sidebar's own close button.
"""

from __future__ import annotations

import functools

import streamlit as st

COMPONENT_NAME = "studio_phone_sidebar"
NARROW_MAX_PX = 640  # Streamlit's own phone breakpoint is about this wide

_JS = """
export default function (component) {
  var data = component.data || {};
  var query = window.matchMedia("(max-width: " + data.narrow + "px)");
  // Tell Python which layout to draw (one, not both) when its guess is wrong, and again when it changes.
  var report = function () {
    if (query.matches !== data.guess) component.setStateValue("is_narrow", query.matches);
  };
  report();
  query.addEventListener("change", report);
  var last = window.__studioLastPage;
  window.__studioLastPage = data.page;
  if (last !== undefined && last !== data.page && query.matches) {
    var button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
    if (button && button.getAttribute("aria-expanded") === "true") button.click();
  }
  return function () { query.removeEventListener("change", report); };
}
"""


@functools.cache
def _component():
    return st.components.v2.component(COMPONENT_NAME, html="<span></span>", js=_JS)


NARROW_KEY = "studio.narrow"  # what the browser said: a phone-sized window (None: not said yet)
PHONE_AGENT_WORDS = ("Mobi", "Android", "iPhone")  # a first guess before the browser says


def _noop() -> None:
    return None


def is_narrow() -> bool:
    """Is this tab a phone-sized window? What its browser said, else a guess from its user agent (pages draw
    one layout, cards or a table, not both)."""
    said = st.session_state.get(NARROW_KEY)
    if said is not None:
        return bool(said)
    try:
        agent = st.context.headers.get("User-Agent", "") or ""
    except Exception:  # no browser (AppTest)
        agent = ""
    return any(word in agent for word in PHONE_AGENT_WORDS)


def close_sidebar_after_navigation(page: str) -> None:
    """Call once per run with the page's url path (the frame does). Also learns whether the window is
    narrow: the browser answers only when the guess (`is_narrow`) is wrong, so a right guess costs no run."""
    result = _component()(key="studio.phone_sidebar", height=0, on_is_narrow_change=_noop,
                          data={"page": page, "narrow": NARROW_MAX_PX, "guess": is_narrow()})
    said = getattr(result, "is_narrow", None)
    if said is not None:
        st.session_state[NARROW_KEY] = bool(said)
