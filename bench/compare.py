"""Compare benchmark: `python bench/compare.py [--complete-after S] [--limit N]`.

A 3×3 grid (duration × aspect ratio) with 2 takes = 18 jobs, run through the real job engine against the
router emulator over loopback HTTP (demo access), compared in the same process with 18 single jobs (no
group, no limit: what 18 Generate clicks would record):

- time from Run all to the last video saved, and that time / the 18 single jobs' time (the group limit
  sends at most N at a time, so the grid takes about 18 / N rounds of one job's time);
- HTTP requests per job the engine made (submit + polls + download), grid vs single jobs (the same
  schedule per job: the ratio should be about 1).

Emulator tasks finish `--complete-after` seconds after they are sent (default 2 s). Server memory while
the grid of 18 videos plays in Chromium is measured with the real app server, not here (see the report).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import access as acc  # noqa: E402
from core import catalog, config, runner  # noqa: E402
from core import experiments as X  # noqa: E402
from core.emulator import start_emulator  # noqa: E402
from core.engine import Engine  # noqa: E402
from core.http import make_client  # noqa: E402
from core.jobs import JobState  # noqa: E402
from core.models import RouterAccess  # noqa: E402
from core.store import Ledger, MediaCache  # noqa: E402

ENDPOINT = "mulerouter/kling-v3/text-to-video"
BASE = {"prompt": "A red fox runs through snow, bench", "duration": 3, "aspect_ratio": "16:9", "mode": "std",
        "sound": "off", "multi_shot": False}
FAST_SCHEDULE = {"POLL_FIRST_DELAY_S": 0.5, "POLL_MIN_INTERVAL_S": 0.25, "POLL_MAX_INTERVAL_S": 1.0,
                 "POLL_NEAR_DONE_INTERVAL_S": 0.25, "POLL_WINDOW_INTERVAL_S": 0.25,
                 "POLL_TYPICAL_DONE_S": 1.5,
                 "POLL_TYPICAL_LATE_S": 3.0}
TICK_S = 0.05
TIMEOUT_S = 600.0


def _done(ledger: Ledger, ids: list[str]) -> bool:
    jobs = [ledger.get(i) for i in ids]
    return all(j.state == JobState.SUCCEEDED and j.video_file for j in jobs)


def _run(emu_url: str, data: Path, record) -> tuple[float, int, int]:
    """(seconds to the last video, HTTP requests made, jobs) for jobs recorded by `record`."""
    ledger, media = Ledger(data), MediaCache(data / config.MEDIA_DIRNAME)
    client = make_client()
    count = [0]
    client.event_hooks["request"].append(lambda _r: count.__setitem__(0, count[0] + 1))
    demo = RouterAccess(router=config.MULEROUTER, base_url=emu_url, key=config.DEMO_KEY, demo=True)
    engine = Engine(ledger, media, client, demo=demo, tick_s=TICK_S)
    t0 = time.monotonic()
    ids = record(ledger, media, demo, acc.demo_id(emu_url))
    engine.start()
    try:
        while not _done(ledger, ids):
            if time.monotonic() - t0 > TIMEOUT_S:
                raise SystemExit("timed out")
            time.sleep(0.05)
    finally:
        engine.stop()
        client.close()
    return time.monotonic() - t0, count[0], len(ids)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--complete-after", type=float, default=2.0)
    parser.add_argument("--limit", type=int, default=config.EXPERIMENT_GROUP_LIMIT_DEFAULT)
    args = parser.parse_args()
    for name, value in FAST_SCHEDULE.items():
        setattr(config, name, value)
    emu = start_emulator(complete_after=args.complete_after, latency=0.0)
    exp = X.new_experiment(ENDPOINT, BASE, mode="text")
    exp = X.with_axis(exp, X.Axis(X.AXIS_FIELD, (3, 4, 5), "duration"))
    exp = X.with_axis(exp, X.Axis(X.AXIS_FIELD, ("16:9", "9:16", "1:1"), "aspect_ratio"))
    exp = replace(exp, takes=2)
    plan = X.expand(exp)

    def grid(ledger, media, demo, access_id):
        bind = lambda router: (demo.model_copy(update={"router": router}), access_id)  # noqa: E731
        return X.run_all(ledger, media, exp, plan, bind, group_limit=args.limit).recorded

    def singles(ledger, media, demo, access_id):
        endpoint = catalog.get(ENDPOINT)
        return [runner.record_job(ledger, media, endpoint, c.body, demo, access_id=access_id).id
                for c in plan.cells for _ in range(exp.takes)]

    try:
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            single_s, single_req, n1 = _run(emu.base_url, Path(a), singles)
            emu.reset()
            emu.set_complete_after(args.complete_after)
            grid_s, grid_req, n2 = _run(emu.base_url, Path(b), grid)
    finally:
        emu.stop()
    print(f"emulator tasks finish {args.complete_after:g} s after they are sent; group limit {args.limit}")
    print(f"18 single jobs : last video after {single_s:6.2f} s, {single_req / n1:5.2f} requests per job")
    print(f"3x3 grid x 2   : last video after {grid_s:6.2f} s, {grid_req / n2:5.2f} requests per job")
    print(f"grid / singles : time x{grid_s / single_s:.2f} (about 18/{args.limit} = {18 / args.limit:g} "
          f"rounds of one job), requests per job x{(grid_req / n2) / (single_req / n1):.2f}")


if __name__ == "__main__":
    main()
