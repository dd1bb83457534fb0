"""MuleRouter Kling request bodies (STUB: being filled in)."""

from __future__ import annotations

from core.schemas.common import PromptText, Seconds, StrictModel


class KlingV3TextToVideo(StrictModel):
    prompt: PromptText | None = None
    duration: Seconds = 5


class KlingV3ImageToVideo(StrictModel):
    prompt: PromptText | None = None
    duration: Seconds = 5


class OmniTextToVideo(StrictModel):
    prompt: PromptText | None = None
    duration: Seconds = 5


class OmniImageToVideo(StrictModel):
    prompt: PromptText | None = None
    duration: Seconds = 5


class OmniReferenceToVideo(StrictModel):
    prompt: PromptText | None = None
    duration: Seconds = 5


class OmniReferenceVideoToVideo(StrictModel):
    prompt: PromptText | None = None
    duration: Seconds = 5


class OmniVideoToVideo(StrictModel):
    prompt: PromptText | None = None
    duration: Seconds = 5


class OmniVideoEdit(StrictModel):
    prompt: PromptText | None = None
    duration: Seconds = 5

