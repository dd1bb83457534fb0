"""Improve the wording: what is asked of a chat model, how its answer is read and checked, the word diff
and applying part of a proposal (issue 17 item 4). Pure: the request itself is made by whoever calls
`improve` (the `ask` callback; core/net/llm.py does it over HTTP), nothing here does I/O but reading the
instructions file that ships with the code.

    request_from_body(endpoint_id, body, mode, instruction)  → ImproveRequest (the texts and their setting)
    build_messages(request)               → the chat messages: the versioned instructions, then the request
    parse_answer(content)                 → Answer, strictly ({"prompt", "shots", "why"}); ProposalRefused
    check_proposal(request, body, answer) → Proposal (per text: old, new, word chunks) or ProposalRefused
    improve(request, body, ask)           → the three above in order
    diff_chunks(old, new) / apply_chunks  → the word-level diff, and a text with only some changes taken
    applied_texts(proposal, choice)       → {where: text} for a choice of parts and chunks
    applied_refusal(proposal, body, texts) → why a partial choice cannot be taken (a token lost…), or None
    proposal_cautions(endpoint_id, body)  → the prompt linter's cautions on a proposal (authoring/lint.py)

A proposal is refused, in plain words, when it drops or adds a reference token, changes the shot count,
passes a length limit, adds a problem the preflight (core/authoring/check.py preflight) finds or changes
nothing. The linter's cautions (core/authoring/lint.py) are shown with it and never refuse it. Its texts
are untrusted: the pages show them as text only.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from core import config
from core.authoring import catalog, check, lint
from core.authoring import tokens as tk

INSTRUCTIONS_VERSION = "improve_prompt_v1"
INSTRUCTIONS_PATH = Path(__file__).resolve().parent / "data" / f"{INSTRUCTIONS_VERSION}.md"
PROMPT_WHERE = "prompt"
INSTRUCTION_MAX_CHARS = 300  # what a person may type as an instruction ("make it night")
ANSWER_TEXT_MAX_CHARS = 20_000  # one text of an answer; the preflight's own limits are far below
WHY_MAX_CHARS = 4_000  # the model's explanation; a longer one is refused with the answer …
WHY_SHOWN_CHARS = 600  # … and what is shown of it is cut to this
REFUSAL_LIST_MAX = 3  # problems named in one refusal

Message = dict[str, str]
Ask = Callable[[list[Message]], str]


class ProposalRefused(ValueError):
    """A chat model's answer that is not shown (or a partial choice that cannot be taken): plain words."""


# --- the request ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One text a proposal may change: the main prompt or one shot's prompt."""

    where: str  # "prompt" | "multi_prompt.<i>.prompt" (the body's own path, as check.problems names it)
    label: str  # "Prompt" | "Shot 1"
    text: str
    limit: int
    seconds: int | None = None  # a shot's length


@dataclass(frozen=True)
class ImproveRequest:
    endpoint_id: str
    mode: str
    parts: tuple[Part, ...]
    duration: int | None = None
    sound: bool | None = None
    negative_prompt: str = ""
    references: tuple[tuple[str, str], ...] = ()  # (token, what it is: "Picture 1", "Subject @anna")
    instruction: str = ""

    @property
    def shot_parts(self) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if p.where != PROMPT_WHERE)

    @property
    def main_part(self) -> Part | None:
        return next((p for p in self.parts if p.where == PROMPT_WHERE), None)


def shot_where(i: int) -> str:
    return f"multi_prompt.{i}.prompt"


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _sound_of(body: Mapping[str, Any]) -> bool | None:
    if "audio" in body and isinstance(body["audio"], bool):
        return body["audio"]
    sound = body.get("sound")
    if isinstance(sound, str):
        return sound.strip().lower() in ("on", "yes", "true")
    return None


