"""Body validation with the app's own preflight check, as JSON-ready {field, message} problems."""

from __future__ import annotations

from typing import Any

from core.authoring import check
from core.authoring.catalog import Endpoint


def problems(endpoint: Endpoint, body: dict[str, Any]) -> list[dict[str, str]]:
    """Every rule the body breaks (empty = valid), each naming its field ("multi_prompt.1.duration")."""
    return [{"field": p.field, "message": p.message} for p in check.problems(endpoint.id, body)]
