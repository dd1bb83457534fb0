"""Charges as billed (issue 19): what a task answer says was charged is kept beside the estimate, counts for
spend and budgets, and is shown (with the difference when it is large) — over HTTP against the emulator."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import config
from core.authoring import catalog
from core.engine import runner
from core.engine.loop import Engine
from core.jobs import access as acc
from core.jobs.record import JobState, billed_difference, charged_cost
from core.models import RouterAccess
from core.net.http import make_client
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "streamlit_app.py"
AM_OMNI = "apimart/kling-v3-omni"
MR_T2V = "mulerouter/kling-v3/text-to-video"


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"POLL_FIRST_DELAY_S": 0.2, "POLL_MIN_INTERVAL_S": 0.1, "POLL_MAX_INTERVAL_S": 0.3,
                        "POLL_WINDOW_INTERVAL_S": 0.1, "POLL_TYPICAL_DONE_S": 0.3,
                        "POLL_NEAR_DONE_INTERVAL_S": 0.1}.items():
        monkeypatch.setattr(config, name, value)


def _run_one(data_dir: Path, emu, router: str, endpoint_id: str, body: dict):
    ledger, media = Ledger(data_dir), MediaCache(data_dir / config.MEDIA_DIRNAME)
    operator = RouterAccess(router=router, base_url=emu.base_url, key="sk-operator-0123456789")
    job = runner.record_job(ledger, media, catalog.get(endpoint_id), body, operator,
                            access_id=acc.operator_id(router))
    client = make_client()
    engine = Engine(ledger, media, client, operator={router: operator}, tick_s=0.05).start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            done = ledger.jobs.get(job.id)
            if done.state == JobState.SUCCEEDED and done.video_file:
                break
            time.sleep(0.05)
    finally:
        engine.stop()
        client.close()
    return ledger, ledger.jobs.get(job.id)


def test_apimarts_billed_cost_is_kept_beside_the_estimate_and_counts_for_spend(data_dir, emu):
    emu.set_complete_after(0.3)
    emu.set_billing(factor=2.0)  # the router bills twice its rate card
    body = {"model": "kling-v3-omni", "prompt": "A heron lifts off a lake", "duration": 5, "mode": "std"}
    ledger, job = _run_one(data_dir, emu, config.APIMART, AM_OMNI, body)
    assert job.state == JobState.SUCCEEDED
    assert job.estimated_cost == pytest.approx(0.336, abs=0.01)
    assert job.reported_cost == pytest.approx(0.672, abs=0.001)  # 5 s × $0.0672 × 2, as the router said
    assert charged_cost(job) == job.reported_cost
    assert billed_difference(job) == pytest.approx(job.reported_cost - job.estimated_cost)
    assert ledger.spend.spend(0.0) == pytest.approx(job.reported_cost)  # spend and budgets: the bill

    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.query_params["job"] = job.id
    at.switch_page("app_pages/jobs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    charged = next(m for m in at.metric if m.label == "Charged")
    assert charged.value == "$0.67" and charged.delta == "+$0.34 vs estimate"
    estimate = next(m for m in at.metric if m.label == "Estimate")
    assert estimate.value == "$0.34"


def test_kling_units_are_kept_and_priced_with_the_operators_unit_price(data_dir, emu, monkeypatch):
    emu.set_complete_after(0.3)
    emu.set_billing(kling_units=1.5)
    monkeypatch.setenv(config.KLING_UNIT_USD_ENV, "0.14")
    ledger, job = _run_one(data_dir, emu, config.MULEROUTER, MR_T2V,
                           {"prompt": "A lantern drifts down a river", "duration": 5})
    assert job.billed_units == 1.5
    assert job.reported_cost == pytest.approx(0.21)
    assert ledger.spend.spend(0.0) == pytest.approx(0.21)


def test_a_small_difference_is_not_shown():
    from core.jobs.record import new_job

    job = new_job(endpoint_id="e", router="apimart", body={}, at=0.0, estimated_cost=1.0)
    assert billed_difference(job.model_copy(update={"reported_cost": 1.1})) is None
    assert billed_difference(job.model_copy(update={"reported_cost": 1.5})) == pytest.approx(0.5)
    assert billed_difference(job) is None
