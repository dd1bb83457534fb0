"""Prompt-linter benchmark: `python bench/prompt_lint.py [--rounds N]`.

What the prompt help adds to a Create-page rerun, as ratios against a baseline measured in the same process:
the request check the form already ran on every rerun (`check.problems` + `check.cautions`, the schema and
its rules) on the same bodies. Measured: `lint.lint` alone, and `lint.lint` + `structure.read` (what the
help panel draws), over the 20 public prompts of scripts/lint_examples.toml and the starter templates.
The readings are cached per text (a rerun with the same prompt reads it once), as on the Create page.
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.authoring import check, lint, structure, templates  # noqa: E402

T2V = "mulerouter/kling-v3-omni/text-to-video"


def bodies() -> list[tuple[str, dict]]:
    public = tomllib.loads((ROOT / "scripts" / "lint_examples.toml").read_text(encoding="utf-8"))["prompt"]
    out = [(T2V, {"prompt": p["text"], "duration": 5}) for p in public]
    return out + [(t.endpoint_id, t.body) for t in templates.templates()]


def timed(rounds: int, work: Callable[[], object]) -> float:
    work()  # warm caches (compiled patterns, the vocabulary file)
    start = time.perf_counter()
    for _ in range(rounds):
        work()
    return (time.perf_counter() - start) / rounds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    items = bodies()

    def baseline() -> None:
        for endpoint_id, body in items:
            check.problems(endpoint_id, body)
            check.cautions(endpoint_id, body)

    def linted() -> None:
        for endpoint_id, body in items:
            lint.lint(body, endpoint_id)

    def panel() -> None:
        for endpoint_id, body in items:
            lint.lint(body, endpoint_id)
            structure.read(str(body.get("prompt") or ""))

    base = timed(rounds, baseline)
    one, both = timed(rounds, linted), timed(rounds, panel)
    per = 1000 / len(items)
    print(f"{len(items)} bodies, {rounds} rounds")
    print(f"baseline check.problems + check.cautions: {base * per:.2f} ms per body")
    print(f"lint.lint: {one * per:.2f} ms per body, {one / base:.2f}x the baseline")
    print(f"lint.lint + structure.read (the help panel): {both * per:.2f} ms per body, {both / base:.2f}x")


if __name__ == "__main__":
    main()
