"""Reading and driving synced video grids from Playwright (videos may sit inside open shadow roots)."""

from __future__ import annotations

import time

VIDEOS_JS = """() => {
  const out = [];
  const walk = (root) => root.querySelectorAll('*').forEach((n) => {
    if (n.tagName === 'VIDEO') out.push(n);
    if (n.shadowRoot) walk(n.shadowRoot);
  });
  walk(document);
  return out.map((v) => ({t: v.currentTime, d: v.duration, paused: v.paused, muted: v.muted,
                          rate: v.playbackRate, ready: v.readyState, src: v.currentSrc}));
}"""
SYNC_TOLERANCE_S = 0.1
END_MARGIN_S = 0.3


def videos(page) -> list[dict]:
    return page.evaluate(VIDEOS_JS)


def spread(states: list[dict]) -> float:
    """Largest gap between the current times of the videos that still have frames to show."""
    times = [v["t"] for v in states if v["d"] and v["t"] < v["d"] - END_MARGIN_S]
    return max(times) - min(times) if len(times) > 1 else 0.0


def wait_for(page, predicate, timeout_s: float = 20.0, what: str = "condition") -> list[dict]:
    deadline = time.monotonic() + timeout_s
    states = videos(page)
    while time.monotonic() < deadline:
        states = videos(page)
        if predicate(states):
            return states
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}: {states}")


def set_range(locator, value: float) -> None:
    locator.evaluate("(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input'));"
                     " el.dispatchEvent(new Event('change')); }", value)
