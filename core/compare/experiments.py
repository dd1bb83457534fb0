"""Compare: prompt experiments laid out as a grid (pure, no Streamlit).

An Experiment is a base request (endpoint id + body, the Create page's draft) with up to three axes and
a number of takes per cell:

    prompt    2–6 edited copies of the prompt (each a word diff against the base prompt)
    field     any choice the endpoint offers, read from its schema: literals (quality, aspect ratio,
              sound…), booleans, whole-number ranges (duration)
    endpoint  model or router: any endpoint serving the same Create mode (Kling v3 vs v3 Omni,
              MuleRouter vs APIMart); the body goes over with core.authoring.tokens.translate

    plan = expand(experiment)          every cell: axis values, its exact request body, its check
                                       (problems block the cell, cautions are marked), its estimate
    cap_line(plan, cap)                "9 videos, about $3.40 — your cap is $5"
    run_all(ledger, media, exp, plan, bind, group_limit=2)
                                       records every take of every runnable cell as "waiting" in the
                                       experiment's group; the server's engine sends at most
                                       `group_limit` at a time per router, each once
    stop_all(ledger, exp_id)           cancels the takes not yet sent
    make_copy(ledger, media, exp, owner)
                                       "Make my copy": a new experiment of `owner`'s with the same base,
                                       axes and takes (no jobs, no reviews)

Who may change an experiment: its owner or an admin (core/team/identity.py may_edit); everyone else watches it
and makes a copy. Every function that changes or runs one takes `who` (an identity.Identity) and refuses
with identity.NotAllowedError when that person may not; `who=None` skips the check (callers that already
know, tests). Single-user mode (id "") may do everything.

Prompt wordings and field choices are applied to the base body on the base endpoint first; an
endpoint axis then translates that body, so `sound: "on"` becomes `audio: true` on APIMart as the
Create page's router switch would do it. Nothing here sends anything itself.
"""

from __future__ import annotations

import itertools
import time
import types
import typing
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import annotated_types

from core import config
from core.authoring import catalog, check, pricing, tokens
from core.engine import runner
from core.jobs.record import Job, JobState
from core.models import Mode, RouterAccess
from core.storage import library, spend_store
from core.storage.body_media import externalize_body
from core.storage.experiment_store import CellRecord
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache
from core.storage.spend_store import SpendLimit
from core.team import identity as ident

AXIS_PROMPT, AXIS_FIELD, AXIS_ENDPOINT = "prompt", "field", "endpoint"
AXIS_KINDS = (AXIS_PROMPT, AXIS_FIELD, AXIS_ENDPOINT)
PICK_ROW, PICK_GRID = "row", "grid"
KEY_SEP = "."
# Fields never offered as an axis: text (wordings have their own axis), media, and switches that change the
# request's shape (multi-shot needs shots).
_NOT_CHOICES = frozenset({"prompt", "negative_prompt", "model", "multi_shot", "shot_type"})
# A take is sent again by "Run all" when it never reached the router (stopped, or refused outright).
RESEND_STATES = frozenset({JobState.CANCELLED, JobState.FAILED})


class ExperimentError(ValueError):
    """An experiment that cannot be built or run as asked (plain words)."""


class OverBudgetError(ExperimentError):
    """Running would pass the budget cap; the user must confirm."""


# --- the experiment --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    kind: str  # AXIS_PROMPT | AXIS_FIELD | AXIS_ENDPOINT
    values: tuple[Any, ...]
    field: str = ""  # the body field of a field axis
    title: str = ""

    def name(self) -> str:
        if self.title:
            return self.title
        if self.kind == AXIS_PROMPT:
            return "Wording"
        if self.kind == AXIS_ENDPOINT:
            return "Model / router"
        return _field_title(self.field)

    def value_label(self, i: int) -> str:
        """A short label of the value: for a wording, the words that set it apart (wording_labels)."""
        value = self.values[i]
        if self.kind == AXIS_PROMPT:
            return wording_labels(self.values)[i]
        if self.kind == AXIS_ENDPOINT:
            return endpoint_label(str(value))
        return value_label(self.field, value)

    def value_full(self, i: int) -> str:
        """The whole value as words: a wording in full, else its label."""
        return str(self.values[i]) if self.kind == AXIS_PROMPT else self.value_label(i)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "values": list(self.values), "field": self.field, "title": self.title}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Axis:
        return cls(str(d["kind"]), tuple(d.get("values") or ()), str(d.get("field") or ""),
                   str(d.get("title") or ""))


