"""A ranking from pairwise votes (pure, no Streamlit): Bradley–Terry strengths, bootstrap intervals, and the
pairs whose next vote narrows the ranking most.

    comps = [Comparison("a", "b", 1.0), Comparison("b", "c", 0.5), …]   # 1: a won, 0: b won, 0.5: a tie
    r = rank(["a", "b", "c"], comps, rounds=200, seed=1)
    r.standings[0].item, r.standings[0].low, r.standings[0].high, r.votes, r.next_pairs

The fit is choix's ILSR on the matrix of wins (`choix.ilsr_pairwise_dense`: Bradley–Terry by iterative Luce
spectral ranking) with a small regularisation (config.RANK_ALPHA: a take that won 3–0 gets a finite
strength). A tie counts as half a win for each side.

Strengths are log-odds centred on 0; they are shown as a *score*: the chance of being preferred over an
average one of the items (sigmoid of the strength), 0–100 %. The interval is a percentile bootstrap
(votes drawn again with replacement, the fit repeated `rounds` times, config.RANK_LEVEL coverage).

Next pairs: one more vote on pair (i, j) brings the Fisher information p(1−p) about the difference of their
strengths (p: the chance i beats j as fitted). With that difference uncertain by v = v_i + v_j (each v the
inverse of a Gaussian prior's precision, 1/config.RANK_PRIOR_VAR, plus the item's Fisher information from the
votes so far: an item nobody voted on is very uncertain), an update takes the variance from v to
1/(1/v + p(1−p)); the pairs with the largest drop come first. Close, little-voted pairs win; a settled or
lopsided pair waits. This needs one fit, no bootstrap, so choosing the next ballot stays fast.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core import config

if TYPE_CHECKING:  # numpy, and choix (it brings scipy: ~1.5 s), are imported where a fit runs, not with the
    import numpy as np  # pages that merely import this module (issue 21: fast start)


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


def _matrices(items: Sequence[str], comps: Sequence[Comparison]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i index, j index, outcome) arrays of the usable comparisons."""
    import numpy as np

    index = {item: k for k, item in enumerate(items)}
    ii = np.fromiter((index[c.a] for c in comps), dtype=np.intp, count=len(comps))
    jj = np.fromiter((index[c.b] for c in comps), dtype=np.intp, count=len(comps))
    out = np.fromiter((float(c.outcome) for c in comps), dtype=float, count=len(comps))
    return ii, jj, out


def win_matrix(n: int, ii: np.ndarray, jj: np.ndarray, outcome: np.ndarray,
               weights: np.ndarray | None = None) -> np.ndarray:
    """wins[i, j]: how often i beat j (a tie is half a win each way); `weights`: how often each vote counts
    (a bootstrap draw)."""
    import numpy as np

    w = np.ones(len(ii)) if weights is None else weights
    wins = np.zeros((n, n))
    np.add.at(wins, (ii, jj), w * outcome)
    np.add.at(wins, (jj, ii), w * (1.0 - outcome))
    return wins


def _fit_matrix(wins: np.ndarray, alpha: float, start: np.ndarray | None = None,
                tol: float = 1e-8) -> np.ndarray:
    import choix
    import numpy as np

    if len(wins) < 2 or not wins.any():
        return np.zeros(len(wins))
    params = choix.ilsr_pairwise_dense(wins, alpha=alpha, initial_params=start, tol=tol)
    return params - params.mean()


def _usable(items: Sequence[str], comps: Iterable[Comparison]) -> list[Comparison]:
    known = set(items)
    return [c for c in comps if c.a in known and c.b in known and c.a != c.b]


def fit(items: Sequence[str], comps: Sequence[Comparison], *, alpha: float = config.RANK_ALPHA) -> np.ndarray:
    """Centred Bradley–Terry log-strengths of `items` (in their order), by choix's ILSR on the matrix of wins.
    Comparisons naming an item not in `items`, or an item against itself, are ignored; none: all zero."""
    import numpy as np

    used = _usable(items, comps)
    if len(items) < 2 or not used:
        return np.zeros(len(items))
    return _fit_matrix(win_matrix(len(items), *_matrices(items, used)), alpha)


