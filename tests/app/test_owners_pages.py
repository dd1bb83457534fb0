"""Issue 11, part own, through the real entry point (AppTest), people named by the trusted proxy header
(tests/app/test_team_pages.py's `team` fixture: ui.session._request_headers patched):

- someone else's Compare experiment shows no edit controls (axes, takes, ratings, notes, picks, Run all,
  Stop, Save the winner), its reviews as text, one line saying whose it is and "Make my copy", which makes
  a new experiment of theirs (same base, axes, takes; nothing sent, no reviews) and shows it, editable;
- a draft typed as a person in one session is there for them in a new session with another browser id
  (another machine), never for someone else; a browser's draft from before sign-in becomes the person's.
"""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core import config
from core.compare import experiments as X
from core.storage import drafts
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache
from tests.app.test_create_pages import APP, PAGES, prefix
from tests.app.test_team_pages import ANN, BOB, BOSS, MR_T2V, Person, button_keys, captions, team
from ui import session

__all__ = ["team"]
BROWSER_A = "browser-A-0123456789abcdef"
BROWSER_B = "browser-B-0123456789abcdef"
COMPARE = "app_pages/compare.py"


def open_as(email: str, page: str, browser: str = BROWSER_A, **query: str) -> AppTest:
    """A new session of `email` (the proxy's header) on `browser` (the id its cookie would give)."""
    Person.email = email
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state[session.BROWSER_KEY] = browser
    at.session_state[session.ROUTER_KEY] = config.MULEROUTER
    at.run()
    for name, value in query.items():
        at.query_params[name] = value
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def anns_experiment(data_dir: Path) -> X.Experiment:
    """Ann's experiment: two qualities, two takes, a reviewed cell with two jobs."""
    ledger = Ledger(data_dir)
    exp = X.new_experiment(MR_T2V, {"prompt": "A heron lifts off a misty lake", "duration": 5}, mode="text")
    exp = X.with_axis(exp, X.Axis(X.AXIS_FIELD, ("std", "pro"), "mode"))
    X.save(ledger, MediaCache(data_dir / config.MEDIA_DIRNAME), exp, owner=ANN)
    ledger.experiments.set_cell_jobs(exp.id, "0", ["job-0", ""])
    X.set_rating(ledger, exp.id, "0", 4)
    X.set_note(ledger, exp.id, "0", "Best light on the water")
    X.pick(ledger, exp.id, "0", X.PICK_GRID, X.expand(exp))
    return exp


def edit_keys(exp_id: str) -> set[str]:
    """Widgets that change or run the experiment."""
    return {f"compare.{exp_id}.{name}" for name in ("run", "rerun", "stop", "add", "save_winner", "rm.0")}


def editing_widgets(at: AppTest, exp_id: str) -> set[str]:
    keys = button_keys(at) & edit_keys(exp_id)
    keys |= {w.key for w in at.number_input if w.key == f"compare.{exp_id}.takes"}
    keys |= {w.key for w in at.text_input if str(w.key).startswith(f"compare.{exp_id}.")}
    keys |= {w.key for w in at.get("feedback") if str(w.key).startswith(f"compare.{exp_id}.")}
    keys |= {w.key for w in at.selectbox if str(w.key).endswith(".pick")}
    keys |= {w.key for w in at.segmented_control if w.key == f"compare.{exp_id}.kind"}
    return keys


def test_someone_elses_experiment_is_read_only_and_make_my_copy_makes_one_of_theirs(team: Path) -> None:
    exp = anns_experiment(team)
    ann = open_as(ANN, COMPARE, exp=exp.id)
    assert {f"compare.{exp.id}.run", f"compare.{exp.id}.add"} <= editing_widgets(ann, exp.id)
    assert f"compare.{exp.id}.copy" not in button_keys(ann)

    bob = open_as(BOB, COMPARE, browser=BROWSER_B, exp=exp.id)
    assert editing_widgets(bob, exp.id) == set()
    assert f"compare.{exp.id}.copy" in button_keys(bob)
    lines = captions(bob)
    assert any(f"Made by {ANN}" in c and "Make your own copy" in c for c in lines)
    assert any("★★★★☆" in c and "Best overall" in c for c in lines)  # Ann's review, to read
    assert "Best light on the water" in [t.value for t in bob.text]
    assert f"compare.{exp.id}.csv" in {d.key for d in bob.get("download_button")}  # the table, downloadable

    bob.button(key=f"compare.{exp.id}.copy").click().run()
    assert not bob.exception, [e.value for e in bob.exception]
    ledger = Ledger(team)
    [copy_row] = [r for r in ledger.experiments.list_experiments() if r["id"] != exp.id]
    assert copy_row["owner"] == BOB and bob.query_params["exp"] == copy_row["id"]
    copy = X.load(ledger, copy_row["id"])
    assert (copy.base, copy.axes, copy.takes) == (X.load(ledger, exp.id).base, exp.axes, exp.takes)
    assert ledger.experiments.experiment_cells(copy.id) == {}  # no jobs, no reviews
    assert {f"compare.{copy.id}.run", f"compare.{copy.id}.add"} <= editing_widgets(bob, copy.id)
    cells = ledger.experiments.experiment_cells(exp.id)
    assert cells["0"].note == "Best light on the water"  # Ann's is untouched

    boss = open_as(BOSS, COMPARE, exp=exp.id)  # an admin edits and runs anyone's
    assert f"compare.{exp.id}.run" in editing_widgets(boss, exp.id)


def test_a_draft_follows_the_person_to_another_browser_and_no_one_else(team: Path) -> None:
    at = open_as(ANN, PAGES["text"], browser=BROWSER_A)
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A kingfisher dives for a fish").run()
    assert not at.exception
    ledger = Ledger(team)
    assert ledger.drafts.get_draft(drafts.person_key(ANN), "create.text")["body"]["prompt"] == (
        "A kingfisher dives for a fish")
    assert ledger.drafts.get_draft(BROWSER_A, "create.text") is None  # kept under the person, not the browser

    elsewhere = open_as(ANN, PAGES["text"], browser=BROWSER_B)  # Ann on another machine
    assert elsewhere.text_area(key=f"{prefix(elsewhere, 'text')}.prompt").value == (
        "A kingfisher dives for a fish")
    bob = open_as(BOB, PAGES["text"], browser=BROWSER_A)  # Bob on Ann's first browser
    assert bob.text_area(key=f"{prefix(bob, 'text')}.prompt").value == ""


def test_a_browsers_draft_from_before_sign_in_becomes_the_persons(team: Path) -> None:
    ledger = Ledger(team)
    ledger.drafts.save_draft(BROWSER_A, "create.text",
                             {"endpoint_id": MR_T2V, "body": {"prompt": "Typed before the team signed in"}},
                             time.time())
    at = open_as(ANN, PAGES["text"], browser=BROWSER_A)
    assert at.text_area(key=f"{prefix(at, 'text')}.prompt").value == "Typed before the team signed in"
    assert ledger.drafts.get_draft(BROWSER_A, "create.text") is None  # hers now, under her key
    assert ledger.drafts.get_draft(drafts.person_key(ANN), "create.text")["body"]["prompt"] == (
        "Typed before the team signed in")