@dataclass(frozen=True)
class Experiment:
    id: str
    endpoint_id: str
    base: dict[str, Any]
    axes: tuple[Axis, ...] = ()
    takes: int = 1
    title: str = ""
    mode: str = ""
    created_at: float = 0.0
    criteria: tuple[str, ...] = ()  # the blind vote's questions (core/compare/votes.py criteria_of)

    def to_dict(self) -> dict[str, Any]:
        out = {"endpoint_id": self.endpoint_id, "base": self.base, "axes": [a.to_dict() for a in self.axes],
               "takes": self.takes, "title": self.title, "mode": self.mode}
        if self.criteria:
            out["criteria"] = list(self.criteria)
        return out

    @classmethod
    def from_dict(cls, exp_id: str, d: Mapping[str, Any], created_at: float = 0.0) -> Experiment:
        return cls(exp_id, str(d["endpoint_id"]), dict(d.get("base") or {}),
                   tuple(Axis.from_dict(a) for a in d.get("axes") or ()), int(d.get("takes") or 1),
                   str(d.get("title") or ""), str(d.get("mode") or ""), created_at,
                   tuple(str(c) for c in d.get("criteria") or ()))

    @property
    def base_prompt(self) -> str:
        return prompt_of(self.base)


def new_experiment(endpoint_id: str, body: Mapping[str, Any], *, mode: str = "", title: str = "",
                   now: float | None = None) -> Experiment:
    """A new experiment with the draft `body` as its base and no axes yet (one cell, one take)."""
    endpoint = catalog.get(endpoint_id)
    mode = mode or str(catalog.mode_of(endpoint, dict(body)))
    title = (title or default_title(body))[: config.EXPERIMENT_TITLE_MAX_CHARS]
    return Experiment(uuid.uuid4().hex[: config.EXPERIMENT_ID_HEX_CHARS], endpoint_id, dict(body),
                      mode=mode, title=title, created_at=time.time() if now is None else now)


def default_title(body: Mapping[str, Any]) -> str:
    words = prompt_of(body).split()
    text = " ".join(words[:8]) + ("…" if len(words) > 8 else "")
    return text or "Untitled experiment"


def prompt_of(body: Mapping[str, Any]) -> str:
    return str(body.get("prompt") or "")


def shorten(text: str, max_chars: int = config.WORDING_LABEL_MAX_CHARS) -> str:
    """`text` cut at a word boundary to at most `max_chars` characters, with "…" when cut."""
    text = " ".join(str(text).split())
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1].rsplit(" ", 1)[0] if " " in text[: max_chars - 1] else text[: max_chars - 1]
    return cut.rstrip(" ,;:.") + "…"


def wording_labels(wordings: Iterable[Any],
                   max_chars: int = config.WORDING_LABEL_MAX_CHARS) -> tuple[str, ...]:
    """Short labels of prompt wordings: the words that set each apart (the words all of them share at the
    start and the end are left out, marked "…"), cut to `max_chars`. A wording whose own words are all
    shared (e.g. "a fox" next to "a red fox") shows itself, shortened. Labels that would come out the same
    get their number: "walks… (2)". ("a fox walks in snow", "a fox runs in snow") → ("…walks…", "…runs…")."""
    texts = [" ".join(str(w).split()) for w in wordings]
    words = [t.split() for t in texts]
    pre = 0
    while words and all(len(w) > pre for w in words) and len({w[pre] for w in words}) == 1:
        pre += 1
    suf = 0
    while words and all(len(w) > pre + suf for w in words) and len({w[-1 - suf] for w in words}) == 1:
        suf += 1
    labels = []
    for text, w in zip(texts, words, strict=True):
        middle = w[pre: len(w) - suf]
        if not middle or len(words) < 2:
            labels.append(shorten(text, max_chars) or "(empty)")
            continue
        label = shorten(" ".join(middle), max_chars - 2).rstrip(" ,;:") or " ".join(middle)
        labels.append(("…" if pre else "") + label + ("…" if suf and not label.endswith("…") else ""))
    seen: dict[str, int] = {}
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
    return tuple(f"{label} ({i + 1})" if seen[label] > 1 else label for i, label in enumerate(labels))


