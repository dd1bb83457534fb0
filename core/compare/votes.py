"""Blind votes on takes and what they add up to (pure rules + the ledger's review store; no Streamlit).

A *subject* is what is voted on: an experiment (its takes with a video; a take belongs to its cell, a cell
has a value on each axis) or a vote set (any Gallery videos, core: `new_set`). A ballot shows 2–4 takes
unlabelled in random order and asks one question (one of the subject's criteria); the voter picks the best
one, or says they cannot tell (a tie). The pick beats each other take shown; a tie ties every pair shown.

    subject = experiment_subject(ledger, exp, plan)
    shown = next_ballot(ledger, subject, voter, criterion, size=2)     # take ids, in random order
    record_ballot(ledger, subject, who, voter=voter, shown=shown, choice=shown[1], criterion=criterion)
    r = rankings(ledger, subject, criterion)     # r.variants (cells), r.axes[(name, Ranking)], r.takes

Who may vote: identity.may_review — everyone identified, a guest only on the subject of their link. A vote
belongs to its voter (`voter_key`: the person's id; in single-user mode this browser; a guest's id names
their link and browser) and counts once per voter, question and pair: the store's key makes a later answer
replace the earlier one (core/storage/review_store.py). Every rule is checked here, not in the page.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core import config
from core.compare import ranking
from core.compare.experiments import Experiment, Plan
from core.storage.ledger import Ledger
from core.storage.review_store import VoteRow
from core.team import identity as ident

SET_PREFIX = "set-"


class VoteError(ValueError):
    """A ballot that cannot count as given (plain words)."""


@dataclass(frozen=True)
class Subject:
    """What is voted on: its id (an experiment's, or a vote set's), the takes that can be shown (job id →
    video file), the questions, and for an experiment which cell each take belongs to."""

    id: str
    title: str
    videos: dict[str, str]  # take (job id) → its video file, for every take with a video
    criteria: tuple[str, ...]
    cell_of: dict[str, str] = field(default_factory=dict)  # take → cell key
    cell_labels: dict[str, str] = field(default_factory=dict)  # cell key → "…walks… · 9:16"
    axis_values: tuple[tuple[str, dict[str, str]], ...] = ()  # (axis name, cell key → value label)
    owner: str = ""


def criteria_of(exp: Experiment) -> tuple[str, ...]:
    return exp.criteria or tuple(config.VOTE_CRITERIA_DEFAULT)


def clean_criteria(texts: Iterable[str]) -> tuple[str, ...]:
    """The questions as typed: trimmed, capped, no duplicates, at most config.VOTE_MAX_CRITERIA. VoteError
    when none is left."""
    out: list[str] = []
    for text in texts:
        t = " ".join(str(text or "").split())[: config.VOTE_CRITERION_MAX_CHARS]
        if t and t.lower() not in (o.lower() for o in out):
            out.append(t)
    if not out:
        raise VoteError("Give at least one question to vote on, e.g. “Closer to the prompt”.")
    return tuple(out[: config.VOTE_MAX_CRITERIA])


def experiment_subject(ledger: Ledger, exp: Experiment, plan: Plan) -> Subject:
    """The experiment's takes with a video, and what they belong to."""
    records = ledger.experiments.experiment_cells(exp.id)
    videos: dict[str, str] = {}
    cell_of: dict[str, str] = {}
    for key, record in records.items():
        for job_id in record.job_ids:
            job = ledger.jobs.get(job_id) if job_id else None
            if job is not None and job.video_file and plan.cell(key) is not None:
                videos[job_id] = job.video_file
                cell_of[job_id] = key
    labels = {c.key: c.label for c in plan.cells}
    axes = tuple((axis.name(), {c.key: axis.value_label(c.index[k]) for c in plan.cells})
                 for k, axis in enumerate(exp.axes))
    found = ledger.experiments.get_experiment(exp.id)
    return Subject(exp.id, exp.title, videos, criteria_of(exp), cell_of, labels, axes,
                   str((found or {}).get("owner") or ""))


def new_set(ledger: Ledger, job_ids: Iterable[str], who: ident.Identity, *, title: str = "",
            criteria: Iterable[str] = (), now: float | None = None) -> str:
    """A vote set from Gallery videos (2 or more with a video); its id. Guests make nothing."""
    ident.check_not_guest(who)
    if who.needs_login:
        raise ident.NotAllowedError("Log in first.")
    ids = [i for i in dict.fromkeys(job_ids) if i]
    with_video = [i for i in ids if (j := ledger.jobs.get(i)) is not None and j.video_file]
    if len(with_video) < config.VOTE_MIN_SHOWN:
        raise VoteError("Choose at least two videos to vote on.")
    set_id = SET_PREFIX + uuid.uuid4().hex[: config.EXPERIMENT_ID_HEX_CHARS]
    asked = clean_criteria(criteria) if criteria else tuple(config.VOTE_CRITERIA_DEFAULT)
    data = {"jobs": with_video, "criteria": list(asked)}
    ledger.reviews.save_set(set_id, who.id, title or f"{len(with_video)} videos", data,
                            time.time() if now is None else now)
    return set_id


