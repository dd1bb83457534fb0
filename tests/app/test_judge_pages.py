"""Judging the takes in AppTest (issue 18): Compare's cards carry the wording's own words (and the table and
CSV too); the Vote tab counts a blind ballot as this session's voter; the Ranking tab adds them up; a guest
session (?token=…) gets the review page alone: a name, the vote, a timestamped comment — and once the link is
revoked, a refusal and nothing else."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.compare import guests
from core.storage.ledger import Ledger
from core.team import identity as ident
from tests.app.test_create_pages import demo
from tests.app.test_team_pages import Person, as_person, button_keys, team
from tests.test_votes_ranking import ANA, _experiment

__all__ = ["demo", "team"]
APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"
COMPARE = "app_pages/compare.py"


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [t.value for t in at.text] + [c.value for c in at.caption]
    return "\n".join(str(p).replace("\\", "") for p in parts)


def test_cards_table_and_csv_use_the_words_and_a_blind_vote_counts(demo: Path) -> None:
    ledger = Ledger(demo)
    exp, _plan, _subject = _experiment(ledger, demo)
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params["exp"] = exp.id
    at.run()
    at.switch_page(COMPARE).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = _texts(at)
    assert "…walks… · 16:9" in shown and "…runs… · 9:16" in shown and "Wording 1" not in shown
    card = next(m for m in at.markdown if "runs… · 9:16" in m.value)
    assert card.proto.help == "A red fox runs through snow"  # the whole wording on hover
    assert "A red fox runs through snow" in [t.value for t in at.text]  # and on click (the Wording popover)
    table = next(df.value for df in at.dataframe if "wording" in df.value.columns)
    assert set(table["Wording"]) == {"…walks…", "…runs…"}
    assert set(table["wording"]) == {"A red fox walks through snow", "A red fox runs through snow"}
    csv_button = next(b for b in at.get("download_button") if "csv" in str(b.proto.label).lower())
    assert csv_button is not None

    before = len(ledger.reviews.votes(exp.id))
    at.button(key=f"compare.{exp.id}.vote.pick.0").click().run()
    assert not at.exception, [e.value for e in at.exception]
    rows = ledger.reviews.votes(exp.id)
    assert len(rows) == before + 1 and rows[0].voter.startswith("browser:")  # single-user: this browser
    assert rows[0].criterion == "Closer to the prompt"
    assert "1 vote from 1 person" in _texts(at)


def _guest_app(token: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params["token"] = token
    return at.run()


def test_a_guest_gets_the_review_page_alone_then_the_link_is_revoked(demo: Path) -> None:
    ledger = Ledger(demo)
    exp, _plan, _subject = _experiment(ledger, demo)
    token, link = guests.new_link(ledger, exp.id, ANA)
    at = _guest_app(token)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Review"
    assert "frame.router" not in [w.key for w in at.segmented_control]  # no frame: no router, no live jobs
    assert "Kling" not in _texts(at)  # no router, no key status, no other page's words
    at.text_input(key="review.name_input").input("Zoe")
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Reviewing as Zoe" in _texts(at)

    at.button(key="review.vote.pick.tie").click().run()
    assert not at.exception, [e.value for e in at.exception]
    rows = ledger.reviews.votes(exp.id)
    assert rows and {r.voter_name for r in rows} == {"Zoe (guest)"} and rows[0].outcome == 0.5

    at.text_input(key="review.comment_at").input("3 seconds")  # a bad moment: told why, nothing lost
    at.text_input(key="review.comment_text").input("hand distorts")
    next(b for b in at.button if b.label == "Add comment").click().run()
    assert "m:ss.s" in "\n".join(e.value for e in at.error) and ledger.reviews.comments(exp.id) == []
    assert at.text_input(key="review.comment_text").value == "hand distorts"
    at.text_input(key="review.comment_at").input("0:03.2")
    next(b for b in at.button if b.label == "Add comment").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.text_input(key="review.comment_text").value == ""  # kept: the box is free again
    said = ledger.reviews.comments(exp.id)
    assert [(c.at_s, c.text, c.author_name) for c in said] == [(3.2, "hand distorts", "Zoe (guest)")]
    assert "Zoe (guest): hand distorts" in _texts(at)
    at.button(key=f"review.seek.{said[0].item}.0").click().run()  # play from 0:03.2
    assert at.button(key=f"review.seek.{said[0].item}.0").label == "0:03.2"
    assert [v.proto.start_time for v in at.get("video")][-1] == 3

    with pytest.raises(ValueError, match=r"Known pages: \[[^,]*review\.py'\]"):
        at.switch_page(COMPARE)  # the guest's session registers one page: there is nothing else to go to

    guests.revoke(ledger, link.id, ANA)
    at.run()
    assert "This review link does not work" in "\n".join(e.value for e in at.error)
    assert not at.tabs and not at.get("video")


def test_a_guessed_token_opens_nothing(demo: Path) -> None:
    ledger = Ledger(demo)
    exp, *_ = _experiment(ledger, demo)
    guests.new_link(ledger, exp.id, ANA)
    at = _guest_app("A" * 43)
    assert "This review link does not work" in "\n".join(e.value for e in at.error)
    assert at.title[0].value == "Review" and not at.tabs


def test_in_a_team_the_owner_shares_and_revokes_and_a_guest_needs_no_sign_in(team: Path) -> None:
    ledger = Ledger(team)
    exp, _, _ = _experiment(ledger, team)  # Ana's experiment
    # someone else's experiment: no share controls, and core refuses them anyway
    bob = as_person("bob@team.example", COMPARE, exp=exp.id)
    assert f"compare.{exp.id}.review_make" not in button_keys(bob)
    with pytest.raises(PermissionError):
        guests.new_link(ledger, exp.id, ident.Identity("bob@team.example", "", ident.HEADER))
    bob.button(key=f"compare.{exp.id}.vote.pick.1").click().run()  # Bob may vote: as himself
    assert {r.voter for r in ledger.reviews.votes(exp.id)} == {"bob@team.example"}

    ana = as_person(ANA.id, COMPARE, exp=exp.id)
    ana.button(key=f"compare.{exp.id}.review_make").click().run()
    assert not ana.exception, [e.value for e in ana.exception]
    url = next(c.value for c in ana.code if "token=" in c.value)
    token = url.split("token=", 1)[1]
    assert len(token) >= 43 and len(ledger.reviews.links(exp.id)) == 1

    Person.email = None  # a guest: no proxy header at all, which would otherwise ask to sign in
    guest = _guest_app(token)
    assert not guest.exception and guest.title[0].value == "Review"
    assert not any("did not reach the app" in w.value for w in guest.warning)

    link = ledger.reviews.links(exp.id)[0]
    ana = as_person(ANA.id, COMPARE, exp=exp.id)
    ana.button(key=f"compare.{exp.id}.revoke.{link.id}").click().run()
    assert not ana.exception, [e.value for e in ana.exception]
    assert guests.link_state(ledger.reviews.link(link.id), time.time()) == guests.REVOKED
    guest.run()
    assert "This review link does not work" in "\n".join(e.value for e in guest.error)


def test_a_blind_vote_on_any_videos(demo: Path) -> None:
    ledger = Ledger(demo)
    _experiment(ledger, demo)
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    at.switch_page(COMPARE).run()
    at.multiselect(key="compare.set_new_videos").set_value(["job01", "job03", "job05"]).run()
    at.button(key="compare.set_new").click().run()
    assert not at.exception, [e.value for e in at.exception]
    sets = ledger.reviews.list_sets()
    assert len(sets) == 1 and len(sets[0]["data"]["jobs"]) == 3
    set_id = sets[0]["id"]
    at.button(key=f"compare.{set_id}.vote.pick.0").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(ledger.reviews.votes(set_id)) == 1
    assert "1 vote from 1 person" in _texts(at)


def _guest_calls(exp_id: str, other_id: str) -> None:
    """A guest's session calling the pages' named functions directly (what a tampered client could reach)."""
    import streamlit as st

    from core.authoring import catalog
    from core.compare import experiments as X
    from ui import session

    ledger = session.ledger()
    exp, other = X.load(ledger, exp_id), X.load(ledger, other_id)
    endpoint = catalog.get(exp.endpoint_id)
    calls = {
        "submit": lambda: session.submit(endpoint, dict(exp.base), wait_s=0),
        "run": lambda: session.run_experiment(exp, X.expand(exp)),
        "stop": lambda: session.stop_experiment(exp.id),
        "save": lambda: session.save_experiment(exp),
        "copy": lambda: session.copy_experiment(exp),
        "delete": lambda: session.delete_experiment(exp.id),
        "delete job": lambda: session.delete_job("job01"),
        "share": lambda: session.new_review_link(exp.id, 7),
        "links": lambda: session.review_links(exp.id),
        "other experiment": lambda: session.review_experiment(other.id),
        "vote elsewhere": lambda: session.cast_vote(session.vote_subject(other, X.expand(other)),
                                                    ["job01", "job02"], "job01", "Closer to the prompt"),
        "vote set": lambda: session.new_vote_set(["job01", "job02"]),
    }
    outcome = {}
    for name, call in calls.items():
        try:
            call()
            outcome[name] = "done"
        except PermissionError:
            outcome[name] = "refused"
        except Exception as exc:  # anything else is a failure of the test, shown by name
            outcome[name] = f"{type(exc).__name__}: {exc}"
    st.session_state["outcome"] = outcome
    st.session_state["who"] = session.identity()


def test_a_guest_calling_the_page_functions_directly_is_refused(demo: Path) -> None:
    ledger = Ledger(demo)
    exp, _, _ = _experiment(ledger, demo)
    from core.compare import experiments as X
    from core.storage.media_cache import MediaCache

    other = X.new_experiment(exp.endpoint_id, dict(exp.base), now=1.0)
    X.save(ledger, MediaCache(demo / "media"), other, owner="ben@team.example")
    token, _ = guests.new_link(ledger, exp.id, ANA)
    jobs_before = ledger.jobs.count()
    at = AppTest.from_function(_guest_calls, args=(exp.id, other.id), default_timeout=30)
    at.query_params["token"] = token
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["who"].is_guest and at.session_state["who"].scope == exp.id
    outcome = at.session_state["outcome"]
    assert outcome == dict.fromkeys(outcome, "refused"), outcome
    assert ledger.jobs.count() == jobs_before and ledger.reviews.votes(other.id) == []
    assert ledger.experiments.get_experiment(exp.id) is not None and ledger.reviews.links(exp.id)[0]
    assert len(X.listing(ledger)) == 2  # no copy was made


def test_a_guest_steps_through_a_third_axis(demo: Path) -> None:
    from dataclasses import replace as dc_replace

    from core.compare import experiments as X
    from core.storage.media_cache import MediaCache

    ledger = Ledger(demo)
    exp, _, _ = _experiment(ledger, demo)
    exp = dc_replace(X.with_axis(exp, X.Axis(X.AXIS_FIELD, (5, 10), "duration")), takes=1)
    X.save(ledger, MediaCache(demo / "media"), exp)
    token, _ = guests.new_link(ledger, exp.id, ANA)
    at = _guest_app(token)
    at.text_input(key="review.name_input").input("Zoe")
    at.button[0].click().run()
    third = at.segmented_control(key="review.third")
    assert third.options == ["16:9", "9:16"]  # rows: wordings, columns: duration (the last axis)
    third.set_value(1).run()
    assert not at.exception, [e.value for e in at.exception]


def test_blind_vote_on_the_gallerys_videos(demo: Path) -> None:
    ledger = Ledger(demo)
    _experiment(ledger, demo)
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    at.switch_page("app_pages/gallery.py").run()
    at.button(key="gallery.vote").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    sets = ledger.reviews.list_sets()
    assert len(sets) == 1 and len(sets[0]["data"]["jobs"]) >= 2
    assert at.title[0].value == "Compare"
    at.button(key=f"compare.{sets[0]['id']}.vote.pick.0").click().run()
    assert len(ledger.reviews.votes(sets[0]["id"])) == 1
