"""The take in place (issue 16 §1): what Generate made, shown where it was written.

    with take.action_bar(mode, cost):    the compact bar with the cost and Generate, kept in view (sticky)
        …Generate…
    take.keys(mode)                       Ctrl/Cmd+Enter in a text box of the form = Generate; scrolls
    take.take_in_place(mode, last_job)    the live card of the job just sent (or picked in the strip), then
                                          the strip of this page's recent takes

Generate does not wait for the router (issue 21): the card appears in the click's run, "Sending to
<router>", and moves on with the router's answer: accepted (then as below), held back by a busy router or a
quota (why, in plain words), or refused (the reason and the next step; nothing was charged and the form
above still holds what was typed, to fix and Generate again).
The card is a live fragment (ui/live.py, the change feed): it reruns when its job changes (the tab asks
every TAKE_ASK_EVERY_S while the job is live, instead of the usual LIVE_ASK_EVERY_S), and by itself every
TAKE_TICK_EVERY_S for its clock: state, elapsed time, the router's progress when it gives one, else the
time left from the endpoint's finished jobs (core/jobs/eta.py, "about", and how many jobs it rests on).
When the change feed names the job and it has ended (the video saved), the trigger's callback reruns the
page's take fragment (`TAKES_FRAGMENT`: the card with the player and no more ticking, the strip with the new
take), not the page; a clock tick that sees the end first runs the page once. While it shows a job being
made it tells the frame (`frame.page_shows_end_of`), so the sidebar makes no whole-page run of its own for
that job's end. The
card is then the results' player (ui/results/jobs_view.py) with Download, Keep in Library, Iterate (the
take's request back into the form) and Compare variants. The strip shows the page's recent takes (first-
frame thumbnails, newest first); clicking one shows its card. Prompts and router words are shown as text
only.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator
from typing import Any

import streamlit as st

from core import config
from core.authoring import catalog
from core.jobs import eta
from core.jobs.record import ACTIVE_STATES, SENDING_STATES, Job, JobState, download_given_up, needs_download
from core.models import Mode
from ui import frame, nav, session
from ui import live as ui_live
from ui.results import jobs_view
from ui.text import escape_markdown

FAILED_STATES = (JobState.FAILED, JobState.CANCELLED)
STARTED = "Job started. It plays here when it is ready."
TOAST = "Job started — it plays here when it is ready."
NO_PAST = "No earlier video of this model to estimate the time from yet."
SENDING_WORDS = "Sending it to {router}; this card moves on by itself when the router answers."
REFUSED = ("Nothing was charged: {router} did not take this request. What you wrote is still in the form "
           "above: change what the reason says and Generate again.")


def _k(mode: Mode | str, name: str) -> str:
    return f"create.{mode}.__take.{name}"


def bar_key(mode: Mode | str) -> str:
    """The sticky bar's container key (its CSS class is st-key-<key>)."""
    return f"create-{mode}-bar"


def card_key(mode: Mode | str) -> str:
    return f"create-{mode}-take"


# --- pure parts -------------------------------------------------------------------------------------------

def is_live(job: Any, now: float) -> bool:
    """Something is still to come: the router is working on it, or its video is being saved."""
    state = getattr(job, "state", None)
    if state in ACTIVE_STATES:
        return True
    return state == JobState.SUCCEEDED and needs_download(job) and not download_given_up(job, now)


def bar_cost(total_usd: float | None, *, demo: bool) -> str:
    """The cost in the compact bar: "About $0.45", "About $0.45 on the real router · demo, free"."""
    if total_usd is None:
        return "Cost: once the form is complete"
    if demo:
        return f"About ${total_usd:.2f} on the real router · demo, free"
    return f"About ${total_usd:.2f}"


def progress_words(job: Job, typical: tuple[float, int] | None, now: float) -> tuple[float | None, str]:
    """The bar's fill (None: no bar) and the words under it: the router's progress when it gives one, else
    the time left from the endpoint's past (say "about" and on how many jobs it rests)."""
    if job.state == JobState.SUCCEEDED:
        return 1.0, "Done; saving the video."
    if job.progress is not None and job.state == JobState.RUNNING:
        pct = max(0, min(100, int(job.progress)))
        return pct / 100, f"{pct} % done (the router's figure)"
    if typical is None:
        return None, NO_PAST
    median, n = typical
    left = eta.Eta(left_s=max(0.0, median - (now - job.created_at)), typical_s=median, based_on=n)
    fill = None if left.overdue else min(0.99, (now - job.created_at) / median if median > 0 else 0.0)
    words = left.words()
    return fill, words[:1].upper() + words[1:]


