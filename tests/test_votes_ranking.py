"""Blind votes and their ranking (issue 18 item 3): Bradley–Terry (choix) on synthetic votes whose true order
is known recovers it and its interval narrows with more votes; a person's vote counts once per pair and
question; ballots are checked in core (takes of this experiment, choice on the ballot, question asked, the
voter is who they say); the next pairs favour close, little-voted ones; rankings of variants and axis
values; the ledger keeps votes across a reopen."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from core import config
from core.compare import experiments as X
from core.compare import ranking, votes
from core.jobs.record import Job
from core.storage.ledger import Ledger
from core.storage.review_store import VoteRow
from core.team import identity as ident

MR_V3 = "mulerouter/kling-v3/text-to-video"
BASE = {"prompt": "A red fox walks through snow", "duration": 5, "aspect_ratio": "16:9", "mode": "std",
        "sound": "off", "multi_shot": False}
ANA = ident.Identity("ana@team.example", "Ana", ident.LOGIN)
BEN = ident.Identity("ben@team.example", "Ben", ident.LOGIN)


def _synthetic(strengths: dict[str, float], n: int, seed: int) -> list[ranking.Comparison]:
    rng = random.Random(seed)
    names = list(strengths)
    out = []
    for _ in range(n):
        a, b = rng.sample(names, 2)
        p = 1 / (1 + math.exp(strengths[b] - strengths[a]))
        out.append(ranking.Comparison(a, b, 1.0 if rng.random() < p else 0.0))
    return out


TRUE = {"best": 1.5, "good": 0.5, "fair": -0.5, "poor": -1.5}


def test_the_fit_recovers_a_known_order_from_synthetic_votes() -> None:
    comps = _synthetic(TRUE, 300, seed=7)
    r = ranking.rank(list(TRUE)[::-1], comps, rounds=100, seed=1)
    assert [s.item for s in r.standings] == ["best", "good", "fair", "poor"]
    assert r.votes == 300
    best = r.standings[0]
    assert best.low <= best.strength <= best.high and best.score > 0.7
    assert r.standings[-1].score_high < best.score_low  # clearly apart with this many votes


def test_the_interval_narrows_as_votes_come_in() -> None:
    widths = []
    for n in (20, 80, 320):
        r = ranking.rank(list(TRUE), _synthetic(TRUE, n, seed=n), rounds=100, seed=3)
        widths.append(sum(s.high - s.low for s in r.standings) / len(r.standings))
    assert widths[0] > widths[1] > widths[2]
    assert widths[2] < widths[0] / 2


def test_a_tie_counts_half_a_win_each_way() -> None:
    r = ranking.rank(["a", "b"], [ranking.Comparison("a", "b", 0.5)] * 6, rounds=20)
    assert abs(r.standings[0].strength) < 1e-6 and r.standings[0].wins == 3.0


def test_no_votes_gives_an_even_ranking_and_pairs_to_start_with() -> None:
    r = ranking.rank(["a", "b", "c"], [], rounds=10)
    assert r.votes == 0 and all(s.strength == 0 for s in r.standings)
    assert len(r.next_pairs) == 3


def test_next_pairs_favour_close_little_voted_pairs_over_settled_ones() -> None:
    comps = [ranking.Comparison("a", "b", 1.0)] * 30 + [ranking.Comparison("c", "d", 1.0),
                                                       ranking.Comparison("d", "c", 1.0)]
    r = ranking.rank(["a", "b", "c", "d"], comps, rounds=50, k=6)
    assert frozenset(r.next_pairs[-1]) == frozenset(("a", "b"))  # 30–0: a vote there changes nothing
    done = ranking.rank(["a", "b", "c"], [], rounds=5, skip=[("b", "a")], k=3)
    assert ("a", "b") not in done.next_pairs and ("b", "a") not in done.next_pairs


def test_map_comparisons_drops_pairs_inside_one_group() -> None:
    comps = [ranking.Comparison("t1", "t2", 1.0), ranking.Comparison("t1", "t3", 0.0)]
    assert ranking.map_comparisons(comps, {"t1": "A", "t2": "A", "t3": "B"}) == [
        ranking.Comparison("A", "B", 0.0)]


# --- votes in the ledger -------------------------------------------------------------------------------


def _experiment(ledger: Ledger, tmp_path) -> tuple[X.Experiment, X.Plan, votes.Subject]:
    exp = X.new_experiment(MR_V3, dict(BASE), mode="text", now=1000.0)
    wordings = ("A red fox walks through snow", "A red fox runs through snow")
    exp = X.with_axis(exp, X.Axis(X.AXIS_PROMPT, wordings))
    exp = X.with_axis(exp, X.Axis(X.AXIS_FIELD, ("16:9", "9:16"), "aspect_ratio"))
    exp = replace(exp, takes=2)
    from core.storage.media_cache import MediaCache

    X.save(ledger, MediaCache(tmp_path / "media"), exp, owner=ANA.id)
    plan = X.expand(exp)
    n = 0
    for cell in plan.cells:
        ids = []
        for _ in range(exp.takes):
            n += 1
            job = Job(id=f"job{n:02d}", router="mulerouter", endpoint_id=MR_V3, body=cell.body,
                      created_at=1000.0 + n, updated_at=1000.0 + n, video_file=f"sha256-{n:064d}.mp4")
            ledger.jobs.add(job)
            ids.append(job.id)
        ledger.experiments.set_cell_jobs(exp.id, cell.key, ids)
    return exp, plan, votes.experiment_subject(ledger, exp, plan)


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    return Ledger(tmp_path)


def test_a_person_counts_once_per_pair_and_question(ledger: Ledger, tmp_path) -> None:
    exp, _plan, subject = _experiment(ledger, tmp_path)
    q = subject.criteria[0]
    a, b = sorted(subject.videos)[:2]
    votes.record_ballot(ledger, subject, ANA, voter=ANA.id, shown=[a, b], choice=a, criterion=q, now=1.0)
    votes.record_ballot(ledger, subject, ANA, voter=ANA.id, shown=[b, a], choice=a, criterion=q, now=2.0)
    votes.record_ballot(ledger, subject, ANA, voter=ANA.id, shown=[a, b], choice=b, criterion=q, now=3.0)
    rows = ledger.reviews.votes(exp.id, q)
    assert len(rows) == 1 and rows[0].outcome == (0.0 if rows[0].item_a == a else 1.0)  # her last answer
    votes.record_ballot(ledger, subject, BEN, voter=BEN.id, shown=[a, b], choice=a, criterion=q, now=4.0)
    votes.record_ballot(ledger, subject, ANA, voter=ANA.id, shown=[a, b], choice=a,
                        criterion=subject.criteria[1], now=5.0)  # another question: its own count
    assert len(ledger.reviews.votes(exp.id, q)) == 2 and len(ledger.reviews.votes(exp.id)) == 3
    assert len(Ledger(tmp_path).reviews.votes(exp.id)) == 3  # kept


def test_a_ballot_of_four_decides_three_pairs_and_a_tie_decides_all(ledger: Ledger, tmp_path) -> None:
    exp, _plan, subject = _experiment(ledger, tmp_path)
    shown = sorted(subject.videos)[:4]
    q = subject.criteria[0]
    assert votes.record_ballot(ledger, subject, ANA, voter=ANA.id, shown=shown, choice=shown[2],
                               criterion=q) == 3
    assert votes.record_ballot(ledger, subject, BEN, voter=BEN.id, shown=shown, choice=None, criterion=q) == 6
    ties = [r for r in ledger.reviews.votes(exp.id, q, voter=BEN.id)]
    assert {r.outcome for r in ties} == {0.5}


@pytest.mark.parametrize("case", ["foreign take", "choice not shown", "one take", "same take twice",
                                  "question not asked", "someone else's name", "needs login"])
def test_ballots_that_are_not_one_are_refused_in_core(ledger: Ledger, tmp_path, case: str) -> None:
    exp, _plan, subject = _experiment(ledger, tmp_path)
    a, b, c = sorted(subject.videos)[:3]
    kwargs = {"voter": ANA.id, "shown": [a, b], "choice": a, "criterion": subject.criteria[0]}
    who = ANA
    error: type[Exception] = votes.VoteError
    if case == "foreign take":
        kwargs["shown"] = [a, "job-of-another-experiment"]
    elif case == "choice not shown":
        kwargs["choice"] = c
    elif case == "one take":
        kwargs["shown"], kwargs["choice"] = [a], a
    elif case == "same take twice":
        kwargs["shown"] = [a, a]
    elif case == "question not asked":
        kwargs["criterion"] = "Prettiest fox"
    elif case == "someone else's name":
        kwargs["voter"], error = BEN.id, ident.NotAllowedError
    else:
        who, error = ident.Identity(source=ident.LOGIN), ident.NotAllowedError
    with pytest.raises(error):
        votes.record_ballot(ledger, subject, who, **kwargs)
    assert ledger.reviews.votes(exp.id) == []


def test_single_user_votes_are_this_browsers(ledger: Ledger, tmp_path) -> None:
    _exp, _plan, subject = _experiment(ledger, tmp_path)
    a, b = sorted(subject.videos)[:2]
    voter = votes.voter_key(ident.SINGLE_USER, "browser1")
    votes.record_ballot(ledger, subject, ident.SINGLE_USER, voter=voter, shown=[a, b], choice=a,
                        criterion=subject.criteria[0])
    with pytest.raises(ident.NotAllowedError):  # a single user cannot vote as a named person
        votes.record_ballot(ledger, subject, ident.SINGLE_USER, voter=ANA.id, shown=[a, b], choice=a,
                            criterion=subject.criteria[0])


def test_rankings_of_variants_and_axis_values_follow_the_votes(ledger: Ledger, tmp_path) -> None:
    _exp, _plan, subject = _experiment(ledger, tmp_path)
    q = subject.criteria[0]
    # people prefer "runs" (wording 2) and, less clearly, 9:16: cell 1.1 is the true best
    score = {"0.0": 0.0, "0.1": 0.4, "1.0": 1.2, "1.1": 1.6}
    rng = random.Random(5)
    takes = sorted(subject.videos)
    rows = []
    for person in range(12):
        who = ident.Identity(f"p{person}@team.example", f"P{person}", ident.LOGIN)
        for x, y in [(x, y) for i, x in enumerate(takes) for y in takes[i + 1:]]:
            sx, sy = score[subject.cell_of[x]], score[subject.cell_of[y]]
            if subject.cell_of[x] == subject.cell_of[y]:
                continue
            p = 1 / (1 + math.exp(sy - sx))
            rows += votes.ballot_rows(subject.id, q, who.id, who.name, [x, y],
                                      x if rng.random() < p else y, 1.0)
    ledger.reviews.put_votes(rows)  # one write (record_ballot's checks are tested above)
    r = votes.rankings(ledger, subject, q, rounds=60)
    assert r.voters == 12 and r.votes == 12 * 24
    assert r.variants.standings[0].item == "1.1" and r.variants.standings[-1].item == "0.0"
    wording = dict(r.axes)["Wording"]
    assert wording.standings[0].item == "…runs…"
    assert wording.standings[0].score_low > wording.standings[1].score_high
    assert "votes from 12 people" in votes.summary_line(r)
    rows = votes.standing_rows(r.variants, subject.cell_labels)
    assert rows[0]["variant"] == "…runs… · 9:16"
    assert rows[0]["low %"] <= rows[0]["score %"] <= rows[0]["high %"]


def test_next_ballot_skips_pairs_this_voter_answered_and_ends(ledger: Ledger, tmp_path) -> None:
    _exp, _plan, subject = _experiment(ledger, tmp_path)
    q = subject.criteria[0]
    rng = random.Random(1)
    seen = set()
    for _ in range(40):
        shown = votes.next_ballot(ledger, subject, ANA.id, q, rng=rng)
        if shown is None:
            break
        pair = frozenset(shown)
        assert pair not in seen and len(shown) == 2
        seen.add(pair)
        votes.record_ballot(ledger, subject, ANA, voter=ANA.id, shown=shown, choice=shown[0], criterion=q)
    assert len(seen) == 28  # every pair of 8 takes, once: then nothing more to ask her
    assert votes.next_ballot(ledger, subject, BEN.id, q, rng=rng) is not None  # Ben has his own
    four = votes.next_ballot(ledger, subject, BEN.id, q, size=4, rng=rng)
    assert len(four) == 4 and len(set(four)) == 4


def test_criteria_are_cleaned_and_stored_with_the_experiment(ledger: Ledger, tmp_path) -> None:
    assert votes.clean_criteria(["  better   motion ", "Better motion", "", "x" * 99]) == (
        "better motion", "x" * config.VOTE_CRITERION_MAX_CHARS)
    with pytest.raises(votes.VoteError):
        votes.clean_criteria(["  "])
    exp = replace(X.new_experiment(MR_V3, dict(BASE), now=1.0), criteria=("Closer to the prompt",))
    again = X.Experiment.from_dict(exp.id, exp.to_dict())
    assert votes.criteria_of(again) == ("Closer to the prompt",)


def test_a_vote_set_of_gallery_videos(ledger: Ledger, tmp_path) -> None:
    _exp, _plan, subject = _experiment(ledger, tmp_path)
    ids = sorted(subject.videos)[:3]
    set_id = votes.new_set(ledger, [*ids, "missing"], ANA, title="Foxes")
    found = votes.set_subject(ledger, set_id)
    assert sorted(found.videos) == ids and found.owner == ANA.id
    shown = ids[:2]
    votes.record_ballot(ledger, found, BEN, voter=BEN.id, shown=shown, choice=shown[0],
                        criterion=found.criteria[0])
    r = votes.rankings(ledger, found, found.criteria[0], rounds=10)
    assert r.variants is None and r.takes.standings[0].item == shown[0]
    with pytest.raises(votes.VoteError):
        votes.new_set(ledger, ids[:1], ANA)


def test_vote_rows_replace_on_the_same_key(ledger: Ledger) -> None:
    row = VoteRow("e", "q", "v", "a", "b", 1.0, "V", 1.0)
    ledger.reviews.put_votes([row, replace(row, outcome=0.0, at=2.0)])
    assert ledger.reviews.votes("e") == [replace(row, outcome=0.0, at=2.0)]


def test_the_review_store_on_both_backends(ledger_url: str | None, data_dir) -> None:
    from core.storage.review_store import CommentRow, LinkRow

    ledger = Ledger(data_dir, url=ledger_url)
    row = VoteRow("e", "q", "v", "a", "b", 1.0, "V", 1.0)
    ledger.reviews.put_votes([row])
    ledger.reviews.put_votes([replace(row, outcome=0.5, at=2.0), replace(row, voter="w")])
    assert sorted((r.voter, r.outcome) for r in ledger.reviews.votes("e", "q")) == [("v", 0.5), ("w", 1.0)]
    link = LinkRow("l1", "e", "f" * 64, "ana", 1.0, 99.0, None, "")
    ledger.reviews.add_link(link)
    assert ledger.reviews.link_by_hash("f" * 64) == link
    assert ledger.reviews.revoke_link("l1", 5.0) and ledger.reviews.link("l1").revoked_at == 5.0
    assert ledger.reviews.revoke_link("l1", 7.0) and ledger.reviews.link("l1").revoked_at == 5.0
    comment = CommentRow("c1", "e", "a", "ana", "Ana", 3.2, "hand distorts", 10.0)
    assert ledger.reviews.add_comment(comment, max_per_item=1)
    assert not ledger.reviews.add_comment(replace(comment, id="c2"), max_per_item=1)
    assert ledger.reviews.comments("e") == [comment]
