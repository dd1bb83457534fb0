"""Issue 16 items 2 and 6 in core: what a pasted key's form says, and when the start command warns that the
studio is open to the network with the operator's key and no sign-in."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

from core import config
from core.__main__ import main
from core.jobs import key_check
from core.team import exposure
from core.team.identity import TeamSettings

ROOT = Path(__file__).resolve().parents[1]


def test_key_form_refuses_what_is_never_a_key_and_only_doubts_a_short_one() -> None:
    assert key_check.key_form_problem("") == "Paste a key first."
    assert "Bearer" in key_check.key_form_problem("Bearer sk-abcdefghijklmnopqrstu")
    assert "spaces" in key_check.key_form_problem("sk-abcdefgh ijklmnopqrstu")
    assert "spaces" in key_check.key_form_problem("sk-abcdefghijklmnop\nqrstu")
    assert "characters a key never has" in key_check.key_form_problem("sk-abcdéfghijklmnopqrstu")
    assert key_check.key_form_problem("  sk-abcdefghijklmnopqrstu  ") is None  # pasted with spaces around
    assert key_check.key_form_caution("sk-abcdefghijklmnopqrstu") is None
    assert "cut short" in key_check.key_form_caution("sk-short")
    assert key_check.key_form_problem("sk-short") is None  # used, with the doubt said
    assert set(key_check.KEY_PAGES) == set(config.ROUTERS)
    assert all(url.startswith("https://") for _, url in key_check.KEY_PAGES.values())


def test_private_addresses() -> None:
    for private in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.1.1"):
        assert exposure.is_private(private), private
    for shared in ("0.0.0.0", "", None, "::", "192.168.1.20", "studio.example.com"):
        assert not exposure.is_private(shared), shared


def test_share_warning_only_for_a_shared_server_with_keys_and_no_sign_in() -> None:
    keys = ["MuleRouter"]
    assert exposure.share_warning("127.0.0.1", keys, False) is None
    assert exposure.share_warning("0.0.0.0", [], False) is None  # demo mode: nothing to spend
    assert exposure.share_warning("0.0.0.0", keys, True) is None
    warning = exposure.share_warning("0.0.0.0", keys, False)
    assert "every network interface" in warning and "MuleRouter" in warning and "sign-in" in warning
    assert exposure.sign_in_configured(TeamSettings(login_configured=True))
    assert exposure.sign_in_configured(TeamSettings(trusted_header="X-Auth-Request-Email"))
    assert not exposure.sign_in_configured(TeamSettings())
    env = {config.KEY_ENV_VARS[config.APIMART]: "sk-x"}
    assert exposure.operator_keys_set({}, env) == ["APIMart"]
    assert exposure.operator_keys_set({config.KEY_ENV_VARS[config.MULEROUTER]: "sk-y"}, {}) == ["MuleRouter"]


def test_share_check_command_prints_the_warning(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STUDIO_SECRETS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv(config.KEY_ENV_VARS[config.MULEROUTER], "sk-operator-key-0123456789")
    monkeypatch.delenv(config.TRUSTED_HEADER_ENV, raising=False)
    err = io.StringIO()
    assert main(["share-check", "--address", "0.0.0.0"], err=err, out=io.StringIO()) == 0
    assert err.getvalue().startswith("WARNING:") and "sk-operator" not in err.getvalue()
    err = io.StringIO()
    assert main(["share-check", "--address", "127.0.0.1"], err=err, out=io.StringIO()) == 0
    assert err.getvalue() == ""


def _start_sh_address(fake: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run scripts/start.sh with stand-ins for pip and streamlit; the address it would start streamlit on."""
    (fake / ".venv" / "bin").mkdir(parents=True, exist_ok=True)
    (fake / "scripts").mkdir(exist_ok=True)
    (fake / "scripts" / "start.sh").write_text((ROOT / "scripts" / "start.sh").read_text())
    python = fake / ".venv" / "bin" / "python"
    python.write_text('#!/bin/sh\nif [ "$2" = "streamlit" ]; then echo "ARGS $*"; fi\n'
                      'if [ "$2" = "core" ]; then echo "CHECK $*" >&2; fi\n')
    python.chmod(0o755)
    run = subprocess.run(["bash", str(fake / "scripts" / "start.sh"), *args], capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, timeout=30, check=True)
    line = next(x for x in run.stdout.splitlines() if x.startswith("ARGS"))
    words = line.split()
    return words[words.index("--server.address") + 1]


