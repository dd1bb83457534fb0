"""`python -m core smoke --router mulerouter|apimart`: one real job, the cheapest, followed to the video.

The first thing an operator runs with a new key: it says what it will send and about what it costs, sends
only after "yes" is typed, then prints every request and answer (the key masked: `Bearer ***`, and scrubbed
from every body) while it follows the task to its video, and saves the video. The job is sent from this
process with the operator's key and base URL (environment, then secrets.toml) and never recorded in the
ledger; the POST is made once (never replayed: core/net/http.py post_once).

Exit codes: 0 the video arrived, 1 it did not (refused, failed, unknown, too slow), 2 nothing was sent (no
key, no "yes").
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import httpx

from core import config
from core.authoring import catalog, check, pricing
from core.errors import StudioError, SubmissionUnknownError, redact
from core.jobs import access as acc
from core.jobs import providers
from core.models import RouterAccess, TaskStatus
from core.net.http import make_client, redact_obj

EXIT_OK, EXIT_FAILED, EXIT_NOT_SENT = 0, 1, 2
PROMPT = "A paper boat drifts on a calm pond at dawn, gentle ripples, soft light."
CHEAPEST = {  # the cheapest request of each router: plain text to video, std (720p), no sound, shortest
    config.MULEROUTER: ("mulerouter/kling-v3/text-to-video",
                        {"prompt": PROMPT, "mode": "std", "sound": "off", "aspect_ratio": "16:9"}),
    config.APIMART: ("apimart/kling-v3",
                     {"model": "kling-v3", "prompt": PROMPT, "mode": "std", "audio": False,
                      "aspect_ratio": "16:9"}),
}
SHORTEST_FIRST = (3, 5)  # the shortest duration the app's own check accepts for that endpoint
BODY_PRINT_MAX_CHARS = 2000


def cheapest_request(router: str) -> tuple[catalog.Endpoint, dict[str, Any]]:
    """The endpoint and body of the cheapest job on `router` (the shortest valid duration)."""
    endpoint_id, base = CHEAPEST[router]
    endpoint = catalog.get(endpoint_id)
    for seconds in SHORTEST_FIRST:
        body = {**base, "duration": seconds}
        if not check.problems(endpoint_id, body):
            return endpoint, body
    raise ValueError(f"no valid cheapest request for {router}")  # the catalog changed: say so loudly


def _show(value: Any, key: str) -> str:
    text = json.dumps(redact_obj(value, key), ensure_ascii=False, default=str)
    return text if len(text) <= BODY_PRINT_MAX_CHARS else text[: BODY_PRINT_MAX_CHARS - 1] + "…"


def printing_client(key: str, out: TextIO) -> httpx.Client:
    """A client that prints each request and answer: method, URL, the Authorization header masked, JSON bodies
    with the key scrubbed; a video answer only by its status and type (it is streamed to the file)."""

    def on_request(request: httpx.Request) -> None:
        auth = "Authorization: Bearer ***" if "authorization" in request.headers else "(no key sent)"
        print(f"→ {request.method} {redact(str(request.url), key)}   {auth}", file=out, flush=True)
        if request.content:
            try:
                print(f"  body: {_show(json.loads(request.content), key)}", file=out, flush=True)
            except ValueError:
                print(f"  body: {len(request.content)} bytes", file=out, flush=True)

    def on_response(response: httpx.Response) -> None:
        kind = response.headers.get("content-type", "")
        trace = response.headers.get("traceparent")
        print(f"← HTTP {response.status_code} {kind}" + (f"   traceparent {trace}" if trace else ""),
              file=out, flush=True)
        if "json" in kind or kind.startswith("text/"):
            response.read()
            try:
                shown = _show(response.json(), key)
            except ValueError:
                shown = redact(response.text[:BODY_PRINT_MAX_CHARS], key)
            print(f"  answer: {shown}", file=out, flush=True)

    client = make_client()
    client.event_hooks = {"request": [on_request], "response": [on_response]}
    return client


def _ask(question: str, stdin: TextIO, out: TextIO) -> bool:
    print(question, file=out, end=" ", flush=True)
    answer = stdin.readline()
    if not (hasattr(stdin, "isatty") and stdin.isatty()):
        print(answer.strip(), file=out)  # typed on a terminal, the answer ends its own line
    return answer.strip().lower() == "yes"


def main(router: str, *, yes: bool = False, out_dir: str | None = None, stdin: TextIO, out: TextIO,
         err: TextIO, access: RouterAccess | None = None, sleep: Callable[[float], None] = time.sleep,
         clock: Callable[[], float] = time.monotonic) -> int:
    """Send the cheapest job on `router` after a "yes", follow it to its video, print every exchange."""
    label = config.ROUTER_LABELS[router]
    access = access or acc.operator_access(router)
    if access is None:
        print(f"No {label} key is set: set ${config.KEY_ENV_VARS[router]} (or the same name in "
              ".streamlit/secrets.toml). Nothing was sent.", file=err)
        return EXIT_NOT_SENT
    endpoint, body = cheapest_request(router)
    guess = pricing.estimate(endpoint, body, pricing.operator_table())
    cost = "an unknown amount"
    if guess.total_usd is not None:
        cost = f"about ${guess.total_usd:.2f} ({guess.basis})"
    print(f"This sends ONE real job to {label} at {access.base_url} with the operator's key:", file=out)
    print(f"  {endpoint.id}  {json.dumps(body, ensure_ascii=False)}", file=out)
    print(f"It will cost {cost}; the router's own price decides.", file=out)
    if not yes and not _ask("Type yes to send it:", stdin, out):
        print("Not sent.", file=out)
        return EXIT_NOT_SENT
    with printing_client(access.key, out) as client:
        return _follow(client, endpoint, body, access, out_dir, out, sleep, clock)


def _follow(client: httpx.Client, endpoint: catalog.Endpoint, body: dict[str, Any], access: RouterAccess,
            out_dir: str | None, out: TextIO, sleep: Callable[[float], None],
            clock: Callable[[], float]) -> int:
    try:
        ref, _reply = providers.submit(client, endpoint, body, access)
    except SubmissionUnknownError as exc:
        print(f"UNKNOWN: {exc.user_message}", file=out)
        return EXIT_FAILED
    except StudioError as exc:
        print(f"REFUSED: {exc.user_message} Nothing was created.", file=out)
        return EXIT_FAILED
    print(f"Accepted as task {ref.task_id}. Asking for its status every {config.SMOKE_POLL_S:g} s …",
          file=out)
    started = clock()
    status: TaskStatus | None = None
    while clock() - started < config.SMOKE_TIMEOUT_S:
        sleep(config.SMOKE_POLL_S)
        try:
            status = providers.poll(client, ref, access)
        except StudioError as exc:
            print(f"  (status check failed: {exc.user_message}; trying again)", file=out)
            continue
        print(f"  status: {status.state.value}" + (f", {status.progress} %" if status.progress is not None
                                                    else ""), file=out)
        if status.is_final:
            break
    if status is None or not status.is_final:
        print(f"Still not finished after {config.SMOKE_TIMEOUT_S:g} s; task {ref.task_id} may still finish "
              "on the router (track it on the Jobs page).", file=out)
        return EXIT_FAILED
    if status.cost is not None:
        print(f"The router says it charged ${status.cost:.4f}.", file=out)
    if not status.video_urls:
        print(f"FAILED: {status.error_message or 'no video in the answer'}", file=out)
        return EXIT_FAILED
    folder = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="studio-smoke-"))
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"{ref.task_id}.mp4"
    try:
        size = providers.download(client, status.video_urls[0], dest, allowed_origins=(access.base_url,))
    except StudioError as exc:
        print(f"The video could not be fetched: {exc.user_message}", file=out)
        return EXIT_FAILED
    print(f"OK: the video ({size} bytes) is at {dest}", file=out)
    return EXIT_OK


__all__ = ["cheapest_request", "main", "printing_client"]
