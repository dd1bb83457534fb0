"""The Compare page: an experiment's axes, its matrix before anything is sent, Run all / Stop, the grid.

    compare_button(mode, endpoint, body)    Create page: "Compare variants" (the draft becomes the base)
                                            (the Library does the same through ui/nav.py open_in_compare)
    render_compare_page()                   the page (app_pages/compare.py)

Each cell is one card: its label in words (a wording by the words that set it apart; the whole wording on
hover and in a popover), its video, the video checks' badges (checks_view), rating, note, Pick and
comments; "Play in sync" shows the same grid under one control. The Vote and Ranking tabs are
ui/compare/vote_view.py; "Share for review" makes guest links (core/compare/guests.py).

Someone else's experiment (issue 11) is shown read-only: the grid, its videos, the table, CSV, review pack and
grid video, a line saying whose it is and "Make my copy"; its axes, takes, reviews, Run all / Stop and Save
the winner are for its owner or an admin (core/compare/experiments.py refuses them too).

Everything else (expansion, checks, costs, running, reviews) is core/compare/experiments.py. Prompts and
router texts are user text: shown with st.text / st.code only. The synced grid, the review pack and the
grid video come from ui/compare/synced_grid.py, core/compare/review_pack.py and core/compare/grid_video.py
when present; until then each cell plays on its own (st.video from the media route).

Why this file is long: the page's parts (axes editor, matrix, run controls, cards, table, share) read the
same experiment keys and editor state; issue 18's cards, checks and votes landed here in one session from
three people at once. The next change splits the table and the share panel into their own modules.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import streamlit as st

from core import config
from core.authoring import catalog
from core.authoring.catalog import Endpoint
from core.compare import experiments as X
from core.compare import grid
from core.errors import StudioError
from core.jobs.record import Job
from core.models import MODE_TITLES
from ui import frame, live, media_links, nav, session, welcome, words
from ui.compare import vote_view
from ui.results import checks_view, jobs_view, library_view
from ui.text import escape_markdown, shorten_inline_images

PREFIX = "compare"
GROUP_LIMIT_INPUT_KEY = "compare.group_limit_input"  # widget; the setting is session.GROUP_LIMIT_KEY
LIVE_EVERY_S = config.LIVE_FALLBACK_EVERY_S  # by itself; ui/live.py reruns it on a change
PICK_LABELS = {"": "No pick", X.PICK_ROW: "Best in row", X.PICK_GRID: "Best overall"}
KIND_LABELS = {X.AXIS_PROMPT: "Prompt wordings", X.AXIS_FIELD: "A setting",
               X.AXIS_ENDPOINT: "Model or router"}

try:  # the media helper's synced grid (branch cmedia); a plain grid until it lands
    from ui.compare.synced_grid import GridCell, synced_grid  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the merge
    GridCell = synced_grid = None  # type: ignore[assignment,misc]


def _k(*parts: Any) -> str:
    return ".".join([PREFIX, *(str(p) for p in parts)])


# --- entry points from other pages ---------------------------------------------------------------------

def compare_button(mode: Any, endpoint: Endpoint, body: dict[str, Any]) -> None:
    """'Compare variants' next to Generate: opens a new experiment with the current draft as its base."""
    asked = f"create.{mode}.__compare_asked"  # the click, kept by its callback until a run gets here
    st.button("Compare variants", key=f"create.{mode}.__compare", icon=":material/grid_view:",
              on_click=st.session_state.__setitem__, args=(asked, True),
              help="Try wordings, settings or models side by side, as a grid of videos.")
    if st.session_state.pop(asked, False):  # the draft as this run reads the form, not as the click's run did
        nav.open_in_compare(endpoint.id, body, str(mode))
        nav.follow()


# --- state ----------------------------------------------------------------------------------------------

def _current_id() -> str | None:
    wanted = st.query_params.get("exp") or st.session_state.get(session.COMPARE_OPEN_KEY)
    return str(wanted) if wanted else None


def _show(exp_id: str | None) -> None:
    st.session_state[session.COMPARE_OPEN_KEY] = exp_id
    if exp_id:
        st.query_params["exp"] = exp_id
    else:
        st.query_params.pop("exp", None)


def _save(exp: X.Experiment) -> None:
    session.save_experiment(exp)


def _jobs(records: dict[str, Any]) -> dict[str, Job | None]:
    ids = [i for r in records.values() for i in r.job_ids if i]
    return {i: session.get_job(i) for i in ids}


# --- picker ---------------------------------------------------------------------------------------------

SCOPE_ALL, SCOPE_MINE = "Everyone", "Mine"


def _scope_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mine / Everyone (only when people are identified: in single-user mode every experiment is yours)."""
    who = session.identity()
    if not who.id:
        return rows
    scope = st.segmented_control("Show", [SCOPE_ALL, SCOPE_MINE], default=SCOPE_ALL, key=_k("scope"),
                                 required=True, help="Mine: the experiments you started.")
    return [r for r in rows if r.get("owner") == who.id] if scope == SCOPE_MINE else rows


