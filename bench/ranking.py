"""Ranking benchmark: `python bench/ranking.py [--rounds N]`.

The blind votes' ranking (core/compare/ranking.py: choix's Bradley–Terry fit, a bootstrap of `--rounds`
refits for the intervals, the next pairs) on synthetic votes, for a small, a medium and the largest
experiment (4, 16 and 96 takes; 100, 500 and 2000 pairs voted). Printed against a baseline run in the same
process: one plain fit of the same votes. The ratio shows what the interval costs (about rounds + 1 fits);
the seconds show what a page waits the first time a set of votes is ranked (the page caches the result
until a vote changes it: ui/compare/vote_view.py rankings_of).

Also: votes.next_ballot's ranking (50 rounds) for the 96-take experiment, as a ratio to the same baseline.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import config  # noqa: E402
from core.compare import ranking  # noqa: E402

SIZES = ((4, 100), (16, 500), (96, 2000))


def synthetic(n_items: int, n_votes: int, seed: int = 1) -> tuple[list[str], list[ranking.Comparison]]:
    rng = random.Random(seed)
    items = [f"take{i:03d}" for i in range(n_items)]
    strength = {t: rng.gauss(0, 1) for t in items}
    comps = []
    for _ in range(n_votes):
        a, b = rng.sample(items, 2)
        p = 1 / (1 + math.exp(strength[b] - strength[a]))
        comps.append(ranking.Comparison(a, b, 1.0 if rng.random() < p else 0.0))
    return items, comps


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=config.RANK_BOOTSTRAP_ROUNDS)
    args = parser.parse_args()
    print(f"ranking with {args.rounds} bootstrap rounds, against one plain fit of the same votes")
    for n_items, n_votes in SIZES:
        items, comps = synthetic(n_items, n_votes)
        base = timed(lambda items=items, comps=comps: ranking.fit(items, comps))
        full = timed(lambda items=items, comps=comps: ranking.rank(items, comps, rounds=args.rounds),
                     repeat=1)
        print(f"{n_items:3d} takes, {n_votes:4d} votes: one fit {base * 1000:7.2f} ms; ranking "
              f"{full:6.2f} s = {full / base:7.0f}× one fit")
    items, comps = synthetic(96, 2000)
    base = timed(lambda: ranking.fit(items, comps))
    ballot = timed(lambda: ranking.rank(items, comps, rounds=0, k=4), repeat=1)
    print(f"next ballot (96 takes, 2000 votes, no bootstrap): {ballot:.2f} s = {ballot / base:.0f}× one fit")


if __name__ == "__main__":
    main()
