"""Everything kept: one database (SQLite or PostgreSQL) and the media (a folder or an S3 bucket).

Owns: `db` (connections, the neutral SQL dialect, per-store migrations), `ledger` (the one ledger database
and its stores, one concern each: `job_store` (jobs with leases and the change feed; `jobs_table` its
rows), `draft_store`, `experiment_store` (experiments and cells), `key_store` (key holders), `spend_store`;
`ledger_schema` their migrations), `media_cache` (the content-addressed media folder), `body_media` (the
media references inside request bodies), `media_store` (S3), `media_route` (/api/media/<name>), `drafts`,
`library` (saved prompt versions), `thumbs` (a video's first frame as a small JPEG)
and `migrate` (a single-machine install into a team's database and
bucket). No store knows Streamlit.

May import: base, core.net, core.authoring (bodies' media fields, checks of saved versions) and core.jobs
(the Job record it keeps, access ids). Never core.engine, core.team or core.compare.
"""
