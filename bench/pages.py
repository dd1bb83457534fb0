"""Page rerun benchmark: `python bench/pages.py [--reruns N]`.

Part 1: median rerun time of every page (AppTest, the real entry script) with 10 jobs in the ledger.
Part 2: the Jobs and Gallery pages with 10, 1,000 and 10,000 finished jobs in the ledger (inserted with
Ledger.add_many, one small real MP4 in the media cache), and the 10,000/10 ratio per page.
Target: ratio under 2 (flat: a rerun reads one page of jobs, never the whole history).

Demo mode (no keys), a fresh temporary data directory per size. The seeding helpers are also used by
the tests of the results pages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core import catalog, config
from core.jobs import Job, JobError, JobState, new_job, transition
from core.store import Ledger, MediaCache

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "streamlit_app.py"
SAMPLE_VIDEO = ROOT / "core" / "emulator" / "assets" / "demo_16x9_3s.mp4"
PAGES = (
    "app_pages/text_to_video.py",
    "app_pages/image_to_video.py",
    "app_pages/references_to_video.py",
    "app_pages/video_to_video.py",
    "app_pages/library.py",
    "app_pages/jobs.py",
    "app_pages/gallery.py",
    "app_pages/settings.py",
)
SIZES = (10, 1_000, 10_000)
FLAT_TARGET = 2.0
DEFAULT_RERUNS = 7
T0 = 1_790_000_000.0
SEED_ENDPOINTS = ("mulerouter/kling-v3/text-to-video", "apimart/kling-v3")
FAILED_EVERY = 10  # one seeded job in this many failed (moderation)
SEED_STEP_S = 60.0  # seeded jobs are this far apart
SEED_RUN_S = 90.0  # seeded jobs took this long
SEED_COST_USD = 0.42
MODERATION_TEXT = "The router refused the prompt or image as unsafe content (moderation)."


def seed_body(endpoint_id: str, prompt: str) -> dict:
    body: dict = {"prompt": prompt, "duration": 5, "aspect_ratio": "16:9"}
    if endpoint_id.startswith(config.APIMART):
        body["model"] = catalog.get(endpoint_id).model
    return body


def finished_job(endpoint_id: str, prompt: str, at: float, video_file: str | None, *, failed: bool = False,
                 demo: bool = True) -> Job:
    """A job record as the runner leaves it: done with its video in the cache, or failed with a reason."""
    endpoint = catalog.get(endpoint_id)
    job = new_job(
        endpoint_id=endpoint_id, router=endpoint.router, body=seed_body(endpoint_id, prompt), at=at,
        mode=str(endpoint.modes[0]), estimated_cost=SEED_COST_USD, demo=demo,
    )
    job = transition(job, JobState.QUEUED, at + 1, "Accepted by the router")
    job = transition(job, JobState.RUNNING, at + 2)
    if failed:
        job = transition(job, JobState.FAILED, at + SEED_RUN_S, MODERATION_TEXT)
        return job.model_copy(update={"error": JobError(kind="TaskFailedError", message=MODERATION_TEXT)})
    job = transition(job, JobState.SUCCEEDED, at + SEED_RUN_S)
    return job.model_copy(update={"progress": 100, "video_file": video_file,
                                  "video_urls": ["https://example.invalid/v.mp4"]})


def seed_jobs(data_dir: Path, count: int, *, t0: float = T0) -> list[Job]:
    """`count` jobs in the ledger of `data_dir` (newest last), every tenth failed, the rest with video."""
    ledger = Ledger(data_dir)
    video = MediaCache(data_dir / config.MEDIA_DIRNAME).put_bytes(SAMPLE_VIDEO.read_bytes(), "mp4")
    jobs = [
        finished_job(
            SEED_ENDPOINTS[i % len(SEED_ENDPOINTS)],
            f"Seeded scene number {i}: a lighthouse in a storm",
            t0 + i * SEED_STEP_S,
            video,
            failed=i % FAILED_EVERY == FAILED_EVERY - 1,
        )
        for i in range(count)
    ]
    ledger.add_many(jobs)
    return jobs


def _no_keys() -> None:
    for name in config.KEY_ENV_VARS.values():
        os.environ.pop(name, None)


def page_rerun_s(page: str, reruns: int) -> float:
    """Median wall time of `reruns` reruns of one page (after a first, warming run)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page(page).run()
    if at.exception:
        raise RuntimeError(f"{page}: {[e.value for e in at.exception]}")
    times = []
    for _ in range(reruns):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _with_data(count: int, root: Path) -> Path:
    path = root / f"data-{count}"
    path.mkdir()
    seed_jobs(path, count)
    os.environ[config.DATA_DIR_ENV] = str(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Median page rerun times (AppTest).")
    parser.add_argument("--reruns", type=int, default=DEFAULT_RERUNS)
    args = parser.parse_args(argv)
    _no_keys()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _with_data(SIZES[0], root)
        print(f"Part 1: median rerun per page ({SIZES[0]} jobs in the ledger, {args.reruns} reruns)")
        for page in PAGES:
            print(f"  {page:32s} {page_rerun_s(page, args.reruns) * 1000:8.1f} ms")
        results: dict[str, dict[int, float]] = {"app_pages/jobs.py": {}, "app_pages/gallery.py": {}}
        for size in SIZES:
            if size != SIZES[0]:
                _with_data(size, root)
            for page in results:
                results[page][size] = page_rerun_s(page, args.reruns)
        print("\nPart 2: median rerun by ledger size")
        print(f"  {'page':20s}" + "".join(f"{s:>12,d}" for s in SIZES) + f"{'ratio':>10s}")
        worst = 0.0
        for page, by_size in results.items():
            ratio = by_size[SIZES[-1]] / by_size[SIZES[0]]
            worst = max(worst, ratio)
            cells = "".join(f"{by_size[s] * 1000:10.1f}ms" for s in SIZES)
            print(f"  {page:20s}{cells}{ratio:10.2f}")
        verdict = "flat" if worst < FLAT_TARGET else "NOT flat"
        print(f"\n{SIZES[-1]:,}/{SIZES[0]} ratio, worst page: {worst:.2f} (target < {FLAT_TARGET}): "
              f"{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
