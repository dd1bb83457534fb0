"""The "Improve the wording" panel (issue 17): a button (and an optional wish) that asks a chat model for a
better wording of the prompt, its proposal as a word diff per text (the prompt, each shot), and taking it
whole, per shot or per changed chunk — or not at all. Nothing is sent to a video router.

    improve_panel(scope, endpoint_id, body, *, mode, router, targets, put=None)

`targets` maps each text the proposal may change ("prompt", "multi_prompt.<i>.prompt") to the widget key
holding it; `put(key, text)` writes an accepted text there from a button callback (the Create form passes
its shadow-keeping `widgets.put`; plain session state otherwise). Shared by Create (ui/create/page.py) and
Compare (each wording, ui/compare/compare_view.py), so it lives with the shared ui modules and imports no
family. The model's words are untrusted: drawn as escaped Markdown or plain text, never as HTML.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import streamlit as st

from core import config
from core.authoring import improve
from core.errors import StudioError
from core.net import llm
from ui import session
from ui.text import escape_markdown

log = logging.getLogger(__name__)
Put = Callable[[str, str], None]
# questions to the chat model run here, so a page stays usable while one is answered (no user data is kept
# in it: each task carries what it needs); the chat deadline bounds how long a worker is busy
_WORKERS = ThreadPoolExecutor(max_workers=config.LLM_CONCURRENT_REQUESTS, thread_name_prefix="improve")
WAIT_EVERY_S = 0.5  # how often the waiting line looks for the answer
UNEXPECTED_LINE = "Improve the wording failed unexpectedly; nothing changed. Try again."
PROMPT = improve.PROMPT_WHERE  # the main prompt's place in `targets`
REMOVED_MARK = "red-background"  # Streamlit's own colour markup, around escaped words
ADDED_MARK = "green-background"
CHUNK_LABEL_CHARS = 60
WISH_LABEL = "Your wish (optional)"
WISH_PLACEHOLDER = "e.g. make it night"
WISH_HELP = "Sent with the prompt: what you would like changed (\"make it night\", \"slower camera\")."
DEMO_LINE = "Demo mode: the built-in emulator proposes a fixed rewrite (not a language model)."
ACCEPTED_LINE = "The new wording is in the form. Nothing was sent; Generate when you are ready."
HELP = ("Asks a chat model for a better wording of your prompt; you see the changes and choose which to "
        "take. Nothing is sent to the video router.")
STALE_LINE = "Your text changed since this proposal was made: ask again to improve the new text."


def _k(scope: str, name: str) -> str:
    return f"{scope}.improve.{name}"


def _inert(text: str) -> str:
    """Words made inert for st.markdown: Markdown-active characters and ':' (colour directives) escaped."""
    return escape_markdown(text).replace(":", "\\:")


def _short(text: str, limit: int = CHUNK_LABEL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def diff_markdown(chunks: tuple[improve.Chunk, ...]) -> str:
    """One text's diff as Markdown: removed words struck through in red, added words in green."""
    out = ""
    for kind, words in improve.diff_sides(chunks):
        safe = _inert(words)
        if kind == "removed":
            safe = f":{REMOVED_MARK}[~~{safe}~~]"
        elif kind == "added":
            safe = f":{ADDED_MARK}[{safe}]"
        out += (" " if improve.needs_space(out, words) else "") + safe
    return out


def chunk_label(chunk: improve.Chunk) -> str:
    """A change in words, for its tick box: 'add “slowly”', 'remove “very”', '“nice” → “striking”'."""
    old, new = _short(chunk.old), _short(chunk.new)
    if not old:
        return f"add “{_inert(new)}”"
    if not new:
        return f"remove “{_inert(old)}”"
    return f"“{_inert(old)}” → “{_inert(new)}”"


# --- state ------------------------------------------------------------------------------------------------

def _current_texts(targets: Mapping[str, str]) -> dict[str, str]:
    return {where: str(st.session_state.get(key) or "") for where, key in targets.items()}


def _stale(proposal: improve.Proposal, targets: Mapping[str, str]) -> bool:
    now = _current_texts(targets)
    return any(" ".join(now.get(p.where, "").split()) != " ".join(p.old.split()) for p in proposal.parts)


