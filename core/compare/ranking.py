"""A ranking from pairwise votes (pure, no Streamlit): Bradley–Terry strengths, bootstrap intervals, and the
pairs whose next vote narrows the ranking most.

    comps = [Comparison("a", "b", 1.0), Comparison("b", "c", 0.5), …]   # 1: a won, 0: b won, 0.5: a tie
    r = rank(["a", "b", "c"], comps, rounds=200, seed=1)
    r.standings[0].item, r.standings[0].low, r.standings[0].high, r.votes, r.next_pairs

The fit is choix's ILSR (`choix.ilsr_pairwise`, Bradley–Terry by iterative Luce spectral ranking) with a small
regularisation (config.RANK_ALPHA: a take that won 3–0 gets a finite strength). choix takes (winner, loser)
pairs only, so every vote goes in twice: a win as two wins, a tie as one win each way — the same maximum as
counting a tie as half a win for each side.

Strengths are log-odds centred on 0; they are shown as a *score*: the chance of being preferred over an
average one of the items (sigmoid of the strength), 0–100 %. The interval is a percentile bootstrap
(votes drawn again with replacement, the fit repeated `rounds` times, config.RANK_LEVEL coverage).

Next pairs: one more vote on pair (i, j) brings the Fisher information p(1−p) about the difference of their
strengths (p: the chance i beats j as fitted). With that difference uncertain by v (the bootstrap variances
of both plus config.RANK_PRIOR_VAR / (1 + votes) each: an item nobody voted on is very uncertain, which the
bootstrap alone cannot show), a Gaussian update takes the variance from v to 1/(1/v + p(1−p)); the pairs with
the largest drop come first. Close, little-voted pairs win; a settled or lopsided pair waits.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import choix
import numpy as np

from core import config


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    outcome: float  # 1.0: a won, 0.0: b won, 0.5: a tie


@dataclass(frozen=True)
class Standing:
    item: str
    strength: float  # centred log-strength
    low: float  # the interval's ends (log-strength)
    high: float
    votes: int  # comparisons this item took part in
    wins: float  # ties count half

    @property
    def score(self) -> float:
        return score(self.strength)

    @property
    def score_low(self) -> float:
        return score(self.low)

    @property
    def score_high(self) -> float:
        return score(self.high)


@dataclass(frozen=True)
class Ranking:
    standings: tuple[Standing, ...]  # best first
    votes: int  # comparisons it rests on
    next_pairs: tuple[tuple[str, str], ...] = ()
    level: float = config.RANK_LEVEL

    def of(self, item: str) -> Standing | None:
        return next((s for s in self.standings if s.item == item), None)


def score(strength: float) -> float:
    """The chance (0–1) of being preferred over an average item."""
    return 1.0 / (1.0 + math.exp(-strength))


def win_chance(si: float, sj: float) -> float:
    return 1.0 / (1.0 + math.exp(sj - si))


def _choix_data(index: dict[str, int], comps: Iterable[Comparison]) -> list[tuple[int, int]]:
    data: list[tuple[int, int]] = []
    for c in comps:
        i, j = index[c.a], index[c.b]
        if c.outcome >= 1.0:
            data += [(i, j), (i, j)]
        elif c.outcome <= 0.0:
            data += [(j, i), (j, i)]
        else:
            data += [(i, j), (j, i)]
    return data


def fit(items: Sequence[str], comps: Sequence[Comparison], *, alpha: float = config.RANK_ALPHA) -> np.ndarray:
    """Centred Bradley–Terry log-strengths of `items` (in their order). Comparisons naming an item not in
    `items`, or an item against itself, are ignored; no comparisons: all zero."""
    index = {item: k for k, item in enumerate(items)}
    usable = [c for c in comps if c.a in index and c.b in index and c.a != c.b]
    if len(items) < 2 or not usable:
        return np.zeros(len(items))
    params = choix.ilsr_pairwise(len(items), _choix_data(index, usable), alpha=alpha)
    return params - params.mean()


def _usable(items: Sequence[str], comps: Iterable[Comparison]) -> list[Comparison]:
    known = set(items)
    return [c for c in comps if c.a in known and c.b in known and c.a != c.b]


def bootstrap(items: Sequence[str], comps: Sequence[Comparison], *, rounds: int, seed: int = 0,
              alpha: float = config.RANK_ALPHA) -> np.ndarray:
    """`rounds` × len(items) strengths fitted on votes drawn again with replacement."""
    rng = random.Random(seed)
    n = len(comps)
    out = np.zeros((max(0, rounds), len(items)))
    if n == 0:
        return out
    for r in range(rounds):
        sample = [comps[rng.randrange(n)] for _ in range(n)]
        out[r] = fit(items, sample, alpha=alpha)
    return out


def pair_gain(si: float, sj: float, var: float) -> float:
    """How much one more vote on a pair lowers the variance `var` of the difference of their strengths."""
    info = win_chance(si, sj) * (1.0 - win_chance(si, sj))
    return var - 1.0 / (1.0 / var + info) if var > 0 else 0.0


def next_pairs(items: Sequence[str], strengths: Sequence[float], variances: Sequence[float],
               counts: Sequence[int], *, k: int = config.RANK_NEXT_PAIRS,
               skip: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The `k` pairs whose next vote narrows the ranking most (see the module docstring), best first;
    pairs in `skip` (either order) are left out."""
    done = {frozenset(p) for p in skip}
    scored = []
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if frozenset((items[i], items[j])) in done:
                continue
            var = (variances[i] + config.RANK_PRIOR_VAR / (1 + counts[i])
                   + variances[j] + config.RANK_PRIOR_VAR / (1 + counts[j]))
            scored.append((-pair_gain(strengths[i], strengths[j], var), i, j))
    scored.sort()
    return [(items[i], items[j]) for _, i, j in scored[:k]]


