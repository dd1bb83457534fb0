"""Drafts: what a browser (or a signed-in person) was writing on a Create page, one per (key, page), saved
as it is typed (the `drafts` table, ledger schema version 2; the rules of what may be kept are
core/storage/drafts.py). A draft never holds an API key."""

from __future__ import annotations

import json
from typing import Any

from core import config
from core.storage import db, drafts


class StaleDraftError(Exception):
    """The draft was saved elsewhere (another tab, window or machine) since this one loaded it: nothing was
    written. `revision`: the stored one now."""

    def __init__(self, revision: int) -> None:
        super().__init__(STALE_DRAFT_MESSAGE)
        self.revision = revision


STALE_DRAFT_MESSAGE = ("This draft was changed in another tab or window since you opened it here, so your "
                       "last changes were not saved over it. Load the newer draft, or keep yours (it then "
                       "replaces the other one).")


class DraftStore(db.Store):
    """The Create pages' drafts, per browser or person and page (no jobs lock: drafts are not jobs)."""

    def save_draft(self, browser: str, scope: str, data: dict[str, Any], now: float, owner: str = "", *,
                   expected: int | None = None) -> bool:
        """save_revision, True when kept."""
        return self.save_revision(browser, scope, data, now, owner, expected=expected) is not None

    def save_revision(self, browser: str, scope: str, data: dict[str, Any], now: float, owner: str = "", *,
                      expected: int | None = None) -> int | None:
        """Keep what a browser (or a signed-in person: `browser` is then drafts.person_key) is writing on
        one page (replacing the last save); drafts untouched for config.DRAFT_KEEP_S go. Fields named like
        keys are dropped. Returns the revision written; None when it is too large to keep. ValueError for a
        key of neither form.

        `expected`: the revision the writer loaded (draft_revision; 0: none stored): when the stored one is
        another (another tab saved since), nothing is written and StaleDraftError says so. None: saved
        whatever is stored (e.g. "keep mine"). Each save counts the revision up (save_revision reads it)."""
        if not drafts.is_draft_key(browser):
            raise ValueError("not a browser id or a person's draft key")
        text = json.dumps(drafts.without_secret_fields(data), ensure_ascii=False, separators=(",", ":"))
        if len(text.encode("utf-8")) > config.DRAFT_MAX_BYTES:
            return None
        with self._write() as conn:
            row = conn.execute("SELECT revision FROM drafts WHERE browser = ? AND scope = ?",
                               (browser, scope)).fetchone()
            current = int(row[0]) if row is not None else 0
            if expected is not None and expected != current:
                raise StaleDraftError(current)
            if row is None:
                written = conn.execute(
                    "INSERT INTO drafts (browser, scope, data, updated_at, owner, revision) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (browser, scope) DO NOTHING",
                    (browser, scope, text, now, owner, current + 1),
                ).rowcount
            else:  # compare-and-set on the revision: two servers cannot both write over revision `current`
                written = conn.execute(
                    "UPDATE drafts SET data = ?, updated_at = ?, owner = ?, revision = ? "
                    "WHERE browser = ? AND scope = ? AND revision = ?",
                    (text, now, owner, current + 1, browser, scope, current),
                ).rowcount
            if not written:
                raise StaleDraftError(current + 1)
            conn.execute("DELETE FROM drafts WHERE updated_at < ?", (now - config.DRAFT_KEEP_S,))
        return current + 1

    def draft_revision(self, browser: str, scope: str) -> int:
        """The stored draft's revision (0: none stored)."""
        with self._read() as conn:
            row = conn.execute("SELECT revision FROM drafts WHERE browser = ? AND scope = ?",
                               (browser, scope)).fetchone()
        return int(row[0]) if row is not None else 0

    def get_draft(self, browser: str, scope: str) -> dict[str, Any] | None:
        return self.get_draft_revision(browser, scope)[0]

    def get_draft_revision(self, browser: str, scope: str) -> tuple[dict[str, Any] | None, int]:
        """The stored draft (None: none, or unreadable) and its revision (0: none stored), read together."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT data, revision FROM drafts WHERE browser = ? AND scope = ?", (browser, scope)
            ).fetchone()
        if row is None:
            return None, 0
        try:
            value = json.loads(row[0])
        except ValueError:
            return None, int(row[1])
        return (value if isinstance(value, dict) else None), int(row[1])

    def claim_draft(self, browser: str, person: str, scope: str, owner: str) -> bool:
        """A person signed in on a browser that has a draft of this page: the browser's draft becomes the
        person's (key `person`, drafts.person_key; `owner` their id), unless the person already has one
        (then the browser's stays as it is). One statement, so two servers cannot both move it. True when
        it moved."""
        if not drafts.is_browser_id(browser) or not drafts.is_person_key(person):
            raise ValueError("a browser id and a person's draft key are needed")
        with self._write() as conn:
            return conn.execute(
                "UPDATE drafts SET browser = ?, owner = ? WHERE browser = ? AND scope = ? "
                "AND NOT EXISTS (SELECT 1 FROM drafts AS mine WHERE mine.browser = ? AND mine.scope = ?)",
                (person, owner, browser, scope, person, scope),
            ).rowcount > 0

    def delete_draft(self, browser: str, scope: str) -> bool:
        with self._write() as conn:
            return conn.execute(
                "DELETE FROM drafts WHERE browser = ? AND scope = ?", (browser, scope)
            ).rowcount > 0