def _choice(scope: str, proposal: improve.Proposal) -> dict[str, list[int] | None]:
    """What is ticked: per changed part, the numbers of its ticked changes (a shot left out: not listed)."""
    serial = st.session_state.get(_k(scope, "serial"), 0)
    several = len(proposal.parts) > 1
    choice: dict[str, list[int] | None] = {}
    for part in proposal.parts:
        if not part.n_changes:
            continue
        if several and not st.session_state.get(_k(scope, f"{serial}.part.{part.where}"), True):
            continue
        choice[part.where] = [i for i in range(part.n_changes)
                              if st.session_state.get(_k(scope, f"{serial}.pick.{part.where}.{i}"), True)]
    return choice


def _default_put(key: str, text: str) -> None:
    st.session_state[key] = text


def _on_accept(scope: str, targets: Mapping[str, str], put: Put | None, whole: bool) -> None:
    proposal: improve.Proposal | None = st.session_state.get(_k(scope, "proposal"))
    if proposal is None:
        return
    if _stale(proposal, targets):
        st.session_state[_k(scope, "message")] = ("error", STALE_LINE)
        return
    choice = {p.where: None for p in proposal.parts} if whole else _choice(scope, proposal)
    texts = improve.applied_texts(proposal, choice)
    if not texts:
        st.session_state[_k(scope, "message")] = ("error", "Nothing is ticked: tick the changes to take, "
                                                           "or use Dismiss.")
        return
    refused = improve.applied_refusal(proposal, texts)
    if refused:
        st.session_state[_k(scope, "message")] = ("error", refused)
        return
    write = put or _default_put
    st.session_state[_k(scope, "undo")] = {targets[w]: p.old for p in proposal.parts for w in texts
                                           if p.where == w}
    for where, text in texts.items():
        write(targets[where], text)
    st.session_state.pop(_k(scope, "proposal"), None)
    st.session_state[_k(scope, "message")] = ("success", ACCEPTED_LINE)


def _on_undo(scope: str, put: Put | None) -> None:
    old = st.session_state.pop(_k(scope, "undo"), None) or {}
    write = put or _default_put
    for key, text in old.items():
        write(key, text)
    st.session_state[_k(scope, "message")] = ("info", "Your own wording is back.")


def _on_dismiss(scope: str) -> None:
    st.session_state.pop(_k(scope, "proposal"), None)
    st.session_state.pop(_k(scope, "message"), None)


@dataclass(frozen=True)
class Pending:
    """A question on its way to the chat model, answered in a worker thread (the page stays usable)."""

    future: Future
    started: float  # time.monotonic()


def _start(scope: str, endpoint_id: str, body: dict[str, Any], mode: str, router: str) -> None:
    """Ask in the background: everything the request needs is read here, in the script run (session state,
    settings); the worker only talks HTTP and checks (no Streamlit in it)."""
    wish = str(st.session_state.get(_k(scope, "wish")) or "")
    for name in ("proposal", "undo", "message"):
        st.session_state.pop(_k(scope, name), None)
    try:
        call = session.improve_call(endpoint_id, body, mode=mode, instruction=wish, router=router)
    except StudioError as exc:
        st.session_state[_k(scope, "message")] = ("error", exc.user_message)
        return
    st.session_state[_k(scope, "pending")] = Pending(_WORKERS.submit(call), time.monotonic())


def collect(scope: str) -> bool:
    """Take the answer of a finished question into the page's state; True when one was taken."""
    pending: Pending | None = st.session_state.get(_k(scope, "pending"))
    if pending is None or not pending.future.done():
        return False
    st.session_state.pop(_k(scope, "pending"), None)
    try:
        proposal = pending.future.result()
    except improve.ProposalRefused as exc:
        st.session_state[_k(scope, "message")] = ("error", str(exc))
        return True
    except StudioError as exc:
        st.session_state[_k(scope, "message")] = ("error", exc.user_message)
        return True
    except Exception:  # never a traceback on screen
        log.exception("Improve the wording failed")
        st.session_state[_k(scope, "message")] = ("error", UNEXPECTED_LINE)
        return True
    st.session_state[_k(scope, "serial")] = st.session_state.get(_k(scope, "serial"), 0) + 1
    st.session_state[_k(scope, "proposal")] = proposal
    return True


