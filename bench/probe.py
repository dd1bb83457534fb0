"""The probing tab of bench/sessions.py (issue 21 item 5): one real headless Chromium (Debian's
/usr/bin/chromium, Playwright) on the Create page doing what a person does, each interaction timed from the
browser input to the page painted, on the browser's own clock (performance.now()):

    prompt     a new prompt typed into the Prompt box, then the box left (Streamlit commits a text area on
               blur): from the blur to the page painted after the run it caused
    choice     another aspect ratio picked in the segmented control: from the click to painted
    generate   Generate in the action bar: from the click to the card of the job just sent painted
               ("Job started." in a new `st-key-create-text-take-<job id>` container, ui/create/take.py)

"Painted" for prompt and choice: the server answered (a websocket frame came in after the input: the page's
WebSocket is wrapped by an init script to time each incoming frame), the app's script state
(`data-test-script-state` on stApp, Streamlit's own attribute) is notRunning, and neither changed for QUIET_MS
(a run ended by st.rerun() is followed by the next run); the time is two animation frames after the last
frame or the last change to notRunning, whichever came later (the frame after it is on screen), not the end
of the quiet wait. (A run of a few milliseconds may never show "running" in the page: React draws the state
it ends in, so the frames are the sign that the server ran.)

The trivial app (TRIVIAL_CREATE_APP) has the same three controls with the same names and keys and does no
work: the baseline for the ratios, measured the same way in the same run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-renderer-backgrounding", "--disable-background-timer-throttling"]
LONG_MS = 60_000
FIRST_PAGE_MS = 180_000  # a server busy with many tabs takes long to draw a new one's first page
QUIET_MS = 400
ASPECTS = ("9:16", "1:1", "16:9")
KINDS = ("prompt", "choice", "generate")
CARD_PREFIX = "st-key-create-text-take-"
BAR_KEY = "create-text-bar"

TRIVIAL_CREATE_APP = '''import streamlit as st

st.title("Text to video")
st.text_area("Prompt")
st.segmented_control("Aspect ratio", ["16:9", "9:16", "1:1"], default="16:9")
with st.container(key="create-text-bar"):
    if st.button("Generate", type="primary"):
        st.session_state["takes"] = st.session_state.get("takes", 0) + 1
takes = st.session_state.get("takes", 0)
if takes:
    with st.container(key=f"create-text-take-{takes}"):
        st.success("Job started. It plays here when it is ready.")
'''

WS_INIT_JS = """(() => {
  const Native = window.WebSocket;
  window.__probeWs = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => {
        const seen = [performance.now()];
        window.__probeWs.push(seen);
        requestAnimationFrame(() => requestAnimationFrame(() => seen.push(performance.now())));
      });
    }
  };
})();"""

INSTALL_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const log = window.__probeLog = [];
  const note = (state, t) => {
    log.push([state, t]);
    if (state === 'notRunning') {
      const i = log.length - 1;
      requestAnimationFrame(() => requestAnimationFrame(() => { log[i].push(performance.now()); }));
    }
  };
  note(app.getAttribute('data-test-script-state'), performance.now());
  new MutationObserver(records => {
    const t = performance.now();
    // every value the attribute took since the last callback: each record's old value, then the current one
    const values = records.map(r => r.oldValue).slice(1);
    values.push(app.getAttribute('data-test-script-state'));
    for (const v of values) if (v !== log[log.length - 1][0]) note(v, t);
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state'], attributeOldValue: true});
}"""

ACT_JS = """({what, label, barKey, cardPrefix}) => {
  const cards = () => [...document.querySelectorAll('[class*="' + cardPrefix + '"]')];
  let target = null;
  if (what === 'prompt') target = document.activeElement;
  // a choice by its label, "16:9 (default)" too
  if (what === 'choice') target = [...document.querySelectorAll('[data-testid="stMain"] button')]
      .find(b => { const t = b.innerText.trim(); return t === label || t.startsWith(label + ' '); });
  if (what === 'generate') target = [...document.querySelectorAll('.st-key-' + barKey + ' button')]
      .find(b => b.innerText.includes('Generate'));
  if (!target) return null;
  const start = window.__probeLog.length;
  const wsStart = window.__probeWs.length;
  window.__probeCard = null;
  if (what === 'generate') {
    const old = new Set(cards());
    const seen = () => {
      if (window.__probeCard !== null) return;
      const card = cards().find(c => !old.has(c) && c.innerText.includes('Job started'));
      if (!card) return;
      window.__probeCard = -1;
      requestAnimationFrame(() => requestAnimationFrame(() => { window.__probeCard = performance.now(); }));
      obs.disconnect();
    };
    const obs = new MutationObserver(seen);
    obs.observe(document.body, {subtree: true, childList: true, characterData: true});
  }
  const t0 = performance.now();
  if (what === 'prompt') target.blur(); else target.click();
  return {t0: t0, start: start, wsStart: wsStart};
}"""

