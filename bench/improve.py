"""Improve-the-wording benchmark: `python bench/improve.py [--runs N]`.

Against the router emulator's chat endpoint over loopback HTTP, in one process:

- baseline: a bare httpx POST of the same chat request to `/v1/chat/completions` (what any client pays);
- improve: the whole path the button takes (messages from the instructions file, the bounded POST of
  core/net/fetch.post_json, the strict reading, the checks: tokens, limits, check.preflight, the word diff
  and the linter's cautions), and its ratio to the baseline;
- the checks alone (check_proposal on a ready answer, no HTTP) for a one-prompt request and for a six-shot
  request with a 2,400-character main prompt: what the app adds to the chat model's own time.

Medians of `--runs` (default 30). A real chat model answers in seconds; these show the app's share is small.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.authoring import improve as im  # noqa: E402
from core.emulator import start_emulator  # noqa: E402
from core.emulator.chat import rewrite  # noqa: E402
from core.net import http, llm  # noqa: E402

T2V = "mulerouter/kling-v3-omni/text-to-video"
ONE = {"prompt": "A very big dog runs along a nice beach", "duration": 5}
SHOTS = {"prompt": ("A lighthouse keeper climbs the spiral stairs at night, lantern swinging. " * 33)[:2400],
         "multi_shot": True, "shot_type": "customize", "duration": 12,
         "multi_prompt": [{"prompt": f"Shot {i}: the keeper looks out over a nice grey sea", "duration": 2}
                          for i in range(1, 7)]}


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    with start_emulator() as emu, http.make_client() as client:
        settings = llm.demo_chat(emu.base_url)
        req = im.request_from_body(T2V, ONE, "text")
        messages = im.build_messages(req)
        body = llm.request_body(settings, messages)
        headers = {"Authorization": f"Bearer {settings.key}"}

        def bare() -> None:
            client.post(settings.url, json=body, headers=headers).raise_for_status()

        def whole() -> None:
            im.improve(req, ONE, lambda m: llm.ask(client, settings, m), settings.label)

        for fn in (bare, whole):  # warm up
            fn()
        base = median_ms(bare, runs)
        full = median_ms(whole, runs)
        print(f"bare POST to the emulator's chat endpoint: {base:.2f} ms (baseline)")
        print(f"Improve, whole path:                       {full:.2f} ms = {full / base:.2f} × baseline")
        for name, sample in (("one prompt", ONE), ("six shots + 2,400-char prompt", SHOTS)):
            request = im.request_from_body(T2V, sample, "text")
            answer = im.parse_answer(json.dumps(rewrite(im.request_payload(request))))
            checks = median_ms(lambda r=request, s=sample, a=answer: im.check_proposal(r, s, a), runs)
            print(f"checks alone, {name}: {checks:.2f} ms = {checks / base:.2f} × baseline")


if __name__ == "__main__":
    main()