def _on_improve(scope: str) -> None:
    """The click: noted before the page is drawn (so the button is off at once); asked in the run."""
    st.session_state[_k(scope, "requested")] = True


def _on_stop(scope: str) -> None:
    st.session_state.pop(_k(scope, "pending"), None)  # its answer, when it comes, is not taken
    st.session_state[_k(scope, "message")] = ("info", "Stopped waiting for the chat model; nothing changed.")


def _waiting(scope: str) -> None:
    """While the question is on its way: how long it has taken and "Stop waiting"; the whole page is drawn
    again when the answer is in."""

    @st.fragment(run_every=WAIT_EVERY_S)
    def waiting() -> None:
        if collect(scope):
            st.rerun()
        pending: Pending | None = st.session_state.get(_k(scope, "pending"))
        if pending is None:
            return
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption(f":material/hourglass_top: Asking the chat model for a better wording… "
                       f"{time.monotonic() - pending.started:.0f} s")
            st.button("Stop waiting", key=_k(scope, "stop"), icon=":material/stop_circle:",
                      on_click=_on_stop, args=(scope,))

    waiting()


# --- drawing ----------------------------------------------------------------------------------------------

def _message(scope: str, put: Put | None) -> None:
    found = st.session_state.get(_k(scope, "message"))
    if not found:
        return
    kind, text = found
    if kind == "error":
        st.error(escape_markdown(text), icon=":material/block:")
    elif kind == "success":
        with st.container(horizontal=True, vertical_alignment="center"):
            st.success(escape_markdown(text), icon=":material/check_circle:")
            if st.session_state.get(_k(scope, "undo")):
                st.button("Put my wording back", key=_k(scope, "undo_button"), icon=":material/undo:",
                          on_click=_on_undo, args=(scope, put))
    else:
        st.info(escape_markdown(text), icon=":material/info:")


def _proposal(scope: str, proposal: improve.Proposal, targets: Mapping[str, str], put: Put | None) -> None:
    serial = st.session_state.get(_k(scope, "serial"), 0)
    stale = _stale(proposal, targets)
    with st.container(border=True, key=_k(scope, "box")):
        st.markdown("**Proposed wording**")
        st.caption(_inert(f"By {proposal.source}" + (f" · your wish: {proposal.instruction}"
                                                     if proposal.instruction else "")))
        if proposal.why:
            st.text(f"Why: {proposal.why}")
        several = len(proposal.parts) > 1
        for part in proposal.parts:
            if not part.n_changes:
                if several:
                    st.caption(f"{part.label}: no change proposed.")
                continue
            with st.container(border=several):
                if several:
                    st.checkbox(f"Take the new wording of {part.label}", value=True,
                                key=_k(scope, f"{serial}.part.{part.where}"))
                st.markdown(diff_markdown(part.chunks))
                with st.expander(f"Choose the changes ({part.n_changes})" if part.n_changes > 1
                                 else "The change", icon=":material/checklist:"):
                    for i, chunk in enumerate(improve.changes(part.chunks)):
                        st.checkbox(chunk_label(chunk), value=True,
                                    key=_k(scope, f"{serial}.pick.{part.where}.{i}"))
                    st.caption("The proposed text, as text:")
                    st.code(part.new, language=None, wrap_lines=True)
        for caution in proposal.cautions:
            st.warning(escape_markdown(caution), icon=":material/warning:")
        if stale:
            st.caption(STALE_LINE)
        with st.container(horizontal=True):
            st.button("Use all of it", key=_k(scope, "accept_all"), type="primary",
                      icon=":material/done_all:", on_click=_on_accept, args=(scope, targets, put, True),
                      disabled=stale)
            st.button("Use the ticked changes", key=_k(scope, "accept_ticked"), icon=":material/rule:",
                      on_click=_on_accept, args=(scope, targets, put, False), disabled=stale)
            st.button("Dismiss", key=_k(scope, "dismiss"), icon=":material/close:",
                      on_click=_on_dismiss, args=(scope,))


