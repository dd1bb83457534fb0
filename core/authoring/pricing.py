"""Pre-submit price estimates (pure). Every figure here is an ESTIMATE, never a quote.

Rates are USD per second of output, keyed by (router, model, mode, audio, video_input):

- APIMart: the rate card a third-party client quotes (api-reference §4): std 0.0672, pro 0.0896,
  pro+audio 0.112, 4k 0.42856. std+audio ≈ 0.084 is our GUESS (the pro audio ratio applied to std).
  No video-input surcharge is known: assumed none.
- MuleRouter: no published prices. We use upstream reference numbers (a third-party cost analysis):
  kling-v3 720p 0.075 / with audio 0.113, 1080p 0.100 / 0.150; omni 720p 0.075 / 0.100,
  1080p 0.100 / 0.125; video input on omni ×1.5 as a reseller (Runware) charges it: 1080p 0.168
  (their pro+video figure), 720p 0.1125.

The table is a list of rows so Settings can show and edit it in a data editor
(`table_to_rows` / `rows_to_table`). `estimate(endpoint, body, table)` reads the body through the
endpoint's PriceRule; `session_spend(jobs)` adds up estimates and reported charges.

A person's edited table only changes what their pages *show*. What counts against the operator's budgets is
`operator_charge(endpoint, body)`: the operator's table (`operator_table`), computed in core when a job on the
operator's key is recorded (core/engine/runner.py build_job); no price, or one of $0 or less, is refused
(PriceNotConfiguredError) rather than recorded as free.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from core import config
from core.authoring.catalog import Endpoint

APIMART_NOTE = "APIMart rate card as quoted by a third-party client (estimate)"
APIMART_GUESS_NOTE = "guess: no published figure (pro audio ratio applied to std)"
APIMART_VIDEO_NOTE = "APIMart: no video surcharge known; assumed none (estimate)"
MR_NOTE = "MuleRouter publishes no prices, so this is a typical market rate for Kling (an estimate)"
MODEL_WORDS = {"kling-v3": "Kling v3", "kling-v3-omni": "Kling v3 Omni"}  # plain words in cost lines
QUALITY_WORDS = {"std": "Standard", "pro": "Pro", "4k": "4K"}
MR_VIDEO_NOTE = "MuleRouter: upstream reseller rate with video input (Runware), estimate"


class RateKey(NamedTuple):
    router: str
    model: str
    mode: str
    audio: bool
    video_input: bool


@dataclass(frozen=True)
class Rate:
    usd_per_s: float
    note: str = ""


RateTable = dict[RateKey, Rate]

_ROWS: tuple[tuple[str, str, str, bool, bool, float, str], ...] = (
    *(
        row
        for model in ("kling-v3", "kling-v3-omni")
        for row in (
            (config.APIMART, model, "std", False, False, 0.0672, APIMART_NOTE),
            (config.APIMART, model, "std", True, False, 0.084, APIMART_GUESS_NOTE),
            (config.APIMART, model, "pro", False, False, 0.0896, APIMART_NOTE),
            (config.APIMART, model, "pro", True, False, 0.112, APIMART_NOTE),
            (config.APIMART, model, "4k", False, False, 0.42856, APIMART_NOTE),
            (config.APIMART, model, "4k", True, False, 0.42856, APIMART_NOTE + "; audio assumed included"),
        )
    ),
    (config.APIMART, "kling-v3-omni", "std", False, True, 0.0672, APIMART_VIDEO_NOTE),
    (config.APIMART, "kling-v3-omni", "pro", False, True, 0.0896, APIMART_VIDEO_NOTE),
    (config.APIMART, "kling-v3-omni", "4k", False, True, 0.42856, APIMART_VIDEO_NOTE),
    (config.MULEROUTER, "kling-v3", "std", False, False, 0.075, MR_NOTE),
    (config.MULEROUTER, "kling-v3", "std", True, False, 0.113, MR_NOTE),
    (config.MULEROUTER, "kling-v3", "pro", False, False, 0.100, MR_NOTE),
    (config.MULEROUTER, "kling-v3", "pro", True, False, 0.150, MR_NOTE),
    (config.MULEROUTER, "kling-v3-omni", "std", False, False, 0.075, MR_NOTE),
    (config.MULEROUTER, "kling-v3-omni", "std", True, False, 0.100, MR_NOTE),
    (config.MULEROUTER, "kling-v3-omni", "pro", False, False, 0.100, MR_NOTE),
    (config.MULEROUTER, "kling-v3-omni", "pro", True, False, 0.125, MR_NOTE),
    (config.MULEROUTER, "kling-v3-omni", "std", False, True, 0.1125, MR_VIDEO_NOTE),
    (config.MULEROUTER, "kling-v3-omni", "pro", False, True, 0.168, MR_VIDEO_NOTE),
)

ROW_FIELDS = ("router", "model", "mode", "audio", "video_input", "usd_per_s", "note")


def default_table() -> RateTable:
    return {RateKey(r, m, mode, a, v): Rate(usd, note) for r, m, mode, a, v, usd, note in _ROWS}


def operator_table() -> RateTable:
    """The prices budgets and spend are counted with (the operator's; never a session's edits)."""
    return default_table()


def table_to_rows(table: RateTable) -> list[dict[str, Any]]:
    """The table as plain rows (sorted), one dict per rate, for a data editor."""
    rows = [{**key._asdict(), "usd_per_s": rate.usd_per_s, "note": rate.note} for key, rate in table.items()]
    return sorted(rows, key=lambda r: (r["router"], r["model"], r["mode"], r["video_input"], r["audio"]))


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


def rows_to_table(rows: Iterable[dict[str, Any]]) -> RateTable:
    """Rows (as edited) back to a table. Rows without router/model/mode or a rate ≥ 0 are skipped."""
    table: RateTable = {}
    for row in rows:
        try:
            key = RateKey(
                str(row["router"]).strip(), str(row["model"]).strip(), str(row["mode"]).strip(),
                _as_bool(row.get("audio")), _as_bool(row.get("video_input")),
            )
            usd = float(row["usd_per_s"])
        except (KeyError, TypeError, ValueError):
            continue
        if key.router and key.model and key.mode and usd >= 0:
            table[key] = Rate(usd, str(row.get("note") or ""))
    return table


@dataclass(frozen=True)
class Estimate:
    """An estimated charge: billed seconds × rate. `total_usd` is None when no rate is known."""

    seconds: float
    rate: float | None
    total_usd: float | None
    basis: str  # e.g. "5 s × $0.0896/s (APIMart kling-v3-omni pro)"
    assumptions: list[str] = field(default_factory=list)

    def label(self) -> str:
        return "no estimate" if self.total_usd is None else f"≈ ${self.total_usd:.2f} (estimate)"


def _schema_default(endpoint: Endpoint, name: str) -> Any:
    info = endpoint.schema.model_fields.get(name)
    if info is None or info.is_required():
        return None
    return info.get_default(call_default_factory=True)


def _field(endpoint: Endpoint, body: dict[str, Any], name: str) -> Any:
    value = body.get(name)
    return value if value is not None else _schema_default(endpoint, name)


def _is_on(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("on", "true", "yes"))


def _video_items(value: Any) -> list[Any]:
    if not value:
        return []
    return value if isinstance(value, list) else [value]


def estimate(endpoint: Endpoint, body: dict[str, Any], table: RateTable | None = None) -> Estimate:
    """Estimate what a request will cost from its mode, audio, video input and billed seconds."""
    table = default_table() if table is None else table
    rule = endpoint.price
    assumptions: list[str] = []
    mode = str(_field(endpoint, body, "mode") or "std")
    if body.get("mode") is None:
        assumptions.append(f"Mode not set: the router's default ({mode}) is assumed.")
    videos = [item for name in rule.video_fields for item in _video_items(body.get(name))]
    video_input = bool(videos)
    audio = bool(rule.audio_field) and _is_on(_field(endpoint, body, rule.audio_field))
    if audio and video_input:
        audio = False
        assumptions.append("Sound is not generated with a video input, so audio is not charged.")
    base_edit = rule.base_edit or any(
        isinstance(v, dict) and v.get("refer_type", "base") == "base" for v in videos
    )
    duration = body.get("duration")
    if base_edit:
        known = isinstance(duration, int | float)
        seconds = float(duration) if known else float(config.PRICE_DEFAULT_SECONDS)
        assumptions.append(
            "A video edit is billed on the input video's length, which is unknown here; "
            f"{seconds:g} s assumed."
        )
    else:
        value = _field(endpoint, body, "duration")
        seconds = float(value) if isinstance(value, int | float) else float(config.DURATION_DEFAULT_S)
    key = RateKey(endpoint.router, endpoint.model, mode, audio, video_input)
    rate = table.get(key)
    if rate is None and audio:
        rate = table.get(key._replace(audio=False))
        if rate is not None:
            assumptions.append("No audio rate is known; the rate without audio is used.")
    if rate is None and video_input:
        rate = table.get(key._replace(audio=False, video_input=False))
        if rate is not None:
            assumptions.append("No video-input rate is known; the plain rate is used.")
    model = MODEL_WORDS.get(endpoint.model, endpoint.model)
    router = config.ROUTER_LABELS.get(endpoint.router, endpoint.router)
    what = f"{router} {model} {QUALITY_WORDS.get(mode, mode)}"
    what += " with sound" if audio else ""
    what += " with a video input" if video_input else ""
    if rate is None:
        assumptions.append(f"No rate is known for {what}; add one in Settings.")
        return Estimate(seconds, None, None, f"{seconds:g} s, no rate for {what}", assumptions)
    if rate.note:
        assumptions.append(f"Rate: {rate.note}.")
    total = round(seconds * rate.usd_per_s, 4)
    basis = f"{seconds:g} s × ${rate.usd_per_s:g}/s ({what})"
    return Estimate(seconds, rate.usd_per_s, total, basis, assumptions)


class PriceNotConfiguredError(ValueError):
    """A job on the operator's key that the operator's price table prices at $0 or less, or not at all: it
    would pass every budget for free, so it is not recorded (a configuration problem for the operator)."""


def operator_charge(endpoint: Endpoint, body: dict[str, Any]) -> float:
    """What a job on the operator's key counts against the budgets: the operator's price for `body`.
    Raises PriceNotConfiguredError (plain words) when that is unknown or not above $0."""
    try:
        est = estimate(endpoint, body, operator_table())
    except Exception:  # a body the estimate cannot read has no price
        est = None
    if est is None or est.total_usd is None or est.total_usd <= 0:
        raise PriceNotConfiguredError(
            f"Nothing was sent: the operator's price table gives this request ({endpoint.router_label} "
            f"{endpoint.label}) no price above $0, "
            "so it could not be counted against the daily budget. Ask the operator to add a price for it "
            "(a configuration problem, not something you did wrong)."
        )
    return est.total_usd


@dataclass(frozen=True)
class Spend:
    """Money for a set of jobs: `total_usd` uses the charge the router reported where it did."""

    estimated_usd: float
    reported_usd: float
    total_usd: float
    jobs: int  # jobs that (may) cost something
    reported_jobs: int


ON_ITS_WAY_STATES = frozenset({"waiting", "submitting", "submission_unknown"})


def sent_or_on_its_way(job: Any) -> bool:
    """A job the router accepted (it has a task), or one that will be or may have been sent: Generate does
    not wait for the router, so a job just recorded counts against a cap at once (a burst of clicks cannot
    pass it). Only a job refused before any task, or stopped before it was sent, counts for nothing."""
    state = str(getattr(job, "state", ""))
    return getattr(job, "task", None) is not None or state in ON_ITS_WAY_STATES


def _may_cost(job: Any) -> bool:
    """A job costs nothing when the router refused it before creating a task, or in demo mode."""
    return not getattr(job, "demo", False) and sent_or_on_its_way(job)


def session_spend(jobs: Iterable[Any]) -> Spend:
    """Add up the cost of jobs: the reported charge when known, else the estimate."""
    estimated = reported = total = 0.0
    counted = reported_jobs = 0
    for job in jobs:
        if not _may_cost(job):
            continue
        counted += 1
        est = job.estimated_cost or 0.0
        estimated += est
        if job.reported_cost is not None:
            reported_jobs += 1
            reported += job.reported_cost
            total += job.reported_cost
        else:
            total += est
    return Spend(round(estimated, 4), round(reported, 4), round(total, 4), counted, reported_jobs)