def _picker(current: str | None) -> str | None:
    rows = _scope_rows(X.listing(session.ledger()))
    ids = [r["id"] for r in rows]
    if current and current not in ids:
        current = None
    names = {r["id"]: f"{r['title']} · {r['videos']} video{'s' if r['videos'] != 1 else ''} · "
             f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(r['created_at']))}" for r in rows}
    if not ids:
        new_experiment_panel(first=True)
        return None
    chosen = st.selectbox("Experiment", ids, index=ids.index(current) if current else None,
                          format_func=lambda i: names.get(i, i), key=_k("picker", current or ""),
                          placeholder="Choose an experiment")
    if chosen != current:
        _show(chosen)
        st.rerun()
    if chosen is None:
        new_experiment_panel(first=False)
    return chosen


EXPLAINER = ("An experiment makes several versions of one request side by side: other wordings of the "
             "prompt, another setting or another model, each as a video in a grid, so you can watch them "
             "together and keep the best. Every version is checked and priced before anything is sent.")


def new_experiment_panel(*, first: bool) -> None:
    """No experiment on show: what an experiment is, and "New experiment" from each of the four Create
    pages (from this browser's draft there, else an empty request of the page's first model)."""
    with st.container(border=True, key="compare-new"):
        st.markdown("#### " + ("Start your first experiment" if first else "Or start a new experiment"))
        st.caption(EXPLAINER)
        cols = st.columns(len(MODE_TITLES))
        router = session.current_router()
        for col, (mode, title) in zip(cols, MODE_TITLES.items(), strict=True):
            draft = session.page_draft(str(mode))
            endpoints = catalog.for_mode(router, mode)
            with col:
                st.button(f"New experiment: {title}", key=_k("new", mode), width="stretch",
                          icon=":material/add_box:", disabled=draft is None and not endpoints,
                          on_click=_on_new_experiment, args=(mode,))
                st.caption("From your draft on that page." if draft else "From an empty request.")
        st.caption("You can also press Compare variants under Generate on a Create page.")


def _on_new_experiment(mode: Any) -> None:
    """In the click's callback (ui/nav.py): from this browser's draft on that page, else an empty request
    of the page's first model."""
    draft = session.page_draft(str(mode))
    endpoints = catalog.for_mode(session.current_router(), mode)
    if draft is None and not endpoints:
        return
    endpoint_id, body = draft if draft else (endpoints[0].id, {})
    nav.open_in_compare(endpoint_id, body, str(mode))


# --- axis editor ----------------------------------------------------------------------------------------

def merge_values(old: tuple[Any, ...], new: list[Any]) -> tuple[Any, ...]:
    """Values kept in their old order (cells keep their keys), new ones appended."""
    kept = [v for v in old if v in new]
    return (*kept, *(v for v in new if v not in kept))


def _existing(exp: X.Experiment, kind: str, field: str = "") -> X.Axis | None:
    return next((a for a in exp.axes if a.kind == kind and a.field == field), None)


def _axis_editor(exp: X.Experiment) -> X.Experiment:
    with st.expander(words.LABELS["axes"] + " and takes", expanded=True, icon=":material/tune:"):
        for i, axis in enumerate(exp.axes):
            with st.container(horizontal=True, vertical_alignment="center"):
                st.markdown(f"**{escape_markdown(axis.name())}**: " + escape_markdown(
                    ", ".join(axis.value_label(j) for j in range(len(axis.values)))))
                if st.button("Remove", key=_k(exp.id, "rm", i), icon=":material/close:"):
                    exp = X.without_axis(exp, i)
                    _save(exp)
                    st.rerun()
        kind = st.segmented_control("Add something that changes", list(KIND_LABELS),
                                    format_func=KIND_LABELS.get, key=_k(exp.id, "kind"), default=X.AXIS_FIELD)
        axis = None
        if kind == X.AXIS_PROMPT:
            axis = _wordings_input(exp)
        elif kind == X.AXIS_FIELD:
            axis = _field_input(exp)
        elif kind == X.AXIS_ENDPOINT:
            axis = _endpoint_input(exp)
        if kind and st.button("Add it", key=_k(exp.id, "add"), icon=":material/add:", type="primary",
                              disabled=axis is None):
            try:
                exp = X.with_axis(exp, axis)
            except X.ExperimentError as exc:
                st.error(str(exc))
            else:
                _save(exp)
                st.rerun()
        takes = st.number_input(words.LABELS["takes_per_cell"], config.EXPERIMENT_MIN_TAKES,
                                config.EXPERIMENT_MAX_TAKES,
                                value=exp.takes, key=_k(exp.id, "takes"),
                                help="Several takes of the same version show how much one setting varies.")
        if int(takes) != exp.takes:
            exp = replace(exp, takes=int(takes))
            _save(exp)
    return exp


def _axes_summary(exp: X.Experiment) -> X.Experiment:
    """Someone else's axes and takes, to read."""
    with st.expander(words.LABELS["axes"] + " and takes", expanded=True, icon=":material/tune:"):
        for axis in exp.axes:
            st.markdown(f"**{escape_markdown(axis.name())}**: " + escape_markdown(
                ", ".join(axis.value_label(j) for j in range(len(axis.values)))))
        if not exp.axes:
            st.caption("Nothing changes yet: one version, the base request.")
        st.caption(f"{words.LABELS['takes_per_cell']}: {exp.takes}")
    return exp


