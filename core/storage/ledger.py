"""The ledger: one database (SQLite in the data directory, or PostgreSQL shared by several servers) and the
stores that share it, one concern each:

- `jobs` (core/storage/job_store.py): the job records, the engine's leases, the change feed;
- `drafts` (draft_store.py): what was being written on the Create pages;
- `experiments` (experiment_store.py): Compare's experiments and their cells;
- `keys` (key_store.py): the session keys running engines hold in memory;
- `spend` (spend_store.py): what the jobs cost (the budget check itself runs inside the jobs' insert);
- `reviews` (review_store.py): blind votes, timestamped comments, guest review links, vote sets.

Opening a ledger runs its migrations once (core/storage/ledger_schema.py: one history for the one
database). Every call of a store takes its own short-lived connection and every write is one transaction
(core/storage/db.py). The API key is never part of a job, so it never reaches the database.
"""

from __future__ import annotations

from pathlib import Path

from core import config
from core.storage import db
from core.storage.draft_store import DraftStore
from core.storage.experiment_store import ExperimentStore
from core.storage.job_store import JobStore
from core.storage.key_store import KeyStore
from core.storage.ledger_schema import MIGRATION_NAME, MIGRATIONS
from core.storage.review_store import ReviewStore
from core.storage.spend_store import SpendStore

_SQLITE_URL = "sqlite:///"


class Ledger:
    """The job ledger: PostgreSQL at `url` ("postgresql://…"), else SQLite in `data_dir` (default:
    config.data_dir())."""

    def __init__(self, data_dir: Path | None = None, *, url: str | None = None) -> None:
        if url and url.startswith(_SQLITE_URL):
            data_dir, url = Path(url.removeprefix(_SQLITE_URL)), None
        if url and not db.is_postgres_url(url):
            raise ValueError("the database URL must start with postgresql:// (or be left out for SQLite)")
        self.url = url or None
        if self.url:
            self.data_dir = Path(data_dir) if data_dir is not None else None
            self.path: Path | None = None
            self._db = db.open_database(url=self.url)
        else:
            self.data_dir = Path(data_dir) if data_dir is not None else config.data_dir()
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.path = self.data_dir / config.LEDGER_FILENAME
            self._db = db.open_database(path=self.path)
        self._db.migrate(MIGRATION_NAME, MIGRATIONS, user_version=True)
        self.jobs = JobStore(self._db)
        self.drafts = DraftStore(self._db)
        self.experiments = ExperimentStore(self._db)
        self.keys = KeyStore(self._db)
        self.spend = SpendStore(self._db)
        self.reviews = ReviewStore(self._db)

    @property
    def database(self) -> db.Database:
        return self._db

    @property
    def backend(self) -> str:
        return self._db.kind

    def __repr__(self) -> str:
        return f"Ledger({db.redact(self.url) if self.url else str(self.path)!r})"
