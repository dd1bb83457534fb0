"""The operator's daily budgets (core/team/budget.py): settings from the secrets, the day's start in the
operator's time zone (both sides of midnight, a clock change), the limit a person's job is checked against,
and the plain refusal message."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from core.storage.spend_store import SpendLimit
from core.team import budget
from core.team.identity import HEADER, SINGLE_USER, Identity

ANN = Identity("ann@example.com", "Ann", HEADER)
LEAD = Identity("lead@example.com", "Lead", HEADER)
PARIS = "Europe/Paris"


def at(tz: str, *parts: int) -> float:
    return datetime(*parts, tzinfo=ZoneInfo(tz)).timestamp()


def test_settings_come_from_the_budget_section() -> None:
    data = {"budget": {"per_person_usd_per_day": 5, "team_usd_per_day": 50.5, "timezone": PARIS,
                       "people": {"Lead@Example.com": 20}}}
    s = budget.budget_settings(data)
    assert (s.per_person, s.team, dict(s.people), s.timezone, s.problems) == (
        5.0, 50.5, {"lead@example.com": 20.0}, PARIS, ())
    assert s.any_limit
    none = budget.budget_settings({})
    assert (none.per_person, none.team, none.timezone, none.any_limit) == (None, None, "UTC", False)


def test_settings_that_are_not_amounts_or_zones_are_ignored_and_named() -> None:
    s = budget.budget_settings({"budget": {"per_person_usd_per_day": -1, "team_usd_per_day": "lots",
                                           "timezone": "Mars/Olympus", "people": {"": 3, "a@b.c": True}}})
    assert (s.per_person, s.team, dict(s.people), s.timezone) == (None, None, {}, "UTC")
    assert len(s.problems) == 5 and any("Mars/Olympus" in p for p in s.problems)
    assert budget.budget_settings({"budget": {"per_person_usd_per_day": 0}}).per_person == 0.0  # 0 = none


def test_the_day_starts_at_midnight_in_the_operators_time_zone() -> None:
    just_before = at(PARIS, 2026, 3, 10, 23, 59, 59)
    midnight = at(PARIS, 2026, 3, 11, 0, 0, 0)
    assert budget.day_start(just_before, PARIS) == at(PARIS, 2026, 3, 10)
    assert budget.day_start(midnight, PARIS) == midnight  # at midnight: the new day
    assert budget.day_start(midnight + 1, PARIS) == midnight
    # 23:30 UTC is already the next day in Paris, still the same day in UTC
    late_utc = datetime(2026, 3, 10, 23, 30, tzinfo=ZoneInfo("UTC")).timestamp()
    assert budget.day_start(late_utc, PARIS) == midnight
    assert budget.day_start(late_utc, "UTC") == at("UTC", 2026, 3, 10)


def test_a_day_with_a_clock_change_starts_at_its_midnight() -> None:
    # Paris moves its clocks forward at 02:00 on 29 March 2026: that day is 23 hours long
    start = budget.day_start(at(PARIS, 2026, 3, 29, 12), PARIS)
    assert start == at(PARIS, 2026, 3, 29)
    assert budget.day_start(at(PARIS, 2026, 3, 30, 0, 30), PARIS) - start == 23 * 3600
    # Santiago's clocks jumped from 00:00 to 01:00 on 7 September 2025: midnight did not exist
    chile = "America/Santiago"
    noon = at(chile, 2025, 9, 7, 12)
    start = budget.day_start(noon, chile)
    assert start <= noon and noon - start <= 12 * 3600
    assert budget.day_start(start - 1, chile) < start  # the day before is another day


@pytest.fixture
def spend_limit():
    """core/storage/spend_store.py SpendLimit."""
    return SpendLimit


def test_the_limit_for_a_person(spend_limit) -> None:
    data = {"budget": {"per_person_usd_per_day": 5, "team_usd_per_day": 50, "timezone": PARIS,
                       "people": {"lead@example.com": 20}}}
    s = budget.budget_settings(data)
    now = at(PARIS, 2026, 5, 4, 15)
    ann = budget.limit_for(ANN, s, now)
    assert (ann.owner, ann.person_limit, ann.team_limit, ann.since) == (
        "ann@example.com", 5.0, 50.0, at(PARIS, 2026, 5, 4))
    assert budget.limit_for(LEAD, s, now).person_limit == 20.0
    single = budget.limit_for(SINGLE_USER, s, now)
    assert single.owner == "" and single.person_limit == 5.0  # single-user: the one person is ""
    team_only = budget.budget_settings({"budget": {"team_usd_per_day": 10}})
    assert budget.limit_for(ANN, team_only, now).person_limit is None
    assert budget.limit_for(ANN, budget.budget_settings({}), now) is None


def test_the_refusal_says_what_was_used_what_it_would_cost_and_when_it_resets() -> None:
    person = SimpleNamespace(scope="person", spent=4.8, limit=5.0, adding=0.9)
    assert budget.refusal(person, "UTC") == (
        "You have used $4.80 of your $5.00 for today; this video would cost $0.90. "
        "The limit resets at midnight (UTC).")
    team = SimpleNamespace(scope="team", spent=48.0, limit=50.0, adding=3.6)
    assert budget.refusal(team, PARIS, videos=4) == (
        "The team has used $48.00 of its $50.00 for today; these 4 videos would cost $3.60. "
        f"The limit resets at midnight ({PARIS}).")
    zero = SimpleNamespace(scope="person", spent=0.0, limit=0.0, adding=0.9)
    assert "only demo videos" in budget.refusal(zero, "UTC")


def test_spend_lines() -> None:
    assert budget.spend_line(1.2, 5.0, "UTC") == (
        "Today you have used $1.20 of your $5.00 ($3.80 left; resets at midnight, UTC).")
    over = budget.spend_line(7.0, 5.0, "UTC")
    assert over.startswith("Today you have used $7.00 of your $5.00 ($0.00 left")
    assert "no daily limit" in budget.spend_line(0.0, None, "UTC")
    assert budget.team_line(10, 50, PARIS).startswith("The whole team today: $10.00 of $50.00 ($40.00 left")