def router_label(job: Job) -> str:
    return config.ROUTER_LABELS.get(job.router, job.router)


def is_sending(job: Job) -> bool:
    """Recorded and on its way to the router, nothing in the way: the engine sends it now (not held back
    by a busy router or a quota, not waiting for a key)."""
    return job.state in SENDING_STATES and not job.poll.last_error


def refused(job: Job) -> bool:
    """The router refused the request itself (it never became a task): nothing was charged."""
    return job.state == JobState.FAILED and job.task is None


def headline(job: Job, *, held: set[str] | None = None) -> str:
    """'Running · 0m 07s' — the state in plain words and the time since it was sent ('Sending to
    MuleRouter · 0m 00s' right after Generate)."""
    elapsed = jobs_view.fmt_elapsed(jobs_view.elapsed_s(job))
    if is_sending(job) and not session.needs_key(job, held):
        return f"Sending to {router_label(job)} · {elapsed}"
    return f"{jobs_view.state_label(job, held).capitalize()} · {elapsed}"


# --- the bar, kept in view ---------------------------------------------------------------------------------

def bar_css(mode: Mode | str) -> str:
    """Our own fixed stylesheet (no user text): the bar's wrapper sticks to the bottom of the scrolling main
    area. The wrapper, not the keyed block: Streamlit wraps each container in a div of its own height, in
    which a sticky block could not move. A field brought into view (focus, Tab) stays above the bar.
    The bar is in the form's fragment (ui/create/page.py `_studio`), whose block and wrapper would bound
    where it sticks (a sticky box stays inside its parent, which starts below a phone's first screen): they
    lay out their children as if the main block held them (`display: contents`, the main block excluded)."""
    key = bar_key(mode)
    bar = f'[data-testid="stLayoutWrapper"] > .st-key-{key}'
    return f"""
[data-testid="stLayoutWrapper"]:has(> .st-key-{key}) {{ position: sticky; bottom: 0; z-index: 100; }}
[data-testid="stVerticalBlock"]:not([data-testid="stMainBlockContainer"] > *):has(> {bar}),
[data-testid="stLayoutWrapper"]:has(> [data-testid="stVerticalBlock"] > {bar}) {{ display: contents; }}
[data-testid="stMain"] {{ scroll-padding-bottom: 6rem; }}
.st-key-{key} {{ background: #FBFAF7; padding: 0.5rem 0 0.6rem 0; border-top: 1px solid #E2DDF0;
  box-shadow: 0 -6px 12px -10px #1E1B3A55; }}
.st-key-{key} [data-testid="stCaptionContainer"] p {{ margin: 0; }}
"""


@contextlib.contextmanager
def action_bar(mode: Mode | str, cost: str) -> Iterator[None]:
    """A keyed container that stays at the bottom of the screen while the form scrolls above it (CSS
    position: sticky, set by `keys`: a style-only st.html goes to Streamlit's event container and is not
    applied in 1.67); the cost on its first line, then what the page puts in."""
    with st.container(key=bar_key(mode), gap="small"):
        st.caption(escape_markdown(cost))
        yield


# --- Ctrl/Cmd+Enter and scrolling: a zero-height v2 component (our own inline script, no iframe) ---------

_KEYS_JS = """
export default function (component) {
  var state = window.__studioTakeKeys || (window.__studioTakeKeys = {data: {}, scrolled: null});
  state.data = component.data || {};
  function generateButton() {
    var box = document.querySelector("." + state.data.generate);
    return box ? box.querySelector("button") : null;
  }
  var css = document.getElementById("studio-take-css");
  if (!css) {
    css = document.createElement("style");
    css.id = "studio-take-css";
    document.head.appendChild(css);
  }
  if (css.textContent !== (state.data.css || "")) css.textContent = state.data.css || "";
  if (!state.handler) {
    state.handler = function (ev) {
      if (ev.key !== "Enter" || !(ev.ctrlKey || ev.metaKey) || ev.isComposing) return;
      var box = ev.target;
      if (!box || box.tagName !== "TEXTAREA") return;
      var main = document.querySelector('[data-testid="stMain"]');
      if (!main || !main.contains(box) || !generateButton()) return;
      ev.preventDefault();
      // Streamlit takes the text on Ctrl+Enter (and on blur): let it, then press Generate, so the click's
      // run carries the words just typed.
      setTimeout(function () {
        box.blur();
        setTimeout(function () {
          var button = generateButton();
          if (button && !button.disabled) button.click();
        }, state.data.delay_ms || 80);
      }, 0);
    };
    document.addEventListener("keydown", state.handler);  // bubbles up after Streamlit's own handler
  }
  var scroll = {target: state.data.scroll_target, token: state.data.scroll_token,
                block: state.data.scroll_block};
  if (scroll.token && scroll.token !== state.scrolled) {
    state.scrolled = scroll.token;
    var tries = 0;
    var go = function () {
      var el = document.querySelector("." + scroll.target);
      if (el) { el.scrollIntoView({block: scroll.block || "nearest"}); return; }
      if (tries++ < 20) setTimeout(go, 50);
    };
    setTimeout(go, 0);
  }
}
"""
KEYS_DELAY_MS = 80  # after Streamlit took the text, before Generate is pressed


