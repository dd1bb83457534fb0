"""Drafts: what a browser (or a signed-in person) was writing on a Create page, one per (key, page), saved
as it is typed (the `drafts` table, ledger schema version 2; the rules of what may be kept are
core/storage/drafts.py). A draft never holds an API key."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from core import config
from core.storage import db, drafts


class DraftStore:
    """The Create pages' drafts, per browser or person and page (no jobs lock: drafts are not jobs)."""

    def __init__(self, database: db.Database) -> None:
        self._db = database

    def _read(self) -> contextlib.AbstractContextManager[db.Conn]:
        return self._db.read()

    def _write(self) -> contextlib.AbstractContextManager[db.Conn]:
        return self._db.write()

    def save_draft(self, browser: str, scope: str, data: dict[str, Any], now: float, owner: str = "") -> bool:
        """Keep what a browser (or a signed-in person: `browser` is then drafts.person_key) is writing on
        one page (replacing the last save); drafts untouched for config.DRAFT_KEEP_S go. Fields named like
        keys are dropped. False when it is too large to keep. ValueError for a key of neither form."""
        if not drafts.is_draft_key(browser):
            raise ValueError("not a browser id or a person's draft key")
        text = json.dumps(drafts.without_secret_fields(data), ensure_ascii=False, separators=(",", ":"))
        if len(text.encode("utf-8")) > config.DRAFT_MAX_BYTES:
            return False
        with self._write() as conn:
            conn.execute(
                "INSERT INTO drafts (browser, scope, data, updated_at, owner) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (browser, scope) DO UPDATE SET data = excluded.data, "
                "updated_at = excluded.updated_at, owner = excluded.owner",
                (browser, scope, text, now, owner),
            )
            conn.execute("DELETE FROM drafts WHERE updated_at < ?", (now - config.DRAFT_KEEP_S,))
        return True

    def get_draft(self, browser: str, scope: str) -> dict[str, Any] | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT data FROM drafts WHERE browser = ? AND scope = ?", (browser, scope)
            ).fetchone()
        if row is None:
            return None
        try:
            value = json.loads(row[0])
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

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