def _wordings_input(exp: X.Experiment) -> X.Axis | None:
    old = _existing(exp, X.AXIS_PROMPT)
    values = list(old.values) if old else [exp.base_prompt, exp.base_prompt]
    n = st.number_input("Wordings", config.EXPERIMENT_MIN_WORDINGS, config.EXPERIMENT_MAX_WORDINGS,
                        value=len(values), key=_k(exp.id, "n_wordings"))
    texts = []
    for i in range(int(n)):
        key = _k(exp.id, "wording", i)
        if key not in st.session_state:
            st.session_state[key] = values[i] if i < len(values) else exp.base_prompt
        text = st.text_area(f"Wording {i + 1}", key=key, height=80)
        _improve_wording(exp, key, text)
        texts.append(text)
        if text.strip() and text != exp.base_prompt:
            from core.storage import library

            st.code(X.diff_text(library.word_diff(exp.base_prompt, text)), language=None, wrap_lines=True)
    if len({t.strip() for t in texts}) < len(texts) or any(not t.strip() for t in texts):
        st.caption("Each wording must be different and not empty.")
        return None
    return X.Axis(X.AXIS_PROMPT, tuple(texts))


def _improve_wording(exp: X.Experiment, key: str, text: str) -> None:
    """The "Improve the wording" panel of one wording (ui/improve.py): the base request with this prompt."""
    from ui import improve

    body = {k: v for k, v in exp.base.items() if k != "multi_prompt"} | {"prompt": text}
    router = catalog.get(exp.endpoint_id).router
    improve.improve_panel(key, exp.endpoint_id, body, mode=exp.mode, router=router,
                          targets={improve.PROMPT: key})


def _field_input(exp: X.Experiment) -> X.Axis | None:
    choices = X.field_choices(exp.endpoint_id, exp.mode)
    if not choices:
        st.caption("This model offers no settings to vary.")
        return None
    names = [c.name for c in choices]
    name = st.selectbox("Setting", names, format_func=lambda n: next(c.title for c in choices if c.name == n),
                        key=_k(exp.id, "field"))
    choice = next(c for c in choices if c.name == name)
    old = _existing(exp, X.AXIS_FIELD, name)
    default = list(old.values) if old else []
    picked = st.multiselect("Values", list(choice.options), default=default,
                            format_func=lambda v: X.value_label(name, v), key=_k(exp.id, "values", name),
                            max_selections=config.EXPERIMENT_MAX_VALUES)
    if not picked:
        return None
    return X.Axis(X.AXIS_FIELD, merge_values(old.values if old else (), picked), name)


def _endpoint_input(exp: X.Experiment) -> X.Axis | None:
    ids = X.endpoint_choices(exp.endpoint_id, exp.mode)
    old = _existing(exp, X.AXIS_ENDPOINT)
    picked = st.multiselect("Models and routers", ids, default=list(old.values) if old else [],
                            format_func=X.endpoint_label, key=_k(exp.id, "endpoints"))
    if not picked:
        return None
    return X.Axis(X.AXIS_ENDPOINT, merge_values(old.values if old else (), picked))


# --- matrix preview ----------------------------------------------------------------------------------------

def _preview(exp: X.Experiment, plan: X.Plan, demo: bool, *, editable: bool = True) -> None:
    rows = []
    for cell in plan.cells:
        row = {axis.name(): label for axis, label in zip(exp.axes, cell.labels, strict=True)}
        row.update({
            "Check": "blocked" if cell.blocked else ("caution" if cell.cautions else "ok"),
            "Prompt cautions": len(cell.prompt_cautions),
            "Cost per video": cell.estimate_usd,
            "Model": X.endpoint_label(cell.endpoint_id),
        })
        rows.append(row)
    st.dataframe(rows, hide_index=True, key=_k(exp.id, "matrix"),
                 column_config={"Cost per video": st.column_config.NumberColumn(format="$%.2f")})
    for cell in plan.cells:
        if cell.problems:
            st.error(f"{escape_markdown(cell.label)}: not sent (fix the base or what changes)",
                     icon=":material/block:")
            st.text("\n".join(cell.problems))
        elif cell.cautions:
            st.warning(f"{escape_markdown(cell.label)}: may be refused", icon=":material/warning:")
            st.text("\n".join(cell.cautions))
        if cell.notes:
            st.caption(escape_markdown(f"{cell.label}: " + " ".join(cell.notes)))
    if editable:
        line = X.cap_line(plan, session.budget_cap(), spent=session.spent_so_far(demo), demo=demo)
        st.markdown("**" + escape_markdown(line) + "**")


# --- run / stop ------------------------------------------------------------------------------------------

