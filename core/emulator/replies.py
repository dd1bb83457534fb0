"""Reply bodies of both routers, as pure functions of a task, what a poll sees, and the time.

Shapes follow ../shared/api-reference.md §1.4 (MuleRouter) and §2.3–2.4 (APIMart).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from core import config
from core.emulator.state import COMPLETED, FAIL, FAILED, MODERATED, Task, TaskView, price

# Failure details per outcome: MuleRouter task_info.error {code,title,detail}, APIMart data.error.
_MR_ERRORS = {
    FAIL: {"code": 3001, "title": "Upstream Error",
           "detail": "The upstream provider could not complete the task. Please try again later."},
    MODERATED: {"code": 400, "title": "Invalid Request",
                "detail": "The prompt contains prohibited content and was blocked by content moderation."},
}
_AM_ERRORS = {
    FAIL: {"code": "upstream_error", "type": "upstream_error",
           "message": "Video generation failed upstream. Please try again later."},
    MODERATED: {"code": "content_policy_violation", "type": "content_policy_violation",
                "message": "The request was blocked by content moderation (prohibited content)."},
}

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "insufficient_quota",
               404: "not_found_error", 429: "rate_limit_error"}


def iso(ts: float) -> str:
    """Unix seconds as MuleRouter writes times: 2026-03-03T00:00:00.000Z."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def video_url(base_url: str, task_id: str) -> str:
    return f"{base_url.rstrip('/')}/_emulator/videos/{task_id}.mp4"


def mulerouter_submit(task: Task) -> dict[str, Any]:
    stamp = iso(task.created_wall)
    return {"task_info": {"id": task.id, "status": "pending", "created_at": stamp, "updated_at": stamp}}


def mulerouter_poll(task: Task, view: TaskView, base_url: str,
                    kling_units: float | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "id": task.id, "status": view.status,
        "created_at": iso(task.created_wall), "updated_at": iso(task.created_wall + view.changed_after_s),
    }
    reply: dict[str, Any] = {"task_info": info}
    if view.status == FAILED:
        info["error"] = dict(_MR_ERRORS[task.outcome or FAIL])
    elif view.status == COMPLETED:
        reply = {"videos": [video_url(base_url, task.id)], **reply}
        if kling_units is not None:  # not documented for MuleRouter: a knob to test the app's reading of it
            info["final_unit_deduction"] = kling_units
    return reply


def apimart_submit(task: Task) -> dict[str, Any]:
    return {"code": 200, "data": [{"status": "submitted", "task_id": task.id}]}


def apimart_poll(task: Task, view: TaskView, base_url: str, bill_factor: float = 1.0) -> dict[str, Any]:
    created = int(task.created_wall)
    data: dict[str, Any] = {
        "id": task.id, "status": view.status, "progress": view.progress, "created": created,
        "estimated_time": math.ceil(task.complete_after),
    }
    if view.status in (COMPLETED, FAILED):
        data["completed"] = int(task.created_wall + view.changed_after_s)
        data["actual_time"] = round(view.changed_after_s)
    if view.status == COMPLETED:
        cost, credits = price(task.body, task.seconds)
        cost, credits = round(cost * bill_factor, 4), round(credits * bill_factor)
        data["result"] = {"videos": [{"url": [video_url(base_url, task.id)],
                                      "expires_at": created + config.EMULATOR_RESULT_TTL_S}]}
        data["cost"], data["credits_cost"] = cost, credits
    elif view.status == FAILED:
        data["error"] = dict(_AM_ERRORS[task.outcome or FAIL])
        data["cost"], data["credits_cost"] = 0.0, 0
    return {"code": 200, "data": data}


def error_body(router: str, status: int, message: str, *, errors: list[dict[str, str]] | None = None,
               error_type: str | None = None) -> dict[str, Any]:
    """A non-2xx body: MuleRouter {"detail", "errors"?}; APIMart {"code", "error": {message, type}}."""
    if router == config.MULEROUTER:
        body: dict[str, Any] = {"detail": message}
        if errors is not None:
            body["errors"] = errors
        return body
    kind = error_type or ERROR_TYPES.get(status, "server_error" if status >= 500 else "api_error")
    return {"code": status, "error": {"message": message, "type": kind}}
