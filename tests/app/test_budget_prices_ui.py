"""Issue 20 item 1 through the pages: "USD per second" set to 0 in the Settings price editor no longer lets
Generate past the operator's daily budget (the job is priced in core with the operator's table), and the
estimate the page shows on the operator's key is the operator's price."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.authoring import pricing
from core.storage.ledger import Ledger
from tests.app.test_create_pages import GENERATE, PAGES, prefix
from tests.app.test_team_pages import ANN, as_person, budgeted, team  # noqa: F401 (fixtures)
from ui import session
from ui.create import page as create

MR_STD_5S = 0.375  # the operator's price of a 5 s MuleRouter kling-v3 Standard video; the budget is $0.50


def zeroed_rows() -> list[dict]:
    return [{**row, "usd_per_s": 0.0} for row in pricing.table_to_rows(pricing.default_table())]


def test_zero_prices_in_settings_do_not_dodge_the_daily_budget(budgeted: Path) -> None:  # noqa: F811
    at = as_person(ANN, PAGES["text"])
    at.session_state[session.PRICE_TABLE_KEY] = zeroed_rows()
    p = prefix(at, "text")
    for i in range(3):
        at.text_area(key=f"{p}.prompt").input(f"A heron lifts off a misty lake, take {i}").run()
        at.session_state[create._k("text", "clicked")] = None
        at.button(key=GENERATE["text"]).click().run()
        assert not at.exception, [e.value for e in at.exception]
    ledger = Ledger(budgeted)
    jobs = ledger.jobs.list()
    assert len(jobs) == 1, [j.estimated_cost for j in jobs]  # $0.375 of $0.50: the second one is refused
    assert jobs[0].estimated_cost == pytest.approx(MR_STD_5S)
    assert any(e.value.startswith("Nothing was sent: over the daily budget.") for e in at.error)


@pytest.mark.usefixtures("budgeted")
def test_the_estimate_shown_on_the_operators_key_is_the_operators_price() -> None:
    at = as_person(ANN, PAGES["text"])
    at.session_state[session.PRICE_TABLE_KEY] = zeroed_rows()
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A heron lifts off a misty lake").run()
    shown = " ".join(c.value for c in at.caption) + " ".join(m.value for m in at.markdown)
    assert "$0.38" in shown or "0.375" in shown, shown


@pytest.mark.usefixtures("budgeted")
def test_compare_prices_its_cells_and_cap_line_with_the_operators_prices() -> None:
    """The Compare page's cost column and cap line on the operator's key are the operator's prices too
    (before: this session's table, so a person who zeroed it saw $0.00 cells the budget then refused)."""
    at = as_person(ANN, PAGES["text"])
    at.session_state[session.PRICE_TABLE_KEY] = zeroed_rows()
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A heron lifts off a misty lake").run()
    at.button(key="create.text.__compare").click().run()
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(c.value for c in at.caption) + " ".join(m.value for m in at.markdown)
    assert "$0.38" in shown, shown
    assert "$0.00" not in shown, shown