def _run_controls(exp: X.Experiment, plan: X.Plan, jobs: dict[str, Job | None], demo: bool) -> None:
    waiting = sum(1 for j in jobs.values() if j is not None and j.state.value == "waiting")
    with st.container(horizontal=True, vertical_alignment="center"):
        run = st.button("Run all", key=_k(exp.id, "run"), type="primary", icon=":material/play_arrow:",
                        disabled=not plan.runnable or bool(X.problems_of(exp)))
        rerun = st.button("Run again", key=_k(exp.id, "rerun"), icon=":material/replay:",
                          disabled=not jobs,
                          help="New takes of every version (the earlier ones are kept in Jobs).")
        stop = st.button("Stop", key=_k(exp.id, "stop"), icon=":material/stop:", disabled=not waiting,
                         help="Cancel the takes not sent yet; those already sent finish.")
        st.session_state[GROUP_LIMIT_INPUT_KEY] = session.compare_group_limit()
        st.number_input("Made side by side on one router", 1, config.EXPERIMENT_GROUP_LIMIT_MAX,
                        key=GROUP_LIMIT_INPUT_KEY, width=160, on_change=_copy_group_limit,
                        help="Routers limit how many videos one account makes at once (also in Settings).")
    for problem in X.problems_of(exp):
        st.error(escape_markdown(problem), icon=":material/block:")
    held = sorted({j.poll.last_error for j in jobs.values()
                   if j is not None and j.state.value == "waiting" and j.poll.last_error})
    if held:  # the router is busy, or the key's quota is reached (core/jobs/refusals.py)
        st.info(f"{waiting} take(s) not sent yet:", icon=":material/hourglass_top:")
        for note in held:
            st.text(note)  # may quote the router's words
    confirm_key = _k(exp.id, "over_budget")
    if run or rerun:
        _run(exp, plan, rerun=bool(rerun), confirmed=False, demo=demo, confirm_key=confirm_key)
    pending = st.session_state.get(confirm_key)
    if pending:
        with st.container(border=True):
            st.warning(escape_markdown(pending[1]) + (" Nothing is charged in demo mode." if demo else ""),
                       icon=":material/savings:")
            with st.container(horizontal=True):
                if st.button("Run anyway", key=_k(exp.id, "run_anyway"), type="primary"):
                    _run(exp, plan, rerun=pending[0], confirmed=True, demo=demo, confirm_key=confirm_key)
                if st.button("Cancel", key=_k(exp.id, "run_cancel")):
                    st.session_state.pop(confirm_key, None)
                    st.rerun()
    if stop:
        n = session.stop_experiment(exp.id)
        st.toast(f"Stopped {n} take(s) not sent yet; nothing was charged for them.", icon=":material/stop:")
        st.rerun()


def _copy_group_limit() -> None:
    """The widget's value into the setting (a widget's own state is dropped when its page is left)."""
    st.session_state[session.GROUP_LIMIT_KEY] = int(st.session_state[GROUP_LIMIT_INPUT_KEY])


def _run(exp: X.Experiment, plan: X.Plan, *, rerun: bool, confirmed: bool, demo: bool,
         confirm_key: str) -> None:
    st.session_state.pop(confirm_key, None)
    try:
        report = session.run_experiment(exp, plan, rerun=rerun, confirmed=confirmed, cap=session.budget_cap(),
                                        spent=session.spent_so_far(demo))
    except X.OverBudgetError as exc:
        st.session_state[confirm_key] = (rerun, str(exc))
        st.rerun()
    except session.OverBudgetError as exc:  # the operator's daily budget: nothing was recorded
        videos = int(getattr(exc, "videos", 1) or 1)
        st.error(f"Nothing was sent: over the daily budget. {session.budget_refusal(exc, videos=videos)}",
                 icon=":material/savings:")
        return
    except session.AccessRefusedError as exc:
        st.error(f"Nothing was sent. {exc}", icon=":material/key_off:")
        return
    except session.PriceNotConfiguredError as exc:  # no operator price above $0: nothing was recorded
        st.error(str(exc), icon=":material/savings:")
        return
    except PermissionError as exc:  # someone else's experiment (core refuses whatever the page showed)
        st.error(f"Nothing was sent. {exc}", icon=":material/block:")
        return
    n = len(report.recorded)
    st.session_state[RUN_NOTE_KEY] = (f"{n} video(s) on their way, {session.compare_group_limit()} at a time "
                                      "per router." if n else "Every take is already made or on its way.")
    st.rerun()  # the note is toasted by the next run: a toast sent just before a rerun may never show


# --- the grid -----------------------------------------------------------------------------------------------

def _status_line(jobs: dict[str, Job | None]) -> str:
    counts: dict[str, int] = {}
    for job in jobs.values():
        status = grid.take_status(job)
        counts[status] = counts.get(status, 0) + 1
    return " · ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def _layout(exp: X.Experiment) -> grid.GridLayout:
    n = len(exp.axes)
    row_axis = col_axis = None
    third = 0
    if n >= 2:
        names = list(range(n))
        with st.container(horizontal=True):
            row_axis = st.selectbox("Rows", names, index=0, format_func=lambda i: exp.axes[i].name(),
                                    key=_k(exp.id, "rows"))
            col_axis = st.selectbox("Columns", [i for i in names if i != row_axis],
                                    format_func=lambda i: exp.axes[i].name(), key=_k(exp.id, "cols"))
    layout = grid.grid_layout(exp, row_axis, col_axis)
    if layout.third_axis is not None:
        axis = exp.axes[layout.third_axis]
        third = st.segmented_control(axis.name(), list(range(len(axis.values))), default=0,
                                     format_func=axis.value_label, key=_k(exp.id, "third")) or 0
        layout = grid.grid_layout(exp, layout.row_axis, layout.col_axis, third)
    return layout


