"""How fast `python -m core migrate-media` copies a local install: a throwaway PostgreSQL cluster
(bench/pg.py) and moto's S3 server (bench/s3.py) on loopback, a data folder with N jobs (a tenth with a
video of VIDEO_MB); figures: jobs/s for the rows, MB/s for the media, and the time of a second run
(which copies nothing).

    python -m bench.migrate [--jobs 2000] [--video-mb 2]

Moto keeps objects in memory and PostgreSQL runs with durability off, so these are upper bounds for the
copy code itself, not for a real network."""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path

from bench.pg import postgres_cluster
from bench.s3 import moto_server
from core import config
from core.jobs.record import JobState, new_job, start_polling, transition
from core.models import TaskRef
from core.storage import migrate
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

T2V = "mulerouter/kling-v3/text-to-video"
VIDEO_SHARE = 10  # one job in this many has a video


def populate(data_dir: Path, jobs: int, video_mb: float) -> int:
    """A local install with `jobs` jobs (every VIDEO_SHARE-th with its own video); the media bytes."""
    ledger = Ledger(data_dir)
    media = MediaCache(data_dir / config.MEDIA_DIRNAME)
    ref = TaskRef(router="mulerouter", path="/v1/videos", task_id="t")
    batch = [new_job(endpoint_id=T2V, router="mulerouter", body={"prompt": f"scene {i}", "duration": 5},
                     at=1_800_000_000.0 + i, estimated_cost=0.5, job_id=f"job{i:06d}") for i in range(jobs)]
    ledger.jobs.add_many(batch)
    size = 0
    for job in batch[::VIDEO_SHARE]:
        q = transition(ledger.jobs.get(job.id), JobState.QUEUED, job.created_at + 1)
        q = q.model_copy(update={"task": ref})
        q = ledger.jobs.update(start_polling(q, job.created_at + 1))
        data = os.urandom(int(video_mb * 1024 * 1024))
        size += len(data)
        done = transition(q, JobState.SUCCEEDED, job.created_at + 9)
        ledger.jobs.update(done.model_copy(update={"video_file": media.put_bytes(data, "mp4")}))
    return size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--video-mb", type=float, default=2.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, postgres_cluster() as pg, moto_server() as s3:
        data_dir = Path(tmp) / "data"
        media_bytes = populate(data_dir, args.jobs, args.video_mb)
        bucket = s3.make_bucket("bench")
        os.environ.update(s3.env(bucket, "studio"))
        url = pg.create_database("bench")
        rows_only = migrate.Target(url, None)
        media_only = migrate.Target(None, os.environ[config.MEDIA_URL_ENV])
        both = migrate.Target(url, os.environ[config.MEDIA_URL_ENV])
        timings = {}
        for label, target in (("rows", rows_only), ("media", media_only), ("again", both)):
            out = io.StringIO()
            started = time.perf_counter()
            migrate.run(data_dir, target, out=out, err=None)
            timings[label] = time.perf_counter() - started
            print(out.getvalue().strip())
        mb = media_bytes / (1024 * 1024)
        print(f"rows: {args.jobs} jobs in {timings['rows']:.2f} s = {args.jobs / timings['rows']:.0f} jobs/s "
              "(PostgreSQL on loopback)")
        print(f"media: {mb:.0f} MB in {timings['media']:.2f} s = {mb / timings['media']:.1f} MB/s "
              "(moto on loopback)")
        print(f"second run (copies nothing): {timings['again']:.2f} s")


if __name__ == "__main__":
    main()
