"""On a phone, close the sidebar after the user picked a page in it.

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
  var last = window.__studioLastPage;
  window.__studioLastPage = data.page;
  if (last === undefined || last === data.page) return;
  if (!window.matchMedia("(max-width: " + data.narrow + "px)").matches) return;
  var button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
  if (button && button.getAttribute("aria-expanded") === "true") button.click();
}
"""


@functools.cache
def _component():
    return st.components.v2.component(COMPONENT_NAME, html="<span></span>", js=_JS)


def close_sidebar_after_navigation(page: str) -> None:
    """Call once per run with the page's url path (the frame does)."""
    _component()(key="studio.phone_sidebar", data={"page": page, "narrow": NARROW_MAX_PX}, height=0)