def problems_of(exp: Experiment) -> list[str]:
    """What is wrong with the experiment itself (not with its cells), in plain words; empty = fine."""
    out: list[str] = []
    if len(exp.axes) > config.EXPERIMENT_MAX_AXES:
        out.append(f"An experiment has at most {config.EXPERIMENT_MAX_AXES} axes.")
    if not config.EXPERIMENT_MIN_TAKES <= exp.takes <= config.EXPERIMENT_MAX_TAKES:
        out.append(f"Takes per cell: {config.EXPERIMENT_MIN_TAKES} to {config.EXPERIMENT_MAX_TAKES}.")
    for axis in exp.axes:
        n = len(axis.values)
        if axis.kind == AXIS_PROMPT:
            if not config.EXPERIMENT_MIN_WORDINGS <= n <= config.EXPERIMENT_MAX_WORDINGS:
                out.append(f"Give {config.EXPERIMENT_MIN_WORDINGS} to {config.EXPERIMENT_MAX_WORDINGS} "
                           "wordings of the prompt.")
            if any(not str(v).strip() for v in axis.values):
                out.append("A wording is empty.")
        elif not 1 <= n <= config.EXPERIMENT_MAX_VALUES:
            out.append(f"{axis.name()}: choose 1 to {config.EXPERIMENT_MAX_VALUES} values.")
        if len(set(map(repr, axis.values))) != n:
            out.append(f"{axis.name()}: the same value appears twice.")
    kinds = [(a.kind, a.field) for a in exp.axes]
    if len(set(kinds)) != len(kinds):
        out.append("Two axes vary the same thing.")
    if videos_of(exp) > config.EXPERIMENT_MAX_VIDEOS:
        out.append(f"This makes {videos_of(exp)} videos; one experiment makes at most "
                   f"{config.EXPERIMENT_MAX_VIDEOS}.")
    return out


def videos_of(exp: Experiment) -> int:
    n = exp.takes
    for axis in exp.axes:
        n *= max(1, len(axis.values))
    return n


def with_axis(exp: Experiment, axis: Axis) -> Experiment:
    """The experiment with `axis` added, or replacing the axis that varies the same thing."""
    kept = [a for a in exp.axes if (a.kind, a.field) != (axis.kind, axis.field)]
    if len(kept) == len(exp.axes) and len(kept) >= config.EXPERIMENT_MAX_AXES:
        raise ExperimentError(f"An experiment has at most {config.EXPERIMENT_MAX_AXES} axes.")
    at = next((i for i, a in enumerate(exp.axes) if (a.kind, a.field) == (axis.kind, axis.field)), len(kept))
    kept.insert(at, axis)
    return replace(exp, axes=tuple(kept))


def without_axis(exp: Experiment, index: int) -> Experiment:
    return replace(exp, axes=tuple(a for i, a in enumerate(exp.axes) if i != index))


def extend_axis(exp: Experiment, index: int, value: Any) -> Experiment:
    """Add a row/column: one more value at the end of an axis (existing cells keep their keys)."""
    axis = exp.axes[index]
    new = replace(axis, values=(*axis.values, value))
    return replace(exp, axes=tuple(new if i == index else a for i, a in enumerate(exp.axes)))


# --- what the schema offers -------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChoice:
    """A field of the endpoint that can form an axis, with the values it can take."""

    name: str
    title: str
    options: tuple[Any, ...]


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """(the type inside Optional/Annotated, the metadata met on the way)."""
    meta: list[Any] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            meta.extend(annotation.__metadata__)
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation, meta
            annotation = args[0]
        else:
            return annotation, meta


def _ui(info: Any) -> dict[str, Any]:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    ui = extra.get("ui")
    return ui if isinstance(ui, dict) else {}


def _field_title(name: str) -> str:
    return {"mode": "Quality", "aspect_ratio": "Aspect ratio", "sound": "Sound", "audio": "Sound",
            "duration": "Duration", "keep_audio": "Keep audio"}.get(name, name.replace("_", " ").capitalize())


