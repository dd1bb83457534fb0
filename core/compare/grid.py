"""What the Compare page lays out from an experiment (pure, no Streamlit): each take's status, the table of
takes and its CSV, and which cells form the grid on screen.

    table_rows(exp, plan, records, jobs)   one row per take: axis values (a wording by its own words, and in
                                           full), status, rating, pick, note, blind votes, comments, cost
    rows_csv(rows)                         the table as CSV (formula-looking text quoted)
    check_columns(job), with_checks(rows, states)   the video checks in the table (issue 18 §2), filtering
    grid_layout(exp, row_axis, col_axis)   rows, columns (and one value of a third axis) → cell keys
    pack_cells(exp, plan, records, jobs)   the review pack's clips (core/compare/review_pack.py PackCell)
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.authoring import catalog
from core.compare.experiments import AXIS_PROMPT, PICK_GRID, PICK_ROW, Experiment, Plan, cell_key, prompt_of
from core.compare.review_pack import PackCell
from core.jobs.record import ACTIVE_STATES, Job, JobState, needs_download
from core.jobs.video_checks import summary_text, verdict
from core.storage.experiment_store import CellRecord

# --- status, table, CSV --------------------------------------------------------------------------------


def take_status(job: Job | None) -> str:
    if job is None:
        return "not sent"
    if job.state == JobState.SUCCEEDED and not job.video_file:
        return "saving video"
    return str(job.state.value).replace("_", " ")


def in_progress(job: Job | None) -> bool:
    """Still on its way: waiting, sending, running, or done with the video not saved yet."""
    if job is None:
        return False
    return job.state in ACTIVE_STATES or (job.state == JobState.SUCCEEDED and needs_download(job))


def finish_seconds(job: Job | None) -> float | None:
    """From recording to the video being saved."""
    if job is None or job.state != JobState.SUCCEEDED or not job.video_file:
        return None
    return round(job.updated_at - job.created_at, 1)


TABLE_FIXED = ("cell", "take", "status", "rating", "pick", "note", "estimate_usd", "seconds_to_finish",
               "endpoint", "job")
PICK_WORDS = {PICK_ROW: "Best in row", PICK_GRID: "Best overall"}
WORDING_COLUMN = "wording"  # the whole wording of a take's prompt (its label is the axis column)


def votes_words(tally: Mapping[str, float] | None) -> str:
    """'won 5 of 8 pairs' (ties half) from votes.votes_by_take's entry; "" with no votes."""
    if not tally or not tally.get("pairs"):
        return ""
    wins = tally.get("wins", 0.0)
    shown = f"{wins:g}"
    return f"won {shown} of {int(tally['pairs'])} pair{'s' if tally['pairs'] != 1 else ''}"


def table_rows(exp: Experiment, plan: Plan, records: Mapping[str, CellRecord],
               jobs: Mapping[str, Job | None], *, votes: Mapping[str, Mapping[str, float]] | None = None,
               comments: Mapping[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """One row per take: axis values (a wording by the words that set it apart, and in full), status,
    rating, pick, note, estimated cost, time to finish; with `votes` (votes.votes_by_take) and `comments`
    (take → comment lines) the blind votes it won and what reviewers said."""
    wording = any(a.kind == AXIS_PROMPT for a in exp.axes)
    rows = []
    for cell in plan.cells:
        record = records.get(cell.key)
        ids = list(record.job_ids) if record else []
        for t in range(exp.takes):
            job_id = ids[t] if t < len(ids) else ""
            job = jobs.get(job_id) if job_id else None
            row: dict[str, Any] = {"cell": cell.key, "take": t + 1}
            for axis, label in zip(exp.axes, cell.labels, strict=True):
                row[axis.name()] = label
            if wording:
                row[WORDING_COLUMN] = prompt_of(cell.body)
            row.update({
                "status": "blocked" if cell.blocked else take_status(job),
                "rating": record.rating if record else None,
                "pick": record.pick if record else "",
                "note": record.note if record else "",
                "estimate_usd": cell.estimate_usd,
                "seconds_to_finish": finish_seconds(job),
                "endpoint": cell.endpoint_id,
                "job": job_id,
            })
            row.update(check_columns(job))
            if votes is not None:
                row["votes"] = votes_words(votes.get(job_id)) if job_id else ""
            if comments is not None:
                row["comments"] = " | ".join(comments.get(job_id, [])) if job_id else ""
            rows.append(row)
    return rows


def check_columns(job: Job | None) -> dict[str, Any]:
    """The take's video checks (core/jobs/video_checks.py) as table columns: `check` (match / differs /
    unreadable / "" not checked or no video), `check_issues` (how many checks are not ok) and `checks` (what
    differs, in plain words)."""
    if job is None or not job.video_file or job.checks is None:
        return {"check": "", "check_issues": None, "checks": ""}
    state, issues = verdict(job.checks)
    return {"check": state, "check_issues": issues, "checks": summary_text(job.checks)}


def with_checks(rows: list[dict[str, Any]], states: tuple[str, ...]) -> list[dict[str, Any]]:
    """Only the rows whose check is one of `states` (all rows for no states)."""
    return [r for r in rows if r.get("check", "") in states] if states else rows


def rows_csv(rows: list[dict[str, Any]]) -> str:
    """The table as CSV text (columns in the order of the first row)."""
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else _csv_safe(v)) for k, v in row.items()})
    return out.getvalue()