def _take_of(record: Any, take: int) -> str:
    ids = list(record.job_ids) if record else []
    return ids[take] if take < len(ids) else ""


VIEW_CARDS, VIEW_SYNCED = "Cards", "Play in sync"


def _synced(exp: X.Experiment, plan: X.Plan, layout: grid.GridLayout, records: dict[str, Any],
            jobs: dict[str, Job | None], take: int) -> None:
    cells = []
    for line in layout.keys:
        row = []
        for key in line:
            job = jobs.get(_take_of(records.get(key), take))
            url = media_links.media_url(job.video_file) if job is not None and job.video_file else None
            row.append(GridCell(url=url, label=plan.cell(key).label) if url else None)
        cells.append(row)
    if any(c is not None for row in cells for c in row):
        synced_grid(cells, row_labels=layout.row_labels, col_labels=layout.col_labels, audio_from=None,
                    key=_k(exp.id, "synced", take))
    else:
        st.caption("No video yet.")


def _grid(exp: X.Experiment, plan: X.Plan, records: dict[str, Any], jobs: dict[str, Job | None], *,
          editable: bool = True, comments: dict[str, list[str]] | None = None) -> None:
    layout = _layout(exp)
    take = 0
    with st.container(horizontal=True, vertical_alignment="bottom"):
        if exp.takes > 1:
            take = st.segmented_control("Take", list(range(exp.takes)), default=0,
                                        format_func=lambda t: f"{t + 1}", key=_k(exp.id, "take")) or 0
        view = VIEW_CARDS
        if synced_grid is not None:
            view = st.segmented_control("View", [VIEW_CARDS, VIEW_SYNCED], default=VIEW_CARDS, required=True,
                                        key=_k(exp.id, "view"),
                                        help="Cards: each video with its label, rating, note and pick. "
                                        "Play in sync: the whole grid under one play control.") or VIEW_CARDS
    if view == VIEW_SYNCED:
        _synced(exp, plan, layout, records, jobs, take)
        return
    for r, line in enumerate(layout.keys):
        if layout.row_axis is not None and len(layout.keys) > 1:
            axis = exp.axes[layout.row_axis]
            full = axis.value_full(r) if axis.kind == X.AXIS_PROMPT else None
            st.markdown(f"**{escape_markdown(axis.name())}: {escape_markdown(layout.row_labels[r])}**",
                        help=escape_markdown(full) if full else None)
        cols = st.columns(len(line))
        for c, key in enumerate(line):
            with cols[c], st.container(border=True):
                _cell(exp, plan, plan.cell(key), records.get(key), jobs, take, layout, editable=editable,
                      comments=comments)


def _card_label(exp: X.Experiment, cell: X.Cell) -> None:
    """The card's label: each axis value in words (a wording by the words that set it apart); the whole
    wording on hover (help) and on click (a popover), as text."""
    st.markdown(f"**{escape_markdown(cell.label)}**",
                help=escape_markdown(X.prompt_of(cell.body)) if X.prompt_of(cell.body) else None)
    if any(a.kind == X.AXIS_PROMPT for a in exp.axes):
        with st.popover("Wording", icon=":material/notes:"):
            st.text(X.prompt_of(cell.body))


def _cell(exp: X.Experiment, plan: X.Plan, cell: X.Cell | None, record: Any, jobs: dict[str, Job | None],
          take: int, layout: grid.GridLayout, *, editable: bool = True,
          comments: dict[str, list[str]] | None = None) -> None:
    if cell is None:
        return
    _card_label(exp, cell)
    job_id = _take_of(record, take)
    job = jobs.get(job_id)
    if cell.blocked:
        st.caption("Blocked: not sent")
    elif job is not None and job.video_file:
        jobs_view.video_player(job)
    else:
        st.caption(grid.take_status(job).capitalize())
    checks_view.check_badges(job)  # the video against its request (issue 18 §2)
    if cell.cautions:
        st.caption(":material/warning: caution")
    if cell.prompt_cautions:
        n = len(cell.prompt_cautions)
        st.caption(f":material/edit_note: {n} prompt caution{'s' if n > 1 else ''}",
                   help="\n\n".join(escape_markdown(c) for c in cell.prompt_cautions))
    said = (comments or {}).get(job_id) if job_id else None
    if said:
        with st.expander(f"Comments ({len(said)})", icon=":material/comment:"):
            st.text("\n".join(said))
    if not editable:
        _review_text(record)
        if st.button("Enlarge", key=_k(exp.id, cell.key, "enlarge"), icon=":material/open_in_full:"):
            _enlarge(exp, cell, record, jobs, take)
        return
    rating_key = _k(exp.id, cell.key, "rating")
    if rating_key not in st.session_state and record is not None and record.rating:
        st.session_state[rating_key] = record.rating - 1
    st.feedback("stars", key=rating_key, on_change=_on_rating, args=(exp.id, cell.key, rating_key))
    note_key = _k(exp.id, cell.key, "note")
    if note_key not in st.session_state:
        st.session_state[note_key] = record.note if record else ""
    st.text_input("Note", key=note_key, on_change=_on_note, args=(exp.id, cell.key, note_key),
                  label_visibility="collapsed", placeholder="Note")
    with st.container(horizontal=True):
        pick_key = _k(exp.id, cell.key, "pick")
        st.session_state[pick_key] = record.pick if record else ""
        st.selectbox("Pick", list(PICK_LABELS), format_func=PICK_LABELS.get, key=pick_key,
                     label_visibility="collapsed", on_change=_on_pick,
                     args=(exp.id, cell.key, pick_key, plan, layout.col_axis, layout.row_axis))
        if st.button("Enlarge", key=_k(exp.id, cell.key, "enlarge"), icon=":material/open_in_full:"):
            _enlarge(exp, cell, record, jobs, take)


