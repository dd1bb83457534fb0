"""APIMart adapter: one POST /v1/videos/generations for every model, poll GET /v1/tasks/{id} (§2).

Replies are wrapped in an envelope {"code": 200, "data": ...}; an envelope code other than 200
is an error even under HTTP 200.
    submit   {"code": 200, "data": [{"status": "submitted", "task_id": "task_…"}]}   (data a list)
    poll     {"code": 200, "data": {"id", "status", "progress", "result": {"videos": [{"url": [..]}]},
              "cost"?, "estimated_time", "error"?: {"code", "message", "type"}}}
"""

from __future__ import annotations

from typing import Any

from core import config
from core.authoring.catalog import APIMART_SUBMIT_PATH, Endpoint
from core.errors import RouterError, ServerError, SubmissionUnknownError, error_class_for_status
from core.jobs.providers.base import (
    Provider,
    as_code,
    as_number,
    as_progress,
    flatten_urls,
    kling_units,
    missing_task_id,
    normalise_state,
    status_message,
)
from core.models import TaskRef, TaskStatus
from core.net.http import error_text_from_body, plain_message

TASKS_PATH = "/v1/tasks"
UPLOAD_IMAGES_PATH = "/v1/uploads/images"
ENVELOPE_OK = 200


def envelope_code(payload: Any) -> int | None:
    """The envelope `code` as an int (None when absent or not a number)."""
    if not isinstance(payload, dict) or "code" not in payload:
        return None
    try:
        return int(str(payload["code"]).strip())
    except ValueError:
        return None


def envelope_error(payload: Any) -> RouterError | None:
    """The mapped error for an envelope code other than 200 (None when the envelope is fine)."""
    code = envelope_code(payload)
    if code is None or code == ENVELOPE_OK:
        return None
    text = error_text_from_body(payload, config.APIMART)
    # a code that is no HTTP status (Kling's own, e.g. 1303 "parallel task over resource pack limit", if
    # APIMart passes it on: not documented) is the router's refusal, not a failure on its side
    cls = error_class_for_status(code, text or "") if 100 <= code < 600 else RouterError
    return cls(
        plain_message(cls, text),
        router=config.APIMART,
        status_code=code,
        code=str(code),
        raw_body=payload,
    )


def _data(payload: Any) -> dict[str, Any]:
    data = payload.get("data") if isinstance(payload, dict) else None
    if isinstance(data, list):
        data = data[0] if data else None
    if isinstance(data, dict):
        return data
    if isinstance(payload, dict) and "status" in payload:  # tolerate an unwrapped reply
        return payload
    return {}


def links_expire_at(videos: Any) -> float | None:
    """The earliest `expires_at` of the result videos (`[{"url": [...], "expires_at": 1712345678}]`)."""
    items = videos if isinstance(videos, list) else [videos]
    times = [as_number(v.get("expires_at")) for v in items if isinstance(v, dict)]
    known = [t for t in times if t is not None and t > 0]
    return min(known) if known else None


class ApimartProvider(Provider):
    router = config.APIMART
    webhook_field = "webhook"  # APIMart posts to this URL + "/callback" when the task completes (§8)

    def parse_submit(self, endpoint: Endpoint, payload: Any, *, path: str | None = None) -> TaskRef:
        error = envelope_error(payload)
        if isinstance(error, ServerError):  # the router's side failed mid-way: it may exist
            raise SubmissionUnknownError(router=self.router, status_code=error.status_code, raw_body=payload)
        if error is not None:
            raise error
        data = _data(payload)
        task_id = as_code(data.get("task_id") or data.get("id"))
        if not task_id:
            raise missing_task_id(self.router, payload)
        return TaskRef(router=self.router, path=path or endpoint.path or APIMART_SUBMIT_PATH, task_id=task_id)

    def poll_url(self, base_url: str, ref: TaskRef) -> str:
        return f"{base_url.rstrip('/')}{TASKS_PATH}/{self.quote_id(ref.task_id)}"

    def upload_url(self, base_url: str) -> str:
        return base_url.rstrip("/") + UPLOAD_IMAGES_PATH

    def parse_status(self, payload: Any) -> TaskStatus:
        error = envelope_error(payload)
        if error is not None:
            raise error
        data = _data(payload)
        state = normalise_state(data.get("status"))
        result = data.get("result") if isinstance(data.get("result"), dict) else {}
        videos = flatten_urls(result.get("videos")) or flatten_urls(result.get("video_url"))
        failure = data.get("error")
        if isinstance(failure, dict):
            code = as_code(failure.get("error_code", failure.get("code")))
            text = failure.get("message") or failure.get("detail")
        else:
            code = as_code(data.get("error_code"))
            text = failure if isinstance(failure, str) else data.get("fail_reason")
        if not isinstance(text, str):
            text = None
        return TaskStatus(
            state=state,
            progress=as_progress(data.get("progress")),
            video_urls=videos,
            error_code=code,
            error_message=status_message(state, code, text),
            cost=as_number(data.get("cost")),
            billed_units=kling_units(payload),
            estimated_time_s=as_number(data.get("estimated_time")),
            expires_at=links_expire_at(result.get("videos")),
            raw=payload if isinstance(payload, (dict, list)) else None,
        )