@functools.cache
def _keys_component():
    return st.components.v2.component("studio_take_keys", html="<span></span>", js=_KEYS_JS)


def _class_of(key: str) -> str:
    """Streamlit's class for a keyed element: st-key-<key> with anything but letters, digits, - and _ as -."""
    return "st-key-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in key)


def keys(mode: Mode | str, generate_key: str) -> None:
    """Ctrl/Cmd+Enter in any text box of the page's main area presses Generate (with its guards: a disabled
    Generate is not pressed); a new take or an Iterate scrolls to the card or to the top of the form."""
    scroll = st.session_state.get(_k(mode, "scroll"))
    data: dict[str, Any] = {"generate": _class_of(generate_key), "delay_ms": KEYS_DELAY_MS,
                            "css": bar_css(mode)}
    if scroll:  # flat strings: a dict or list in a component's data makes Streamlit import pandas (issue 21)
        data.update(scroll_target=scroll[0], scroll_token=scroll[1], scroll_block=scroll[2])
    _keys_component()(key=f"create-{mode}-keys", data=data, height=0)


def _scroll_to(mode: Mode | str, target_class: str, block: str = "nearest") -> None:
    st.session_state[_k(mode, "scroll")] = (target_class, f"{target_class}:{time.time()}", block)


# --- the card --------------------------------------------------------------------------------------------

def _shown(mode: Mode | str, last_job: Any) -> tuple[str | None, bool]:
    """Which job the card shows (the one picked in the strip, else the one just sent, else the newest take
    of the page), and whether it is the one just sent from this page."""
    last_id = getattr(last_job, "id", None)
    if last_id and st.session_state.get(_k(mode, "last")) != last_id:  # a new job: show it, scroll to it
        st.session_state[_k(mode, "last")] = last_id
        st.session_state.pop(_k(mode, "picked"), None)
        _scroll_to(mode, _class_of(card_key(mode)))
    picked = st.session_state.get(_k(mode, "picked"))
    if picked:
        return picked, picked == last_id
    return last_id, bool(last_id)


def _typical(mode: Mode | str, job: Job) -> tuple[float, int] | None:
    """The endpoint's typical time, read once per job (not on every tick)."""
    key = _k(mode, "typical")
    found = st.session_state.get(key)
    if not found or found[0] != job.id:
        try:
            found = (job.id, session.typical_time(job))
        except Exception:  # the page never breaks over an estimate
            found = (job.id, None)
        st.session_state[key] = found
    return found[1]


def take_in_place(mode: Mode | str, last_job: Any, generate_key: str) -> None:
    """The card of the take on show, then the strip of the page's recent takes, then the keys component
    (Ctrl/Cmd+Enter, the bar's style, scrolling to what changed in this run)."""
    mode = Mode(mode)
    try:
        _take_in_place(mode, last_job)
    finally:
        keys(mode, generate_key)