def value_label(field_name: str, value: Any) -> str:
    if field_name == "duration":
        return f"{value} s"
    if field_name == "mode":
        return {"std": "Standard (720p)", "pro": "Pro (1080p)", "4k": "4K"}.get(str(value), str(value))
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def field_choices(endpoint_id: str, mode: str | None = None) -> list[FieldChoice]:
    """The endpoint's choices that can form an axis, in form order: literals, booleans, whole-number
    ranges (from the schema's limits). Hidden, text, media and conditional fields are left out."""
    schema = catalog.get(endpoint_id).schema
    found: list[tuple[int, FieldChoice]] = []
    for name, info in schema.model_fields.items():
        ui = _ui(info)
        if name in _NOT_CHOICES or ui.get("widget") == "hidden" or ui.get("show_if"):
            continue
        if mode and ui.get("modes") and str(mode) not in ui["modes"]:
            continue
        inner, meta = _unwrap(info.annotation)
        meta = [*meta, *info.metadata]
        options: tuple[Any, ...] = ()
        if typing.get_origin(inner) is Literal:
            options = tuple(typing.get_args(inner))
        elif inner is bool:
            options = (False, True)
        elif inner is int:
            lo = next((m.ge for m in meta if isinstance(m, annotated_types.Ge)), None)
            hi = next((m.le for m in meta if isinstance(m, annotated_types.Le)), None)
            if lo is not None and hi is not None and hi - lo <= 60:
                options = tuple(range(int(lo), int(hi) + 1))
        if options:
            found.append((int(ui.get("order", 999)), FieldChoice(name, _field_title(name), options)))
    return [c for _, c in sorted(found, key=lambda t: t[0])]


def endpoint_label(endpoint_id: str) -> str:
    e = catalog.get(endpoint_id)
    return f"{e.label} · {e.router_label}"


def endpoint_choices(endpoint_id: str, mode: str | None = None) -> list[str]:
    """Endpoints a cell can go to from this base: every endpoint of both routers serving the same Create
    mode (the base first)."""
    base = catalog.get(endpoint_id)
    wanted = Mode(mode) if mode else base.modes[0]
    ids = [e.id for r in config.ROUTERS for e in catalog.for_mode(r, wanted)]
    return [endpoint_id, *(i for i in ids if i != endpoint_id)]


# --- matrix expansion --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    key: str  # "0.2.1": the value index on each axis
    index: tuple[int, ...]
    labels: tuple[str, ...]
    values: tuple[Any, ...]
    endpoint_id: str
    body: dict[str, Any]
    problems: tuple[str, ...] = ()  # block this cell
    cautions: tuple[str, ...] = ()  # marked, never block
    notes: tuple[str, ...] = ()  # what a translation changed
    estimate_usd: float | None = None
    prompt_diff: tuple[tuple[str, str], ...] = ()  # word diff of its prompt against the base prompt
    prompt_cautions: tuple[str, ...] = ()  # the prompt linter's ("shot 2: …"), never block

    @property
    def blocked(self) -> bool:
        return bool(self.problems)

    @property
    def label(self) -> str:
        return " · ".join(self.labels) or "Base"


def cell_key(index: Iterable[int]) -> str:
    return KEY_SEP.join(str(i) for i in index)


def key_index(key: str) -> tuple[int, ...]:
    return tuple(int(p) for p in key.split(KEY_SEP)) if key else ()


def cell_request(exp: Experiment, index: tuple[int, ...]) -> tuple[str, dict[str, Any], list[str]]:
    """(endpoint id, the exact body, translation notes) of one cell."""
    body = dict(exp.base)
    target = exp.endpoint_id
    for axis, i in zip(exp.axes, index, strict=True):
        value = axis.values[i]
        if axis.kind == AXIS_PROMPT:
            body["prompt"] = str(value)
        elif axis.kind == AXIS_FIELD:
            body[axis.field] = value
        elif axis.kind == AXIS_ENDPOINT:
            target = str(value)
    if target == exp.endpoint_id:
        return target, body, []
    new, notes = tokens.translate(body, exp.endpoint_id, target)
    return target, new, notes