def test_start_script_is_private_unless_asked_to_share(tmp_path: Path) -> None:
    assert _start_sh_address(tmp_path) == "127.0.0.1"
    assert _start_sh_address(tmp_path, "--share") == "0.0.0.0"
    assert _start_sh_address(tmp_path, env={"STUDIO_SHARE": "1"}) == "0.0.0.0"
    assert _start_sh_address(tmp_path, "--server.address", "192.168.1.5") == "192.168.1.5"
    assert _start_sh_address(tmp_path, "--server.port", "8600") == "127.0.0.1"


def test_start_script_compiles_the_apps_bytecode_before_it_starts(tmp_path: Path) -> None:
    """Even where PYTHONDONTWRITEBYTECODE is set, the server reads bytecode rather than compiling the app's
    modules at each start (issue 21, fast start)."""
    calls = tmp_path / "calls.log"
    _start_sh_address(tmp_path)
    python = tmp_path / ".venv" / "bin" / "python"
    python.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n'
                      'if [ "$2" = "streamlit" ]; then echo "ARGS $*"; fi\n')
    subprocess.run(["bash", str(tmp_path / "scripts" / "start.sh")], capture_output=True, text=True,
                   timeout=30, check=True)
    lines = calls.read_text().splitlines()
    compiled = [i for i, line in enumerate(lines) if line.startswith("-m compileall") and "core ui" in line]
    started = [i for i, line in enumerate(lines) if line.startswith("-m streamlit run")]
    assert compiled and started and compiled[0] < started[0]


def test_streamlit_config_listens_on_this_computer_only() -> None:
    import tomllib

    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["address"] == "127.0.0.1"


def test_add_shot_keeps_the_total_or_says_by_how_much_it_runs_over() -> None:
    from core.authoring import storyboard as sb

    shots, said = sb.add_shot_keeping([{"prompt": "a", "duration": 5}], 5)
    assert [s["duration"] for s in shots] == [3, 2] and "the total stays 5 s" in said
    shots, said = sb.add_shot_keeping([{"prompt": "a", "duration": 3}], 5)
    assert [s["duration"] for s in shots] == [3, 2] and "the 2 s still missing" in said
    shots, said = sb.add_shot_keeping([{"index": 1, "prompt": "a", "duration": 3},
                                       {"index": 2, "prompt": "b", "duration": 7}], 10)
    assert [(s["index"], s["duration"]) for s in shots] == [(1, 3), (2, 4), (3, 3)]
    shots, said = sb.add_shot_keeping([{"prompt": "a", "duration": 1}, {"prompt": "b", "duration": 1}], 2)
    assert [s["duration"] for s in shots] == [1, 1, 1] and "1 s longer than the 2 s video" in said
    shots, said = sb.add_shot_keeping([{"prompt": "a", "duration": 3}], None)
    assert [s["duration"] for s in shots] == [3, 1]
    full = [{"prompt": str(i), "duration": 2} for i in range(config.SHOTS_MAX)]
    try:
        sb.add_shot_keeping(full, 12)
    except ValueError as exc:
        assert "at most" in str(exc)
    else:
        raise AssertionError("a seventh shot was added")


def test_range_problem_in_plain_words() -> None:
    from ui.create.form import range_problem

    assert range_problem(-2, 1, 15) == "-2 is not used: this must be at least 1 and at most 15."
    assert range_problem(16, 1, 15) == "16 is not used: this must be at most 15."
    assert range_problem(3, 1, 15) is None and range_problem(None, 1, 15) is None
