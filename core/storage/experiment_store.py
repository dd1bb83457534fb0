"""Compare's experiments (core/compare/experiments.py) as the ledger keeps them (schema version 3):
`experiments` holds each experiment (its base request, axes and takes as JSON, its owner);
`experiment_cells` one row per cell: the job id of each take, the rating (1–5), the note and the pick."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core import config
from core.storage import db


@dataclass(frozen=True)
class CellRecord:
    """What the ledger keeps of one experiment cell: the job of each take, the review."""

    key: str
    job_ids: tuple[str, ...] = ()
    rating: int | None = None
    note: str = ""
    pick: str = ""  # "row" | "grid" | ""


_KEEP = object()  # "leave this column as it is" (review_cell)
_EXPERIMENT_COLUMNS = "id, title, created_at, updated_at, data, owner"


def _experiment_row(row: Any) -> dict[str, Any]:
    return {"id": row[0], "title": row[1], "created_at": row[2], "updated_at": row[3],
            "data": json.loads(row[4]), "owner": row[5]}


class ExperimentStore(db.Store):
    """Experiments and their cells (no jobs lock: the jobs of the takes stay in the job store)."""

    def save_experiment(self, exp_id: str, title: str, data: dict[str, Any], *, now: float,
                        created_at: float | None = None, owner: str = "") -> None:
        """Insert or replace an experiment's definition (cells, ratings and picks are kept; the owner is
        written once)."""
        text = json.dumps(data, ensure_ascii=False)
        with self._write() as conn:
            conn.execute(
                "INSERT INTO experiments (id, created_at, updated_at, title, data, owner) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, title = excluded.title, "
                "data = excluded.data, "
                "owner = CASE WHEN experiments.owner = '' THEN excluded.owner ELSE experiments.owner END",
                (exp_id, now if created_at is None else created_at, now, title, text, owner),
            )

    def touch_experiment(self, exp_id: str, now: float) -> None:
        with self._write() as conn:
            conn.execute("UPDATE experiments SET updated_at = ? WHERE id = ?", (now, exp_id))

    def get_experiment(self, exp_id: str) -> dict[str, Any] | None:
        """{id, title, created_at, updated_at, data, owner} or None."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments WHERE id = ?", (exp_id,)
            ).fetchone()
        return _experiment_row(row) if row else None

    def list_experiments(self, limit: int = config.EXPERIMENT_LIST_LIMIT, *,
                         owner: str | None = None) -> list[dict[str, Any]]:
        """Experiments, most recently changed first (`owner`: only theirs)."""
        where, args = (" WHERE owner = ?", [owner]) if owner is not None else ("", [])
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_EXPERIMENT_COLUMNS} FROM experiments{where} "
                "ORDER BY updated_at DESC, id LIMIT ?", [*args, max(0, int(limit))]
            ).fetchall()
        return [_experiment_row(r) for r in rows]

    def delete_experiment(self, exp_id: str) -> bool:
        """Forget an experiment and its cells (its jobs stay in the ledger)."""
        with self._write() as conn:
            conn.execute("DELETE FROM experiment_cells WHERE experiment_id = ?", (exp_id,))
            return conn.execute("DELETE FROM experiments WHERE id = ?", (exp_id,)).rowcount > 0

    def experiment_cells(self, exp_id: str) -> dict[str, CellRecord]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT cell_key, job_ids, rating, note, pick FROM experiment_cells WHERE experiment_id = ?",
                (exp_id,),
            ).fetchall()
        return {r[0]: CellRecord(r[0], tuple(json.loads(r[1])), r[2], r[3], r[4]) for r in rows}

    @staticmethod
    def _ensure_cell(conn: db.Conn, exp_id: str, key: str) -> None:
        conn.execute("INSERT INTO experiment_cells (experiment_id, cell_key) VALUES (?, ?) "
                     "ON CONFLICT (experiment_id, cell_key) DO NOTHING", (exp_id, key))

    def set_cell_jobs(self, exp_id: str, key: str, job_ids: list[str]) -> None:
        """The job id of each take of a cell ("" for a take not sent)."""
        with self._write() as conn:
            self._ensure_cell(conn, exp_id, key)
            conn.execute("UPDATE experiment_cells SET job_ids = ? WHERE experiment_id = ? AND cell_key = ?",
                         (json.dumps(list(job_ids)), exp_id, key))

    def review_cell(self, exp_id: str, key: str, *, rating: int | object | None = _KEEP,
                    note: str | object = _KEEP) -> None:
        """Set a cell's rating (None clears it) and/or note; what is not given is kept."""
        where = " WHERE experiment_id = ? AND cell_key = ?"
        with self._write() as conn:
            self._ensure_cell(conn, exp_id, key)
            if rating is not _KEEP:
                conn.execute("UPDATE experiment_cells SET rating = ?" + where, (rating, exp_id, key))
            if note is not _KEEP:
                conn.execute("UPDATE experiment_cells SET note = ?" + where, (note, exp_id, key))

    def set_pick(self, exp_id: str, key: str, scope: str, unpick: list[str]) -> None:
        """In one transaction: the cells in `unpick` lose a pick of this `scope`; `key` gets it."""
        with self._write() as conn:
            self._ensure_cell(conn, exp_id, key)
            if scope:
                conn.executemany(
                    "UPDATE experiment_cells SET pick = '' "
                    "WHERE experiment_id = ? AND cell_key = ? AND pick = ?",
                    [(exp_id, k, scope) for k in unpick],
                )
            conn.execute("UPDATE experiment_cells SET pick = ? WHERE experiment_id = ? AND cell_key = ?",
                         (scope, exp_id, key))
