"""The operator's chat model: an OpenAI-compatible `POST {base}/chat/completions` ("Improve the wording").

    operator_chat()            ChatSettings from $STUDIO_LLM_BASE_URL / _API_KEY / _MODEL, else the `[llm]`
                               table of the secrets (base_url, api_key, model); None when no base URL is set
    demo_chat(emulator_url)    the built-in emulator's chat endpoint ({emulator}/v1), for demo mode
    ask(client, settings, messages)  → the assistant's reply text, or ChatModelError in plain words

The same rules as the video routers (design.md rules 8, 11, 12): the key goes per request, only to the
configured address (the three values are read together from one place, never a URL from one and a key from
another; a redirect is never followed); the exchange is bounded (core.net.fetch.post_json: one deadline,
a byte cap); the key never appears in a repr, an error or a log line. Never retried, except after a 400
that names an optional part of the request (sent again without it; `without_refused_option`).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass, field
from typing import Any

import httpx

from core import config
from core.errors import AuthError, ChatModelError, FetchRefusedError, NetworkError, redact
from core.net import fetch
from core.net.http import auth_headers, shorten
from core.secrets_file import secrets_value

OPTIONAL_PARTS = 2  # response_format, max_tokens: what a 400 may make us leave out (without_refused_option)
NOT_CONFIGURED = ("Improve needs a chat model, and none is set up: the operator sets STUDIO_LLM_BASE_URL "
                  "and STUDIO_LLM_MODEL (or an [llm] table in the secrets).")


@dataclass(frozen=True)
class ChatSettings:
    """Where the chat model is and the key that goes there (never shown)."""

    base_url: str  # as in OpenAI's clients: "https://host/v1"
    model: str
    key: str = field(default="", repr=False)
    demo: bool = False

    def __repr__(self) -> str:
        return f"ChatSettings(base_url={self.base_url!r}, model={self.model!r}, demo={self.demo!r})"

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    @property
    def label(self) -> str:
        """Who answers, in words."""
        if self.demo:
            return "the built-in emulator (demo mode: a fixed rewrite, not a language model)"
        host = httpx.URL(self.base_url).host if fetch.origin_of(self.base_url) else self.base_url
        return f"{self.model} at {host}"


def operator_chat() -> ChatSettings | None:
    """The operator's chat model: the environment when it sets a base URL, else the secrets' [llm] table;
    None without a base URL or a model. Each source is taken whole: a key is only ever paired with the base
    URL it was configured beside."""
    env_base = os.environ.get(config.LLM_BASE_URL_ENV, "").strip()
    if env_base:
        base = env_base
        model = os.environ.get(config.LLM_MODEL_ENV, "").strip()
        key = os.environ.get(config.LLM_API_KEY_ENV, "").strip()
    else:
        table = config.LLM_SECRETS_TABLE
        base = secrets_value(table, "base_url")
        model = secrets_value(table, "model")
        key = secrets_value(table, "api_key")
    if not base or not model:
        return None
    return ChatSettings(base_url=base.rstrip("/"), model=model, key=key)


def demo_chat(emulator_url: str) -> ChatSettings:
    """The built-in emulator's chat endpoint (core/emulator/chat.py), with the demo key."""
    return ChatSettings(base_url=emulator_url.rstrip("/") + config.LLM_DEMO_PATH, model=config.LLM_DEMO_MODEL,
                        key=config.DEMO_KEY, demo=True)


def default_policy(settings: ChatSettings) -> fetch.FetchPolicy:
    """The configured address is the operator's (it may be on this machine); nothing is followed away."""
    return fetch.FetchPolicy(allowed_origins=frozenset({settings.base_url}), deadline_s=config.LLM_DEADLINE_S,
                             max_bytes=config.LLM_MAX_REPLY_BYTES, max_redirects=0)


def request_body(settings: ChatSettings, messages: list[dict[str, str]]) -> dict[str, Any]:
    return {"model": settings.model, "messages": messages, "temperature": config.LLM_TEMPERATURE,
            "max_tokens": config.LLM_MAX_TOKENS, "response_format": {"type": "json_object"}}


def _error_text(data: bytes, key: str) -> str:
    """The server's own words from an error body (OpenAI: {"error": {"message": …}}), short and redacted."""
    try:
        payload = json.loads(data.decode("utf-8", "replace"))
    except json.JSONDecodeError:
        payload = None
    text = ""
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            text = str(error.get("message") or "")
        elif isinstance(error, str):
            text = error
        text = text or str(payload.get("message") or payload.get("detail") or "")
    return shorten(redact(text, key)) if text.strip() else ""


