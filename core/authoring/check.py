"""Preflight check of a request body: the problems a router would refuse it for, and the cautions.

`problems(endpoint_id, body)` validates a body exactly as it would be sent (no defaults filled in
from the catalog) against the endpoint's schema and returns one `Problem` per broken rule, each
with the dotted path of the field to fix (`multi_prompt.1.duration`, or `body` for the whole body).
Only rules the router's own docs state are problems (core/authoring/rules.py). The UI, the emulator and
`python -m core check` all use it.

`cautions(endpoint_id, body)` returns the caution-level findings (rules only another source supports,
fields the router ignores): `rules.Finding`s that carry their rule and source. They never block.

`token_problems(endpoint_id, body)` are the reference tokens (`<<<image_N>>>`, `<<<element_N>>>`, `@Video1`,
`@name`) that point at nothing: they block. The routers' docs do not say they refuse them (so the emulator,
which plays the router, does not), but the video would silently lose the reference: the form and `python -m
core check` refuse them, both through this one function. `preflight(endpoint_id, body)` is both lists.

`prompt_cautions(endpoint_id, body)` is the prompt linter (core/authoring/lint.py): cautions about the
wording, each with its reason and source. Never blocking.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from core.authoring import catalog, lint, rules, tokens
from core.authoring.schemas.common import RULE_ERROR_TYPE, SKIP_RULES

BODY_FIELD = "body"


@dataclass(frozen=True)
class Problem:
    """One thing to fix: `field` is a dotted path ("multi_prompt.1.duration" or "body")."""

    field: str
    message: str

    def line(self) -> str:
        return f"{self.field}: {self.message}"


class BodyReadError(ValueError):
    """The body text is not readable JSON (plain-words message)."""


def field_path(loc: Sequence[str | int]) -> str:
    """('multi_prompt', 1, 'duration') → 'multi_prompt.1.duration'; () → 'body'."""
    return ".".join(str(part) for part in loc) or BODY_FIELD


def _length(value: Any) -> int | None:
    try:
        return len(value)
    except TypeError:
        return None


def _items(n: Any) -> str:
    return f"{n} item" if n == 1 else f"{n} items"


def plain_message(error: Mapping[str, Any]) -> str:
    """Turn one pydantic error into plain words (the field path is added by the caller)."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    value = error.get("input")
    msg = str(error.get("msg", ""))
    if kind == RULE_ERROR_TYPE:
        return msg
    if kind == "extra_forbidden":
        return "is not a field this endpoint accepts"
    if kind == "missing":
        return "is required"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number written without quotes (for example 5), not {json.dumps(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false (without quotes), not {json.dumps(value)}"
    if kind == "string_type":
        return "must be text"
    if kind == "list_type":
        return "must be a list [ … ]"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be a JSON object { … }"
    if kind == "string_too_long":
        return f"is {_length(value)} characters long; the limit is {ctx.get('max_length')}"
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return "must not be empty"
        return f"must be at least {ctx.get('min_length')} characters long"
    if kind == "too_long":
        return f"has {_items(ctx.get('actual_length'))}; the limit is {ctx.get('max_length')}"
    if kind == "too_short":
        if ctx.get("min_length") == 1:
            return "must not be empty; give at least one"
        return f"has {_items(ctx.get('actual_length'))}; at least {ctx.get('min_length')} are needed"
    if kind == "greater_than_equal":
        return f"is {value}; it must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"is {value}; it must be at most {ctx.get('le')}"
    if kind == "literal_error":
        return f"is {json.dumps(value)}; choose one of {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return "contains characters that are not allowed"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    return msg


def problems_from_error(error: ValidationError) -> list[Problem]:
    return [Problem(field_path(e["loc"]), plain_message(e)) for e in error.errors()]


def schema_problems(schema: type[BaseModel], body: Any) -> list[Problem]:
    """Every problem of `body` against `schema` (empty list = valid)."""
    if not isinstance(body, dict):
        return [Problem(BODY_FIELD, "must be a JSON object { … } holding the request fields")]
    try:
        schema.model_validate(body)
    except ValidationError as exc:
        return problems_from_error(exc)
    return []


def problems(endpoint_id: str, body: Any) -> list[Problem]:
    """Every problem of a request body for a catalog endpoint. KeyError (listing the ids) if unknown."""
    return schema_problems(catalog.get(endpoint_id).schema, body)


def cautions(endpoint_id: str, body: Any) -> list[rules.Finding]:
    """The caution-level findings of a body (empty when its field types do not validate)."""
    schema = catalog.get(endpoint_id).schema
    if not isinstance(body, dict):
        return []
    try:
        model = schema.model_validate(body, context={SKIP_RULES: True})
    except ValidationError:
        return []
    return rules.findings(endpoint_id, model, rules.CAUTION)


def token_problems(endpoint_id: str, body: Any) -> list[Problem]:
    """Tokens in the prompt or a shot prompt that point at nothing, as problems on that prompt's field.

    The one implementation behind the form (ui/create/binding.py) and `python -m core check`."""
    if not isinstance(body, dict):
        return []
    prompt = body.get("prompt") if isinstance(body.get("prompt"), str) else ""
    try:
        issues = tokens.dangling(prompt, body, endpoint_id)
    except (TypeError, AttributeError, ValueError):  # media fields of the wrong shape: schema problems say so
        return []
    return [Problem(i.where, i.message) for i in issues]


def preflight(endpoint_id: str, body: Any) -> list[Problem]:
    """Everything that blocks a body: the router's rules, then tokens that point at nothing."""
    found = problems(endpoint_id, body)
    return found + [p for p in token_problems(endpoint_id, body) if p not in found]


def prompt_cautions(endpoint_id: str, body: Any) -> list[lint.Caution]:
    """The prompt linter's cautions about the wording (never blocking; each carries its rule and source)."""
    return lint.lint(body, endpoint_id) if isinstance(body, dict) else []


def parse_body(text: str) -> Any:
    """JSON text → value; BodyReadError with plain words when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BodyReadError(f"the body is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                            f"{exc.msg})") from None


def format_lines(found: Iterable[Problem]) -> str:
    return "\n".join(p.line() for p in found)


def format_json(found: Iterable[Problem], warned: Iterable[rules.Finding] = (),
                linted: Iterable[lint.Caution] = ()) -> str:
    """Problems as {field, message}; cautions after them with "level": "caution", rule and source (the
    linter's also with "why")."""
    items: list[dict[str, str]] = [asdict(p) for p in found]
    items += [{"field": c.field, "message": c.message, "level": c.level, "rule": c.rule.id,
               "source": c.rule.source_ref} for c in warned]
    items += [c.as_dict() for c in linted]
    return json.dumps(items, ensure_ascii=False, indent=2)


def caution_lines(warned: Iterable[rules.Finding]) -> str:
    """One line per caution, each starting `caution:`."""
    return "\n".join(c.line() for c in warned)


def endpoint_lines() -> list[str]:
    """One line per endpoint: the id, then the router request it stands for."""
    lines = []
    for e in catalog.ENDPOINTS:
        target = f"POST {e.path}" + "".join(f' with "{k}": "{v}"' for k, v in e.fixed_body)
        lines.append(f"{e.id}\t{target}")
    return lines