def request_from_body(endpoint_id: str, body: Mapping[str, Any], mode: str = "",
                      instruction: str = "") -> ImproveRequest:
    """The texts of a body worth improving (main prompt, each shot's prompt) and what the model should know:
    mode, duration, sound, the negative prompt, the references the tokens point at, the person's wish."""
    parts: list[Part] = []
    prompt = body.get("prompt")
    if isinstance(prompt, str) and prompt.strip():
        parts.append(Part(PROMPT_WHERE, "Prompt", prompt, config.PROMPT_MAX_CHARS))
    for i, shot in enumerate(body.get("multi_prompt") or []):
        if isinstance(shot, dict) and isinstance(shot.get("prompt"), str):
            parts.append(Part(shot_where(i), f"Shot {i + 1}", shot["prompt"], config.SHOT_PROMPT_MAX_CHARS,
                              _int_or_none(shot.get("duration"))))
    refs = tuple((b.token, b.label) for b in tk.available_tokens(endpoint_id, dict(body)))
    negative = body.get("negative_prompt")
    return ImproveRequest(
        endpoint_id=endpoint_id, mode=str(mode or ""), parts=tuple(parts),
        duration=_int_or_none(body.get("duration")), sound=_sound_of(body),
        negative_prompt=negative if isinstance(negative, str) else "", references=refs,
        instruction=" ".join((instruction or "").split())[:INSTRUCTION_MAX_CHARS],
    )


def nothing_to_improve(request: ImproveRequest) -> str | None:
    """Why there is nothing to send (None: there is): no prompt written, or a shot left empty."""
    if not request.parts or not any(p.text.strip() for p in request.parts):
        return "Write a prompt first: there is nothing to improve yet."
    empty = [p.label for p in request.shot_parts if not p.text.strip()]
    if empty:
        return f"Write {empty[0]} first: every shot needs its own words before they can be improved."
    return None


@cache
def instructions_text() -> str:
    """The versioned instructions sent as the system message (core/authoring/data/improve_prompt_v1.md)."""
    return INSTRUCTIONS_PATH.read_text(encoding="utf-8")


def request_payload(request: ImproveRequest) -> dict[str, Any]:
    """What the user message says, as JSON: the texts, their setting and their limits."""
    endpoint = catalog.get(request.endpoint_id)
    main = request.main_part
    payload: dict[str, Any] = {
        "instructions_version": INSTRUCTIONS_VERSION,
        "model": f"{endpoint.label} on {endpoint.router_label}",
        "mode": request.mode or None,
        "duration_s": request.duration,
        "sound": request.sound,
        "references": [{"token": t, "is": label} for t, label in request.references],
        "negative_prompt": request.negative_prompt or None,
        "prompt": main.text if main else None,
        "shots": [{"prompt": p.text, "seconds": p.seconds} for p in request.shot_parts],
        "limits": {"prompt_chars": config.PROMPT_MAX_CHARS, "shot_prompt_chars": config.SHOT_PROMPT_MAX_CHARS,
                   "shots": len(request.shot_parts)},
        "instruction": request.instruction or None,
    }
    return payload


def build_messages(request: ImproveRequest) -> list[Message]:
    """The chat messages: the instructions file as the system message, the request as JSON."""
    return [
        {"role": "system", "content": instructions_text()},
        {"role": "user", "content": json.dumps(request_payload(request), ensure_ascii=False, indent=1)},
    ]


# --- the answer -----------------------------------------------------------------------------------


class Answer(BaseModel):
    """The only answer taken: {"prompt": str | null, "shots": [str, …], "why": str}, nothing else."""

    model_config = ConfigDict(extra="forbid", strict=True)
    prompt: StrictStr | None = Field(default=None, max_length=ANSWER_TEXT_MAX_CHARS)
    shots: list[StrictStr] = Field(default_factory=list, max_length=config.SHOTS_MAX * 2)
    why: StrictStr = Field(default="", max_length=WHY_MAX_CHARS)


_FENCE = re.compile(r"\A```[A-Za-z]*[ \t]*\r?\n(?P<body>.*)\r?\n```\Z", re.DOTALL)
NOT_JSON = ("The chat model did not answer with the JSON that was asked for, so nothing is shown. "
            "Try again, or ask the operator to choose a model that follows instructions.")
WRONG_SHAPE = ("The chat model's answer did not have the expected parts (prompt, shots, why as text), so "
               "nothing is shown. Try again.")
TOO_LONG = "The chat model's answer was far too long to be a prompt, so nothing is shown. Try again."


