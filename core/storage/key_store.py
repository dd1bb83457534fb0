"""Keys held in engines' memory: `key_holders` lists the session accesses running engines hold (a
heartbeat), so jobs whose key is gone can say "needs your key" (ledger schema version 1)."""

from __future__ import annotations

from core.jobs import access as access_ids
from core.jobs.record import Job
from core.storage import db


class KeyStore(db.Store):
    """Which session keys some running engine holds, and the jobs waiting for one nobody holds."""

    def hold_keys(self, owner: str, accesses: list[str], until: float) -> None:
        """Say that `owner` holds these session accesses in memory until `until` (a heartbeat)."""
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO key_holders (access, owner, until) VALUES (?, ?, ?) "
                "ON CONFLICT (access) DO UPDATE SET owner = excluded.owner, until = excluded.until",
                [(a, owner, until) for a in accesses],
            )
            conn.execute("DELETE FROM key_holders WHERE until < ?", (until - 3600.0,))

    def held_keys(self, now: float) -> set[str]:
        """Session accesses some running engine holds in memory right now."""
        with self._read() as conn:
            rows = conn.execute("SELECT access FROM key_holders WHERE until >= ?", (now,)).fetchall()
        return {r[0] for r in rows}

    def waiting_for_key(self, router: str, now: float) -> list[Job]:
        """Jobs with work left that were sent with a session key no running engine holds any more."""
        held = self.held_keys(now)
        sql = (
            "SELECT access, data FROM jobs WHERE next_at IS NOT NULL AND router = ? AND access LIKE ? "
            "ORDER BY created_at"
        )
        with self._read() as conn:
            rows = conn.execute(sql, (router, f"{access_ids.SESSION}:%")).fetchall()
        return [Job.model_validate_json(r[1]) for r in rows if r[0] not in held]