def _take_in_place(mode: Mode, last_job: Any) -> None:
    job_id, just_sent = _shown(mode, last_job)
    try:
        takes = session.recent_takes(mode)
    except session.DatabaseUnavailable:
        raise
    except Exception:  # the strip is a convenience: never break the page over it
        takes = []
    if job_id is None and takes:
        job_id = takes[0].id
    if job_id is None:
        return
    job = session.get_job(job_id)
    if job is None:
        return
    live = is_live(job, time.time())
    if live:
        st.session_state[_k(mode, "was_live")] = job.id
        if st.session_state.get(_k(mode, "settled")) == job.id:  # live again (a download tried again)
            st.session_state.pop(_k(mode, "settled"), None)
    elif st.session_state.get(_k(mode, "was_live")) == job.id:  # it became ready: bring the player into view
        st.session_state.pop(_k(mode, "was_live"), None)
        _scroll_to(mode, _class_of(card_key(mode)))

    @st.fragment(run_every=config.TAKE_TICK_EVERY_S if live else None)
    @frame.outage_safe
    def _card() -> None:
        now_job = session.get_job(job_id)  # one indexed read, on a change of this job or a tick
        if live:  # reruns as soon as the change feed names this job (the tab asks quickly meanwhile)
            ui_live.live_trigger(f"live.take.{mode}", watch=[job_id], min_gap_s=0.0,
                                 ask_every_s=config.TAKE_ASK_EVERY_S,
                                 on_change=functools.partial(_on_take_change, mode, job_id))
            frame.page_shows_end_of(job_id)  # the page shows its end itself: the sidebar runs no page
        if now_job is None:
            st.info("This take is no longer in the history.", icon=":material/search_off:")
            return
        draw_card(mode, now_job, just_sent=just_sent)  # the player at once, from this tick
        if live and not is_live(now_job, time.time()) and st.session_state.get(_k(mode, "settled")) != job_id:
            st.rerun(scope="app")  # the job ended and this card's clock saw it before the change feed's word
            # (whose callback reruns the take alone, `_on_take_change`): the page runs, the strip gets the
            # new take, the clock stops. Once: a later run finds it drawn ("settled") and asks for no other

    with st.container(key=card_key(mode)), st.container(key=f"{card_key(mode)}-{job_id}"):
        _card()  # a container per job: a new take never shows in the last one's elements
    strip(mode, takes, shown=job_id)
    if not live:
        st.session_state[_k(mode, "settled")] = job_id  # this whole run drew the take's end, strip and all


TAKES_FRAGMENT = "create-takes"  # the Create page's fragment holding the take (ui/create/page.py `_takes`)


def _on_take_change(mode: Mode, job_id: str) -> None:
    """The change feed named the job on the card (its callback, before the card's own run): when the job has
    ended, the whole take runs instead (the card with no clock, the strip with the new take), not the page
    (a whole-page run, sidebar and form, once per take: it held up what the person did meanwhile)."""
    if st.session_state.get(_k(mode, "settled")) == job_id:
        return
    job = session.get_job(job_id)
    if job is not None and not is_live(job, time.time()):
        st.rerun([TAKES_FRAGMENT])


def draw_card(mode: Mode, job: Job, *, just_sent: bool) -> None:
    """One take: live (state, time, progress or time left), the player with its actions, or what went
    wrong and what to do next."""
    now = time.time()
    with st.container(border=True):
        if is_live(job, now):
            if just_sent:
                st.success(STARTED, icon=":material/rocket_launch:")
            st.markdown(f"**{escape_markdown(headline(job))}**")
            if job.state in SENDING_STATES and not is_sending(job):  # a busy router or a quota holds it back
                jobs_view.show_error(job)
            else:
                if is_sending(job):
                    st.caption(escape_markdown(SENDING_WORDS.format(router=router_label(job))))
                fill, words = progress_words(job, _typical(mode, job), now)
                if fill is not None:
                    st.progress(fill)
                st.caption(escape_markdown(words))
        elif job.state == JobState.SUCCEEDED and jobs_view.has_video_file(job):
            player, side = st.columns([3, 2])
            with player:
                jobs_view.video_player(job)
            with side:
                st.badge("Video ready", icon=":material/check_circle:", color="green")
                st.caption(escape_markdown(f"Ready after {eta.fmt_s(jobs_view.elapsed_s(job))} · "
                                           f"{session.params_summary(job) or 'default settings'}"))
                _actions(mode, job)
        else:
            st.badge(jobs_view.state_label(job), icon=jobs_view.STATE_ICONS.get(job.state),
                     color=jobs_view.STATE_COLORS.get(job.state, "blue"))
            if job.state == JobState.SUBMISSION_UNKNOWN or job.state in FAILED_STATES or job.state == (
                    JobState.STALE):
                jobs_view.show_error(job)
                if just_sent and refused(job):
                    st.caption(escape_markdown(REFUSED.format(router=router_label(job))))
            elif job.state == JobState.SUCCEEDED:
                st.warning("The video is missing from the media store.", icon=":material/broken_image:")
            _iterate_button(mode, job)
        st.text(job.prompt_preview or job.title or "(no prompt)")
        st.caption(escape_markdown(f"{jobs_view.endpoint_label(job.endpoint_id)} · made "
                                   f"{jobs_view.fmt_time(job.created_at)}" + (" · demo" if job.demo else "")))
        st.page_link(jobs_view_page(), label="Open in Jobs", icon=":material/pending_actions:",
                     query_params={"job": job.id})


def jobs_view_page() -> str:
    return "app_pages/jobs.py"


