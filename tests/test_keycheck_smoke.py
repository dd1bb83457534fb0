"""The cost-free key check and the operator's smoke command, against the emulator over HTTP (issue 19)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from core import __main__ as cli
from core import config
from core.jobs import keycheck
from core.models import RouterAccess

GOOD, BAD = "sk-good-0123456789", "sk-wrong-9876543210"


def _access(emu, router: str, key: str) -> RouterAccess:
    return RouterAccess(router=router, base_url=emu.base_url, key=key)


@pytest.mark.parametrize("router", config.ROUTERS)
def test_the_key_check_is_right_on_404_and_401_and_creates_nothing(emu, router):
    emu.set_keys([GOOD])
    good = keycheck.check_key(_access(emu, router, GOOD))
    assert good.ok and good.verdict == keycheck.ACCEPTED and good.status == 404
    bad = keycheck.check_key(_access(emu, router, BAD))
    assert not bad.ok and bad.verdict == keycheck.WRONG_KEY and bad.status == 401
    assert "Check the key" in bad.message and BAD not in bad.message
    impossible = config.CONNECTION_TEST_TASK_IDS[router]
    assert good.request.startswith("GET " + emu.base_url) and impossible in good.request
    assert emu.submissions == [] and emu.tasks == {}  # nothing was created: nothing can be charged
    assert [p["task_id"] for p in emu.polls] == [impossible]  # (the wrong key never got past the door)


def test_the_key_check_says_no_credit_missing_and_unreachable_plainly(emu):
    emu.set_fault("no_balance", router=config.APIMART, phase="poll")
    broke = keycheck.check_key(_access(emu, config.APIMART, GOOD))
    assert broke.ok and broke.verdict == keycheck.NO_CREDIT and "credit" in broke.message
    missing = keycheck.check_key(_access(emu, config.APIMART, "  "))
    assert not missing.ok and missing.verdict == keycheck.MISSING
    gone = keycheck.check_key(RouterAccess(router=config.MULEROUTER, base_url="http://127.0.0.1:9", key=GOOD))
    assert not gone.ok and gone.verdict == keycheck.UNREACHABLE and gone.status is None


def test_a_typed_key_is_checked_at_the_address_given(emu):
    emu.set_keys([GOOD])
    assert keycheck.check_typed_key(config.APIMART, GOOD, emu.base_url + "/").verdict == keycheck.ACCEPTED
    assert keycheck.check_typed_key(config.APIMART, BAD, emu.base_url).verdict == keycheck.WRONG_KEY


def _operator(monkeypatch, emu, router: str, key: str) -> None:
    monkeypatch.setenv(config.KEY_ENV_VARS[router], key)
    monkeypatch.setenv(config.BASE_URL_ENV_VARS[router], emu.base_url)
    monkeypatch.setenv("STUDIO_SECRETS_FILE", "/nonexistent/secrets.toml")


def test_check_key_on_the_command_line_says_which_request_and_never_the_key(emu, monkeypatch):
    emu.set_keys([GOOD])
    _operator(monkeypatch, emu, config.MULEROUTER, GOOD)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["check-key", "mulerouter"], out=out, err=err) == cli.EXIT_OK
    text = out.getvalue()
    assert f"request: GET {emu.base_url}/vendors/klingai/v1/kling-v3/text-to-video/generation/" in text
    assert "nothing is created" in text and "HTTP 404 → accepted" in text and GOOD not in text
    _operator(monkeypatch, emu, config.MULEROUTER, BAD)
    out = io.StringIO()
    assert cli.main(["check-key", "mulerouter"], out=out, err=err) == cli.EXIT_PROBLEMS
    assert "HTTP 401 → wrong_key" in out.getvalue() and BAD not in out.getvalue()


@pytest.mark.parametrize("router", config.ROUTERS)
def test_smoke_asks_first_then_follows_one_cheapest_job_to_the_video(emu, monkeypatch, tmp_path: Path,
                                                                     router):
    monkeypatch.setattr(config, "SMOKE_POLL_S", 0.2)
    emu.set_complete_after(0.5)
    _operator(monkeypatch, emu, router, GOOD)
    out = io.StringIO()
    assert cli.main(["smoke", "--router", router], stdin=io.StringIO("no\n"), out=out) == 2
    assert "It will cost about $" in out.getvalue() and emu.submissions == []  # nothing without "yes"
    out = io.StringIO()
    code = cli.main(["smoke", "--router", router, "--out", str(tmp_path)], stdin=io.StringIO("yes\n"),
                    out=out)
    text = out.getvalue()
    assert code == 0, text
    assert len(emu.submissions) == 1 and emu.submissions[0]["body"]["duration"] == 3
    assert emu.submissions[0]["body"]["mode"] == "std"
    assert "Authorization: Bearer ***" in text and GOOD not in text
    assert "← HTTP 20" in text and "status: succeeded" in text and "OK: the video" in text
    assert list(tmp_path.glob("*.mp4"))
    if router == config.APIMART:
        assert "The router says it charged $" in text
