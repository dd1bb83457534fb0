"""The prompt linter over the Library's starter templates and 20 public Kling prompts, as markdown tables.

    .venv/bin/python scripts/lint_examples.py

The public prompts (scripts/lint_examples.toml) are quoted from the pages named next to each; the "held-out"
ones were added after the rules were tuned on the others and were not used to tune them. Kept here so the
figures in the report can be reproduced.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.authoring import lint, templates

PROMPTS = Path(__file__).with_suffix(".toml")
FRAME = "https://example.com/frame.png"


def verdict(endpoint_id: str, body: dict) -> str:
    found = lint.lint(body, endpoint_id)
    return f"{len(found)} | " + ("; ".join(f"{c.rule.id} ({c.field})" for c in found) or "—")


def main() -> None:
    print("| starter template | endpoint | cautions | which |\n|---|---|---|---|")
    for t in templates.templates():
        print(f"| {t.name} | {t.endpoint_id} | {verdict(t.endpoint_id, t.body)} |")
    prompts = tomllib.loads(PROMPTS.read_text(encoding="utf-8"))["prompt"]
    for title, held_out in (("public prompt", False), ("held-out public prompt", True)):
        print(f"\n| # | {title} | s | cautions | which | source |\n|---|---|---|---|---|---|")
        rows = [p for p in prompts if bool(p.get("held_out")) == held_out]
        table(rows)


def table(rows: list[dict]) -> None:
    for i, p in enumerate(rows, start=1):
        body = {"prompt": p["text"], "duration": p["seconds"]}
        if p["first_frame"]:
            body["first_frame"] = FRAME
        print(f"| {i} | {p['name']} | {p['seconds']} | {verdict(p['endpoint'], body)} | {p['source']} |")


if __name__ == "__main__":
    main()