def _estimate(endpoint_id: str, body: dict[str, Any], table: pricing.RateTable | None) -> float | None:
    try:
        return pricing.estimate(catalog.get(endpoint_id), body, table).total_usd
    except Exception:  # an incomplete body has no price
        return None


def build_cell(exp: Experiment, index: tuple[int, ...], table: pricing.RateTable | None = None) -> Cell:
    endpoint_id, body, notes = cell_request(exp, index)
    problems = tuple(p.line() for p in check.preflight(endpoint_id, body))  # tokens that point at nothing too
    cautions = tuple(c.line() for c in check.cautions(endpoint_id, body))
    linted = tuple(f"{c.field}: {c.message}" for c in check.prompt_cautions(endpoint_id, body))
    labels = tuple(a.value_label(i) for a, i in zip(exp.axes, index, strict=True))
    values = tuple(a.values[i] for a, i in zip(exp.axes, index, strict=True))
    diff = tuple(library.word_diff(exp.base_prompt, prompt_of(body)))
    return Cell(cell_key(index), index, labels, values, endpoint_id, body, problems, cautions, tuple(notes),
                _estimate(endpoint_id, body, table), diff, linted)


@dataclass(frozen=True)
class Plan:
    """Every cell of an experiment, checked and priced, before anything is sent."""

    cells: tuple[Cell, ...]
    takes: int
    axes: tuple[Axis, ...] = ()

    @property
    def runnable(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if not c.blocked)

    @property
    def blocked(self) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.blocked)

    @property
    def videos(self) -> int:
        return len(self.runnable) * self.takes

    @property
    def total_usd(self) -> float:
        return round(sum((c.estimate_usd or 0.0) for c in self.runnable) * self.takes, 4)

    @property
    def unpriced(self) -> int:
        return sum(1 for c in self.runnable if c.estimate_usd is None)

    def cell(self, key: str) -> Cell | None:
        return next((c for c in self.cells if c.key == key), None)


def expand(exp: Experiment, table: pricing.RateTable | None = None) -> Plan:
    """The matrix: one cell per combination of axis values (first axis slowest), each checked and priced."""
    ranges = [range(len(a.values)) for a in exp.axes]
    cells = tuple(build_cell(exp, tuple(ix), table) for ix in itertools.product(*ranges))
    return Plan(cells, exp.takes, exp.axes)


def _money(x: float) -> str:
    return f"${x:.2f}".replace(".00", "") if float(x).is_integer() else f"${x:.2f}"


def cap_line(plan: Plan, cap: float | None, *, spent: float = 0.0, demo: bool = False) -> str:
    """'9 videos, about $3.40 — your cap is $5' (plus blocked cells, unknown prices, demo)."""
    n = plan.videos
    line = f"{n} video{'s' if n != 1 else ''}, about ${plan.total_usd:.2f}"
    if cap and cap > 0:
        line += f" — your cap is {_money(cap)}"
        if spent > 0:
            line += f" ({_money(spent)} spent so far)"
    if plan.unpriced:
        line += f"; {plan.unpriced} cell(s) have no known price"
    if plan.blocked:
        line += f"; {len(plan.blocked)} cell(s) blocked and not sent"
    if demo:
        line += " — demo mode: nothing is charged"
    return line


def budget_excess(total: float, cap: float | None, spent: float = 0.0) -> float | None:
    """How far running would pass the cap (None: within it, or no cap)."""
    if not cap or cap <= 0:
        return None
    excess = round(spent + total - cap, 4)
    return excess if excess > 0 else None


# --- running ------------------------------------------------------------------------------------------

Bind = Callable[[str], tuple[RouterAccess, str]]
"""router → (access, access id) for this session (ui/session.bound_access)."""


def owner_of(ledger: Ledger, exp_id: str) -> str | None:
    """Who started the experiment ("" before sign-in was set up); None when it is not stored."""
    found = ledger.experiments.get_experiment(exp_id)
    return None if found is None else str(found.get("owner") or "")


def check_change(ledger: Ledger, exp_id: str, who: ident.Identity | None) -> None:
    """Raises identity.NotAllowedError (plain words) when `who` may not change or run the stored experiment
    (another person's, and not an admin). Nothing to check for `who=None` or an experiment not stored yet."""
    if who is None:
        return
    owner = owner_of(ledger, exp_id)
    if owner is not None:
        ident.check_edit(who, owner)


