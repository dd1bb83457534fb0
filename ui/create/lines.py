"""The Create page's words about a request: its curl command, its cost, the session's spend and the questions
asked before sending (pure functions: ui/create/page.py draws them)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from core import config
from core.authoring import pricing
from core.authoring.catalog import Endpoint
from ui.text import shorten_inline_images


def curl_command(endpoint: Endpoint, base_url: str, body: dict[str, Any]) -> str:
    """A copyable curl for the request, the key left as the environment variable's name."""
    key_var = config.KEY_ENV_VARS[endpoint.router]
    payload = json.dumps(shorten_inline_images(body), ensure_ascii=False, indent=2)
    lines = [
        f"curl -X POST {shlex.quote(base_url.rstrip('/') + endpoint.path)} \\",
        f'  -H "Authorization: Bearer ${key_var}" \\',
        "  -H 'Content-Type: application/json' \\",
        f"  -d {shlex.quote(payload)}",
    ]
    if payload != json.dumps(body, ensure_ascii=False, indent=2):
        lines.insert(0, "# inline images are shortened here; the real request carries them in full")
    return "\n".join(lines)


def cost_line(estimate: Any, *, demo: bool) -> str:
    """'Estimated cost: $0.45 (5 s × $0.0896/s, pro)' — or what it would cost in demo mode."""
    total = getattr(estimate, "total_usd", None)
    if total is None:
        return "No price is known for this request; the router reports the charge when the job ends."
    seconds, rate, basis = (getattr(estimate, n, None) for n in ("seconds", "rate", "basis"))
    detail = [str(basis)] if basis else []
    if not detail and seconds is not None and rate is not None:
        detail.append(f"{seconds:g} s × ${rate:.4f}/s")
    how = f" · {'; '.join(detail)}" if detail else ""
    if demo:
        return f"Would cost about ${total:.2f}{how} on the real router — nothing is charged in demo mode"
    return f"Estimated cost: ${total:.2f}{how}"


def budget_excess(spent: float, estimate: float | None, cap: float | None) -> float | None:
    """By how much a submission would take the session's spend past the cap (None: within, or no cap)."""
    if not cap or cap <= 0 or estimate is None:
        return None
    over = round(spent + estimate - cap, 4)
    return over if over > 0 else None


def spend_line(spend: pricing.Spend, *, demo: bool, would_be: float, cap: float | None) -> str:
    """'This session so far: $1.20 (estimated $1.10, router reported $0.90 for 1 of 2 jobs) of your $5.00
    session cap'

    The total counts the router's reported charge where it gave one, else the estimate.
    """
    limit = f" of your ${cap:.2f} session cap" if cap and cap > 0 else ""
    if demo:
        return f"Demo jobs this session would have cost about ${would_be:.2f}{limit} — nothing was charged"
    if not spend.jobs:
        return f"This session so far: nothing spent{limit}"
    detail = f"estimated ${spend.estimated_usd:.2f}"
    if spend.reported_jobs:
        detail += (f", router reported ${spend.reported_usd:.2f} "
                   f"for {spend.reported_jobs} of {spend.jobs} jobs")
    return f"This session so far: ${spend.total_usd:.2f} ({detail}){limit}"


def budget_message(excess: float, *, estimate: float, spent: float, cap: float, demo: bool) -> str:
    """The confirmation question when a submission would pass this session's own cap (Settings; a soft
    limit that asks). The operator's daily budget is a hard limit: core/team/budget.py refusal."""
    head = (f"This request (about ${estimate:.2f}) would take this session's spend to "
            f"${spent + estimate:.2f}, ${excess:.2f} over your session cap of ${cap:.2f}.")
    if demo:
        return head + " In demo mode nothing is charged; on the real router it would be. Send anyway?"
    return head + " Send anyway?"


def caution_question(n: int) -> str:
    """The one question asked before sending a request that still has cautions."""
    what = "1 caution remains" if n == 1 else f"{n} cautions remain"
    return (f"{what} (shown in yellow above). Only other sources than this router's own docs support "
            "them, so the router may well accept the request — or refuse it. Send anyway?")


def duplicate_message(*, demo: bool) -> str:
    """The question before sending the same request again within a minute (no billing in demo mode)."""
    head = "You sent this exact request less than a minute ago. Sending it again makes a second video"
    return head + (" (free in demo mode)." if demo else ", and the router bills it.")
