"""Issue 20 item 1: the operator's daily budget cannot be dodged by anything a person controls.

What counts against a budget is priced in core, when the job is recorded, with the operator's price table
(core/authoring/pricing.py `operator_table`): whatever estimate the page passes (the person's own price
table in Settings, an estimate for another mode, duration or router, a Compare cell priced at 0, a Retry) is
ignored for a job on the operator's key. A cost of 0 or less (or none) for such a job is refused as a
configuration error, in plain words, and nothing is recorded. A person's own key (session:…) and demo jobs
never count. Every case runs against a real ledger (SQLite and PostgreSQL) with a SpendLimit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core import config
from core.authoring import catalog, pricing
from core.compare import experiments as X
from core.engine import runner
from core.jobs import access as acc
from core.jobs.record import charged_cost
from core.models import RouterAccess
from core.storage.body_media import internalize_body
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache
from core.storage.spend_store import OverBudgetError, SpendLimit

T0 = 1_800_000_000.0
ANN = "ann@example.com"
MR_V3 = "mulerouter/kling-v3/text-to-video"
AM_V3 = "apimart/kling-v3"
BODY = {"prompt": "A heron lifts off a misty lake", "duration": 5, "mode": "std", "sound": "off"}
LIMIT_USD = 2.0


def zero_table() -> pricing.RateTable:
    """The Settings price editor with every "USD per second" set to 0."""
    return {k: pricing.Rate(0.0, r.note) for k, r in pricing.default_table().items()}


def operator_cost(endpoint_id: str, body: dict) -> float:
    return pricing.estimate(catalog.get(endpoint_id), body, pricing.default_table()).total_usd


@pytest.fixture
def rig(tmp_path: Path, ledger_url):
    ledger = Ledger(tmp_path, url=ledger_url)
    media = MediaCache(tmp_path / config.MEDIA_DIRNAME)
    limit = SpendLimit(owner=ANN, person_limit=LIMIT_USD, team_limit=None, since=T0 - 3600)
    return ledger, media, limit


def operator(router: str) -> tuple[RouterAccess, str]:
    access = RouterAccess(router=router, base_url="http://127.0.0.1:9", key="operator-key")
    return access, acc.operator_id(router)


def own_key(router: str) -> tuple[RouterAccess, str]:
    return RouterAccess(router=router, base_url="http://127.0.0.1:9", key="my-key"), acc.session_id("tok")


def record(ledger, media, limit, endpoint_id, body, estimate, *, bind=operator, at=T0):
    endpoint = catalog.get(endpoint_id)
    access, access_id = bind(endpoint.router)
    return runner.record_job(ledger, media, endpoint, body, access, access_id=access_id, estimate=estimate,
                             now=at, owner=ANN, limit=limit)


def generate_until_refused(ledger, media, limit, endpoint_id, body, estimate, *, tries: int = 12) -> int:
    """Click Generate until the budget refuses; how many were recorded."""
    for i in range(tries):
        try:
            record(ledger, media, limit, endpoint_id, body, estimate, at=T0 + i)
        except OverBudgetError:
            return i
    return tries


def assert_budget_held(ledger, endpoint_id: str, body: dict, sent: int) -> None:
    cost = operator_cost(endpoint_id, body)
    assert sent == int(LIMIT_USD // cost), (sent, cost)  # as many as the operator's prices allow, no more
    spend = ledger.spend.spend(T0 - 3600, ANN)
    assert spend == pytest.approx(sent * cost) and spend <= LIMIT_USD
    assert all(j.estimated_cost == pytest.approx(cost) for j in ledger.jobs.list())


# --- what the page passes as the estimate ------------------------------------------------------------------


ESTIMATES = {
    "zero price table": lambda ep, body: pricing.estimate(catalog.get(ep), body, zero_table()),
    "zero float": lambda ep, body: 0.0,
    "negative": lambda ep, body: -5.0,
    "no estimate": lambda ep, body: None,
    "a tenth": lambda ep, body: operator_cost(ep, body) / 10,
}


@pytest.mark.parametrize("how", list(ESTIMATES))
def test_the_persons_price_table_or_estimate_never_changes_what_counts(rig, how) -> None:
    ledger, media, limit = rig
    sent = generate_until_refused(ledger, media, limit, MR_V3, BODY, ESTIMATES[how](MR_V3, BODY))
    assert_budget_held(ledger, MR_V3, BODY, sent)


@pytest.mark.parametrize(("endpoint_id", "body", "priced_as"), [
    (AM_V3, {**BODY, "mode": "pro"}, {**BODY, "mode": "std"}),  # mode: estimated as std, sent as pro
    (MR_V3, {**BODY, "duration": 15}, {**BODY, "duration": 3}),  # duration: estimated short, sent long
    (MR_V3, {**BODY, "sound": "on"}, BODY),  # audio
    (AM_V3, BODY, None),  # router switch: the estimate of the other router's endpoint
], ids=["mode", "duration", "audio", "router switch"])
def test_an_estimate_for_another_request_never_changes_what_counts(rig, endpoint_id, body, priced_as) -> None:
    ledger, media, limit = rig
    if priced_as is None:  # priced on MuleRouter with a zeroed table, sent to APIMart
        shown = pricing.estimate(catalog.get(MR_V3), body, zero_table())
    else:
        shown = pricing.estimate(catalog.get(endpoint_id), priced_as, pricing.default_table())
    sent = generate_until_refused(ledger, media, limit, endpoint_id, body, shown)
    assert_budget_held(ledger, endpoint_id, body, sent)


@pytest.mark.parametrize(("body", "why"), [
    ({**BODY, "mode": "cheap"}, "no rate"),  # a mode the operator's table does not price
    ({**BODY, "duration": -5}, "negative"),
    ({**BODY, "duration": 0}, "zero"),
], ids=["unknown mode", "negative duration", "zero duration"])
def test_a_request_the_operator_prices_at_zero_or_not_at_all_is_refused(rig, body, why) -> None:
    ledger, media, limit = rig
    with pytest.raises(pricing.PriceNotConfiguredError) as err:
        record(ledger, media, limit, MR_V3, body, 0.0)
    assert "price" in str(err.value) and "operator" in str(err.value)
    assert ledger.jobs.count() == 0  # nothing recorded, so nothing is sent
    with pytest.raises(pricing.PriceNotConfiguredError):  # also without a budget set
        record(ledger, media, None, MR_V3, body, 1.0)


def test_a_zero_rate_in_the_operators_table_is_a_configuration_error(rig, monkeypatch) -> None:
    ledger, media, limit = rig
    monkeypatch.setattr(pricing, "operator_table", zero_table)
    with pytest.raises(pricing.PriceNotConfiguredError, match="operator"):
        record(ledger, media, limit, MR_V3, BODY, 1.0)
    assert ledger.jobs.count() == 0


def test_own_key_and_demo_jobs_never_count_and_keep_the_shown_estimate(rig) -> None:
    ledger, media, limit = rig
    mine = record(ledger, media, limit, MR_V3, BODY, 0.0, bind=own_key)  # the person's own table: shown only
    demo_access = RouterAccess(router=config.MULEROUTER, base_url="http://127.0.0.1:9", key=config.DEMO_KEY,
                               demo=True)
    demo = record(ledger, media, limit, MR_V3, BODY, 0.0,
                  bind=lambda r: (demo_access, acc.demo_id(demo_access.base_url)))
    assert (mine.estimated_cost, demo.estimated_cost) == (0.0, 0.0)
    assert charged_cost(mine) == charged_cost(demo) == 0.0
    assert ledger.spend.spend(T0 - 3600, ANN) == 0.0
    # the router switch the other way: own key on APIMart is free, the operator's MuleRouter still counts
    sent = 0
    for i in range(12):
        try:
            record(ledger, media, limit, AM_V3, BODY, 0.0, bind=own_key, at=T0 + i)
            record(ledger, media, limit, MR_V3, BODY, 0.0, at=T0 + i)
            sent += 1
        except OverBudgetError:
            break
    assert sent == int(LIMIT_USD // operator_cost(MR_V3, BODY))
    assert ledger.spend.spend(T0 - 3600, ANN) == pytest.approx(sent * operator_cost(MR_V3, BODY))


def test_retry_is_priced_by_the_operator_whatever_the_job_said(rig) -> None:
    ledger, media, limit = rig
    first = record(ledger, media, limit, MR_V3, BODY, 0.0)
    sent = 1
    for i in range(12):  # Retry: the stored request again, with the estimate the page had (0)
        try:
            record(ledger, media, limit, first.endpoint_id, internalize_body(first.body, media), 0.0,
                   at=T0 + 1 + i)
            sent += 1
        except OverBudgetError:
            break
    assert_budget_held(ledger, MR_V3, BODY, sent)


def test_submit_job_is_priced_by_the_operator_too(rig, emu) -> None:
    ledger, media, _ = rig
    endpoint = catalog.get(MR_V3)
    access = RouterAccess(router=endpoint.router, base_url=emu.base_url, key="k")
    from core.net.http import make_client

    with make_client() as client:
        job = runner.submit_job(ledger, media, client, endpoint, BODY, access, estimate=0.0, now=T0,
                                access_id=acc.operator_id(endpoint.router))
    assert job.estimated_cost == pytest.approx(operator_cost(MR_V3, BODY))


# --- Compare cells --------------------------------------------------------------------------------


def test_compare_cells_priced_at_zero_are_charged_at_the_operators_prices(rig) -> None:
    ledger, media, limit = rig
    exp = X.with_axis(X.new_experiment(MR_V3, BODY, mode="text", now=T0),
                      X.Axis(X.AXIS_FIELD, (3, 5, 10), "duration"))
    X.save(ledger, media, exp, owner=ANN)
    plan = X.expand(exp, zero_table())  # every cell shows $0.00
    assert plan.total_usd == 0.0
    costs = [operator_cost(MR_V3, {**BODY, "duration": d}) for d in (3, 5, 10)]
    record(ledger, media, limit, MR_V3, BODY, 0.0)  # $0.75 of $2 spent; the cells cost $1.35 in all
    record(ledger, media, limit, MR_V3, BODY, 0.0)
    with pytest.raises(OverBudgetError):
        X.run_all(ledger, media, exp, plan, operator, owner=ANN, limit=limit, now=T0 + 10)
    assert X.experiment_job_ids(ledger, exp.id) == []  # nothing of the experiment recorded
    fresh = SpendLimit(owner=ANN, person_limit=10.0, team_limit=None, since=T0 - 3600)
    report = X.run_all(ledger, media, exp, plan, operator, owner=ANN, limit=fresh, now=T0 + 10)
    recorded = [ledger.jobs.get(i) for i in report.recorded]
    assert sorted(j.estimated_cost for j in recorded) == pytest.approx(sorted(costs))
    assert ledger.spend.spend(T0 - 3600, ANN) == pytest.approx(2 * operator_cost(MR_V3, BODY) + sum(costs))
