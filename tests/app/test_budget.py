"""Cost control on the Create pages: the live estimate, the session's spend, and the budget cap that asks
before a submission would pass it (demo mode counts what the demo jobs would have cost)."""

from __future__ import annotations

from pathlib import Path

from core.authoring import pricing
from core.storage.ledger import Ledger
from tests.app.test_create_pages import demo, generate, jobs_in_ledger, open_page, prefix, session_jobs
from ui import session
from ui.create import page as create

__all__ = ["demo"]  # the fixture, re-used


def test_pure_budget_helpers() -> None:
    assert create.budget_excess(0.0, 0.45, 0.0) is None  # no cap
    assert create.budget_excess(0.2, 0.25, 0.5) is None  # within
    assert create.budget_excess(0.3, 0.45, 0.5) == 0.25
    assert create.budget_excess(1.0, None, 0.5) is None  # no price known: nothing to compare
    spend = pricing.Spend(estimated_usd=1.1, reported_usd=0.9, total_usd=1.2, jobs=2, reported_jobs=1)
    line = create.spend_line(spend, demo=False, would_be=0.0, cap=5)
    assert line == ("This session so far: $1.20 (estimated $1.10, router reported $0.90 for 1 of 2 jobs)"
                    " of your $5.00 session cap")
    none = pricing.Spend(0, 0, 0, 0, 0)
    assert create.spend_line(none, demo=False, would_be=0, cap=0) == "This session so far: nothing spent"
    assert "would have cost about $0.90" in create.spend_line(none, demo=True, would_be=0.9, cap=0)
    msg = create.budget_message(0.25, estimate=0.45, spent=0.3, cap=0.5, demo=False)
    assert "$0.25 over your session cap of $0.50" in msg and "to $0.75" in msg

    class J:
        def __init__(self, cost, demo, task):
            self.estimated_cost, self.demo, self.task = cost, demo, task

    assert session.demo_spend([J(0.4, True, "t"), J(0.5, True, None), J(0.7, False, "t")]) == 0.4


def test_budget_asks_before_passing_the_cap_and_says_by_how_much(demo: Path) -> None:
    at = open_page("text")
    p = prefix(at, "text")
    at.session_state[session.BUDGET_KEY] = 0.5
    at.text_area(key=f"{p}.prompt").input("A heron lifts off a misty lake").run()
    captions = [c.value.replace("\\", "") for c in at.caption]  # drawn Markdown-escaped
    assert any("would have cost about $0.00 of your $0.50 session cap" in c for c in captions), captions

    generate(at, "text")  # the first job fits in the budget
    assert len(session_jobs(at)) == 1
    spent = session.demo_spend(Ledger(demo).jobs.list())
    assert spent > 0  # the demo job records what it would have cost

    at.text_area(key=f"{p}.prompt").input("A heron lands on a misty lake").run()
    generate(at, "text")  # the second would pass the cap: asks, says by how much, sends nothing yet
    warnings = [w.value.replace("\\", "") for w in at.warning]
    assert any("over your session cap of $0.50" in w for w in warnings), warnings
    assert any("nothing is charged" in w for w in warnings)
    assert len(session_jobs(at)) == 1 and jobs_in_ledger(demo) == 1

    at.button(key="create.text.__budget_cancel").click().run()
    assert not any("over your session cap" in w.value for w in at.warning)
    assert len(session_jobs(at)) == 1

    generate(at, "text")
    at.button(key="create.text.__budget_go").click().run()  # confirmed: sent
    assert len(session_jobs(at)) == 2 and jobs_in_ledger(demo) == 2


def test_no_budget_never_asks(demo: Path) -> None:
    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A kettle whistles").run()
    generate(at, "text")
    at.text_area(key=f"{p}.prompt").input("A kettle whistles twice").run()
    generate(at, "text")
    assert len(session_jobs(at)) == 2
    assert not any("budget" in w.value for w in at.warning)