def bootstrap(items: Sequence[str], comps: Sequence[Comparison], *, rounds: int, seed: int = 0,
              alpha: float = config.RANK_ALPHA, start: np.ndarray | None = None) -> np.ndarray:
    """`rounds` × len(items) strengths fitted on votes drawn again with replacement (each draw a multinomial
    count per vote; the fit starts from `start`, the full fit, to converge in a few steps)."""
    import numpy as np

    used = _usable(items, comps)
    out = np.zeros((max(0, rounds), len(items)))
    if not used or len(items) < 2:
        return out
    ii, jj, outcome = _matrices(items, used)
    rng = np.random.default_rng(seed)
    n = len(used)
    for r in range(rounds):
        weights = rng.multinomial(n, np.full(n, 1.0 / n)).astype(float)
        out[r] = _fit_matrix(win_matrix(len(items), ii, jj, outcome, weights), alpha, start,
                             config.RANK_BOOTSTRAP_TOL)
    return out


def fisher_variances(strengths: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """How uncertain each strength is: 1 / (prior precision + Fisher information), the information of item i
    being Σ_j n_ij p_ij (1 − p_ij) (n_ij: votes between i and j). An item nobody voted on keeps the prior's
    config.RANK_PRIOR_VAR."""
    import numpy as np

    diff = strengths[:, None] - strengths[None, :]
    p = 1.0 / (1.0 + np.exp(-diff))
    info = (counts * p * (1.0 - p)).sum(axis=1)
    return 1.0 / (1.0 / config.RANK_PRIOR_VAR + info)


def pair_gain(si: float, sj: float, var: float) -> float:
    """How much one more vote on a pair lowers the variance `var` of the difference of their strengths."""
    info = win_chance(si, sj) * (1.0 - win_chance(si, sj))
    return var - 1.0 / (1.0 / var + info) if var > 0 else 0.0


def next_pairs(items: Sequence[str], strengths: Sequence[float], variances: Sequence[float], *,
               k: int = config.RANK_NEXT_PAIRS,
               skip: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The `k` pairs whose next vote narrows the ranking most (see the module docstring), best first;
    pairs in `skip` (either order) are left out."""
    done = {frozenset(p) for p in skip}
    scored = []
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if frozenset((items[i], items[j])) in done:
                continue
            scored.append((-pair_gain(strengths[i], strengths[j], variances[i] + variances[j]), i, j))
    scored.sort()
    return [(items[i], items[j]) for _, i, j in scored[:k]]


def rank(items: Sequence[str], comps: Iterable[Comparison], *, rounds: int = config.RANK_BOOTSTRAP_ROUNDS,
         level: float = config.RANK_LEVEL, seed: int = 0, k: int = config.RANK_NEXT_PAIRS,
         skip: Iterable[tuple[str, str]] = ()) -> Ranking:
    """The ranking of `items` (distinct) by the comparisons between them, best first, with intervals (none
    with `rounds` 0: each interval is then its point) and the next pairs to vote on."""
    import numpy as np

    items = list(dict.fromkeys(items))
    used = _usable(items, comps)
    n = len(items)
    if used and n >= 2:
        ii, jj, outcome = _matrices(items, used)
        wins = win_matrix(n, ii, jj, outcome)
        strengths = _fit_matrix(wins, config.RANK_ALPHA)
        counts = wins + wins.T
    else:
        strengths, counts = np.zeros(n), np.zeros((n, n))
    boots = (bootstrap(items, used, rounds=rounds, seed=seed, start=strengths) if used and rounds > 0
             else np.zeros((0, n)))
    tail = (1.0 - level) / 2.0
    voted = counts.sum(axis=1)
    won = np.zeros(n) if not used else win_matrix(n, ii, jj, outcome).sum(axis=1)
    standings = []
    for k_, item in enumerate(items):
        point = float(strengths[k_])
        low = high = point
        if len(boots):
            low, high = (float(x) for x in np.quantile(boots[:, k_], [tail, 1.0 - tail]))
            low, high = min(low, point), max(high, point)
        standings.append(Standing(item, point, low, high, round(voted[k_]), float(won[k_])))
    order = sorted(range(n), key=lambda i: (-standings[i].strength, -standings[i].wins, i))
    variances = fisher_variances(strengths, counts)
    pairs = next_pairs(items, list(map(float, strengths)), list(map(float, variances)), k=k, skip=skip)
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