def stars(rating: int | None) -> str:
    """A rating as text: "★★★☆☆" ("" when not rated)."""
    if not rating:
        return ""
    n = max(0, min(5, int(rating)))
    return "★" * n + "☆" * (5 - n)


def _review_text(record: Any) -> None:
    """Someone else's review of a cell, to read (no widgets: only the owner or an admin changes it)."""
    if record is None:
        return
    parts = [p for p in (stars(record.rating), PICK_LABELS.get(record.pick, "") if record.pick else "") if p]
    if parts:
        st.caption(" · ".join(parts))
    if record.note:
        st.text(record.note)


def _refused(exc: PermissionError) -> None:
    st.toast(str(exc), icon=":material/block:")


def _on_rating(exp_id: str, key: str, widget: str) -> None:
    value = st.session_state.get(widget)
    try:
        X.set_rating(session.ledger(), exp_id, key, None if value is None else int(value) + 1,
                     who=session.identity())
    except PermissionError as exc:
        _refused(exc)


def _on_note(exp_id: str, key: str, widget: str) -> None:
    try:
        X.set_note(session.ledger(), exp_id, key, st.session_state.get(widget) or "", who=session.identity())
    except PermissionError as exc:
        _refused(exc)


def _on_pick(exp_id: str, key: str, widget: str, plan: X.Plan, col_axis: int | None,
             row_axis: int | None) -> None:
    try:
        X.pick(session.ledger(), exp_id, key, st.session_state.get(widget) or "", plan, col_axis=col_axis,
               row_axis=row_axis, who=session.identity())
    except PermissionError as exc:
        _refused(exc)


@st.dialog("Version", width="large")
def _enlarge(exp: X.Experiment, cell: X.Cell, record: Any, jobs: dict[str, Job | None], take: int) -> None:
    st.markdown(f"**{escape_markdown(cell.label)}** · {escape_markdown(X.endpoint_label(cell.endpoint_id))}")
    job = jobs.get(_take_of(record, take))
    if job is not None and job.video_file:
        jobs_view.video_player(job)
    st.caption("Prompt (changes against the base)")
    st.code(X.diff_text(cell.prompt_diff) or X.prompt_of(cell.body), language=None, wrap_lines=True)
    if cell.prompt_cautions:
        st.text("\n".join(cell.prompt_cautions))
    st.caption(grid.take_status(job).capitalize() + (f" · about ${cell.estimate_usd:.2f}"
                                                     if cell.estimate_usd is not None else ""))
    endpoint = catalog.get(cell.endpoint_id)
    st.caption(f"Request: POST {endpoint.path} on {endpoint.router_label}")
    st.json(shorten_inline_images(cell.body), expanded=True)


# --- table, CSV, winner --------------------------------------------------------------------------------

def _table(exp: X.Experiment, plan: X.Plan, records: dict[str, Any], jobs: dict[str, Job | None],
           review: dict[str, Any] | None = None) -> None:
    review = review or {}
    rows = grid.table_rows(exp, plan, records, jobs, votes=review.get("votes"),
                           comments=review.get("comments"))
    shown = st.selectbox("Checks", list(checks_view.CHECK_FILTERS), key=_k(exp.id, "checks_filter"),
                         help="Only the takes whose video check says this. Sort by a column's header.")
    shown_rows = grid.with_checks(rows, checks_view.CHECK_FILTERS[shown])  # the CSV keeps every take
    if rows and not shown_rows:
        st.caption(checks_view.NO_TAKE_MATCHES)
    st.dataframe(shown_rows, hide_index=True, key=_k(exp.id, "table"), column_config={
        **{name: st.column_config.Column(label) for name, label in words.TABLE_COLUMNS.items()},
        "estimate_usd": st.column_config.NumberColumn("Cost (est.)", format="$%.2f"),
        "seconds_to_finish": st.column_config.NumberColumn("Time to finish", format="%.0f s"),
        "check_issues": st.column_config.NumberColumn("Check issues", format="%d"),
    })
    st.download_button("Download table (CSV)", grid.rows_csv(rows), file_name=f"compare-{exp.id}.csv",
                       mime="text/csv", key=_k(exp.id, "csv"), icon=":material/download:")