def save(ledger: Ledger, media: MediaCache, exp: Experiment, *, now: float | None = None,
         owner: str = "", who: ident.Identity | None = None) -> Experiment:
    """Store the experiment (its base images go to the media cache, as job bodies do); `owner`: who made
    it, recorded when it is first stored. Refused (identity.NotAllowedError) when `who` may not change it,
    and for a guest of a review link (who never makes anything)."""
    ident.check_not_guest(who)
    if owner.startswith(ident.GUEST_PREFIX):
        raise ident.NotAllowedError(ident.GUEST_ONLY_REVIEW_MESSAGE)
    check_change(ledger, exp.id, who)
    stored = replace(exp, base=externalize_body(exp.base, media))
    t = time.time() if now is None else now
    ledger.experiments.save_experiment(exp.id, exp.title, stored.to_dict(), now=t,
                                       created_at=exp.created_at or t, owner=owner)
    return exp


def copy_title(title: str) -> str:
    suffix = " (copy)"
    head = title.removesuffix(suffix)[: config.EXPERIMENT_TITLE_MAX_CHARS - len(suffix)]
    return head + suffix


def make_copy(ledger: Ledger, media: MediaCache, exp: Experiment, owner: str, *,
              now: float | None = None) -> Experiment:
    """'Make my copy': a new experiment of `owner`'s with the same base request, axes and takes, stored.
    Nothing else comes along: no jobs, ratings, notes or picks (the copy starts with nothing sent)."""
    if owner.startswith(ident.GUEST_PREFIX):
        raise ident.NotAllowedError(ident.GUEST_ONLY_REVIEW_MESSAGE)
    t = time.time() if now is None else now
    copy = replace(exp, id=uuid.uuid4().hex[: config.EXPERIMENT_ID_HEX_CHARS], title=copy_title(exp.title),
                   created_at=t)
    return save(ledger, media, copy, now=t, owner=owner)


def load(ledger: Ledger, exp_id: str) -> Experiment | None:
    found = ledger.experiments.get_experiment(exp_id)
    if found is None:
        return None
    return Experiment.from_dict(exp_id, found["data"], found["created_at"])


def listing(ledger: Ledger, limit: int = config.EXPERIMENT_LIST_LIMIT) -> list[dict[str, Any]]:
    """Experiments, newest change first: id, title, created_at, updated_at, videos."""
    out = []
    for row in ledger.experiments.list_experiments(limit):
        exp = Experiment.from_dict(row["id"], row["data"], row["created_at"])
        out.append({"id": exp.id, "title": exp.title, "created_at": row["created_at"],
                    "updated_at": row["updated_at"], "videos": videos_of(exp),
                    "endpoint_id": exp.endpoint_id, "owner": row.get("owner") or ""})
    return out


@dataclass(frozen=True)
class RunReport:
    recorded: list[str] = field(default_factory=list)  # new job ids
    kept: int = 0  # takes already sent (or on their way), left as they are
    blocked: int = 0  # cells not sent: their check found problems


def takes_to_send(record: CellRecord | None, takes: int, jobs: Mapping[str, Job | None],
                  rerun: bool = False) -> list[int]:
    """Which take slots of a cell need a new job: never sent, or stopped/refused before reaching the
    router (all of them when `rerun`)."""
    ids = list(record.job_ids) if record else []
    out = []
    for t in range(takes):
        job = jobs.get(ids[t]) if t < len(ids) else None
        if rerun or job is None or job.state in RESEND_STATES:
            out.append(t)
    return out


