"""The emulator's Starlette app: both routers' endpoints, video and upload serving, admin calls."""

from __future__ import annotations

import asyncio
import io
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from core import config
from core.authoring import catalog
from core.emulator import callbacks, chat, clips, replies, request_clips, validate
from core.emulator import state as st
from core.emulator.state import EmulatorState, Fault, Task
from core.net.fetch import sniff_video

MR = config.MULEROUTER
AM = config.APIMART
_BEARER = re.compile(r"^\s*bearer\s+\S+", re.IGNORECASE)
_MALFORMED_BODY = b'{"task_info": {"id": "'  # cut off mid-string: not JSON
_UPLOAD_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
_VIDEO_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}
DropFn = Callable[[Any], bool]


def traceparent() -> str:
    """A W3C trace context header value, as MuleRouter sends on every reply (for support tickets)."""
    return f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"


def _json(router: str, status: int, body: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    headers = dict(headers or {})
    if router == MR:
        headers["Traceparent"] = traceparent()
    return JSONResponse(body, status_code=status, headers=headers)


def _error(router: str, status: int, message: str, **kw: Any) -> JSONResponse:
    headers = kw.pop("headers", None)
    return _json(router, status, replies.error_body(router, status, message, **kw), headers)


def _retry_after_header(seconds: float) -> str:
    """Whole seconds when whole (the HTTP form), else the fraction (lets tests stay fast)."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def is_edit(endpoint: catalog.Endpoint, body: dict[str, Any]) -> bool:
    """True when the output follows an input video (base edit): its shape is not in the body."""
    if endpoint.price.base_edit:
        return True
    videos = body.get("video_list")
    return isinstance(videos, list) and any(
        isinstance(v, dict) and v.get("refer_type", "base") == "base" for v in videos
    )


class EmulatorApp:
    """Holds the state and builds the ASGI app; `drop` closes a client's connection (set by the server)."""

    def __init__(self, state: EmulatorState, *, clock: Callable[[], float], wall: Callable[[], float],
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.state = state
        self.clock = clock
        self.wall = wall
        self.sleep = sleep
        self.drop: DropFn = lambda client: False
        self.callbacks = callbacks.CallbackSender(state, clock, wall, sleep)
        self.chat = chat.ChatEndpoint(sleep)  # "Improve the wording": an OpenAI-compatible chat model
        prefix = catalog.MR_PREFIX
        self.app = Starlette(routes=[
            Route(prefix + "/{model}/{variant}/{verb}", self.mr_submit, methods=["POST"]),
            Route(prefix + "/{model}/{variant}/{verb}/{task_id}", self.mr_poll, methods=["GET"]),
            Route(catalog.APIMART_SUBMIT_PATH, self.am_submit, methods=["POST"]),
            Route("/v1/tasks/{task_id}", self.am_poll, methods=["GET"]),
            Route("/v1/uploads/images", self.am_upload, methods=["POST"]),
            Route(config.EMULATOR_VIDEO_UPLOAD_PATH, self.video_upload, methods=["POST"]),
            Route("/_emulator/videos/{task_id}.mp4", self.video, methods=["GET", "HEAD"]),
            Route("/_emulator/uploads/{upload_id}/{filename}", self.upload_file, methods=["GET", "HEAD"]),
            Route("/_emulator/health", self.health, methods=["GET"]),
            Route("/_emulator/faults", self.admin_faults, methods=["GET", "POST", "DELETE"]),
            Route("/_emulator/submissions", self.admin_submissions, methods=["GET"]),
            Route("/_emulator/tasks", self.admin_tasks, methods=["GET"]),
            Route("/_emulator/reset", self.admin_reset, methods=["POST"]),
            Route("/_emulator/settings", self.admin_settings, methods=["GET", "POST"]),
            Route("/_emulator/account", self.admin_account, methods=["GET", "POST"]),
            Route(chat.CHAT_PATH, self.chat.completions, methods=["POST"]),
            Route(chat.ADMIN_PATH, self.chat.admin, methods=["GET", "POST", "DELETE"]),
        ])

    # -- shared steps ------------------------------------------------------------------------------
    async def _prelude(self, request: Request, router: str) -> Response | None:
        """Injected latency, then the Bearer check (any non-empty token is accepted)."""
        if self.state.latency > 0:
            await self.sleep(self.state.latency)
        header = request.headers.get("authorization", "")
        if not _BEARER.match(header):
            return _error(router, 401, "Missing or invalid API key. Send 'Authorization: Bearer <key>'.")
        keys = self.state.keys
        if keys is not None and header.strip()[len("bearer"):].strip() not in keys:
            return _error(router, 401, "Invalid API key.")
        return None

    async def _dropped(self, request: Request) -> Response:
        """Close the client's connection without a reply; the returned response is never written."""
        self.drop(request.scope.get("client"))
        await self.sleep(config.EMULATOR_DROP_SETTLE_S)
        return Response(status_code=500)

    async def _fault_reply(self, fault: Fault, router: str, request: Request) -> Response:
        params = fault.params
        if fault.kind == st.SERVER_ERROR:
            status = int(params.get("status", config.EMULATOR_SERVER_ERROR_STATUS))
            return _error(router, status, "The service is temporarily unavailable. Please retry later.")
        if fault.kind == st.RATE_LIMIT:
            seconds = float(params.get("seconds", params.get("retry_after", config.EMULATOR_RETRY_AFTER_S)))
            return _error(router, 429, "Rate limit exceeded. Please slow down.",
                          headers={"Retry-After": _retry_after_header(seconds)})
        if fault.kind == st.NO_BALANCE:
            return _error(router, 402, "Insufficient balance. Please top up your account to continue.")
        if fault.kind == st.QUOTA:
            return _error(router, 429, "Daily spend limit reached for this account. It resets at 00:00 UTC.")
        if fault.kind == st.MALFORMED:
            return Response(_MALFORMED_BODY, status_code=200, media_type="application/json")
        return await self._dropped(request)  # DROP

    async def _apply_request_faults(self, faults: list[Fault], router: str,
                                    request: Request) -> Response | None:
        """Sleep for every `slow`, then the first reply-replacing fault wins (None: carry on)."""
        for fault in faults:
            if fault.kind == st.SLOW:
                await self.sleep(float(fault.params.get("seconds", config.EMULATOR_SLOW_S)))
        for fault in faults:
            if fault.kind != st.SLOW:
                return await self._fault_reply(fault, router, request)
        return None

    def _armed(self, router: str, phase: str, task_id: str | None = None,
               kinds: tuple[str, ...] = st.REQUEST_KINDS) -> list[Fault]:
        """Armed faults this call consumes: at most one `slow` and one reply-replacing fault."""
        slow = self.state.take_fault((st.SLOW,), router, phase, task_id) if st.SLOW in kinds else None
        other = self.state.take_fault(tuple(k for k in kinds if k != st.SLOW), router, phase, task_id)
        return [f for f in (slow, other) if f is not None]

    # -- submit (both routers) ---------------------------------------------------------------------
    async def _submit(self, request: Request, router: str, endpoint: catalog.Endpoint | None) -> Response:
        path = request.url.path
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
            parsed = True
        except (json.JSONDecodeError, UnicodeDecodeError):
            body, parsed = raw.decode("utf-8", "replace"), False
        index = self.state.record_submission(router, path, body, status=0,
                                             key_hint=st.key_hint(request.headers.get("authorization", "")))

        def done(response: Response, task_id: str | None = None) -> Response:
            self.state.finish_submission(index, status=response.status_code, task_id=task_id)
            return response

        if (denied := await self._prelude(request, router)) is not None:
            return done(denied)
        if not parsed or not isinstance(body, dict):
            return done(_error(router, 400, "The request body must be a JSON object."))
        if (reply := await self._apply_request_faults(self._armed(router, st.SUBMIT), router, request)):
            return done(reply)
        if router == AM:
            endpoint = catalog.by_apimart_model(str(body.get("model", "")))
            if endpoint is None:
                known = ", ".join(e.model for e in catalog.ENDPOINTS if e.router == AM)
                return done(_error(router, 400, f"model: unknown or missing model (known: {known})",
                                   error_type="invalid_request_error"))
        assert endpoint is not None
        webhook = body.pop("webhook", None) if router == AM else None  # APIMart's callback URL (§8)
        if found := validate.problems(endpoint, body):
            message = "Invalid request: " + "; ".join(f"{p['field']}: {p['message']}" for p in found)
            return done(_error(router, 400, message, errors=found if router == MR else None))

        marked = st.markers(body)
        now_faults = [f for f in marked if f.kind in st.REQUEST_KINDS and f.phase == st.SUBMIT]
        if (reply := await self._apply_request_faults(now_faults, router, request)):
            return done(reply)
        task = self._create_task(router, endpoint, path, body, marked)
        if task is None:
            return done(self._busy_reply(router))
        if isinstance(webhook, str) and webhook.startswith(("http://", "https://")):
            task.webhook = webhook
        self.callbacks.task_created(task, str(request.base_url))
        self.state.finish_submission(index, status=202 if router == MR else 200, task_id=task.id)
        drop_after = any(f.kind == st.DROP_AFTER_CREATE for f in marked) or self.state.take_fault(
            (st.DROP_AFTER_CREATE,), router, st.SUBMIT) is not None
        if drop_after:
            return await self._dropped(request)
        if router == MR:
            return _json(router, 202, replies.mulerouter_submit(task))
        return _json(router, 200, replies.apimart_submit(task))

    def _busy_reply(self, router: str) -> Response:
        """The account runs as many tasks as it may. Shape "429": the router's own rate-limit answer
        (MuleRouter documents 429 for "rate limit, quota, or daily spend limit"; the wording is ours, the
        docs give none).
        Shape "1303": Kling's body from its rate-limits page, passed through — the routers do not say whether
        they pass it on or with which status: MuleRouter here answers it with HTTP 400 (only the body tells),
        APIMart inside its envelope under HTTP 200."""
        limit = self.state.account_limit
        if self.state.busy_shape == "1303":
            kling = {"code": 1303, "message": "parallel task over resource pack limit",
                     "request_id": str(uuid.uuid4())}
            return _json(router, 400 if router == MR else 200, kling)
        return _error(router, 429, f"Too many tasks in progress: this account runs {limit} at a time.",
                      headers={"Retry-After": "1"})

    def _create_task(self, router: str, endpoint: catalog.Endpoint, path: str, body: dict[str, Any],
                     marked: list[Fault]) -> Task | None:
        task_id = str(uuid.uuid4()) if router == MR else "task_" + uuid.uuid4().hex.upper()
        aspect, seconds = clips.wanted_shape(body, edit=is_edit(endpoint, body))
        outcome = next((f.kind for f in marked if f.kind in st.OUTCOME_KINDS), None)
        if outcome is None and (armed := self.state.take_fault(st.OUTCOME_KINDS, router, st.SUBMIT)):
            outcome = armed.kind
        task = Task(task_id, router, endpoint.id, path, body, self.clock(), self.wall(),
                    self.state.complete_after, aspect, seconds, outcome,
                    lost=any(f.kind == st.LOST_TASK for f in marked))
        if not self.state.admit(task, self.clock()):
            return None
        for fault in marked:  # `[emu:kind@poll]`: armed for this task's polls only
            if fault.kind in st.REQUEST_KINDS and fault.phase == st.POLL:
                fault.task_id = task_id
                self.state.add_fault(fault)
        return task

    async def mr_submit(self, request: Request) -> Response:
        endpoint = catalog.by_mulerouter_path(request.url.path)
        if endpoint is None:
            return _error(MR, 404, "Not Found: no such endpoint.")
        return await self._submit(request, MR, endpoint)

    async def am_submit(self, request: Request) -> Response:
        return await self._submit(request, AM, None)

    # -- poll (both routers) -----------------------------------------------------------------------
    async def _poll(self, request: Request, router: str, task_id: str, submit_path: str | None) -> Response:
        if (denied := await self._prelude(request, router)) is not None:
            return denied
        self.state.record_poll(router, task_id, st.key_hint(request.headers.get("authorization", "")))
        armed = self._armed(router, st.POLL, task_id)
        if (reply := await self._apply_request_faults(armed, router, request)):
            return reply
        if self.state.take_fault((st.LOST_TASK,), router, st.POLL, task_id) is not None:
            self.state.lose_task(task_id)
        task = self.state.get_task(task_id)
        if (task is None or task.lost or task.router != router
                or (submit_path is not None and task.path != submit_path)):
            return _error(router, 404, f"Task not found: {task_id}")
        view = st.task_view(task, self.clock())
        base = str(request.base_url)
        if router == MR:
            return _json(router, 200, replies.mulerouter_poll(task, view, base, self.state.kling_units))
        return _json(router, 200, replies.apimart_poll(task, view, base, self.state.bill_factor))

    async def mr_poll(self, request: Request) -> Response:
        submit_path = request.url.path.rsplit("/", 1)[0]
        if catalog.by_mulerouter_path(submit_path) is None:
            return _error(MR, 404, "Not Found: no such endpoint.")
        return await self._poll(request, MR, request.path_params["task_id"], submit_path)

    async def am_poll(self, request: Request) -> Response:
        return await self._poll(request, AM, request.path_params["task_id"], None)

    # -- APIMart image upload ----------------------------------------------------------------------
    async def am_upload(self, request: Request) -> Response:
        if (denied := await self._prelude(request, AM)) is not None:
            return denied
        if (reply := await self._apply_request_faults(self._armed(AM, st.UPLOAD), AM, request)):
            return reply
        try:
            form = await request.form(max_part_size=config.EMULATOR_MAX_UPLOAD_BYTES + 1)
        except Exception:  # any multipart parse problem is the client's
            return _error(AM, 400, "The upload must be multipart/form-data with a 'file' field.")
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            return _error(AM, 400, "file: an image file is required (multipart field 'file').")
        data = await upload.read()
        filename = upload.filename or "image"
        if len(data) > config.EMULATOR_MAX_UPLOAD_BYTES:
            return _error(AM, 400, "file: the image is larger than 10 MB.")
        from PIL import Image, UnidentifiedImageError  # here, not with the server (issue 21: fast start)

        try:
            kind = Image.open(io.BytesIO(data)).format
        except (UnidentifiedImageError, OSError):
            kind = None
        if kind not in _UPLOAD_FORMATS:
            return _error(AM, 400, "file: not a supported image (jpg, png, webp, gif).")
        upload_id = uuid.uuid4().hex
        self.state.add_upload(upload_id, _UPLOAD_FORMATS[kind], data)
        safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[-100:] or "image"
        url = f"{str(request.base_url).rstrip('/')}/_emulator/uploads/{upload_id}/{safe_name}"
        return JSONResponse({"url": url, "filename": filename, "content_type": _UPLOAD_FORMATS[kind],
                             "bytes": len(data), "created_at": int(self.wall())})

    # -- video upload (demo mode: a local video made reachable for the emulator's own tasks) --------
    async def video_upload(self, request: Request) -> Response:
        """`POST /_emulator/uploads/videos` (multipart field `file`): an MP4/MOV/WebM by its magic bytes,
        at most VIDEO_UPLOAD_MAX_BYTES; answers `{url, filename, content_type, bytes}` like the image upload.

        Not a router endpoint: the app uses it in demo mode only, where no router can fetch a local file.
        """
        if (denied := await self._prelude(request, AM)) is not None:
            return denied
        limit = config.VIDEO_UPLOAD_MAX_BYTES
        try:
            form = await request.form(max_part_size=limit + 1)
        except Exception:  # any multipart parse problem (or a part over the limit) is the client's
            return _error(AM, 400, f"The upload must be multipart/form-data with a 'file' field of at "
                          f"most {limit // (1024 * 1024)} MB.")
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            return _error(AM, 400, "file: a video file is required (multipart field 'file').")
        data = await upload.read()
        if len(data) > limit:
            return _error(AM, 400, f"file: the video is larger than {limit // (1024 * 1024)} MB.")
        kind = sniff_video(data[: config.FETCH_SNIFF_BYTES])
        if kind is None:
            return _error(AM, 400, "file: not a video file (mp4, mov or webm).")
        content_type = _VIDEO_TYPES[kind]
        upload_id = uuid.uuid4().hex
        self.state.add_upload(upload_id, content_type, data)
        filename = upload.filename or f"video.{kind}"
        safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[-100:] or f"video.{kind}"
        url = f"{str(request.base_url).rstrip('/')}/_emulator/uploads/{upload_id}/{safe_name}"
        return JSONResponse({"url": url, "filename": filename, "content_type": content_type,
                             "bytes": len(data), "created_at": int(self.wall())})

    async def upload_file(self, request: Request) -> Response:
        found = self.state.get_upload(request.path_params["upload_id"])
        if found is None:
            return PlainTextResponse("Not Found", status_code=404)
        content_type, data = found
        return Response(data, media_type=content_type)

    # -- finished videos ---------------------------------------------------------------------------
    async def video(self, request: Request) -> Response:
        task_id = request.path_params["task_id"]
        task = self.state.get_task(task_id)
        if task is None or st.task_view(task, self.clock()).status != st.COMPLETED:
            return PlainTextResponse("Not Found", status_code=404)
        armed = self._armed(task.router, st.DOWNLOAD, task_id)
        if (reply := await self._apply_request_faults(armed, task.router, request)):
            return reply
        path = await asyncio.to_thread(self._video_file, task)
        return FileResponse(path, media_type="video/mp4",
                            filename=f"{task_id}.mp4", content_disposition_type="inline")

    @staticmethod
    def _video_file(task: Task) -> Any:
        """The committed clip of the task's aspect ratio and length, made to match the rest of its request
        (size, sound, storyboard shots: request_clips.py) so the video checks pass on demo jobs."""
        try:
            edit = is_edit(catalog.get(task.endpoint_id), task.body)
        except KeyError:
            return clips.pick(task.aspect, task.seconds)
        return request_clips.for_request(task.body, edit=edit)

    # -- admin -------------------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def admin_faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                spec = await request.json()
                if not isinstance(spec, dict):
                    raise ValueError("send a JSON object: {kind, router?, count?, phase?, ...params}")
                spec = dict(spec)
                kind = spec.pop("kind", "")
                self.state.add_fault(st.make_fault(str(kind), **spec))
            except (ValueError, TypeError) as exc:
                return JSONResponse({"detail": str(exc)}, status_code=400)
        elif request.method == "DELETE":
            self.state.clear_faults()
        return JSONResponse({"faults": self.state.faults()})

    async def admin_submissions(self, request: Request) -> Response:
        return JSONResponse({"submissions": self.state.submissions()})

    async def admin_tasks(self, request: Request) -> Response:
        now = self.clock()
        rows = []
        for task in self.state.tasks().values():
            view = st.task_view(task, now)
            rows.append({"id": task.id, "router": task.router, "endpoint_id": task.endpoint_id,
                         "path": task.path, "status": view.status, "progress": view.progress,
                         "lost": task.lost, "outcome": task.outcome})
        return JSONResponse({"tasks": rows})

    async def admin_reset(self, request: Request) -> Response:
        self.state.reset()
        self.chat.knobs.clear()
        return JSONResponse({"ok": True})

    async def admin_settings(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                spec = await request.json()
                if "complete_after" in spec:
                    self.state.set_complete_after(float(spec["complete_after"]))
                if "latency" in spec:
                    self.state.set_latency(float(spec["latency"]))
            except (ValueError, TypeError, AttributeError) as exc:
                return JSONResponse({"detail": str(exc)}, status_code=400)
        return JSONResponse({"complete_after": self.state.complete_after, "latency": self.state.latency})

    async def admin_account(self, request: Request) -> Response:
        """GET/POST /_emulator/account {account_limit, busy_shape}: the router account's concurrency, and
        what it met (peak_running per router, busy_refusals)."""
        if request.method == "POST":
            try:
                spec = await request.json()
                self.state.set_account_limit(int(spec.get("account_limit", self.state.account_limit)),
                                             spec.get("busy_shape"))
            except (ValueError, TypeError, AttributeError) as exc:
                return JSONResponse({"detail": str(exc)}, status_code=400)
        state = self.state
        return JSONResponse({"account_limit": state.account_limit, "busy_shape": state.busy_shape,
                             "peak_running": state.peak_running, "busy_refusals": state.busy_refusals})
