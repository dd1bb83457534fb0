"""Judging the takes as the ledger keeps it (schema version 8, issue 18): blind votes, timestamped comments,
guest review links and vote sets. Who may write what is checked above (core/compare/votes.py, guests.py);
this store only keeps rows.

A subject is what is judged: an experiment id, or a vote set's id (a set of Gallery videos). A vote row is
one pair of takes as one person answered one question; its primary key (subject, criterion, voter, item_a,
item_b) with item_a < item_b makes a person's vote on a pair count once: a later answer replaces it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.storage import db


@dataclass(frozen=True)
class VoteRow:
    subject: str
    criterion: str
    voter: str
    item_a: str  # item_a < item_b (votes.pair_of)
    item_b: str
    outcome: float  # 1.0: item_a won, 0.0: item_b won, 0.5: a tie
    voter_name: str = ""
    at: float = 0.0


@dataclass(frozen=True)
class CommentRow:
    id: str
    subject: str
    item: str  # the job id of the video
    author: str
    author_name: str
    at_s: float  # where in the video (seconds)
    text: str
    created_at: float


@dataclass(frozen=True)
class LinkRow:
    id: str
    subject: str
    token_hash: str
    created_by: str
    created_at: float
    expires_at: float
    revoked_at: float | None
    label: str = ""


_VOTE_COLUMNS = "subject, criterion, voter, item_a, item_b, outcome, voter_name, at"
_COMMENT_COLUMNS = "id, subject, item, author, author_name, at_s, text, created_at"
_LINK_COLUMNS = "id, subject, token_hash, created_by, created_at, expires_at, revoked_at, label"


class ReviewStore(db.Store):
    """Votes, comments, guest links and vote sets."""

    # --- votes ---------------------------------------------------------------------------------------

    def put_votes(self, rows: list[VoteRow]) -> None:
        """In one transaction; a row for a (subject, criterion, voter, pair) already voted replaces it."""
        with self._write() as conn:
            conn.executemany(
                f"INSERT INTO votes ({_VOTE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (subject, criterion, voter, item_a, item_b) DO UPDATE SET "
                "outcome = excluded.outcome, voter_name = excluded.voter_name, at = excluded.at",
                [(r.subject, r.criterion, r.voter, r.item_a, r.item_b, float(r.outcome), r.voter_name,
                  float(r.at)) for r in rows],
            )

    def votes(self, subject: str, criterion: str | None = None, *, voter: str | None = None) -> list[VoteRow]:
        sql = f"SELECT {_VOTE_COLUMNS} FROM votes WHERE subject = ?"
        args: list[Any] = [subject]
        if criterion is not None:
            sql += " AND criterion = ?"
            args.append(criterion)
        if voter is not None:
            sql += " AND voter = ?"
            args.append(voter)
        with self._read() as conn:
            rows = conn.execute(sql + " ORDER BY at, item_a, item_b", args).fetchall()
        return [VoteRow(r[0], r[1], r[2], r[3], r[4], float(r[5]), r[6], float(r[7])) for r in rows]

    def count_votes(self, subject: str, voter_prefix: str) -> int:
        """Vote rows on a subject by voters whose id starts with `voter_prefix` (letters, digits, ':' and '-'
        only: it goes into LIKE)."""
        if not all(ch.isalnum() or ch in ":-" for ch in voter_prefix):
            raise ValueError("a voter prefix of letters, digits, ':' and '-' only")
        with self._read() as conn:
            row = conn.execute("SELECT COUNT(*) FROM votes WHERE subject = ? AND voter LIKE ?",
                               (subject, voter_prefix + "%")).fetchone()
        return int(row[0])

    # --- comments ------------------------------------------------------------------------------------

    def add_comment(self, row: CommentRow, *, max_per_item: int) -> bool:
        """Keep a comment; False (nothing kept) when the video already holds `max_per_item`."""
        with self._write() as conn:
            n = conn.execute("SELECT COUNT(*) FROM comments WHERE subject = ? AND item = ?",
                             (row.subject, row.item)).fetchone()[0]
            if int(n) >= max_per_item:
                return False
            conn.execute(f"INSERT INTO comments ({_COMMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (row.id, row.subject, row.item, row.author, row.author_name, float(row.at_s),
                          row.text, float(row.created_at)))
        return True

    def comments(self, subject: str, item: str | None = None) -> list[CommentRow]:
        """A subject's comments (of one video with `item`), by video then moment in it."""
        sql = f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE subject = ?"
        args: list[Any] = [subject]
        if item is not None:
            sql += " AND item = ?"
            args.append(item)
        with self._read() as conn:
            rows = conn.execute(sql + " ORDER BY item, at_s, created_at", args).fetchall()
        return [CommentRow(r[0], r[1], r[2], r[3], r[4], float(r[5]), r[6], float(r[7])) for r in rows]

    # --- guest links ---------------------------------------------------------------------------------

    def add_link(self, row: LinkRow) -> None:
        with self._write() as conn:
            conn.execute(f"INSERT INTO guest_links ({_LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (row.id, row.subject, row.token_hash, row.created_by, row.created_at, row.expires_at,
                          row.revoked_at, row.label))

    @staticmethod
    def _link(r: Any) -> LinkRow:
        return LinkRow(r[0], r[1], r[2], r[3], float(r[4]), float(r[5]),
                       None if r[6] is None else float(r[6]), r[7])

    def link_by_hash(self, token_hash: str) -> LinkRow | None:
        with self._read() as conn:
            r = conn.execute(f"SELECT {_LINK_COLUMNS} FROM guest_links WHERE token_hash = ?",
                             (token_hash,)).fetchone()
        return self._link(r) if r else None

    def link(self, link_id: str) -> LinkRow | None:
        with self._read() as conn:
            r = conn.execute(f"SELECT {_LINK_COLUMNS} FROM guest_links WHERE id = ?", (link_id,)).fetchone()
        return self._link(r) if r else None

    def links(self, subject: str) -> list[LinkRow]:
        with self._read() as conn:
            rows = conn.execute(f"SELECT {_LINK_COLUMNS} FROM guest_links WHERE subject = ? "
                                "ORDER BY created_at DESC", (subject,)).fetchall()
        return [self._link(r) for r in rows]

    def revoke_link(self, link_id: str, now: float) -> bool:
        """Revoked from `now` on (a link revoked already keeps its first time); True when it exists."""
        with self._write() as conn:
            conn.execute("UPDATE guest_links SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                         (now, link_id))
            return conn.execute("SELECT 1 FROM guest_links WHERE id = ?", (link_id,)).fetchone() is not None

    # --- vote sets (Gallery videos voted on like an experiment) ---------------------------------------

    def save_set(self, set_id: str, owner: str, title: str, data: dict[str, Any], now: float) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO vote_sets (id, owner, title, data, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET title = excluded.title, data = excluded.data",
                (set_id, owner, title, json.dumps(data, ensure_ascii=False), now))

    def get_set(self, set_id: str) -> dict[str, Any] | None:
        with self._read() as conn:
            r = conn.execute("SELECT id, owner, title, data, created_at FROM vote_sets WHERE id = ?",
                             (set_id,)).fetchone()
        return None if r is None else {"id": r[0], "owner": r[1], "title": r[2], "data": json.loads(r[3]),
                                       "created_at": float(r[4])}

    def list_sets(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute("SELECT id, owner, title, data, created_at FROM vote_sets "
                                "ORDER BY created_at DESC LIMIT ?", (max(0, int(limit)),)).fetchall()
        return [{"id": r[0], "owner": r[1], "title": r[2], "data": json.loads(r[3]),
                 "created_at": float(r[4])} for r in rows]