def run_all(
    ledger: Ledger, media: MediaCache, exp: Experiment, plan: Plan, bind: Bind, *,
    group_limit: int = config.EXPERIMENT_GROUP_LIMIT_DEFAULT, rerun: bool = False,
    cap: float | None = None, spent: float = 0.0, confirmed: bool = False, now: float | None = None,
    owner: str = "", limit: SpendLimit | None = None, who: ident.Identity | None = None,
) -> RunReport:
    """Record every take still to make of every runnable cell as "waiting" in the experiment's group
    (the engine sends at most `group_limit` at a time per router, each once). Blocked cells are skipped.
    Raises OverBudgetError (nothing recorded) when the takes to send pass the cap and not `confirmed`.
    The jobs are `owner`'s and are recorded in one write checked against the operator's daily `limit`
    (raises spend_store.OverBudgetError, nothing recorded; demo takes cost nothing). Refused
    (identity.NotAllowedError, nothing recorded) when `who` may not run this experiment."""
    check_change(ledger, exp.id, who)
    records = ledger.experiments.experiment_cells(exp.id)
    todo: list[tuple[Cell, list[int]]] = []
    blocked = kept = 0
    for cell in plan.cells:
        if cell.blocked:
            blocked += 1
            continue
        record = records.get(cell.key)
        jobs = {i: ledger.jobs.get(i) for i in (record.job_ids if record else ()) if i}
        slots = takes_to_send(record, exp.takes, jobs, rerun)
        kept += exp.takes - len(slots)
        if slots:
            todo.append((cell, slots))
    total = round(sum((c.estimate_usd or 0.0) * len(slots) for c, slots in todo), 4)
    count = sum(len(slots) for _, slots in todo)
    excess = budget_excess(total, cap, spent)
    if excess is not None and not confirmed:
        raise OverBudgetError(
            f"Running these {count} videos (about ${total:.2f}) would take the spend to "
            f"${spent + total:.2f}, ${excess:.2f} over your cap of {_money(cap or 0)}."
        )
    t0 = time.time() if now is None else now
    bound: dict[str, tuple[RouterAccess, str]] = {}
    report = RunReport(kept=kept, blocked=blocked)
    new_jobs: list[Job] = []
    links: list[tuple[str, list[str]]] = []
    for cell, slots in todo:
        endpoint = catalog.get(cell.endpoint_id)
        if endpoint.router not in bound:
            bound[endpoint.router] = bind(endpoint.router)
        access, access_id = bound[endpoint.router]
        record = records.get(cell.key)
        ids = [] if rerun or record is None else list(record.job_ids)
        ids += [""] * (exp.takes - len(ids))
        for take in slots:
            job = runner.build_job(
                media, endpoint, cell.body, access, access_id=access_id, estimate=cell.estimate_usd,
                at=t0, title=f"{exp.title} · {cell.label} · take {take + 1}", group=exp.id,
                group_limit=group_limit, state=JobState.WAITING, owner=owner,
            )
            ids[take] = job.id
            new_jobs.append(job)
        links.append((cell.key, ids))
    if new_jobs:  # one write: all of them within the budget, or none (no Streamlit call until linked)
        try:
            ledger.jobs.add_many(new_jobs, limit=None if all(j.demo for j in new_jobs) else limit)
        except spend_store.OverBudgetError as exc:
            exc.videos = len(new_jobs)  # for the refusal's words ("these 6 videos would cost …")
            raise
    for key, ids in links:
        ledger.experiments.set_cell_jobs(exp.id, key, ids)
    report.recorded.extend(j.id for j in new_jobs)
    ledger.experiments.touch_experiment(exp.id, t0)
    return report


def experiment_job_ids(ledger: Ledger, exp_id: str) -> list[str]:
    return [i for r in ledger.experiments.experiment_cells(exp_id).values() for i in r.job_ids if i]


def stop_all(ledger: Ledger, exp_id: str, *, now: float | None = None,
             who: ident.Identity | None = None) -> int:
    """Stop: every take not yet sent is cancelled (those sent run on). Returns how many were stopped.
    Refused (identity.NotAllowedError) when `who` may not run this experiment."""
    check_change(ledger, exp_id, who)
    stopped = 0
    for job_id in experiment_job_ids(ledger, exp_id):
        job = ledger.jobs.get(job_id)
        if job is not None and job.state == JobState.WAITING:
            after = runner.stop_waiting(ledger, job_id, now=time.time() if now is None else now)
            stopped += after.state == JobState.CANCELLED
    return stopped


# --- reviewing ---------------------------------------------------------------------------------------


