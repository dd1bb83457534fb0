"""Callbacks benchmark: `python bench/callbacks.py [--jobs N] [--scale K] [--seed S]`.

Detection delay (the emulator finished the task → the ledger says "succeeded") and router requests per job,
with and without callbacks, in one process over loopback HTTP: the router emulator, our callback route
(core/server.py callback_routes served by uvicorn) and the real job engine with the real poll schedule.

To run in about a minute, every time is scaled by K (default 0.1): the poll schedule's seconds (config
POLL_*_S, CALLBACK_POLL_*_S) and the task durations (lognormal, median 60 s, as Kling's typical window)
are multiplied by K. Delays are printed as measured (bench seconds) and ÷K ("as real"): a polling delay
scales with the schedule, so ÷K is what a real deployment sees; a callback's delay is mostly fixed work
(the router's POST, one ledger write, one poll) that does not scale, so for callbacks the measured figure
is the realistic one and ÷K overstates it.
Half the jobs go to MuleRouter (no progress in its answers: the schedule waits for the typical window),
half to APIMart (progress and estimated_time).

Settings, each with the same durations:
    polling             no public address: the schedule alone (the baseline)
    callbacks           STUDIO_PUBLIC_URL set: APIMart's webhook, MuleRouter's signed console events
    callbacks, 1 lost   the same with every 4th callback lost (polling, slowed, covers it)
Printed per setting: median / p95 / max detection delay (s), router GETs per job (status polls), and the
ratios to the baseline.
"""

from __future__ import annotations

import argparse
import base64
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvicorn
from starlette.applications import Starlette

from core import config, server
from core.authoring import catalog
from core.emulator import start_emulator
from core.engine import runner
from core.engine.loop import Engine
from core.jobs import access as acc
from core.jobs.record import JobState
from core.models import RouterAccess
from core.net.http import make_client
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

SECRET = "whsec_" + base64.b64encode(b"bench-signing-secret-0123456789").decode()
MEDIAN_S, SIGMA = 60.0, 0.35
ENDPOINTS = ("mulerouter/kling-v3/text-to-video", "apimart/kling-v3-omni")


def scale_schedule(k: float) -> None:
    for name in dir(config):
        if (name.startswith(("POLL_", "CALLBACK_POLL_")) and name.endswith("_S")
                and isinstance(getattr(config, name), float)):
            setattr(config, name, getattr(config, name) * k)
    config.ENGINE_TICK_S = min(config.ENGINE_TICK_S, 0.05)


def serve(app) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", srv, thread


def run_setting(name: str, durations: list[float], *, callbacks_on: bool, lose_every: int = 0) -> dict:
    emu = start_emulator(complete_after=1.0)
    holder: dict[str, Engine] = {}
    url, srv, thread = serve(Starlette(routes=server.callback_routes(lambda: holder["engine"].inbox)))
    with tempfile.TemporaryDirectory() as tmp:
        ledger, media = Ledger(Path(tmp)), MediaCache(Path(tmp) / config.MEDIA_DIRNAME)
        client = make_client()
        demo = RouterAccess(router=config.MULEROUTER, base_url=emu.base_url, key=config.DEMO_KEY, demo=True)
        engine = Engine(ledger, media, client, demo=demo, public_url=url if callbacks_on else "",
                        tick_s=config.ENGINE_TICK_S)
        engine.inbox.secret_for = lambda router: SECRET
        holder["engine"] = engine
        if callbacks_on:
            emu.set_callbacks(mulerouter_url=f"{url}/api/callbacks/mulerouter", mulerouter_secret=SECRET)
        engine.start()
        ids: list[str] = []
        try:
            for i, seconds in enumerate(durations):
                if callbacks_on and lose_every and i % lose_every == lose_every - 1:
                    emu.set_callbacks(lose=1)
                endpoint = catalog.get(ENDPOINTS[i % 2])
                body = {"prompt": f"bench take {i}", "duration": 5}
                if endpoint.router == config.APIMART:
                    body = {"model": "kling-v3-omni", "mode": "std", **body}
                emu.set_complete_after(seconds)
                job = runner.record_job(ledger, media, endpoint, body, demo.model_copy(
                    update={"router": endpoint.router}), access_id=acc.demo_id(emu.base_url))
                ids.append(job.id)
                engine.wake()
                while ledger.jobs.get(job.id).state in (JobState.WAITING, JobState.SUBMITTING):
                    time.sleep(0.005)
            deadline = time.monotonic() + max(durations) * 6 + 60 * config.POLL_FIRST_DELAY_S
            while time.monotonic() < deadline:
                if all(ledger.jobs.get(i).state == JobState.SUCCEEDED for i in ids):
                    break
                time.sleep(0.05)
        finally:
            engine.stop()
            client.close()
            srv.should_exit = True
            thread.join(5)
        tasks = emu.tasks
        polls = emu.polls
        delays, by_router = [], {}
        for job_id in ids:
            job = ledger.jobs.get(job_id)
            task = tasks[job.task_id]
            done_at = next(h.at for h in job.history if h.state == JobState.SUCCEEDED)
            delays.append(done_at - (task.created_wall + task.complete_after))
            by_router.setdefault(job.router, []).append(delays[-1])
        emu.stop()
    per_job = len(polls) / len(ids)
    per_router = {r: len([p for p in polls if p["router"] == r]) / len(v) for r, v in by_router.items()}
    return {"name": name, "delays": delays, "polls_per_job": per_job, "by_router": by_router,
            "polls_by_router": per_router}


def main(argv: list[str] | None = None) -> int:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    k = args.scale
    scale_schedule(k)
    rng = random.Random(args.seed)
    durations = [MEDIAN_S * rng.lognormvariate(0, SIGMA) * k for _ in range(args.jobs)]
    results = [
        run_setting("polling", durations, callbacks_on=False),
        run_setting("callbacks", durations, callbacks_on=True),
        run_setting("callbacks, 1 in 4 lost", durations, callbacks_on=True, lose_every=4),
    ]
    base = results[0]
    base_p50 = statistics.median(base["delays"])
    print(f"{args.jobs} jobs per setting, durations median {MEDIAN_S:g} s × K={k:g}; delays in bench seconds "
          f"(and ÷K)")
    print(f"{'setting':<24}{'median':>14}{'p95':>14}{'max':>8}{'GETs/job':>10}{'delay ×':>9}{'GETs ×':>8}")
    for r in results:
        d = sorted(r["delays"])
        p50, p95 = statistics.median(d), d[min(len(d) - 1, round(0.95 * (len(d) - 1)))]
        ratio = r["polls_per_job"] / base["polls_per_job"]
        print(f"{r['name']:<24}{p50:>6.2f} ({p50 / k:>5.1f}){p95:>6.2f} ({p95 / k:>5.1f}){d[-1]:>8.2f}"
              f"{r['polls_per_job']:>10.1f}{p50 / base_p50:>9.2f}{ratio:>8.2f}")
    print("per router: median delay, bench s (÷K) · GETs per job")
    for r in results:
        parts = [f"{router} {statistics.median(v):.2f} ({statistics.median(v) / k:.1f}) · "
                 f"{r['polls_by_router'][router]:.1f}" for router, v in sorted(r["by_router"].items())]
        print(f"  {r['name']:<22}" + "   ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