def parse_answer(content: str) -> Answer:
    """The model's reply text → Answer. One surrounding code fence is tolerated, nothing else."""
    text = (content or "").strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group("body").strip()
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise ProposalRefused(NOT_JSON) from None
    if not isinstance(data, dict):
        raise ProposalRefused(NOT_JSON)
    try:
        return Answer.model_validate(data)
    except ValidationError as exc:
        kinds = {(e.get("type"), tuple(e.get("loc") or ())) for e in exc.errors()}
        if ("too_long", ("shots",)) in kinds:
            many = len(data.get("shots") or [])
            raise ProposalRefused(f"The proposal has {many} shots, far more than your request. It was not "
                                  "applied: the shot count stays as you made it.") from None
        if any(kind in ("string_too_long", "too_long") for kind, _ in kinds):
            raise ProposalRefused(TOO_LONG) from None
        raise ProposalRefused(WRONG_SHAPE) from None


# --- the word diff --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """A run of the diff: unchanged words, or a change (old words → new words; either may be "")."""

    old: str
    new: str
    changed: bool


# a reference token whole, a word (with its apostrophes and hyphens), or a run of punctuation; each with the
# whitespace after it, so the items of a text joined give the text back
_WORD = re.compile(r"(?:<<<[^<>]*>>>|@\w+|\w[\w'’-]*|[^\w\s]+)\s*")
_NO_SPACE_BEFORE = tuple(".,;:!?)]}…%”’")
_NO_SPACE_AFTER = tuple("([{“‘")


def _items(text: str) -> list[str]:
    """Words and punctuation with the whitespace that follows each; leading whitespace is an item of its own.
    Punctuation is its own item, so "beach" → "beach." is an added "." and not a changed word."""
    lead = text[: len(text) - len(text.lstrip())]
    return ([lead] if lead else []) + _WORD.findall(text)


def _common_ends(ka: list[str], kb: list[str]) -> tuple[int, int]:
    """How many items the two texts share at the start, and then at the end."""
    n = min(len(ka), len(kb))
    head = 0
    while head < n and ka[head] == kb[head]:
        head += 1
    tail = 0
    while tail < n - head and ka[-1 - tail] == kb[-1 - tail]:
        tail += 1
    return head, tail


def diff_chunks(old: str, new: str) -> list[Chunk]:
    """Word-level diff of two texts (whitespace changes are not changes). The shared start and end are
    set aside first: a proposal mostly keeps the words, and difflib is slow on long repetitive texts."""
    a, b = _items(old), _items(new)
    ka, kb = [w.strip() for w in a], [w.strip() for w in b]
    head, tail = _common_ends(ka, kb)
    out: list[Chunk] = []
    if head:
        out.append(Chunk("".join(a[:head]), "".join(b[:head]), False))
    mid_a, mid_b = ka[head:len(ka) - tail], kb[head:len(kb) - tail]
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=mid_a, b=mid_b, autojunk=False).get_opcodes():
        old_part, new_part = "".join(a[head + i1:head + i2]), "".join(b[head + j1:head + j2])
        out.append(Chunk(old_part, new_part, op != "equal"))
    if tail:
        out.append(Chunk("".join(a[len(a) - tail:]), "".join(b[len(b) - tail:]), False))
    return out


def changes(chunks: Iterable[Chunk]) -> list[Chunk]:
    return [c for c in chunks if c.changed]


def needs_space(before: str, after: str) -> bool:
    """Whether two pieces of text put together need a space between them (none before "." or after "(")."""
    if not before or not after or before[-1].isspace() or after[0].isspace():
        return False
    return not (after.startswith(_NO_SPACE_BEFORE) or before.endswith(_NO_SPACE_AFTER))


def _join(pieces: Iterable[str]) -> str:
    """Concatenate pieces, putting a space between two that would otherwise run together."""
    out = ""
    for piece in pieces:
        if not piece:
            continue
        if needs_space(out, piece):
            out += " "
        elif piece.startswith(_NO_SPACE_BEFORE) and out.endswith(" "):
            out = out.rstrip(" ")  # "walks" + ", slowly": no space left before the comma
        out += piece
    return out


def apply_chunks(chunks: list[Chunk], accepted: Iterable[int]) -> str:
    """The text with the changes numbered in `accepted` (0-based among the changes) taken, the others not.
    All taken gives the new text exactly; none gives the old text exactly."""
    wanted = set(accepted)
    n = len(changes(chunks))
    if n and wanted >= set(range(n)):
        return "".join(c.new for c in chunks)
    pieces: list[str] = []
    k = 0
    for c in chunks:
        if not c.changed:
            pieces.append(c.old)
            continue
        pieces.append(c.new if k in wanted else c.old)
        k += 1
    if not wanted:
        return "".join(pieces)
    return _join(pieces).rstrip() + _trailing(chunks)


