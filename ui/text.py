"""Text helpers every page family uses: Markdown escaping for messages, short display copies of bodies."""

from __future__ import annotations

import re
from typing import Any

from core.authoring import media

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-!|$~])")


def escape_markdown(text: str) -> str:
    """Messages are drawn with st.error (Markdown): escape every Markdown-active character."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def shorten_inline_images(value: Any, keep: int = 24) -> Any:
    """A copy of a body with long Base64 strings shortened (for display only)."""
    if isinstance(value, dict):
        return {k: shorten_inline_images(v, keep) for k, v in value.items()}
    if isinstance(value, list):
        return [shorten_inline_images(v, keep) for v in value]
    long_text = isinstance(value, str) and len(value) > keep * 4 and " " not in value
    if long_text and not media.is_url(value) and media.looks_like_base64(value):
        return f"{value[:keep]}… ({len(value)} characters of Base64)"
    return value