def _csv_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


# --- the grid ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridLayout:
    row_axis: int | None
    col_axis: int | None
    third_axis: int | None
    row_labels: list[str]
    col_labels: list[str]
    keys: list[list[str]]  # [row][col] → cell key


def grid_layout(exp: Experiment, row_axis: int | None = None, col_axis: int | None = None,
                third_value: int = 0) -> GridLayout:
    """Which cells form the grid: two axes (rows, columns) and, with three, one value of the third."""
    n = len(exp.axes)
    free = list(range(n))
    if col_axis is None or col_axis >= n:
        col_axis = free[-1] if free else None
    if row_axis is None or row_axis >= n or row_axis == col_axis:
        row_axis = next((i for i in free if i != col_axis), None)
    third = next((i for i in free if i not in (row_axis, col_axis)), None)
    rows = range(len(exp.axes[row_axis].values)) if row_axis is not None else range(1)
    cols = range(len(exp.axes[col_axis].values)) if col_axis is not None else range(1)
    keys = []
    for r in rows:
        line = []
        for c in cols:
            index = [0] * n
            if row_axis is not None:
                index[row_axis] = r
            if col_axis is not None:
                index[col_axis] = c
            if third is not None:
                index[third] = min(third_value, len(exp.axes[third].values) - 1)
            line.append(cell_key(index))
        keys.append(line)
    row_labels = [exp.axes[row_axis].value_label(r) for r in rows] if row_axis is not None else [""]
    col_labels = [exp.axes[col_axis].value_label(c) for c in cols] if col_axis is not None else ["Base"]
    return GridLayout(row_axis, col_axis, third, row_labels, col_labels, keys)


# --- the review pack -------------------------------------------------------------------------------------


def pack_cells(exp: Experiment, plan: Plan, records: Mapping[str, CellRecord], jobs: Mapping[str, Job | None],
               *, votes: Mapping[str, Mapping[str, float]] | None = None,
               comments: Mapping[str, list[str]] | None = None,
               shorten: Any = None) -> list[PackCell]:
    """The review pack's clips, one per take: its labels (a wording by its own words), prompt, rating, pick,
    note, blind votes and comments. `shorten(body)` trims inline images for display (ui.text)."""
    trim = shorten or (lambda body: body)
    out = []
    for cell in plan.cells:
        labels = list(cell.labels)
        record = records.get(cell.key)
        ids = list(record.job_ids) if record else []
        endpoint = catalog.get(cell.endpoint_id)
        for take in range(exp.takes):
            job_id = ids[take] if take < len(ids) else ""
            job = jobs.get(job_id) if job_id else None
            out.append(PackCell(
                row=labels[0] if labels else "Base", col=labels[1] if len(labels) > 1 else "",
                third=labels[2] if len(labels) > 2 else None, labels={"take": str(take + 1)},
                prompt=prompt_of(cell.body), base_prompt=exp.base_prompt,
                params=trim({k: v for k, v in cell.body.items() if k != "prompt"}),
                rating=record.rating if record else None, note=record.note if record else "",
                cost=cell.estimate_usd, status="blocked" if cell.blocked else take_status(job),
                made_by=f"{endpoint.router_label}{' (demo)' if job is not None and job.demo else ''}",
                made_at=job.created_at if job is not None else exp.created_at,
                request={"method": "POST", "path": endpoint.path, "body": trim(cell.body)},
                video_name=job.video_file if job is not None and job.video_file else None,
                pick=PICK_WORDS.get(record.pick, "") if record else "",
                comments=tuple((comments or {}).get(job_id, [])) if job_id else (),
                votes=votes_words((votes or {}).get(job_id)) if job_id else "",
            ))
    return out