def _trailing(chunks: list[Chunk]) -> str:
    old = "".join(c.old for c in chunks)
    return old[len(old.rstrip()):]


def diff_sides(chunks: Iterable[Chunk]) -> list[tuple[str, str]]:
    """The diff as (kind, words): "same", "removed", "added" — for drawing (removed before added)."""
    out: list[tuple[str, str]] = []
    for c in chunks:
        if not c.changed:
            out.append(("same", c.old.strip()))
            continue
        if c.old.strip():
            out.append(("removed", c.old.strip()))
        if c.new.strip():
            out.append(("added", c.new.strip()))
    return [(k, w) for k, w in out if w]


# --- the proposal ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartChange:
    where: str
    label: str
    old: str
    new: str
    chunks: tuple[Chunk, ...]

    @property
    def changed(self) -> bool:
        return self.old != self.new

    @property
    def n_changes(self) -> int:
        return len(changes(self.chunks))


@dataclass(frozen=True)
class Proposal:
    endpoint_id: str
    parts: tuple[PartChange, ...]
    why: str = ""
    cautions: tuple[str, ...] = ()  # the prompt linter's, on the proposed body (never blocking)
    instruction: str = ""
    source: str = ""  # who proposed it, in words ("the built-in emulator (demo mode)", a model name)
    base: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the body it was made for
    limits: dict[str, int] = field(default_factory=dict, compare=False, repr=False)  # where → characters

    def texts(self) -> dict[str, str]:
        return {p.where: p.new for p in self.parts}


def token_counts(text: str) -> Counter[str]:
    """How often each reference token (<<<image_N>>>, <<<element_N>>>, @Video1, @name) is written."""
    return Counter(t.text for t in tk.find_tokens(text))


def _token_refusal(label: str, old: str, new: str) -> str | None:
    before, after = token_counts(old), token_counts(new)
    if before == after:
        return None
    lost = sorted((before - after).elements())
    added = sorted((after - before).elements())
    if lost:
        which = ", ".join(dict.fromkeys(lost))
        return (f"{label}: the proposal lost the reference token {which}, so it would no longer point at the "
                "picture, element or video you chose. It was not applied.")
    which = ", ".join(dict.fromkeys(added))
    return (f"{label}: the proposal added the reference token {which}, which was not in your text. It was "
            "not applied: references stay as you placed them.")


def body_with(body: Mapping[str, Any], texts: Mapping[str, str]) -> dict[str, Any]:
    """A copy of the body with the texts put in at their paths ("prompt", "multi_prompt.<i>.prompt")."""
    out = copy.deepcopy(dict(body))
    for where, text in texts.items():
        if where == PROMPT_WHERE:
            out[PROMPT_WHERE] = text
            continue
        _, index, _ = where.split(".")
        out["multi_prompt"][int(index)]["prompt"] = text
    return out


def _problem_texts(endpoint_id: str, body: Mapping[str, Any]) -> set[str]:
    """Every problem the preflight finds (the router's rules, then tokens that point at nothing)."""
    return {p.line() for p in check.preflight(endpoint_id, dict(body))}


def _label_of(line: str, labels: Mapping[str, str]) -> str:
    where, _, message = line.partition(": ")
    return f"{labels.get(where, where)} {message}" if where in labels else line


def refusal(endpoint_id: str, base: Mapping[str, Any], parts: Iterable[tuple[str, str, str, str]],
            limits: Mapping[str, int] | None = None) -> str | None:
    """Why new texts cannot go into the body (None: they can): a text left empty, a token lost or added, a
    text longer than its limit (`limits`: where → characters, the limits the model was told; a text already
    longer may stay as long), or a problem the preflight finds in the new body that the old one did not
    have. `parts` = (where, label, old, new)."""
    parts = list(parts)
    for where, label, old, new in parts:
        if old.strip() and not new.strip():
            return f"{label}: the proposal left it empty. It was not applied."
        said = _token_refusal(label, old, new)
        if said:
            return said
        limit = (limits or {}).get(where)
        if limit and len(new) > max(limit, len(old)):
            return (f"{label}: the proposal is {len(new)} characters long; the limit is {limit}. It was not "
                    "applied.")
    new_body = body_with(base, {where: new for where, _, _, new in parts})
    added = sorted(_problem_texts(endpoint_id, new_body) - _problem_texts(endpoint_id, base))
    if added:
        labels = {where: label for where, label, _, _ in parts}
        named = "; ".join(_label_of(line, labels) for line in added[:REFUSAL_LIST_MAX])
        return f"The proposal breaks a rule of this endpoint ({named}). It was not applied."
    return None