def rank(items: Sequence[str], comps: Iterable[Comparison], *, rounds: int = config.RANK_BOOTSTRAP_ROUNDS,
         level: float = config.RANK_LEVEL, seed: int = 0, k: int = config.RANK_NEXT_PAIRS,
         skip: Iterable[tuple[str, str]] = ()) -> Ranking:
    """The ranking of `items` (distinct) by the comparisons between them, best first, with intervals and the
    next pairs to vote on."""
    items = list(dict.fromkeys(items))
    used = _usable(items, comps)
    strengths = fit(items, used)
    boots = bootstrap(items, used, rounds=rounds, seed=seed) if used else np.zeros((0, len(items)))
    tail = (1.0 - level) / 2.0
    counts = [0] * len(items)
    wins = [0.0] * len(items)
    index = {item: k for k, item in enumerate(items)}
    for c in used:
        counts[index[c.a]] += 1
        counts[index[c.b]] += 1
        wins[index[c.a]] += c.outcome
        wins[index[c.b]] += 1.0 - c.outcome
    standings = []
    variances = []
    for k_, item in enumerate(items):
        if len(boots):
            low, high = (float(x) for x in np.quantile(boots[:, k_], [tail, 1.0 - tail]))
            variances.append(float(np.var(boots[:, k_])))
        else:
            low = high = 0.0
            variances.append(0.0)
        low, high = min(low, float(strengths[k_])), max(high, float(strengths[k_]))
        standings.append(Standing(item, float(strengths[k_]), low, high, counts[k_], wins[k_]))
    order = sorted(range(len(items)), key=lambda i: (-standings[i].strength, -standings[i].wins, i))
    pairs = next_pairs(items, list(map(float, strengths)), variances, counts, k=k, skip=skip)
    return Ranking(tuple(standings[i] for i in order), len(used), tuple(pairs), level)


def map_comparisons(comps: Iterable[Comparison], group_of: dict[str, str]) -> list[Comparison]:
    """The comparisons between groups of items (takes → their cell, cells → an axis value): a comparison
    whose two items fall in the same group, or in none, says nothing about the groups and is dropped."""
    out = []
    for c in comps:
        ga, gb = group_of.get(c.a), group_of.get(c.b)
        if ga is None or gb is None or ga == gb:
            continue
        out.append(Comparison(ga, gb, c.outcome))
    return out
