"""The form's problems and cautions in plain words (ui/create/form.py places them under their fields): a
Pydantic error worded for people, its dotted field path, the checker's problems and cautions of a body, a
message made a sentence with its field's label, and the nearest drawn field of a path."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from core.authoring.catalog import Endpoint

GENERAL = ""  # errors that concern the whole body (or a field that is not on show)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_PREFIXES = ("Value error, ", "Assertion failed, ")


def plain_message(error: dict[str, Any]) -> str:
    """A Pydantic error in plain words."""
    kind = error.get("type")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a field this endpoint accepts"
    msg = str(error.get("msg", "is not accepted"))
    for prefix in _PREFIXES:
        msg = msg.removeprefix(prefix)
    return msg


def error_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if isinstance(p, int) or (isinstance(p, str) and _IDENT.match(p)))


def validation_problems(model: type[BaseModel], body: dict[str, Any]) -> list[tuple[str, str]]:
    try:
        model.model_validate(body)
    except ValidationError as exc:
        return [(error_path(tuple(e["loc"])), plain_message(e)) for e in exc.errors()]
    return []


def problems_for(endpoint: Endpoint, body: dict[str, Any]) -> dict[str, list[str]]:
    """Every problem of a body by field path ("" = the whole body), as the checker words them.

    Uses core.authoring.check (the same check as the CLI and the emulator); messages are fragments such as
    "is required" that `sentence()` completes with the field's label.
    """
    try:
        from core.authoring import check as core_check
    except ImportError:  # pragma: no cover - the checker ships with the schemas
        core_check = None
    if core_check is not None:
        pairs = [(p.field, p.message) for p in core_check.problems(endpoint.id, body)]
        root = getattr(core_check, "BODY_FIELD", "body")
        pairs = [(GENERAL if path == root else path, msg) for path, msg in pairs]
    else:
        pairs = validation_problems(endpoint.schema, body)
    out: dict[str, list[str]] = {}
    for path, message in pairs:
        if message not in out.setdefault(path, []):
            out[path].append(message)
    return out


def cautions_for(endpoint: Endpoint, body: dict[str, Any]) -> list[Any]:
    """The cautions of a body (core.authoring.check: rules only another source supports, fields ignored)."""
    from core.authoring import check as core_check

    return core_check.cautions(endpoint.id, body)


def why_line(rule: Any) -> str:
    """'Why? seed 004 (APIMart kling-v3-omni): "When video_list is present, audio is ignored"'."""
    return f"Why? {rule.source_line()}"


_FRAGMENT_STARTS = ("is ", "are ", "has ", "have ", "must ", "may ", "cannot ", "contains ", "only ",
                    "the shot list ")


def sentence(message: str, label: str | None) -> str:
    """'is required' + 'Prompt' → 'Prompt is required.'; a full message is only capitalised."""
    message = message.strip()
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    if label and message.startswith(_FRAGMENT_STARTS):
        message = f"{label} {message}"
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def slot_for(path: str, slots: set[str]) -> str:
    """The nearest drawn field at or above a dotted path ("" when none)."""
    parts = path.split(".") if path else []
    while parts:
        candidate = ".".join(parts)
        if candidate in slots:
            return candidate
        parts.pop()
    return GENERAL