def set_subject(ledger: Ledger, set_id: str) -> Subject | None:
    found = ledger.reviews.get_set(set_id)
    if found is None:
        return None
    videos = {}
    for job_id in found["data"].get("jobs") or ():
        job = ledger.jobs.get(job_id)
        if job is not None and job.video_file:
            videos[job_id] = job.video_file
    asked = tuple(found["data"].get("criteria") or config.VOTE_CRITERIA_DEFAULT)
    return Subject(set_id, found["title"], videos, asked, owner=found["owner"])


# --- ballots -------------------------------------------------------------------------------------------


def voter_key(who: ident.Identity, browser: str) -> str:
    """Whose vote this is: the person (a guest's id already names their link and browser); in single-user
    mode, where people are not told apart, this browser."""
    return ident.person_key(who, browser)


def pair_of(x: str, y: str) -> tuple[str, str]:
    return (x, y) if x < y else (y, x)


def ballot_rows(subject_id: str, criterion: str, voter: str, voter_name: str, shown: list[str],
                choice: str | None, now: float) -> list[VoteRow]:
    """The pairs a ballot decides: the chosen take beats each other one shown; no choice (a tie): every
    pair shown is a tie."""
    rows = []
    if choice is None:
        pairs = itertools.combinations(shown, 2)
        for x, y in pairs:
            a, b = pair_of(x, y)
            rows.append(VoteRow(subject_id, criterion, voter, a, b, 0.5, voter_name, now))
        return rows
    for other in shown:
        if other == choice:
            continue
        a, b = pair_of(choice, other)
        rows.append(VoteRow(subject_id, criterion, voter, a, b, 1.0 if a == choice else 0.0, voter_name, now))
    return rows


def check_ballot(subject: Subject, shown: list[str], choice: str | None, criterion: str) -> None:
    if not config.VOTE_MIN_SHOWN <= len(shown) <= config.VOTE_MAX_SHOWN or len(set(shown)) != len(shown):
        raise VoteError(f"A ballot shows {config.VOTE_MIN_SHOWN} to {config.VOTE_MAX_SHOWN} different takes.")
    if any(s not in subject.videos for s in shown):
        raise VoteError("A take on this ballot is not one of this experiment's videos.")
    if choice is not None and choice not in shown:
        raise VoteError("The take you chose was not on the ballot.")
    if criterion not in subject.criteria:
        raise VoteError("That question is not one this experiment asks.")


def record_ballot(ledger: Ledger, subject: Subject, who: ident.Identity, *, voter: str, shown: list[str],
                  choice: str | None, criterion: str, now: float | None = None) -> int:
    """Count a ballot: `choice` the best of `shown` (None: a tie / cannot tell). Refused
    (identity.NotAllowedError) when `who` may not review this subject; VoteError for a ballot that is not
    one (takes not of this subject, a choice not shown, a question not asked). `voter` must be voter_key's
    answer for `who` (a person's vote is theirs only). Returns how many pairs it decided; a pair this voter
    answered before is replaced, never counted twice."""
    ident.check_review(who, subject.id)
    if who.id and voter != who.id:
        raise ident.NotAllowedError("A vote can only be cast as yourself.")
    if not who.id and not voter.startswith("browser:"):
        raise ident.NotAllowedError("A vote can only be cast as yourself.")
    check_ballot(subject, shown, choice, criterion)
    name = who.name or who.id or "someone"
    rows = ballot_rows(subject.id, criterion, voter, name, list(shown), choice,
                       time.time() if now is None else now)
    if who.is_guest:  # a link's guests share one allowance (a guest is per browser: cookies can be cleared)
        link_prefix = who.id.rsplit(":", 1)[0] + ":"
        if ledger.reviews.count_votes(subject.id, link_prefix) + len(rows) > config.GUEST_VOTES_PER_LINK_MAX:
            raise VoteError("This review link has taken all the votes it can. Ask for a new link.")
    ledger.reviews.put_votes(rows)
    return len(rows)


def comparisons(rows: Iterable[VoteRow]) -> list[ranking.Comparison]:
    return [ranking.Comparison(r.item_a, r.item_b, r.outcome) for r in rows]


def voted_pairs(ledger: Ledger, subject_id: str, voter: str, criterion: str) -> set[tuple[str, str]]:
    return {(r.item_a, r.item_b) for r in ledger.reviews.votes(subject_id, criterion, voter=voter)}


