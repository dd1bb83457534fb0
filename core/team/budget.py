"""The operator's daily budgets (no Streamlit): per person and for the whole team, in .streamlit/secrets.toml.

    [budget]
    per_person_usd_per_day = 5        # everyone's limit, unless listed below
    team_usd_per_day = 50             # all people together
    timezone = "Europe/Paris"         # the day starts at midnight here (IANA name; default UTC)

    [budget.people]
    "lead@example.com" = 20           # this person's own limit

A missing setting means no limit; 0 means nothing may be spent (demo mode still works). The ledger checks
a new job's cost against the limits inside the same write that records it (spend_store.SpendLimit,
spend_store.OverBudgetError), so two servers cannot both let the last dollar through. Demo jobs cost nothing,
so a budget never blocks demo mode. This is the operator's hard limit; the per-session budget in Settings
is a person's own soft cap (it asks first), and both apply.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core import config
from core.storage.spend_store import SpendLimit
from core.team import identity as ident


@dataclass(frozen=True)
class BudgetSettings:
    per_person: float | None = None  # USD per person per day
    team: float | None = None  # USD for everyone together per day
    people: Mapping[str, float] = field(default_factory=dict)  # a person's own limit (normalised ids)
    timezone: str = config.BUDGET_DEFAULT_TIMEZONE
    problems: tuple[str, ...] = ()  # settings that were ignored, in plain words (shown to admins)

    @property
    def any_limit(self) -> bool:
        return self.per_person is not None or self.team is not None or bool(self.people)


def _amount(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) and value >= 0 else None


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return False
    return True


def budget_settings(data: Mapping[str, Any] | None = None) -> BudgetSettings:
    """The [budget] section of the operator's secrets. Values that are not amounts (≥ 0) are ignored and
    named in `problems`."""
    section = ident.section(ident.secrets_data() if data is None else data, "budget")
    problems: list[str] = []

    def amount(name: str) -> float | None:
        if name not in section:
            return None
        value = _amount(section[name])
        if value is None:
            problems.append(f"[budget] {name} is not an amount of dollars (0 or more); it is ignored.")
        return value

    people: dict[str, float] = {}
    raw_people = section.get("people")
    for who, value in (raw_people.items() if isinstance(raw_people, Mapping) else ()):
        person, limit = ident.normalise(who), _amount(value)
        if person and limit is not None:
            people[person] = limit
        else:
            problems.append(f"[budget.people] the entry for {who!r} is not a person and an amount; ignored.")
    tz = str(section.get("timezone") or config.BUDGET_DEFAULT_TIMEZONE).strip()
    if not valid_timezone(tz):
        problems.append(f"[budget] timezone {tz!r} is not a known time zone; "
                        f"{config.BUDGET_DEFAULT_TIMEZONE} is used.")
        tz = config.BUDGET_DEFAULT_TIMEZONE
    return BudgetSettings(amount("per_person_usd_per_day"), amount("team_usd_per_day"), people, tz,
                          tuple(problems))


def day_start(now: float, tz: str) -> float:
    """Unix time of the last midnight at or before `now` in time zone `tz` (the budget's day)."""
    zone = ZoneInfo(tz)
    local = datetime.fromtimestamp(now, zone)
    midnight = datetime(local.year, local.month, local.day, tzinfo=zone).timestamp()
    return min(midnight, now)  # a day whose midnight does not exist (a clock change) starts at the change


def person_limit(who: ident.Identity, settings: BudgetSettings) -> float | None:
    return settings.people.get(who.id, settings.per_person)


def limit_for(who: ident.Identity, settings: BudgetSettings, now: float) -> SpendLimit | None:
    """The limits a new job of `who` is checked against (None: no limit set). In single-user mode the
    one person's id is ""."""
    mine = person_limit(who, settings)
    if mine is None and settings.team is None:
        return None
    return SpendLimit(owner=who.id, person_limit=mine, team_limit=settings.team,
                      since=day_start(now, settings.timezone))


def _money(x: float) -> str:
    return f"${x:,.2f}"


def _what(videos: int) -> str:
    return "this video" if videos == 1 else f"these {videos} videos"


def refusal(exc: Any, timezone: str, *, videos: int = 1) -> str:
    """The plain message for a spend_store.OverBudgetError (nothing was sent)."""
    cost = f"{_what(videos)} would cost {_money(exc.adding)}"
    reset = f"The limit resets at midnight ({timezone})."
    if getattr(exc, "scope", "person") == "team":
        head = f"The team has used {_money(exc.spent)} of its {_money(exc.limit)} for today"
        return f"{head}; {cost}. {reset}"
    if exc.limit <= 0:
        return "Your daily budget for real videos is $0.00, so only demo videos (free) can be made."
    head = f"You have used {_money(exc.spent)} of your {_money(exc.limit)} for today"
    return f"{head}; {cost}. {reset}"


def spend_line(spent: float, limit: float | None, timezone: str) -> str:
    """Settings: 'Today: $1.20 of your $5.00 (resets at midnight, Europe/Paris)'."""
    if limit is None:
        return f"Today you have used {_money(spent)} (no daily limit set for you)."
    left = max(0.0, limit - spent)
    return (f"Today you have used {_money(spent)} of your {_money(limit)} ({_money(left)} left; "
            f"resets at midnight, {timezone}).")


def team_line(spent: float, limit: float, timezone: str) -> str:
    left = max(0.0, limit - spent)
    return (f"The whole team today: {_money(spent)} of {_money(limit)} ({_money(left)} left; resets at "
            f"midnight, {timezone}).")
