"""Issue 11, part own, in core: someone else's experiment is read-only (core/compare/experiments.py refuses
every
change and run with identity.NotAllowedError; the owner, an admin and the single user may), "Make my copy"
makes a new experiment of the person's (same base, axes, takes; no jobs, no reviews), and drafts follow the
signed-in person (drafts.person_key; Ledger.claim_draft takes a browser's draft over when the person has
none). The ledger parts run on both backends (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import config
from core.compare import experiments as X
from core.storage import drafts, library
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache
from core.team import identity as ident

MR_V3 = "mulerouter/kling-v3/text-to-video"
BASE = {"prompt": "A red fox runs through snow", "duration": 5, "aspect_ratio": "16:9", "mode": "std",
        "sound": "off", "multi_shot": False}
ANN, BOB, BOSS = "ann@example.com", "bob@example.com", "boss@example.com"
T0 = 1_750_000_000.0
BROWSER = "abcdefghijklmnop0123"
OTHER_BROWSER = "zyxwvutsrqponmlk9876"


def person(email: str, *, admin: bool = False) -> ident.Identity:
    return ident.Identity(email, email, ident.HEADER, admin)


@pytest.fixture
def ledger(tmp_path: Path, ledger_url: str | None) -> Ledger:
    return Ledger(tmp_path, url=ledger_url)


@pytest.fixture
def media(tmp_path: Path) -> MediaCache:
    return MediaCache(tmp_path / "media")


def _stored(ledger: Ledger, media: MediaCache, owner: str) -> X.Experiment:
    exp = X.new_experiment(MR_V3, BASE, mode="text", now=T0)
    exp = X.with_axis(exp, X.Axis(X.AXIS_FIELD, ("std", "pro"), "mode"))
    exp = X.with_axis(exp, X.Axis(X.AXIS_PROMPT, ("A red fox runs", "A red fox sprints at dawn")))
    exp = replace_takes(exp, 2)
    return X.save(ledger, media, exp, now=T0, owner=owner)


def replace_takes(exp: X.Experiment, takes: int) -> X.Experiment:
    from dataclasses import replace

    return replace(exp, takes=takes)


def _reviewed(ledger: Ledger, exp: X.Experiment) -> X.Plan:
    plan = X.expand(exp)
    key = plan.cells[0].key
    ledger.experiments.set_cell_jobs(exp.id, key, ["job-a", "job-b"])
    X.set_rating(ledger, exp.id, key, 4)
    X.set_note(ledger, exp.id, key, "Ann's favourite")
    X.pick(ledger, exp.id, key, X.PICK_GRID, plan)
    return plan


# --- who may change an experiment ----------


def test_may_edit_follows_the_delete_rule() -> None:
    assert ident.may_edit(person(ANN), ANN)
    assert not ident.may_edit(person(BOB), ANN)
    assert ident.may_edit(person(BOSS, admin=True), ANN)
    assert ident.may_edit(ident.SINGLE_USER, ANN) and ident.may_edit(ident.SINGLE_USER, "")
    assert not ident.may_edit(person(BOB), "")  # made before sign-in: an admin's to change
    assert not ident.may_edit(ident.Identity(source=ident.HEADER), "")  # nobody signed in behind the proxy
    with pytest.raises(ident.NotAllowedError, match=f"This is {ANN}'s experiment"):
        ident.check_edit(person(BOB), ANN)
    with pytest.raises(ident.NotAllowedError, match="before sign-in was set up"):
        ident.check_edit(person(BOB), "")


def test_someone_elses_experiment_refuses_every_change_in_core(ledger: Ledger, media: MediaCache,
                                                                tmp_path: Path) -> None:
    exp = _stored(ledger, media, ANN)
    plan = _reviewed(ledger, exp)
    key = plan.cells[0].key
    before_cells = ledger.experiments.experiment_cells(exp.id)
    before = ledger.experiments.get_experiment(exp.id)
    bob = person(BOB)

    def no_bind(router: str):
        raise AssertionError("nothing may be bound for someone else's experiment")

    refusals = [
        lambda: X.save(ledger, media, replace_takes(exp, 3), owner=BOB, who=bob),
        lambda: X.set_rating(ledger, exp.id, key, 1, who=bob),
        lambda: X.set_note(ledger, exp.id, key, "Bob was here", who=bob),
        lambda: X.pick(ledger, exp.id, plan.cells[1].key, X.PICK_GRID, plan, who=bob),
        lambda: X.stop_all(ledger, exp.id, who=bob),
        lambda: X.run_all(ledger, media, exp, plan, no_bind, owner=BOB, who=bob),
        lambda: X.save_winner(library.Library(tmp_path / "lib"), exp, plan.cells[0], before_cells[key],
                              ledger=ledger, who=bob, owner=BOB),
    ]
    for refused in refusals:
        with pytest.raises(ident.NotAllowedError, match=f"{ANN}'s experiment"):
            refused()
    assert ledger.experiments.experiment_cells(exp.id) == before_cells  # no rating, note or pick changed
    assert ledger.experiments.get_experiment(exp.id)["data"] == before["data"]  # no axis or take changed
    assert ledger.jobs.count() == 0  # nothing recorded by Run all
    assert library.Library(tmp_path / "lib").count_prompts() == 0  # no winner saved


def test_the_owner_an_admin_and_the_single_user_may_change_it(ledger: Ledger, media: MediaCache) -> None:
    exp = _stored(ledger, media, ANN)
    key = X.expand(exp).cells[0].key
    for n, who in enumerate((person(ANN), person(BOSS, admin=True), ident.SINGLE_USER), start=1):
        X.set_rating(ledger, exp.id, key, n, who=who)
        X.save(ledger, media, replace_takes(exp, n), who=who)
        assert ledger.experiments.experiment_cells(exp.id)[key].rating == n
        assert X.load(ledger, exp.id).takes == n
    assert X.owner_of(ledger, exp.id) == ANN  # an admin's change does not make it theirs
    assert X.owner_of(ledger, "nope") is None
    X.check_change(ledger, "not-stored-yet", person(BOB))  # a new experiment is anyone's to save


def test_make_my_copy_is_the_persons_with_the_same_base_axes_and_takes_and_nothing_else(
        ledger: Ledger, media: MediaCache) -> None:
    exp = _stored(ledger, media, ANN)
    _reviewed(ledger, exp)
    copy = X.make_copy(ledger, media, X.load(ledger, exp.id), BOB, now=T0 + 60)
    assert copy.id != exp.id and X.owner_of(ledger, copy.id) == BOB
    again = X.load(ledger, copy.id)
    assert (again.endpoint_id, again.base, again.axes, again.takes, again.mode) == (
        exp.endpoint_id, exp.base, exp.axes, exp.takes, exp.mode)
    assert again.title == exp.title + " (copy)" and again.created_at == T0 + 60
    assert ledger.experiments.experiment_cells(copy.id) == {}  # no jobs, ratings, notes or picks came along
    assert X.experiment_job_ids(ledger, exp.id) == ["job-a", "job-b"]  # the original is untouched
    bob = person(BOB)
    X.set_note(ledger, copy.id, X.expand(copy).cells[0].key, "Bob's own", who=bob)  # his to change
    assert X.copy_title(again.title) == exp.title + " (copy)"  # a copy of a copy is not "(copy) (copy)"
    long = "x" * config.EXPERIMENT_TITLE_MAX_CHARS
    assert len(X.copy_title(long)) == config.EXPERIMENT_TITLE_MAX_CHARS


# --- drafts follow the person ----------


def test_person_key_is_stable_per_person_and_never_the_email() -> None:
    key = drafts.person_key(ANN)
    assert key == drafts.person_key(ANN) and key != drafts.person_key(BOB)
    assert ANN not in key and "ann" not in key
    assert drafts.is_person_key(key) and drafts.is_draft_key(key)
    assert not drafts.is_browser_id(key)  # a person key and a browser id never meet
    assert not drafts.is_person_key(BROWSER) and drafts.is_draft_key(BROWSER)
    for bad in ("", "person.", "person." + "g" * config.DRAFT_PERSON_KEY_HEX_CHARS, ANN, None, "a b"):
        assert not drafts.is_draft_key(bad)
    with pytest.raises(ValueError):
        drafts.person_key("")


def test_a_persons_draft_is_kept_under_their_key_whatever_the_browser(ledger: Ledger) -> None:
    key = drafts.person_key(ANN)
    assert ledger.drafts.save_draft(key, "create.text", {"body": {"prompt": "Ann's heron"}}, T0, owner=ANN)
    assert ledger.drafts.get_draft(key, "create.text") == {"body": {"prompt": "Ann's heron"}}
    with pytest.raises(ValueError):
        ledger.drafts.save_draft(ANN, "create.text", {"body": {}}, T0)  # never the e-mail as the key


def test_a_browsers_draft_becomes_the_persons_when_they_have_none(ledger: Ledger) -> None:
    ann = drafts.person_key(ANN)
    ledger.drafts.save_draft(BROWSER, "create.text", {"body": {"prompt": "Typed before sign-in"}}, T0)
    ledger.drafts.save_draft(BROWSER, "create.image", {"body": {"prompt": "Browser's image draft"}}, T0)
    ledger.drafts.save_draft(ann, "create.image", {"body": {"prompt": "Ann's own image draft"}}, T0,
                             owner=ANN)

    assert ledger.drafts.claim_draft(BROWSER, ann, "create.text", ANN)  # Ann had none: the browser's is hers
    assert ledger.drafts.get_draft(ann, "create.text") == {"body": {"prompt": "Typed before sign-in"}}
    assert ledger.drafts.get_draft(BROWSER, "create.text") is None  # moved, not copied: nobody else takes it

    # she has one: hers wins, both kept
    assert not ledger.drafts.claim_draft(BROWSER, ann, "create.image", ANN)
    assert ledger.drafts.get_draft(ann, "create.image") == {"body": {"prompt": "Ann's own image draft"}}
    assert ledger.drafts.get_draft(BROWSER, "create.image") == {"body": {"prompt": "Browser's image draft"}}

    assert not ledger.drafts.claim_draft(OTHER_BROWSER, ann, "create.video", ANN)  # nothing to take over
    with pytest.raises(ValueError):
        ledger.drafts.claim_draft(ann, BROWSER, "create.text", ANN)  # keys the wrong way round