def _status_error(status: int, data: bytes, settings: ChatSettings) -> ChatModelError:
    said = _error_text(data, settings.key)
    words = f": {said.rstrip('.')}." if said else "."
    if 300 <= status < 400:
        message = ("The chat model's address sent the request elsewhere (a redirect); the app does not "
                   "follow it, so the key stays with the configured address. The operator should set the "
                   "final address as STUDIO_LLM_BASE_URL.")
    elif status in (401, 403):
        message = f"The chat model did not accept the key (HTTP {status}){words} The operator checks it."
    elif status == 404:
        message = (f"The chat model's address has no chat endpoint, or does not know the model "
                   f"{settings.model!r} (HTTP 404){words}")
    elif status == 429:
        message = f"The chat model is busy or out of quota (HTTP 429){words} Try again in a little while."
    elif status >= 500:
        message = f"The chat model had a problem on its side (HTTP {status}){words} Try again in a while."
    else:
        message = f"The chat model refused the request (HTTP {status}){words}"
    return ChatModelError(message, status_code=status, raw_body=redact(data[:2000].decode("utf-8", "replace"),
                                                                       settings.key))


def reply_content(data: bytes) -> str:
    """The assistant's text from a chat.completion body; ChatModelError when it is not one."""
    try:
        payload = json.loads(data.decode("utf-8"))
        content = payload["choices"][0]["message"]["content"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, IndexError, TypeError):
        raise ChatModelError("The chat model sent a reply that could not be read (not an OpenAI-style chat "
                             "answer), so nothing is shown.") from None
    if not isinstance(content, str):
        raise ChatModelError("The chat model's reply had no text, so nothing is shown.")
    return content


def without_refused_option(body: dict[str, Any], said: str) -> dict[str, Any] | None:
    """The request again without the optional part a 400 named (None: it named none we can leave out).

    Servers differ: some refuse `response_format` (then the instructions alone ask for JSON), some models
    take `max_completion_tokens` instead of `max_tokens`. A 400 means the request was not taken, so sending
    it again changed is safe."""
    said = said.lower()
    if "response_format" in said and "response_format" in body:
        return {k: v for k, v in body.items() if k != "response_format"}
    if "max_tokens" in said and "max_tokens" in body:
        out = {k: v for k, v in body.items() if k != "max_tokens"}
        return out | {"max_completion_tokens": body["max_tokens"]}
    return None


def _post(client: httpx.Client, settings: ChatSettings, body: dict[str, Any], headers: dict[str, str],
          policy: fetch.FetchPolicy, resolve: fetch.Resolver) -> tuple[fetch.FetchHead, bytes]:
    try:
        return fetch.post_json(client, settings.url, json=body, headers=headers, policy=policy,
                               resolve=resolve)
    except FetchRefusedError as exc:
        if exc.code == "too_slow":
            raise ChatModelError(f"The chat model did not answer within {policy.deadline_s:g} s, so nothing "
                                 "is shown. Try again, perhaps with a shorter prompt.") from None
        if exc.code == "too_large":
            raise ChatModelError("The chat model's answer was far larger than a prompt can be, so it was not "
                                 "read.") from None
        raise ChatModelError(f"The chat model's address {exc.note}.") from None
    except NetworkError as exc:
        reason = exc.user_message.split(": ", 1)[-1]
        raise ChatModelError(f"Could not reach the chat model: {reason}") from None


def ask(
    client: httpx.Client,
    settings: ChatSettings,
    messages: list[dict[str, str]],
    *,
    policy: fetch.FetchPolicy | None = None,
    resolve: fetch.Resolver = socket.getaddrinfo,
) -> str:
    """Send the messages; the assistant's reply text. Every failure: a ChatModelError in plain words.

    Sent once, except after a 400 that names an optional part of the request (without_refused_option):
    then again without it, at most twice in all."""
    try:
        headers = auth_headers(settings.key) if settings.key else {}
    except AuthError:
        raise ChatModelError("The chat model's key contains characters that cannot be sent; the operator "
                             "should set it again.") from None
    policy = policy or default_policy(settings)
    body = request_body(settings, messages)
    for _ in range(OPTIONAL_PARTS + 1):
        head, data = _post(client, settings, body, headers, policy, resolve)
        if head.status_code != 400:
            break
        changed = without_refused_option(body, _error_text(data, settings.key))
        if changed is None:
            break
        body = changed
    if not head.ok:
        raise _status_error(head.status_code, data, settings)
    return reply_content(data)