def _winner(exp: X.Experiment, plan: X.Plan, records: dict[str, Any], *, editable: bool = True) -> None:
    key = X.winner(records)
    if key is None:
        if editable:
            st.caption("Pick a winner in the grid to save it to the Library.")
        return
    cell = plan.cell(key)
    if cell is None:
        return
    st.markdown(f"Winner: **{escape_markdown(cell.label)}**")
    if not editable:
        return
    name_key = _k(exp.id, "winner_name", key)  # a new winner: its own name
    if name_key not in st.session_state:
        st.session_state[name_key] = X.winner_name(exp, cell)
    st.text_input("Save as", key=name_key)
    said_key = _k(exp.id, "save_winner_said")
    st.button("Save the winner", key=_k(exp.id, "save_winner"), icon=":material/bookmark_add:",
              type="primary", on_click=_on_save_winner,
              args=(exp, cell, records.get(key), name_key, said_key))
    said = st.session_state.get(said_key)  # kept: a live refresh of the page must not wipe it
    if said:
        ok, words = said
        if ok:
            st.success(words, icon=":material/bookmark:")
        else:
            st.error(words)


def _on_save_winner(exp: X.Experiment, cell: Any, record: Any, name_key: str, said_key: str) -> None:
    """'Save the winner', in the click's callback: a run cut short by a live refresh never loses it."""
    who = session.identity()
    try:
        version = X.save_winner(library_view.lib(), exp, cell, record, st.session_state.get(name_key, ""),
                                ledger=session.ledger(), who=who, owner=who.id)
    except (ValueError, PermissionError) as exc:
        st.session_state[said_key] = (False, str(exc))
        return
    st.session_state[said_key] = (True, f"Saved “{version.name}” version {version.number} with its takes.")


# --- share: review pack and grid video (core/compare/review_pack.py, core/compare/grid_video.py) ------------

def _pack_cells(exp: X.Experiment, plan: X.Plan, records: dict[str, Any], jobs: dict[str, Job | None],
                review: dict[str, Any] | None = None) -> list[Any]:
    review = review or {}
    return grid.pack_cells(exp, plan, records, jobs, votes=review.get("votes"),
                           comments=review.get("comments"), shorten=shorten_inline_images)


def _adopt(write: Any, ext: str) -> str:
    """Write a file into the media cache (streamed to disk, never held in memory); its cache name."""
    media = session.media()
    tmp = media.temp_path("." + ext)
    try:
        write(tmp)
        return media.adopt_file(tmp, ext)
    finally:
        tmp.unlink(missing_ok=True)


def _share(exp: X.Experiment, plan: X.Plan, records: dict[str, Any], jobs: dict[str, Job | None],
           review: dict[str, Any] | None = None) -> None:
    pack_key, video_key = _k(exp.id, "pack_file"), _k(exp.id, "grid_file")
    with st.container(horizontal=True):
        if st.button("Prepare review pack", key=_k(exp.id, "pack"), icon=":material/folder_zip:",
                     help="A zip with an offline page (grid, synced playback, prompts, ratings) "
                     "and the MP4s."):
            from core.compare.review_pack import write_review_pack

            cells = _pack_cells(exp, plan, records, jobs, review)
            tables = vote_view.ranking_tables(review["subject"]) if review else []

            def write(path: Any) -> None:
                with open(path, "wb") as out:
                    write_review_pack(out, title=exp.title, axes=[a.name() for a in exp.axes] or ["Base"],
                                      cells=cells, open_media=session.media().open,
                                      made_at=time.time(), rankings=tables)

            try:
                st.session_state[pack_key] = _adopt(write, "zip")
            except StudioError as exc:  # the media store could not be reached
                st.warning(f"No review pack: {exc.user_message}")
        if st.session_state.get(pack_key):
            url = media_links.media_url(st.session_state[pack_key], download_name=f"compare-{exp.id}.zip")
            st.link_button("Download review pack", url, icon=":material/download:")
        if st.button("Prepare grid as video", key=_k(exp.id, "gridvideo"), icon=":material/movie:",
                     help="One MP4 of the grid on show, labels burnt in, for chats and slides."):
            from core.compare.grid_video import render_grid_video

            layout = grid.grid_layout(exp, st.session_state.get(_k(exp.id, "rows")),
                                   st.session_state.get(_k(exp.id, "cols")),
                                   st.session_state.get(_k(exp.id, "third")) or 0)
            take = st.session_state.get(_k(exp.id, "take")) or 0
            paths = [[_video_path(jobs.get(_take_of(records.get(k), take))) for k in line]
                     for line in layout.keys]
            try:
                st.session_state[video_key] = _adopt(lambda p: render_grid_video(
                    p, cells=paths, row_labels=layout.row_labels, col_labels=layout.col_labels), "mp4")
            except ValueError as exc:
                st.warning(f"No grid video: {exc}.")
            except StudioError as exc:
                st.warning(f"No grid video: {exc.user_message}")
        if st.session_state.get(video_key):
            st.link_button("Download grid as video", media_links.media_url(
                st.session_state[video_key], download_name=f"compare-{exp.id}-grid.mp4"),
                icon=":material/download:")


def _video_path(job: Job | None) -> Any:
    return session.video_path(job) if job is not None else None


# --- owner and delete --------------------------------------------------------------------------------------