def check_proposal(request: ImproveRequest, body: Mapping[str, Any], answer: Answer,
                   source: str = "") -> Proposal:
    """The answer as a Proposal to show, or ProposalRefused: shot count, tokens, the preflight."""
    shots = request.shot_parts
    if len(answer.shots) != len(shots):
        raise ProposalRefused(
            f"The proposal has {len(answer.shots)} shot{'s' * (len(answer.shots) != 1)}; your request has "
            f"{len(shots)}. It was not applied: the shot count stays as you made it.")
    news: dict[str, str] = {}
    main = request.main_part
    if main is not None:
        if not isinstance(answer.prompt, str) or not answer.prompt.strip():
            raise ProposalRefused("The proposal has no main prompt, so nothing is shown. Try again.")
        news[main.where] = answer.prompt.strip()
    for part, text in zip(shots, answer.shots, strict=True):
        news[part.where] = text.strip()
    parts = [(p.where, p.label, p.text, news[p.where]) for p in request.parts]
    said = refusal(request.endpoint_id, body, parts, {p.where: p.limit for p in request.parts})
    if said:
        raise ProposalRefused(said)
    changes_ = tuple(PartChange(w, label, old, new, tuple(diff_chunks(old, new)))
                     for w, label, old, new in parts)
    if not any(c.n_changes for c in changes_):
        raise ProposalRefused("The chat model proposed no change to the wording.")
    cautions = tuple(proposal_cautions(request.endpoint_id, body_with(body, news)))
    why = " ".join(answer.why.split())
    if len(why) > WHY_SHOWN_CHARS:
        why = why[: WHY_SHOWN_CHARS - 1].rstrip() + "…"
    return Proposal(request.endpoint_id, changes_, why, cautions,
                    request.instruction, source, dict(body), {p.where: p.limit for p in request.parts})


def improve(request: ImproveRequest, body: Mapping[str, Any], ask: Ask, source: str = "") -> Proposal:
    """Ask (the callback sends the messages to the chat model and returns its reply text), read, check."""
    empty = nothing_to_improve(request)
    if empty:
        raise ProposalRefused(empty)
    return check_proposal(request, body, parse_answer(ask(build_messages(request))), source)


# --- taking part of it ----------------------------------------------------------------------------

Choice = Mapping[str, Iterable[int] | None]  # where → accepted change numbers (None: the whole part)


def applied_texts(proposal: Proposal, choice: Choice) -> dict[str, str]:
    """{where: text} for the parts in `choice` (a part left out keeps its old text and is not listed)."""
    out: dict[str, str] = {}
    for part in proposal.parts:
        if part.where not in choice:
            continue
        taken = choice[part.where]
        out[part.where] = part.new if taken is None else apply_chunks(list(part.chunks), taken)
    return {w: t for w, t in out.items() if t != next(p.old for p in proposal.parts if p.where == w)}


def applied_refusal(proposal: Proposal, texts: Mapping[str, str]) -> str | None:
    """Why this choice cannot be taken (None: it can): the same checks as the whole proposal, so ticking
    only the half of a change that moves a token is refused rather than losing the token."""
    parts = [(p.where, p.label, p.old, texts[p.where]) for p in proposal.parts if p.where in texts]
    said = refusal(proposal.endpoint_id, proposal.base, parts, proposal.limits)
    if said:
        return said.replace("The proposal", "These changes").replace("the proposal", "these changes")
    return None


# --- THE LINTER HOOK ------------------------------------------------------------------------------


def _part_label(where: str) -> str:
    if where == PROMPT_WHERE:
        return "Prompt"
    parts = where.split(".")
    return f"Shot {int(parts[1]) + 1}" if len(parts) == 3 and parts[1].isdigit() else where


def proposal_cautions(endpoint_id: str, body: Mapping[str, Any]) -> list[str]:
    """The prompt linter's cautions on a proposed body (core/authoring/lint.py), shown with the proposal;
    they never block. "Shot 2: …" names the text each one is about."""
    found = lint.lint(dict(body), endpoint_id)
    return [f"{_part_label(c.field)}: {c.message}" for c in found]
