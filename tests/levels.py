"""Test helper: at which level (problem, caution or none) a body breaks a rule at a field location."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from core.authoring import catalog, check
from core.authoring.rules import CAUTION, PROBLEM


def endpoint_of(schema: type[BaseModel]) -> str:
    return next(e.id for e in catalog.ENDPOINTS if e.schema is schema)


def problem_locs(schema: type[BaseModel], body: dict[str, Any]) -> list[tuple]:
    try:
        schema.model_validate(body)
    except ValidationError as exc:
        return [tuple(e["loc"]) for e in exc.errors()]
    return []


def caution_fields(schema: type[BaseModel], body: dict[str, Any]) -> list[str]:
    return [c.field for c in check.cautions(endpoint_of(schema), body)]


def level_at(schema: type[BaseModel], body: dict[str, Any], loc: tuple) -> str | None:
    """PROBLEM when the schema refuses the body at `loc`, CAUTION when only a caution sits there."""
    if loc in problem_locs(schema, body):
        return PROBLEM
    if ".".join(str(p) for p in loc) in caution_fields(schema, body):
        return CAUTION
    return None
