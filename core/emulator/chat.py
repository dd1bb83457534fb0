"""The emulator's OpenAI-compatible chat endpoint: `POST /v1/chat/completions` answering "Improve the
wording" (core/authoring/improve.py) with a deterministic rewrite: demo mode and the tests use it over HTTP.

The rewrite keeps every text's words and tokens and only adds (or swaps a few weak words):
    a camera phrase when the text has none, a light phrase when it has none, an end to the action when
    nothing says how it ends, and one phrase for a known instruction ("night", "slow", "fast", "rain").
Additions that would pass the request's `limits` are left out. The answer is
    {"prompt": …, "shots": […], "why": …} as the assistant message's content (a JSON string).

Knobs for tests (ChatKnobs; handle.set_chat(...), or POST /_emulator/chat {…}; DELETE clears them):
    delay    seconds to wait before answering (a slow model)
    content  the assistant message's content, as given (a hostile or malformed answer)
    raw      the whole HTTP reply body, as given (not even the OpenAI envelope)
    status   the HTTP status of the reply (an error answer: 401, 429, 500 …)
Every call is recorded (handle.chat_calls): its key hint (state.key_hint), the body, the path.
Like the routers, any non-empty Bearer token is accepted, and none gives 401.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.authoring.tokens import find_tokens
from core.emulator.state import key_hint

CHAT_PATH = "/v1/chat/completions"
ADMIN_PATH = "/_emulator/chat"
MODEL = "emulator-rewrite"
_BEARER = re.compile(r"^\s*bearer\s+\S+", re.IGNORECASE)

CAMERA_WORDS = ("camera", "dolly", "pan ", "pans", "tilt", "tracking", "close-up", "close up", "wide shot",
                "medium shot", "orbit", "zoom", "crane", "handheld", "aerial", "static shot")
LIGHT_WORDS = ("light", "lit ", "sun", "golden", "neon", "shadow", "glow", "lamp", "moon", "candle", "dusk",
               "dawn", "night")
END_WORDS = ("then ", "finally", "stops", "comes to rest", "settles", "pauses", "ends", "until")
CAMERA_PHRASE = "The camera slowly dollies in."
LIGHT_PHRASE = "Soft golden-hour light."
END_PHRASE = "The movement settles into a still final frame."
INSTRUCTION_PHRASES = (
    ("night", "At night, under cold moonlight."),
    ("slow", "The camera moves slowly and steadily."),
    ("fast", "Quick, energetic camera movement."),
    ("rain", "Light rain falls, glistening on every surface."),
)
WEAK_WORDS = ((re.compile(r"\bvery big\b"), "huge"), (re.compile(r"\bnice\b"), "striking"),
              (re.compile(r"\ba lot of\b"), "many"))


@dataclass
class ChatKnobs:
    delay: float = 0.0
    content: str | None = None
    raw: str | None = None
    status: int = 200
    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set(self, **values: Any) -> None:
        with self.lock:
            for name in ("delay", "content", "raw", "status"):
                if name in values:
                    value = values[name]
                    if name == "delay":
                        value = float(value or 0)
                    elif name == "status":
                        value = int(value or 200)
                    setattr(self, name, value)

    def clear(self) -> None:
        with self.lock:
            self.delay, self.content, self.raw, self.status = 0.0, None, None, 200
            self.calls.clear()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"delay": self.delay, "content": self.content, "raw": self.raw, "status": self.status,
                    "calls": len(self.calls)}


# --- the deterministic rewrite (pure) ----------------------------------------------------------------


def _has(text: str, words: tuple[str, ...]) -> bool:
    low = f" {text.lower()} "
    return any(w in low for w in words)


def _swap_weak_words(text: str) -> str:
    """The weak words swapped everywhere but inside a reference token (an element may be called @nice)."""
    out, at = [], 0
    for tok in find_tokens(text):
        out.append(_swap(text[at:tok.start]))
        out.append(tok.text)
        at = tok.end
    out.append(_swap(text[at:]))
    return "".join(out)


def _swap(words: str) -> str:
    for pattern, better in WEAK_WORDS:
        words = pattern.sub(better, words)
    return words


def rewrite_text(text: str, limit: int, instruction: str = "") -> str:
    """One text improved: weak words swapped, then the phrases it lacks added while they fit `limit`."""
    out = _swap_weak_words(" ".join(text.split()))
    additions: list[str] = []
    wish = instruction.lower()
    additions += [phrase for word, phrase in INSTRUCTION_PHRASES if word in wish]
    if not _has(out, CAMERA_WORDS):
        additions.append(CAMERA_PHRASE)
    if not _has(out, LIGHT_WORDS) and "night" not in wish:
        additions.append(LIGHT_PHRASE)
    if not _has(out, END_WORDS):
        additions.append(END_PHRASE)
    if out and out[-1] not in ".!?…\"'":
        out += "."
    for phrase in additions:
        if len(out) + 1 + len(phrase) <= limit:
            out = f"{out} {phrase}"
    return out


def rewrite(request: dict[str, Any]) -> dict[str, Any]:
    """The answer to an Improve request (core/authoring/improve.py request_payload)."""
    limits = request.get("limits") if isinstance(request.get("limits"), dict) else {}
    instruction = str(request.get("instruction") or "")
    prompt = request.get("prompt")
    shots = request.get("shots") if isinstance(request.get("shots"), list) else []
    new_prompt = rewrite_text(prompt, int(limits.get("prompt_chars") or 2500), instruction) \
        if isinstance(prompt, str) and prompt.strip() else None
    shot_limit = int(limits.get("shot_prompt_chars") or 512)
    texts = [str(s.get("prompt") if isinstance(s, dict) else s or "") for s in shots]
    new_shots = [rewrite_text(text, shot_limit, instruction) for text in texts]
    why = "Added a camera move, light and an end to the action where they were missing; kept your words " \
          "and references (the emulator's fixed rewrite, not a language model)."
    return {"prompt": new_prompt, "shots": new_shots, "why": why}


def _request_of(body: Any) -> dict[str, Any]:
    """The Improve request: the JSON of the last user message (an empty dict when it is not JSON)."""
    messages = body.get("messages") if isinstance(body, dict) else None
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            try:
                found = json.loads(str(message.get("content") or ""))
            except json.JSONDecodeError:
                return {}
            return found if isinstance(found, dict) else {}
    return {}


def completion(content: str, model: str, now: float) -> dict[str, Any]:
    """An OpenAI chat.completion object around one assistant message."""
    return {
        "id": f"chatcmpl-emu{int(now * 1000)}", "object": "chat.completion", "created": int(now),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "code": None}},
                        status_code=status)


class ChatEndpoint:
    """The route handlers; `sleep` is the emulator's (tests may speed it up)."""

    def __init__(self, sleep: Callable[[float], Awaitable[None]]) -> None:
        self.knobs = ChatKnobs()
        self.sleep = sleep

    async def completions(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        knobs = self.knobs
        with knobs.lock:
            knobs.calls.append({"path": request.url.path, "body": body,
                                "key_hint": key_hint(request.headers.get("authorization", ""))})
            delay, content, raw_reply, status = knobs.delay, knobs.content, knobs.raw, knobs.status
        if delay > 0:
            await self.sleep(delay)
        if not _BEARER.match(request.headers.get("authorization", "")):
            return _error(401, "Missing or invalid API key. Send 'Authorization: Bearer <key>'.")
        if raw_reply is not None:
            return Response(raw_reply, status_code=status, media_type="application/json")
        if status >= 400:
            return _error(status, f"The emulator was told to answer {status}.")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "The request body must be a JSON object with a 'messages' list.")
        if content is None:
            content = json.dumps(rewrite(_request_of(body)), ensure_ascii=False)
        reply = completion(content, str(body.get("model") or MODEL), time.time())
        return JSONResponse(reply, status_code=status)

    async def admin(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                spec = await request.json()
                if not isinstance(spec, dict):
                    raise ValueError("send a JSON object: {delay?, content?, raw?, status?}")
                self.knobs.set(**spec)
            except (ValueError, TypeError) as exc:
                return JSONResponse({"detail": str(exc)}, status_code=400)
        elif request.method == "DELETE":
            self.knobs.clear()
        return JSONResponse(self.knobs.snapshot())
