"""Guest review links, the attacker's side first (issue 18 item 4): guessed, altered, revoked and expired
tokens open nothing; only the SHA-256 of a token is stored; a guest holds only the review right on the
experiment of their link — voting and commenting there, and nothing else: not another experiment's votes or
comments, not a job (core/engine/rights.py), not a change, run, copy, share, pick or preset of any
experiment, whatever function they call directly."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import replace

import pytest

from core.authoring import catalog
from core.compare import comments, guests, votes
from core.compare import experiments as X
from core.engine import rights, runner
from core.models import RouterAccess
from core.storage import library
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache
from core.team import identity as ident
from tests.test_votes_ranking import ANA, BEN, _experiment

NOW = 1_800_000_000.0


@pytest.fixture
def world(tmp_path):
    ledger = Ledger(tmp_path)
    exp, plan, subject = _experiment(ledger, tmp_path)
    other = X.new_experiment(exp.endpoint_id, dict(exp.base), now=1.0)
    X.save(ledger, MediaCache(tmp_path / "media"), other, owner=BEN.id)
    token, link = guests.new_link(ledger, exp.id, ANA, days=7, now=NOW)
    guest = guests.guest_identity(guests.open_link(ledger, token, now=NOW + 1), "Zoe", "browser-1")
    return ledger, exp, plan, subject, other, token, link, guest, tmp_path


def test_a_link_opens_its_experiment_and_stores_only_a_hash(world) -> None:
    ledger, exp, _plan, _subject, _other, token, _link, guest, tmp_path = world
    assert len(token) >= 43 and guests.open_link(ledger, token, now=NOW + 60).subject == exp.id
    raw = sqlite3.connect(tmp_path / "ledger.sqlite3").execute("SELECT * FROM guest_links").fetchall()
    assert token not in repr(raw) and guests.token_hash(token) in repr(raw)
    assert guest.is_guest and guest.scope == exp.id and guest.name == "Zoe (guest)"
    assert guest.id.startswith("guest:") and not guest.needs_login and not guest.single_user


def test_guessed_and_altered_tokens_open_nothing(world) -> None:
    ledger, _, _, _, _, token, *_ = world
    tries = [secrets.token_urlsafe(32) for _ in range(200)]
    tries += [token[:-1] + ("A" if token[-1] != "A" else "B"), token[:-1], token + "x", token.upper(),
              "", " " + token, token + "\n", "../" + token, "' OR 1=1 --" + "a" * 40, None, 12345,
              guests.token_hash(token)]
    for t in tries:
        with pytest.raises(guests.LinkRefused) as refused:
            guests.open_link(ledger, t, now=NOW + 1)
        assert str(refused.value) == guests.REFUSED_MESSAGE  # one answer: nothing to learn from it


def test_revoked_and_expired_links_stop_working(world) -> None:
    ledger, exp, *_ = world
    token, _link = guests.new_link(ledger, exp.id, ANA, days=1, now=NOW)
    guests.open_link(ledger, token, now=NOW + 86399)
    with pytest.raises(guests.LinkRefused):
        guests.open_link(ledger, token, now=NOW + 86400)  # expired
    token2, link2 = guests.new_link(ledger, exp.id, ANA, now=NOW)
    assert guests.revoke(ledger, link2.id, ANA, now=NOW + 5)
    with pytest.raises(guests.LinkRefused):
        guests.open_link(ledger, token2, now=NOW + 6)
    assert guests.state_line(ledger.reviews.link(link2.id), NOW + 6) == "revoked"


def test_only_the_owner_or_an_admin_shares_and_revokes(world) -> None:
    ledger, exp, _plan, _subject, _other, _token, link, guest, _ = world
    for who in (BEN, guest):
        with pytest.raises(ident.NotAllowedError):
            guests.new_link(ledger, exp.id, who)
        with pytest.raises(ident.NotAllowedError):
            guests.revoke(ledger, link.id, who)
        with pytest.raises(ident.NotAllowedError):
            guests.links(ledger, exp.id, who)
    admin = ident.Identity("boss@team.example", "Boss", ident.LOGIN, True)
    assert guests.revoke(ledger, link.id, admin)


def test_a_guest_votes_and_comments_on_their_experiment_only(world) -> None:
    ledger, exp, _plan, subject, other, _token, _link, guest, _ = world
    a, b = sorted(subject.videos)[:2]
    voter = votes.voter_key(guest, "browser-1")
    assert voter == guest.id
    votes.record_ballot(ledger, subject, guest, voter=voter, shown=[a, b], choice=b,
                        criterion=subject.criteria[0])
    row = comments.add_comment(ledger, subject, guest, item=a, at_s=3.2, text="hand distorts")
    assert comments.comment_line(row) == "0:03.2 — Zoe (guest): hand distorts"
    other_subject = votes.experiment_subject(ledger, other, X.expand(other))
    other_subject = replace(other_subject, videos={a: "x.mp4"})  # even with a take of the right shape
    with pytest.raises(ident.NotAllowedError):
        votes.record_ballot(ledger, other_subject, guest, voter=voter, shown=[a, b], choice=a,
                            criterion=other_subject.criteria[0])
    with pytest.raises(ident.NotAllowedError):
        comments.add_comment(ledger, other_subject, guest, item=a, at_s=1.0, text="sneaky")
    with pytest.raises(comments.CommentError):
        comments.add_comment(ledger, subject, guest, item="job-elsewhere", at_s=1.0, text="x")
    assert [r.voter_name for r in ledger.reviews.votes(exp.id)] == ["Zoe (guest)"]
    assert ledger.reviews.votes(other.id) == [] and ledger.reviews.comments(other.id) == []


def test_a_guest_can_change_run_copy_or_save_nothing(world) -> None:
    ledger, exp, plan, subject, _other, _token, _link, guest, tmp_path = world
    media = MediaCache(tmp_path / "media")
    key = plan.cells[0].key
    attempts = {
        "save": lambda: X.save(ledger, media, exp, owner=guest.id, who=guest),
        "run": lambda: X.run_all(ledger, media, exp, plan, lambda r: (None, ""), who=guest),
        "stop": lambda: X.stop_all(ledger, exp.id, who=guest),
        "rate": lambda: X.set_rating(ledger, exp.id, key, 5, who=guest),
        "note": lambda: X.set_note(ledger, exp.id, key, "mine now", who=guest),
        "pick": lambda: X.pick(ledger, exp.id, key, X.PICK_GRID, plan, who=guest),
        "copy": lambda: X.make_copy(ledger, media, exp, guest.id),
        "delete": lambda: ident.delete_experiment(ledger, exp.id, guest),
        "delete job": lambda: ident.delete_job(ledger, "job01", guest),
        "winner": lambda: X.save_winner(library.Library(database=ledger.database, media=media), exp,
                                        plan.cells[0], None, ledger=ledger, who=guest, owner=guest.id),
        "vote set": lambda: votes.new_set(ledger, list(subject.videos), guest),
        "share": lambda: guests.new_link(ledger, exp.id, guest),
    }
    for name, attempt in attempts.items():
        with pytest.raises(PermissionError):
            attempt()
        assert name  # every attempt refused
    assert ledger.experiments.experiment_cells(exp.id)[key].rating is None
    assert ledger.experiments.get_experiment(exp.id) is not None


def test_a_guest_cannot_send_or_track_a_job(world, tmp_path) -> None:
    ledger, exp, _plan, _subject, _other, _token, _link, guest, _ = world
    endpoint = catalog.get(exp.endpoint_id)
    access = RouterAccess(router=endpoint.router, base_url="http://127.0.0.1:9", key="demo", demo=True)
    before = ledger.jobs.count()
    with pytest.raises(rights.ActionRefused):
        runner.record_job(ledger, MediaCache(tmp_path / "m2"), endpoint, dict(exp.base), access,
                          access_id="demo:x", owner=guest.id)
    with pytest.raises(rights.ActionRefused):
        runner.track_task(ledger, endpoint, "task-1", access, owner=guest.id)
    assert ledger.jobs.count() == before


def test_a_login_naming_a_guest_id_is_not_a_person() -> None:
    settings = ident.TeamSettings(login_configured=True)
    who = ident.resolve({"is_logged_in": True, "email": "guest:abc:def"}, {}, settings)
    assert who.id == "" and who.needs_login
    header = ident.TeamSettings(trusted_header="X-Email")
    assert ident.resolve(None, {"X-Email": "guest:abc:def"}, header).needs_login


def test_guest_names_are_required_and_plain() -> None:
    with pytest.raises(guests.GuestError):
        guests.clean_name("   ")
    assert guests.clean_name("  Zoe   Lee ") == "Zoe Lee"
    assert len(guests.clean_name("x" * 200)) == 40


def test_the_review_url_carries_the_token() -> None:
    assert guests.review_url("https://studio.example/app/", "tok") == "https://studio.example/app/?token=tok"


def test_moments_parse_and_format() -> None:
    assert comments.parse_moment("0:03.2") == 3.2 and comments.parse_moment("1:02") == 62.0
    assert comments.parse_moment("4.5") == 4.5 and comments.format_moment(62.25) == "1:02.2"
    for bad in ("", "abc", "1:75", "-3", "1:2:3"):
        with pytest.raises(comments.CommentError):
            comments.parse_moment(bad)


def test_a_links_guests_share_one_allowance_of_votes(world, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger, exp, _plan, subject, _other, _token, link, guest, _ = world
    from core import config

    monkeypatch.setattr(config, "GUEST_VOTES_PER_LINK_MAX", 3)
    takes = sorted(subject.videos)
    q = subject.criteria[0]
    votes.record_ballot(ledger, subject, guest, voter=guest.id, shown=takes[:3], choice=None, criterion=q)
    again = guests.guest_identity(link, "Zoe", "browser-2")  # cookies cleared: a new browser, same link
    with pytest.raises(votes.VoteError):
        votes.record_ballot(ledger, subject, again, voter=again.id, shown=takes[3:5], choice=takes[3],
                            criterion=q)
    assert len(ledger.reviews.votes(exp.id)) == 3
    votes.record_ballot(ledger, subject, ANA, voter=ANA.id, shown=takes[3:5], choice=takes[3], criterion=q)
