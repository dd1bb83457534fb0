"""A local router emulator: MuleRouter and APIMart on one HTTP server on 127.0.0.1.

Used by the app in demo mode, by tests (over real loopback HTTP), and standalone:

    python -m core.emulator --port 8765 --complete-after 10 [--latency 0.2]

    handle = start_emulator(complete_after=1.0)   # → EmulatorHandle, serving in a daemon thread
    handle.base_url                               # "http://127.0.0.1:PORT" for both routers
    handle.set_fault("rate_limit", router="apimart", count=2, phase="poll", seconds=3)
    handle.submissions                            # every submit call: router, path, body, task_id, status
    handle.stop()

Routers (paths as the real ones, see ../shared/api-reference.md):
    MuleRouter  POST /vendors/klingai/v1/<model>/<variant>/<generation|edit>  → 202 {"task_info": …}
                GET  <same path>/<task_id>  → 200 pending → processing → completed (+ "videos") | failed
    APIMart     POST /v1/videos/generations ("model" picks the schema)  → 200 {"code":200,"data":[…]}
                GET  /v1/tasks/<task_id>  → {"code":200,"data":{status, progress, result, cost, …}}
                POST /v1/uploads/images (multipart "file")  → {url, filename, content_type, bytes, created_at}
    Bodies are validated with the app's own schemas (400 naming the field), any non-empty Bearer
    token is accepted (else 401; handle.set_keys([...]) accepts only those), unknown task ids (or a
    poll on another path) give 404.
    A task is "pending" for 10 % of complete_after, then "processing" with growing progress, then
    done; its video (a real H.264 MP4 in the requested aspect ratio and length; edits: 16:9, 5 s; at the
    requested size, with sound and with the storyboard's shot cuts when asked: request_clips.py, made once
    and cached) is at GET /_emulator/videos/<task_id>.mp4 (Range requests supported).

Faults (handle.set_fault(kind, router=None, count=1, phase="any", **params), or POST /_emulator/faults
with {"kind": …, "router": …, "count": …, "phase": …, params…}; count None/null = until cleared):
    server_error       5xx reply (param status, default 503)
    rate_limit         429 with Retry-After (param seconds, default 1)
    slow               wait (param seconds, default 5) before the normal reply
    drop               read the request, then close the connection with no reply at all
    malformed          200 with a body that is not JSON
    no_balance         402 "Insufficient balance"
    quota              429 "Daily spend limit reached" (a quota refusal, not a busy one)
    lost_task          (poll) the task is forgotten: this and later polls give 404
    fail               (submit) the next task ends failed with an upstream error
    moderated          (submit) the next task fails as it leaves the queue: content moderation
    drop_after_create  (submit) the task IS created and recorded, then the connection is dropped
    phase: "submit" | "poll" | "any" (= submit and poll) | "upload" | "download" (video GETs).
    Param task_id="…" limits a fault to calls about that task.

Account limit (handle.set_account_limit(N, shape) or POST /_emulator/account {account_limit, busy_shape}):
at most N tasks per router pending or processing at once, like a Kling account's concurrency; a submit over
it creates nothing and is refused as busy: shape "429" (429 + Retry-After, the router's words) or "1303"
(Kling's {"code": 1303, "message": "parallel task over resource pack limit"}: MuleRouter HTTP 400, APIMart
under HTTP 200). handle.peak_running / handle.busy_refusals count what happened.

Callbacks (core/emulator/callbacks.py): an APIMart task sent with `webhook` gets a POST to webhook +
"/callback" when it ends; with handle.set_callbacks(mulerouter_url=…, mulerouter_secret=…) MuleRouter
tasks post signed task.created / task.succeeded / task.failed events; knobs copies / delay_s / lose make
duplicates, late and lost ones; handle.deliveries records them.

Prompt markers (anywhere in `prompt` or a `multi_prompt[].prompt`), per task:
    [emu:fail]  [emu:moderated]  [emu:lost_task]  [emu:drop_after_create]
    [emu:server_error] [emu:rate_limit] [emu:slow] [emu:drop] [emu:malformed] [emu:no_balance]
        → hit the submit itself, every time that body is sent (no task is created);
    [emu:<kind>@poll] or [emu:<kind>@poll*N] → hit the first (N) polls of the new task.

Admin (no key needed): POST/GET/DELETE /_emulator/faults, GET /_emulator/submissions,
GET /_emulator/tasks, POST /_emulator/reset, GET/POST /_emulator/settings {complete_after, latency},
GET /_emulator/health.

May import: base, core.net and core.authoring (it validates bodies with the app's own check). Nothing
with state: it stands in for a router, outside the app.
"""

from core.emulator.server import EmulatorHandle, start_emulator
from core.emulator.state import FAULT_KINDS, PHASES

__all__ = ["FAULT_KINDS", "PHASES", "EmulatorHandle", "start_emulator"]