def next_ballot(ledger: Ledger, subject: Subject, voter: str, criterion: str, *, size: int = 2,
                rng: random.Random | None = None) -> list[str] | None:
    """The takes to show this voter next (random order): the pair whose vote narrows the ranking most among
    the pairs they have not answered, grown to `size` with the takes of the next such pairs. None when
    they answered every pair (or there are fewer than two takes)."""
    rng = rng or random.Random()
    takes = sorted(subject.videos)
    if len(takes) < 2:
        return None
    done = voted_pairs(ledger, subject.id, voter, criterion)
    open_pairs = [p for p in itertools.combinations(takes, 2) if pair_of(*p) not in done]
    if not open_pairs:
        return None
    comps = comparisons(ledger.reviews.votes(subject.id, criterion))
    order = list(takes)
    rng.shuffle(order)  # equal pairs (no votes yet) come in a different order for each ballot
    r = ranking.rank(order, comps, rounds=0, k=len(open_pairs), skip=done)
    chosen: list[str] = []
    size = max(config.VOTE_MIN_SHOWN, min(size, config.VOTE_MAX_SHOWN, len(takes)))
    for a, b in r.next_pairs or open_pairs:
        for t in (a, b):
            if t not in chosen and len(chosen) < size:
                chosen.append(t)
        if len(chosen) >= size:
            break
    rng.shuffle(chosen)
    return chosen


# --- what the votes add up to ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rankings:
    criterion: str
    votes: int  # vote rows (pairs) on this question
    voters: int
    takes: ranking.Ranking
    variants: ranking.Ranking | None  # an experiment's cells (items: cell keys)
    axes: tuple[tuple[str, ranking.Ranking], ...] = ()  # per axis: its values (items: value labels)


def rankings(ledger: Ledger, subject: Subject, criterion: str, *, rounds: int = config.RANK_BOOTSTRAP_ROUNDS,
             seed: int = 0) -> Rankings:
    """The ranking of the takes, of the experiment's variants (cells) and of each axis value on one
    question, with intervals, how many votes each rests on and the pairs to vote on next."""
    rows = ledger.reviews.votes(subject.id, criterion)
    comps = comparisons(rows)
    # an experiment's takes are ranked for the next pairs only (its variants carry the intervals)
    takes = ranking.rank(sorted(subject.videos), comps, rounds=0 if subject.cell_of else rounds, seed=seed)
    variants = None
    axes: list[tuple[str, ranking.Ranking]] = []
    if subject.cell_of:
        cells = list(subject.cell_labels)
        variants = ranking.rank(cells, ranking.map_comparisons(comps, subject.cell_of), rounds=rounds,
                                seed=seed)
        for name, value_of in subject.axis_values:
            group = {take: value_of[cell] for take, cell in subject.cell_of.items() if cell in value_of}
            values = list(dict.fromkeys(value_of.values()))
            axes.append((name, ranking.rank(values, ranking.map_comparisons(comps, group), rounds=rounds,
                                            seed=seed)))
    return Rankings(criterion, len(rows), len({r.voter for r in rows}), takes, variants, tuple(axes))


def votes_by_take(ledger: Ledger, subject_id: str) -> dict[str, dict[str, float]]:
    """For the table and the review pack: per take, its wins (ties half) and pairs voted, all questions."""
    out: dict[str, dict[str, float]] = {}
    for r in ledger.reviews.votes(subject_id):
        for item, won in ((r.item_a, r.outcome), (r.item_b, 1.0 - r.outcome)):
            entry = out.setdefault(item, {"wins": 0.0, "pairs": 0.0})
            entry["wins"] += won
            entry["pairs"] += 1
    return out


def summary_line(r: Rankings) -> str:
    """'12 votes from 3 people on “Better motion”'."""
    return (f"{r.votes} vote{'s' if r.votes != 1 else ''} from {r.voters} "
            f"{'person' if r.voters == 1 else 'people'} on “{r.criterion}”")


def standing_rows(r: ranking.Ranking, labels: Mapping[str, str] | None = None) -> list[dict[str, object]]:
    """A ranking as table rows: place, label, score and its interval (in %), votes, wins."""
    rows = []
    for place, s in enumerate(r.standings, start=1):
        rows.append({"place": place, "variant": (labels or {}).get(s.item, s.item),
                     "score %": round(100 * s.score), "low %": round(100 * s.score_low),
                     "high %": round(100 * s.score_high), "votes": s.votes, "wins": s.wins})
    return rows


def ranking_tables(r: Rankings, subject: Subject) -> list[tuple[str, list[dict[str, object]]]]:
    """The rankings as (heading, rows) for the review pack and the page: variants, then each axis."""
    if r.votes == 0:
        return []
    head = f"“{r.criterion}” — {r.votes} votes from {r.voters} {'person' if r.voters == 1 else 'people'}"
    out: list[tuple[str, list[dict[str, object]]]] = []
    if r.variants is not None:
        out.append((f"{head}: variants", standing_rows(r.variants, subject.cell_labels)))
        out += [(f"{head}: {name}", standing_rows(axis)) for name, axis in r.axes]
    else:
        out.append((f"{head}: takes", standing_rows(r.takes)))
    return out
