"""APIMart Kling request bodies (STUB: being filled in)."""

from __future__ import annotations

from typing import Literal

from core.schemas.common import PromptText, Seconds, StrictModel


class ApimartKlingV3Omni(StrictModel):
    model: Literal['kling-v3-omni'] = 'kling-v3-omni'
    prompt: PromptText
    duration: Seconds = 5


class ApimartKlingV3(StrictModel):
    model: Literal['kling-v3'] = 'kling-v3'
    prompt: PromptText
    duration: Seconds = 5

