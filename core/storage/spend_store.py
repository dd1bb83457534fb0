"""Spend: what the jobs cost the team (the `cost` column, jobs.charged_cost), and the budgets a new job must
fit in. The check runs inside the job store's insert transaction (core/storage/job_store.py `add_many`),
under the jobs lock, so a budget check and the insert it allows are atomic across servers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.storage import db

_SPEND_EPSILON = 1e-9


@dataclass(frozen=True)
class SpendLimit:
    """The budgets a new job must fit in: `person_limit` for `owner`, `team_limit` for everyone, both over
    the jobs created at/after `since` (None: no limit of that kind)."""

    owner: str
    person_limit: float | None
    team_limit: float | None
    since: float


class OverBudgetError(ValueError):
    """Adding these jobs would pass a budget: nothing was added."""

    def __init__(self, scope: str, spent: float, limit: float, adding: float) -> None:
        self.scope, self.spent, self.limit, self.adding = scope, spent, limit, adding
        whose = "your" if scope == "person" else "the team's"
        super().__init__(
            f"This would pass {whose} budget: {spent:.2f} spent of {limit:.2f}, "
            f"and this needs {adding:.2f} more."
        )


def spent(conn: db.Conn, since: float, owner: str | None) -> float:
    sql = "SELECT COALESCE(SUM(cost), 0) FROM jobs WHERE created_at >= ?"
    args: list[Any] = [since]
    if owner is not None:
        sql += " AND owner = ?"
        args.append(owner)
    return float(conn.execute(sql, args).fetchone()[0])


def check_budget(conn: db.Conn, limit: SpendLimit, adding: float) -> None:
    """OverBudgetError when `adding` more would pass a budget of `limit` (run it in the transaction that
    inserts, under the jobs lock)."""
    if adding <= 0:
        return  # nothing on the team's account (demo, a person's own key): never refused
    scopes = (("person", limit.owner, limit.person_limit), ("team", None, limit.team_limit))
    for scope, owner, cap in scopes:
        if cap is None:
            continue
        already = spent(conn, limit.since, owner)
        if already + adding > cap + _SPEND_EPSILON:
            raise OverBudgetError(scope, already, float(cap), adding)


class SpendStore(db.Store):
    """What the jobs created since a moment cost, in all and per owner (reads only)."""

    def spend(self, since: float, owner: str | None = None) -> float:
        """What the jobs created at/after `since` cost (jobs.charged_cost); `owner` None: everyone's."""
        with self._read() as conn:
            return spent(conn, since, owner)

    def spend_by_owner(self, since: float) -> dict[str, float]:
        """Each owner's spend on jobs created at/after `since` ("" = jobs made without sign-in)."""
        sql = "SELECT owner, COALESCE(SUM(cost), 0) FROM jobs WHERE created_at >= ? GROUP BY owner"
        with self._read() as conn:
            rows = conn.execute(sql, (since,)).fetchall()
        return {r[0]: float(r[1]) for r in rows}