SETTLED_JS = """({start, wsStart, quiet}) => {
  const frames = window.__probeWs.slice(wsStart);
  if (!frames.length) return null;
  const frame = frames[frames.length - 1];
  const log = window.__probeLog;
  const state = log[log.length - 1];
  if (state[0] !== 'notRunning' || frame.length < 2) return null;
  const changed = log.length > start;  // the state changed after the input
  if (changed && state.length < 3) return null;
  if (performance.now() - Math.max(frame[0], changed ? state[1] : 0) < quiet) return null;
  return Math.max(frame[1], changed ? state[2] : 0);
}"""

CARD_JS = "() => window.__probeCard > 0 ? window.__probeCard : null"


@dataclass
class ProbeResult:
    times_ms: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    missed: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})

    def add(self, kind: str, ms: float | None) -> None:
        if ms is None:
            self.missed[kind] += 1
        else:
            self.times_ms[kind].append(ms)

    def all_ms(self) -> list[float]:
        return [v for k in KINDS for v in self.times_ms[k]]


class Probe:
    """One Chromium page on `url` (the Create page, or the trivial app), timing KINDS."""

    def __init__(self, url: str, *, width: int = 1280, height: int = 900) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        try:
            self.browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                    headless=True)
            self.page = self.browser.new_page(viewport={"width": width, "height": height})
            self.page.add_init_script(WS_INIT_JS)
            self.page.set_default_timeout(LONG_MS)
            self.page.goto(url, wait_until="domcontentloaded", timeout=FIRST_PAGE_MS)
            self.prompt_box = self.page.get_by_role("textbox", name="Prompt", exact=True)
            self.prompt_box.wait_for(timeout=FIRST_PAGE_MS)
            self.page.wait_for_function(
                "() => document.querySelector('[data-testid=\"stApp\"]')"
                "?.getAttribute('data-test-script-state') === 'notRunning'", timeout=FIRST_PAGE_MS)
            self.page.evaluate(INSTALL_JS)
        except BaseException:
            self._pw.stop()  # else the next Probe finds Playwright's loop still running in this thread
            raise
        self.round_no = 0

    def _timed(self, what: str, label: str = "") -> float | None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        act = self.page.evaluate(ACT_JS, {"what": what, "label": label, "barKey": BAR_KEY,
                                          "cardPrefix": CARD_PREFIX})
        if act is None:
            return None
        settled = {"start": act["start"], "wsStart": act["wsStart"], "quiet": QUIET_MS}
        try:
            if what == "generate":
                painted = self.page.wait_for_function(CARD_JS, timeout=LONG_MS, polling=50).json_value()
                # let that run (and the st.rerun after it) end before the next interaction
                self.page.wait_for_function(SETTLED_JS, arg=settled, timeout=LONG_MS, polling=50)
            else:
                painted = self.page.wait_for_function(SETTLED_JS, arg=settled, timeout=LONG_MS,
                                                      polling=50).json_value()
        except PlaywrightTimeout:
            return None
        return float(painted) - float(act["t0"])

    def round(self, result: ProbeResult, *, kinds: tuple[str, ...] = KINDS,
              words: str = "a heron lifts off a misty lake at dawn") -> None:
        """One prompt, one choice, one Generate (those of `kinds`); each time added to `result`."""
        n = self.round_no
        self.round_no += 1
        if "prompt" in kinds:
            self.prompt_box.fill(f"Round {n}, {time.time():.3f}: {words}, slow dolly-in, soft light")
            result.add("prompt", self._timed("prompt"))
        if "choice" in kinds:
            result.add("choice", self._timed("choice", ASPECTS[n % len(ASPECTS)]))
        if "generate" in kinds:
            result.add("generate", self._timed("generate"))

    def close(self) -> None:
        try:
            self.browser.close()
        finally:
            self._pw.stop()