def watch_line(owner: str) -> str:
    """The one line over someone else's experiment."""
    who = f"Made by {owner}" if owner else "Made before sign-in was set up"
    rights = "only they or an admin can" if owner else "only an admin can"
    return (f"{who}: you can watch it, play and download its videos; {rights} change, run or delete it. "
            "Make your own copy to try things with it.")


def _copy_button(exp: X.Experiment) -> None:
    """'Make my copy': a new experiment of this person's (same base, axes and takes; nothing sent yet)."""
    if st.button("Make my copy", key=_k(exp.id, "copy"), icon=":material/content_copy:", type="primary",
                 help="A new experiment of yours with the same base request, axes and takes. Nothing is sent "
                 "until you press Run all; the videos, ratings and notes here stay with this one."):
        _show(session.copy_experiment(exp))
        st.toast("Your copy is ready: change it and run it as you like.", icon=":material/content_copy:")
        st.rerun()


def _owner_and_delete(exp: X.Experiment, owner: str, editable: bool) -> None:
    """Who started the experiment; someone else's: one line saying so and "Make my copy". Delete for its
    owner or an admin (core checks again). Its videos stay in Jobs and the Gallery."""
    if not editable:
        with st.container(horizontal=True, vertical_alignment="center"):
            st.caption(escape_markdown(watch_line(owner)))
            _copy_button(exp)
        return
    if not session.may_delete(owner):  # pragma: no cover - may_edit and may_delete agree today
        st.caption(escape_markdown(jobs_view.whose_line(owner)))
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        if owner:
            st.caption(escape_markdown(f"Started by {owner}"))
        with st.popover("Delete experiment…", icon=":material/delete:"):
            st.caption("Forget this experiment (what changes, ratings, notes, picks). Its videos stay in "
                       "Jobs and the Gallery. This cannot be undone.")
            if st.button("Delete for good", key=_k(exp.id, "delete"), type="primary"):
                try:
                    session.delete_experiment(exp.id)
                except PermissionError as exc:
                    st.error(str(exc), icon=":material/block:")
                    return
                _show(None)
                st.toast("Experiment deleted.", icon=":material/delete:")
                st.rerun()


# --- the page ------------------------------------------------------------------------------------------

RUN_NOTE_KEY = "compare.run_note"  # what Run all did, told by the run after it


def render_compare_page() -> None:
    st.title("Compare")
    welcome.demo_badge()
    note = st.session_state.pop(RUN_NOTE_KEY, None)
    if note:
        st.toast(note, icon=":material/rocket_launch:")
    exp_id = _picker(_current_id())
    if exp_id is None:
        vote_view.vote_sets()
        return
    exp = X.load(session.ledger(), exp_id)
    if exp is None:
        st.warning("This experiment is no longer stored.")
        return
    endpoint = catalog.get(exp.endpoint_id)
    demo = session.is_demo(endpoint.router)
    st.caption(f"Base: {endpoint.router_label} · {endpoint.label}")
    st.text(exp.base_prompt)
    owner = session.experiment_owner(exp.id)
    editable = session.may_edit(owner)
    _owner_and_delete(exp, owner, editable)
    exp = _axis_editor(exp) if editable else _axes_summary(exp)
    plan = X.expand(exp, session.prices_for(endpoint.router))  # the cap line and the budget agree
    _preview(exp, plan, demo, editable=editable)
    records = session.ledger().experiments.experiment_cells(exp.id)
    active = any(grid.in_progress(j) for j in _jobs(records).values())

    @st.fragment(run_every=LIVE_EVERY_S if active else None)
    @frame.outage_safe
    @live.measured
    def _live() -> None:
        """Run controls and the grid, refreshed while takes are on their way."""
        records = session.ledger().experiments.experiment_cells(exp.id)
        jobs = _jobs(records)
        still = any(grid.in_progress(j) for j in jobs.values())
        if still:
            live.live_trigger(f"live.compare.{exp.id}", watch=[j.id for j in jobs.values() if j is not None],
                              tick_every_s=config.LIVE_TICK_EVERY_S)  # the cells' elapsed times
        if active and not still:
            st.rerun()  # all done: one full run draws the page without the timer
        if editable:
            _run_controls(exp, plan, jobs, demo)
        if jobs:
            st.caption(escape_markdown(_status_line(jobs)))
        review = vote_view.review_data(exp, plan)
        grid_tab, table_tab, vote_tab, rank_tab = st.tabs(["Grid", "Table", "Vote", "Ranking"])
        with grid_tab:
            _grid(exp, plan, records, jobs, editable=editable, comments=review["comments"])
        with table_tab:
            _table(exp, plan, records, jobs, review)
        with vote_tab:
            vote_view.questions(exp, editable)
            vote_view.vote_panel(review["subject"], key=_k(exp.id, "vote"))
        with rank_tab:
            vote_view.ranking_panel(review["subject"], key=_k(exp.id, "rank"))
        _winner(exp, plan, records, editable=editable)
        if any(j is not None and j.video_file for j in jobs.values()):
            _share(exp, plan, records, jobs, review)
            if editable:
                vote_view.review_links(exp)

    _live()
    vote_view.vote_sets()  # a blind vote on any Gallery videos, under the experiment