def targets_of(body: Mapping[str, Any], key_of: Callable[[str], str]) -> dict[str, str]:
    """The widget key of every text of a body a proposal may change: the prompt and each shot's prompt."""
    wheres = [improve.PROMPT_WHERE] if isinstance(body.get("prompt"), str) else []
    wheres += [improve.shot_where(i) for i, shot in enumerate(body.get("multi_prompt") or [])
               if isinstance(shot, dict) and isinstance(shot.get("prompt"), str)]
    return {where: key_of(where) for where in wheres}


def improve_panel(scope: str, endpoint_id: str, body: dict[str, Any], *, mode: str, router: str,
                  targets: Mapping[str, str], put: Put | None = None) -> None:
    """The button, the wish, and the proposal once there is one (see the module docstring)."""
    settings = session.chat_settings(router)
    request = improve.request_from_body(endpoint_id, body, mode)
    empty = improve.nothing_to_improve(request)
    collect(scope)
    requested = bool(st.session_state.pop(_k(scope, "requested"), False))  # set by the click's callback
    pending = bool(st.session_state.get(_k(scope, "pending")))
    with st.container(horizontal=True, vertical_alignment="bottom", key=_k(scope, "row")):
        st.button("Improve the wording", key=_k(scope, "button"), icon=":material/auto_fix_high:",
                  on_click=_on_improve, args=(scope,), help=empty or HELP,
                  disabled=settings is None or empty is not None or pending or requested)
        st.text_input(WISH_LABEL, key=_k(scope, "wish"), placeholder=WISH_PLACEHOLDER, help=WISH_HELP,
                      disabled=settings is None,
                      max_chars=improve.INSTRUCTION_MAX_CHARS)
    if settings is None:
        st.caption(llm.NOT_CONFIGURED)
        return
    if settings.demo:
        st.caption(DEMO_LINE)
    if requested and empty is None and not pending:  # the body of this run: what the person sees now
        _start(scope, endpoint_id, dict(body), mode, router)
    if st.session_state.get(_k(scope, "pending")):
        _waiting(scope)
    _message(scope, put)
    proposal = st.session_state.get(_k(scope, "proposal"))
    if proposal is not None:
        _proposal(scope, proposal, {w: k for w, k in targets.items()}, put)


TRY_ENDPOINT = "mulerouter/kling-v3/text-to-video"
TRY_BODY = {"prompt": "A paper boat drifts down a rainy street", "duration": 5}


def settings_line(router: str) -> None:
    """Settings: which chat model answers "Improve the wording" (never its key), or that none is set up, and
    "Try it" (a sample prompt, asked at once; it costs the chat model a few hundred tokens)."""
    settings = session.chat_settings(router)
    if settings is None:
        st.caption(llm.NOT_CONFIGURED)
        return
    where = "" if settings.demo else f" ({settings.url})"
    st.caption(_inert(f"Answered by {settings.label}{where}. The operator sets it: STUDIO_LLM_BASE_URL, "
                      "STUDIO_LLM_MODEL, STUDIO_LLM_API_KEY or [llm] in the secrets."))
    if not st.button("Try it", key="settings.improve.try", icon=":material/network_check:",
                     help=f"Asks for a better wording of a sample prompt: “{TRY_BODY['prompt']}”."):
        return
    started = time.monotonic()
    try:
        with st.spinner("Asking the chat model…"):
            proposal = session.improve_wording(TRY_ENDPOINT, dict(TRY_BODY), mode="text", instruction="",
                                               router=router)
    except improve.ProposalRefused as exc:
        st.warning(escape_markdown(f"The chat model answered, but its proposal was refused: {exc}"),
                   icon=":material/warning:")
        return
    except StudioError as exc:
        st.error(escape_markdown(exc.user_message), icon=":material/error:")
        return
    st.success(f"The chat model answered in {time.monotonic() - started:.1f} s with a proposal that keeps "
               "the rules.", icon=":material/check_circle:")
    st.text(proposal.parts[0].new)  # its words, as text