def set_rating(ledger: Ledger, exp_id: str, key: str, rating: int | None, *,
               who: ident.Identity | None = None) -> None:
    check_change(ledger, exp_id, who)
    if rating is not None and not 1 <= int(rating) <= 5:
        raise ExperimentError("A rating is 1 to 5 stars.")
    ledger.experiments.review_cell(exp_id, key, rating=None if rating is None else int(rating))


def set_note(ledger: Ledger, exp_id: str, key: str, note: str, *, who: ident.Identity | None = None) -> None:
    check_change(ledger, exp_id, who)
    ledger.experiments.review_cell(exp_id, key, note=str(note or ""))


def same_row(key: str, row_axis: int | None, col_axis: int | None) -> Callable[[str], bool]:
    """Is another cell in the same row of the grid (same value on every axis but the column axis)?"""
    mine = key_index(key)

    def test(other: str) -> bool:
        theirs = key_index(other)
        return all(a == b for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if i != col_axis)

    return test


def pick(ledger: Ledger, exp_id: str, key: str, scope: str, plan: Plan, *, col_axis: int | None = None,
         row_axis: int | None = None, who: ident.Identity | None = None) -> None:
    """Pick a cell as the winner of its row (PICK_ROW) or of the whole grid (PICK_GRID); the previous winner
    of that row or grid is unpicked. scope "" unpicks the cell."""
    check_change(ledger, exp_id, who)
    if scope not in ("", PICK_ROW, PICK_GRID):
        raise ExperimentError(f"unknown pick {scope!r}")
    if scope == PICK_GRID:
        others = [c.key for c in plan.cells if c.key != key]
    elif scope == PICK_ROW:
        in_row = same_row(key, row_axis, col_axis)
        others = [c.key for c in plan.cells if c.key != key and in_row(c.key)]
    else:
        others = []
    ledger.experiments.set_pick(exp_id, key, scope, others)


def winner(records: Mapping[str, CellRecord]) -> str | None:
    """The grid's winner, else the best-rated row winner."""
    grid = [k for k, r in records.items() if r.pick == PICK_GRID]
    if grid:
        return grid[0]
    rows = sorted((r for r in records.values() if r.pick == PICK_ROW), key=lambda r: -(r.rating or 0))
    return rows[0].key if rows else None


def winner_name(exp: Experiment, cell: Cell) -> str:
    """The name "Save the winner" offers: the winner's own wording (its first words, or the words that set
    it apart when the wordings start alike), then its other values ("Fox walks in rain · 9:16")."""
    parts: list[str] = []
    for axis, i in zip(exp.axes, cell.index, strict=True):
        if axis.kind != AXIS_PROMPT:
            parts.append(axis.value_label(i))
            continue
        titles = [default_title({"prompt": v}) for v in axis.values]
        mine = titles[i]
        parts.insert(0, mine if titles.count(mine) == 1 else f"{mine} ({axis.value_label(i)})")
    if not any(a.kind == AXIS_PROMPT for a in exp.axes):
        parts.insert(0, exp.title)
    return " · ".join(p for p in parts if p)[: config.EXPERIMENT_TITLE_MAX_CHARS]


def save_winner(lib: library.Library, exp: Experiment, cell: Cell, record: CellRecord | None,
                name: str = "", *, ledger: Ledger | None = None, who: ident.Identity | None = None,
                owner: str = "") -> library.Version:
    """A new Library version (saved by `owner`) from the picked cell's request, with its takes linked to
    it; named `name`, else after the winner's own wording (winner_name). Refused (identity.NotAllowedError)
    when `who` may not change the experiment stored in `ledger`, and for a guest of a review link."""
    ident.check_not_guest(who)
    if ledger is not None:
        check_change(ledger, exp.id, who)
    version = lib.save(name or winner_name(exp, cell), cell.endpoint_id, cell.body, owner=owner)
    for job_id in (record.job_ids if record else ()):
        if job_id:
            lib.link_take(version.name, version.number, job_id)
    return version


def diff_text(diff: Iterable[tuple[str, str]]) -> str:
    """A git-style word diff: [-removed-]{+added+} (shown as code, never as Markdown)."""
    marks = {"equal": "{}", "delete": "[-{}-]", "insert": "{{+{}+}}"}
    return " ".join(marks.get(op, "{}").format(text) for op, text in diff if text)
