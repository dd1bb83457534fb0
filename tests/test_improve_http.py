"""Improve the wording over real loopback HTTP: the emulator's chat endpoint (core/emulator/chat.py) asked
through core/net/llm.py, its answer read and checked by core/authoring/improve.py.

Diff shown and partial accept, tokens and shot count kept, malformed and hostile answers refused with a
message, a slow answer cut off at the deadline, the key sent only to the configured address."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from core import config
from core.authoring import improve as im
from core.emulator import EmulatorHandle
from core.emulator.chat import completion, rewrite, rewrite_text
from core.emulator.state import key_hint
from core.errors import ChatModelError
from core.net import fetch, http, llm

REF = "mulerouter/kling-v3-omni/reference-to-video"
T2V = "mulerouter/kling-v3-omni/text-to-video"
IMG = "https://example.com/a.png"
SECRET = "sk-test-secret-9f8e7d6c5b4a"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with http.make_client() as c:
        yield c


def demo(emu: EmulatorHandle) -> llm.ChatSettings:
    return llm.demo_chat(emu.base_url)


def propose(client: httpx.Client, settings: llm.ChatSettings, body: dict, endpoint_id: str = REF,
            instruction: str = "", policy: fetch.FetchPolicy | None = None) -> im.Proposal:
    req = im.request_from_body(endpoint_id, body, "reference", instruction)
    return im.improve(req, body, lambda m: llm.ask(client, settings, m, policy=policy), settings.label)


def body_one() -> dict:
    return {"prompt": "A cat <<<image_1>>> walks to a nice door", "images": [IMG], "duration": 5}


def shots_body() -> dict:
    return {"multi_shot": True, "shot_type": "customize", "duration": 6,
            "elements": [{"frontal_image": IMG, "reference_images": [IMG]}],
            "multi_prompt": [{"prompt": "<<<element_1>>> sits by the window", "duration": 2},
                             {"prompt": "<<<element_1>>> jumps down", "duration": 2},
                             {"prompt": "The nice room is empty", "duration": 2}]}


def answer_content(**kw) -> str:
    return json.dumps({"prompt": None, "shots": [], "why": "", **kw})


# --- the demo rewrite -------------------------------------------------------------------------------

def test_the_emulator_proposes_a_word_diff_that_keeps_the_token(emu: EmulatorHandle, client) -> None:
    prop = propose(client, demo(emu), body_one())
    (part,) = prop.parts
    kinds = [k for k, _ in im.diff_sides(part.chunks)]
    assert "added" in kinds and "removed" in kinds and "same" in kinds
    assert "<<<image_1>>>" in part.new and "striking" in part.new and "camera" in part.new
    assert prop.source.startswith("the built-in emulator")
    call = emu.chat_calls[-1]
    assert call["path"] == "/v1/chat/completions"
    assert call["key_hint"] == key_hint(f"Bearer {config.DEMO_KEY}")
    sent = call["body"]
    assert sent["model"] == config.LLM_DEMO_MODEL and sent["response_format"] == {"type": "json_object"}
    assert sent["messages"][0]["content"] == im.instructions_text()
    assert not emu.submissions  # nothing went to a video router


def test_multi_shot_keeps_every_shot_and_token_and_takes_a_part(emu: EmulatorHandle, client) -> None:
    body = shots_body()
    prop = propose(client, demo(emu), body, T2V, instruction="make it night")
    assert [p.label for p in prop.parts] == ["Shot 1", "Shot 2", "Shot 3"]
    for part in prop.parts:
        assert im.token_counts(part.new) == im.token_counts(part.old)
        assert "moonlight" in part.new
    texts = im.applied_texts(prop, {"multi_prompt.1.prompt": None, "multi_prompt.2.prompt": [0]})
    assert set(texts) == {"multi_prompt.1.prompt", "multi_prompt.2.prompt"}
    assert im.applied_refusal(prop, texts) is None
    new_body = im.body_with(body, texts)
    assert new_body["multi_prompt"][0]["prompt"] == body["multi_prompt"][0]["prompt"]
    assert new_body["multi_prompt"][1]["prompt"] == prop.parts[1].new
    third = new_body["multi_prompt"][2]["prompt"]
    assert third != prop.parts[2].new and third != body["multi_prompt"][2]["prompt"]


def test_the_emulator_never_rewrites_inside_a_token() -> None:
    assert rewrite_text("@nice meets a nice dog near <<<image_1>>>", 500).startswith(
        "@nice meets a striking dog near <<<image_1>>>.")


def test_the_emulator_stays_within_the_length_limit(emu: EmulatorHandle, client) -> None:
    body = body_one()
    body["prompt"] = "A cat <<<image_1>>> walks " + "slowly " * 350  # 2,476 characters: no room to add
    prop = propose(client, demo(emu), {**body, "prompt": body["prompt"] + "a nice end"})
    assert len(prop.parts[0].new) <= config.PROMPT_MAX_CHARS


# --- hostile and malformed answers ------------------------------------------------------------------

@pytest.mark.parametrize(("knobs", "words"), [
    ({"content": "Sure! Here is your improved prompt: a cat walks."}, "not answer with the JSON"),
    ({"content": answer_content(prompt="A cat walks to a nice door, then stops.")},
     "lost the reference token <<<image_1>>>"),
    ({"content": answer_content(prompt="A cat <<<image_1>>> walks. " + "x" * 30_000)}, "far too long"),
    ({"content": answer_content(prompt="A cat <<<image_1>>> walks.", shots=["extra shot"])},
     "has 1 shot; your request has 0"),
    ({"content": answer_content(prompt="A cat <<<image_1>>> walks.", why="w", extra="x")}, "expected parts"),
])
def test_a_bad_answer_is_refused_with_a_message(emu: EmulatorHandle, client, knobs: dict, words: str) -> None:
    emu.set_chat(**knobs)
    with pytest.raises(im.ProposalRefused, match=words):
        propose(client, demo(emu), body_one())


@pytest.mark.parametrize(("knobs", "words"), [
    ({"raw": "<html><body>Bad gateway</body></html>"}, "could not be read"),
    ({"raw": json.dumps({"choices": []})}, "could not be read"),
    ({"raw": "x" * (config.LLM_MAX_REPLY_BYTES + 10)}, "far larger than a prompt"),
    ({"status": 500}, "problem on its side \\(HTTP 500\\)"),
    ({"status": 429}, "busy or out of quota"),
])
def test_a_broken_reply_is_a_plain_error(emu: EmulatorHandle, client, knobs: dict, words: str) -> None:
    emu.set_chat(**knobs)
    with pytest.raises(ChatModelError, match=words):
        propose(client, demo(emu), body_one())


def test_markup_in_an_answer_stays_text_for_the_page(emu: EmulatorHandle, client) -> None:
    hostile = "A cat <<<image_1>>> walks <img src=x onerror=alert(1)> **bold** [link](https://evil.example)"
    emu.set_chat(content=answer_content(prompt=hostile, why="<script>alert(1)</script>"))
    prop = propose(client, demo(emu), body_one())
    assert prop.parts[0].new == hostile  # kept verbatim: the page draws it as text (test_improve_ui.py)
    assert prop.why == "<script>alert(1)</script>"


def test_a_slow_answer_is_cut_off_at_the_deadline(emu: EmulatorHandle, client) -> None:
    emu.set_chat(delay=1.5)
    settings = demo(emu)
    policy = fetch.FetchPolicy(allowed_origins=frozenset({settings.base_url}), deadline_s=0.3,
                               max_bytes=config.LLM_MAX_REPLY_BYTES, max_redirects=0)
    with pytest.raises(ChatModelError, match=r"did not answer within 0\.3 s"):
        propose(client, settings, body_one(), policy=policy)


# --- the key goes only to the configured address ----------------------------------------------------

class Elsewhere:
    """A server of our own: `/v1/chat/completions` redirects (307) to `target`, or echoes the key in a 401."""

    def __init__(self) -> None:
        self.target = ""
        self.seen: list[str] = []
        self.bodies: list[dict] = []

    def app(self) -> Starlette:
        async def redirect(request: Request) -> Response:
            self.seen.append(request.headers.get("authorization", ""))
            return RedirectResponse(self.target, status_code=307)

        async def echo(request: Request) -> Response:
            said = request.headers.get("authorization", "")
            return JSONResponse({"error": {"message": f"Key {said} is not valid"}}, status_code=401)

        async def trickle(request: Request) -> Response:
            async def forever():
                yield b'{"choices": [{"message": {"content": "'
                while True:
                    await asyncio.sleep(0.05)
                    yield b"a"

            return StreamingResponse(forever(), media_type="application/json")

        async def picky(request: Request) -> Response:
            body = await request.json()
            self.bodies.append(body)
            if "response_format" in body:
                return JSONResponse({"error": {"message": "Unknown parameter: 'response_format'."}},
                                    status_code=400)
            if "max_tokens" in body:
                said = ("Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                        "'max_completion_tokens' instead.")
                return JSONResponse({"error": {"message": said}}, status_code=400)
            content = json.dumps(rewrite(json.loads(body["messages"][-1]["content"])))
            return JSONResponse(completion(content, body["model"], time.time()))

        return Starlette(routes=[Route("/v1/chat/completions", redirect, methods=["POST"]),
                                 Route("/picky/chat/completions", picky, methods=["POST"]),
                                 Route("/echo/chat/completions", echo, methods=["POST"]),
                                 Route("/trickle/chat/completions", trickle, methods=["POST"])])


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[tuple[Elsewhere, str]]:
    state = Elsewhere()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(state.app(), log_level="warning", lifespan="off", access_log=False,
                                           http="h11", loop="asyncio", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.01)
    yield state, f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=5)


def test_a_redirect_is_not_followed_so_the_key_stays_at_the_configured_address(
        emu: EmulatorHandle, client, elsewhere) -> None:
    server, base = elsewhere
    server.target = f"{emu.base_url}/v1/chat/completions"
    settings = llm.ChatSettings(base_url=f"{base}/v1", model="m", key=SECRET)
    with pytest.raises(ChatModelError, match="does not follow it") as caught:
        propose(client, settings, body_one())
    assert server.seen[-1] == f"Bearer {SECRET}"
    assert emu.chat_calls == []  # the emulator (the redirect's target) never saw the request or the key
    assert SECRET not in str(caught.value) and SECRET not in repr(settings)


def test_an_answer_that_trickles_on_is_cut_off_at_the_deadline(client, elsewhere) -> None:
    _, base = elsewhere
    settings = llm.ChatSettings(base_url=f"{base}/trickle", model="m", key=SECRET)
    policy = fetch.FetchPolicy(allowed_origins=frozenset({settings.base_url}), deadline_s=0.4,
                               max_bytes=config.LLM_MAX_REPLY_BYTES, max_redirects=0)
    with pytest.raises(ChatModelError, match=r"did not answer within 0\.4 s"):
        propose(client, settings, body_one(), policy=policy)


def test_a_server_refusing_an_optional_part_is_asked_again_without_it(client, elsewhere) -> None:
    server, base = elsewhere
    server.bodies.clear()
    settings = llm.ChatSettings(base_url=f"{base}/picky", model="o-model", key=SECRET)
    prop = propose(client, settings, body_one())
    assert "<<<image_1>>>" in prop.parts[0].new
    sent = [sorted(k for k in b if k in ("response_format", "max_tokens", "max_completion_tokens"))
            for b in server.bodies]
    assert sent == [["max_tokens", "response_format"], ["max_tokens"], ["max_completion_tokens"]]


def test_a_key_echoed_in_an_error_is_not_shown(client, elsewhere) -> None:
    _, base = elsewhere
    settings = llm.ChatSettings(base_url=f"{base}/echo", model="m", key=SECRET)
    with pytest.raises(ChatModelError, match="did not accept the key") as caught:
        propose(client, settings, body_one())
    assert SECRET not in str(caught.value) and SECRET not in str(caught.value.raw_body)


def test_the_configured_key_is_sent_to_the_configured_address(emu: EmulatorHandle, client) -> None:
    settings = llm.ChatSettings(base_url=f"{emu.base_url}/v1", model="house-model", key=SECRET)
    propose(client, settings, body_one())
    (call,) = emu.chat_calls
    assert call["key_hint"] == key_hint(f"Bearer {SECRET}") and call["body"]["model"] == "house-model"


def test_an_address_nobody_answers_at_is_a_plain_error(client) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    settings = llm.ChatSettings(base_url=f"http://127.0.0.1:{port}/v1", model="m", key=SECRET)
    with pytest.raises(ChatModelError, match="Could not reach the chat model"):
        propose(client, settings, body_one())


# --- where the settings come from --------------------------------------------------------------------

def test_the_environment_sets_the_three_values_together(monkeypatch, tmp_path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[llm]\nbase_url = "https://secrets.example/v1"\nmodel = "s-model"\n'
                       'api_key = "s-key"\n')
    monkeypatch.setenv("STUDIO_SECRETS_FILE", str(secrets))
    for name in (config.LLM_BASE_URL_ENV, config.LLM_API_KEY_ENV, config.LLM_MODEL_ENV):
        monkeypatch.delenv(name, raising=False)
    found = llm.operator_chat()
    assert found is not None and (found.base_url, found.model, found.key) == (
        "https://secrets.example/v1", "s-model", "s-key")
    assert found.url == "https://secrets.example/v1/chat/completions"
    monkeypatch.setenv(config.LLM_BASE_URL_ENV, "http://127.0.0.1:9/v1/")
    monkeypatch.setenv(config.LLM_MODEL_ENV, "env-model")
    found = llm.operator_chat()
    assert found is not None and (found.base_url, found.model, found.key) == ("http://127.0.0.1:9/v1",
                                                                              "env-model", "")
    monkeypatch.delenv(config.LLM_MODEL_ENV)
    assert llm.operator_chat() is None  # a URL without a model is not set up
