"""Router-neutral value types shared by providers, the job ledger and the UI."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Mode(StrEnum):
    """A Create page: what the user starts from."""

    TEXT = "text"
    IMAGE = "image"
    REFERENCE = "reference"
    VIDEO = "video"


MODE_TITLES = {
    Mode.TEXT: "Text to video",
    Mode.IMAGE: "Image to video",
    Mode.REFERENCE: "References to video",
    Mode.VIDEO: "Video to video",
}


class TaskState(StrEnum):
    """What a router says about a task, normalised across spellings."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TaskRef(BaseModel):
    """Everything needed to poll a task again later: router, the submit path, the task id."""

    model_config = ConfigDict(frozen=True)
    router: str
    path: str  # the submit path (MuleRouter polls `path/{task_id}`; APIMart polls /v1/tasks/{id})
    task_id: str


class TaskStatus(BaseModel):
    """One poll reply, router-neutral."""

    state: TaskState
    progress: int | None = None  # 0..100 when the router reports it
    video_urls: list[str] = Field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None  # plain words, safe to show
    cost: float | None = None  # reported by the router (USD)
    billed_units: float | None = None  # Kling's `final_unit_deduction` when the answer carries it (units)
    estimated_time_s: float | None = None  # router's own estimate of total run time
    expires_at: float | None = None  # unix time when the result links stop working (APIMart says so)
    raw: dict[str, Any] | list[Any] | None = Field(default=None, repr=False)  # the reply as parsed JSON

    @property
    def is_final(self) -> bool:
        return self.state in (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED)


class RouterAccess(BaseModel):
    """Where and how to reach one router for one user session. The key never shows in a repr."""

    model_config = ConfigDict(frozen=True)
    router: str
    base_url: str
    key: str = Field(repr=False)
    demo: bool = False  # True when base_url is the built-in emulator

    def __str__(self) -> str:  # never the key
        return f"{self.router} at {self.base_url}"
