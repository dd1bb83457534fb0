"""MuleRouter adapter: one POST path per endpoint, poll at `<that path>/<task id>` (api-reference §1).

Replies:
    submit   202 {"task_info": {"id", "status": "pending", ...}}
    poll     200 {"videos": ["https://…mp4"], "task_info": {"id", "status", "error"?: {...}}}
Statuses: pending/processing/completed/failed per endpoint pages, queued/running/succeeded per the
general async page — both accepted. A failed task still answers HTTP 200.
"""

from __future__ import annotations

from typing import Any

from core import config
from core.authoring.catalog import MR_PREFIX, Endpoint
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

# ⚠ api-reference §1.2: the docs say reference-to-video, MuleRouter's own skills and a CLI fork say
# reference-image-to-video. The docs path is used; a 404 on submit (route unknown, nothing created)
# is retried once on the other one.
_REF_DOCS = f"{MR_PREFIX}/kling-v3-omni/reference-to-video/generation"
_REF_SKILLS = f"{MR_PREFIX}/kling-v3-omni/reference-image-to-video/generation"
ALTERNATIVE_PATHS = {_REF_DOCS: _REF_SKILLS, _REF_SKILLS: _REF_DOCS}


def _task_info(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        return {}
    info = payload.get("task_info")
    if isinstance(info, dict):
        return info
    return payload  # tolerate a flat reply {"id", "status", ...}


class MuleRouterProvider(Provider):
    router = config.MULEROUTER

    def fallback_path(self, path: str) -> str | None:
        return ALTERNATIVE_PATHS.get(path)

    def parse_submit(self, endpoint: Endpoint, payload: Any, *, path: str | None = None) -> TaskRef:
        info = _task_info(payload)
        task_id = as_code(info.get("id") or info.get("task_id"))
        if not task_id:
            raise missing_task_id(self.router, payload)
        return TaskRef(router=self.router, path=path or endpoint.path, task_id=task_id)

    def poll_url(self, base_url: str, ref: TaskRef) -> str:
        return f"{base_url.rstrip('/')}{ref.path.rstrip('/')}/{self.quote_id(ref.task_id)}"

    def parse_status(self, payload: Any) -> TaskStatus:
        info = _task_info(payload)
        state = normalise_state(info.get("status"))
        top = payload if isinstance(payload, dict) else {}
        videos = flatten_urls(top.get("videos")) or flatten_urls(info.get("videos"))
        error = info.get("error") if isinstance(info.get("error"), dict) else {}
        code = as_code(error.get("error_code", error.get("code"))) if error else None
        text = (error.get("detail") or error.get("title") or error.get("message")) if error else None
        if not isinstance(text, str):
            text = None
        message = status_message(state, code, text)
        return TaskStatus(
            state=state,
            progress=as_progress(info.get("progress", top.get("progress"))),
            video_urls=videos,
            error_code=code,
            error_message=message,
            cost=as_number(info.get("cost", top.get("cost"))),
            billed_units=kling_units(payload),
            estimated_time_s=as_number(info.get("estimated_time", top.get("estimated_time"))),
            raw=payload if isinstance(payload, (dict, list)) else None,
        )