def _actions(mode: Mode, job: Job) -> None:
    with st.container(horizontal=True, gap="small"):
        jobs_view.download_link(job, key=_k(mode, f"dl.{job.id}"))
        with st.popover("Keep in Library", icon=":material/bookmark_add:"):
            name_key = _k(mode, f"keep_name.{job.id}")
            st.text_input("Preset name", key=name_key, placeholder="e.g. Harbour at dawn",
                          help="Saves this take's request as a version of the preset, with this video as "
                               "its take. A name that exists gets a new version.")
            if st.button("Keep", key=_k(mode, f"keep.{job.id}"), type="primary", icon=":material/save:"):
                _keep(job, st.session_state.get(name_key) or "")
        _iterate_button(mode, job)
        if jobs_view.can_resend(job):
            place = _k(mode, f"compare.{job.id}")
            st.button("Compare variants", key=place, icon=":material/grid_view:", on_click=_on_compare,
                      args=(mode, job.id, place), help="Try wordings or settings of this take side by side.")
    nav.after_click(_k(mode, f"compare.{job.id}"))


def _on_compare(mode: Mode, job_id: str, place: str) -> None:
    """In the click's callback (ui/nav.py): a new experiment with this take's request as its base."""
    job = session.get_job(job_id)
    if job is None:  # deleted meanwhile: its card is gone from the next run
        st.toast(jobs_view.GONE, icon=":material/delete:")
        return
    try:
        body = session.restore_body(job)
    except FileNotFoundError as exc:
        nav.refuse(place, f"This take cannot be compared: {exc}")
        return
    nav.open_in_compare(job.endpoint_id, body, str(mode))


def _keep(job: Job, name: str) -> None:
    if not name.strip():
        st.error("Give the preset a name first.", icon=":material/edit:")
        return
    try:
        version = session.keep_take(job, name)
    except (ValueError, KeyError) as exc:
        st.error(str(exc), icon=":material/block:")
        return
    st.success(f"Kept in the Library as “{escape_markdown(version.name)}” version {version.number}, with "
               "this video as its take.", icon=":material/bookmark_added:")


def _iterate_button(mode: Mode, job: Job) -> None:
    if not jobs_view.can_resend(job):
        return
    st.button("Iterate", key=_k(mode, f"iterate.{job.id}"), icon=":material/edit:", on_click=_on_iterate,
              args=(mode, job.id), help="Put this take's request back into the form above, to change and "
                                        "generate again.")


def _on_iterate(mode: Mode, job_id: str) -> None:
    job = session.get_job(job_id)
    if job is None:
        return
    try:
        endpoint = catalog.get(job.endpoint_id)
        body = session.restore_body(job)
    except (KeyError, FileNotFoundError) as exc:
        st.toast(f"This take cannot be loaded: {exc}", icon=":material/error:")
        return
    session.set_router(endpoint.router)
    session.queue_form(endpoint.id, body)  # the page loads it (asking first when it would replace a draft)
    _scroll_to(mode, "stMainBlockContainer", "start")
    st.rerun()  # the button is in the card's fragment: the whole page must run to load the queued form


# --- the strip of recent takes ---------------------------------------------------------------------------

@st.cache_data(max_entries=256, show_spinner=False)
def _thumbnail(video_file: str, _job: Job) -> bytes | None:
    """The first frame of a stored video (content-addressed name: the same bytes for everyone)."""
    return session.first_frame(_job)


def _on_pick(mode: Mode, job_id: str) -> None:
    st.session_state[_k(mode, "picked")] = job_id
    _scroll_to(mode, _class_of(card_key(mode)))


def strip(mode: Mode, takes: list[Job], *, shown: str | None) -> None:
    """This page's recent takes, newest first: a first-frame thumbnail (or the state), the time; a click
    shows the take's card."""
    if len(takes) < 2 and (not takes or takes[0].id == shown):
        return
    st.caption("Your recent takes on this page")
    with st.container(horizontal=True, gap="small", key=f"create-{mode}-takes"):
        for job in takes:
            with st.container(border=True, width=config.TAKE_THUMB_MAX_PX // 2 + 24, gap="small"):
                thumb = _thumbnail(job.video_file, job) if job.video_file else None
                if thumb:
                    st.image(thumb, width="stretch")
                else:
                    st.caption(escape_markdown(jobs_view.state_label(job).capitalize()))
                label = time.strftime("%H:%M:%S", time.localtime(job.created_at))
                st.button(label, key=_k(mode, f"pick.{job.id}"), on_click=_on_pick, args=(mode, job.id),
                          type="primary" if job.id == shown else "secondary", width="stretch")
