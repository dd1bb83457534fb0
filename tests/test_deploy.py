"""deploy/: what can be checked without a Docker engine (issue 11 §2).

The compose file, the Caddyfile and the Dockerfile are read as data: two identical app servers on PostgreSQL
and MinIO, healthy dependencies first, sticky sessions over both upstreams, a non-root image with a health
check. The image's CMD (and its HEALTHCHECK command) are then run here, against this checkout, on a free port.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest
import yaml

from bench import servers

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
APP_PORT = "8501"
HEALTH_PATH = "/_stcore/health"
IMAGE_ENV_KEYS = {  # what every app server must get (issue 11 §2; the agreed config names)
    "STUDIO_DATABASE_URL", "STUDIO_MEDIA_URL", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "STUDIO_MEDIA_PUBLIC_ENDPOINT", "STUDIO_TRUSTED_HEADER",
    "STUDIO_EMULATOR_URL", "STUDIO_TRUSTED_PROXIES",
}


# --- reading the files ---------------------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def app_services(spec: dict) -> dict[str, dict]:
    """The app servers: services built from deploy/Dockerfile that run its CMD (the emulator runs another)."""
    return {name: svc for name, svc in spec["services"].items()
            if isinstance(svc.get("build"), dict) and svc["build"].get("dockerfile") == "deploy/Dockerfile"
            and "command" not in svc}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined, comments dropped."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def instruction(name: str) -> list[str]:
    return [args for word, args in dockerfile_instructions() if word == name]


def exec_form(args: str) -> list[str]:
    """A JSON (exec form) command: CMD ["python", ...] or HEALTHCHECK ... CMD ["python", ...]."""
    return json.loads(args[args.index("["):])


def on_port(argv: list[str], port: int) -> list[str]:
    """The image's command for this machine: this interpreter, another port."""
    swapped = [sys.executable if a == "python" else a for a in argv]
    return [a.replace(APP_PORT, str(port)) for a in swapped]


def caddy_reverse_proxy() -> tuple[list[str], list[str]]:
    """The reverse_proxy line's upstreams and the lines of its block, from deploy/Caddyfile."""
    lines = [line.split("#", 1)[0].strip() for line in (DEPLOY / "Caddyfile").read_text().splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("reverse_proxy ") and line.endswith("{")
                 and ":" in line)
    upstreams = lines[start].removeprefix("reverse_proxy").removesuffix("{").split()
    block = []
    for line in lines[start + 1:]:
        if line == "}":
            break
        if line:
            block.append(line)
    return upstreams, block


# --- compose.yaml --------------------------------------------------------------------------------------


def test_compose_has_two_app_servers_with_the_same_environment_and_secrets():
    apps = app_services(compose())
    assert sorted(apps) == ["app1", "app2"]
    first, second = apps.values()
    assert first["environment"] == second["environment"]
    assert first["volumes"] == second["volumes"]
    assert first["image"] == second["image"]
    assert set(first["environment"]) >= IMAGE_ENV_KEYS
    mounts = [v for v in first["volumes"] if isinstance(v, dict) and v.get("type") == "bind"]
    secrets = [m for m in mounts if m["target"] == "/app/.streamlit/secrets.toml"]
    assert len(secrets) == 1
    assert secrets[0]["source"] == "../.streamlit/secrets.toml"  # the project's own, git-ignored file
    assert secrets[0]["read_only"] is True


def test_app_environment_points_at_the_compose_database_and_bucket():
    spec = compose()
    env = next(iter(app_services(spec).values()))["environment"]
    url = env["STUDIO_DATABASE_URL"]
    assert url.startswith("postgresql://") and "@postgres:5432/" in url
    assert ":" not in url.removeprefix("postgresql://").split("@", 1)[0]  # no password inside the URL
    assert env["STUDIO_MEDIA_URL"] == "s3://studio/media"
    assert env["AWS_ENDPOINT_URL"] == "http://minio:9000"
    assert "http://localhost:9000" in env["STUDIO_MEDIA_PUBLIC_ENDPOINT"]
    minio = spec["services"]["minio"]["environment"]
    assert env["AWS_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert env["AWS_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]
    assert env["PGPASSWORD"] == spec["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    bucket = env["STUDIO_MEDIA_URL"].removeprefix("s3://").split("/", 1)[0]
    assert f"mb --ignore-existing studio/{bucket}" in " ".join(spec["services"]["minio-setup"]["command"])


def test_demo_mode_uses_one_emulator_shared_by_the_app_servers():
    spec = compose()
    env = next(iter(app_services(spec).values()))["environment"]
    emulator = spec["services"]["emulator"]
    assert emulator["image"] == next(iter(app_services(spec).values()))["image"]
    command = emulator["command"]
    assert command[:3] == ["python", "-m", "core.emulator"]
    port = command[command.index("--port") + 1]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert env["STUDIO_EMULATOR_URL"] == f"http://emulator:{port}"
    assert f"127.0.0.1:{port}/_emulator/health" in " ".join(emulator["healthcheck"]["test"])
    assert "ports" not in emulator  # reachable by the app servers only


def test_passwords_are_required_from_the_env_file_never_written_in_compose():
    spec = compose()
    env = next(iter(app_services(spec).values()))["environment"]
    for value in (spec["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"],
                  spec["services"]["minio"]["environment"]["MINIO_ROOT_PASSWORD"],
                  env["STREAMLIT_SERVER_COOKIE_SECRET"]):
        assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", value), value
    used = set(re.findall(r"\$\{(\w+)", (DEPLOY / "compose.yaml").read_text()))
    listed = {line.split("=", 1)[0] for line in (DEPLOY / ".env.example").read_text().splitlines()
              if "=" in line and not line.startswith("#")}
    assert used <= listed
    assert "deploy/.env" in (ROOT / ".gitignore").read_text().splitlines()


def test_app_servers_start_after_healthy_postgres_and_minio_and_the_bucket():
    spec = compose()
    for app in app_services(spec).values():
        assert app["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "minio": {"condition": "service_healthy"},
            "minio-setup": {"condition": "service_completed_successfully"},
            "emulator": {"condition": "service_healthy"},
        }
    services = spec["services"]
    assert services["minio-setup"]["depends_on"] == {"minio": {"condition": "service_healthy"}}
    assert services["postgres"]["image"] == "postgres:16"
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert services["minio"]["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    named = set(spec["volumes"])
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "minio-data:/data" in services["minio"]["volumes"]
    assert {"postgres-data", "minio-data"} <= named


def test_caddy_balances_both_app_servers_with_sticky_cookie_and_health_checks():
    spec = compose()
    caddy = spec["services"]["caddy"]
    assert "8080:80" in caddy["ports"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    upstreams, block = caddy_reverse_proxy()
    assert sorted(upstreams) == sorted(f"{name}:{APP_PORT}" for name in app_services(spec))
    assert any(re.fullmatch(r"lb_policy cookie( \S+)*", line) for line in block)
    assert f"health_uri {HEALTH_PATH}" in block
    assert set(caddy["depends_on"]) == set(app_services(spec))


def test_app_servers_take_the_identity_header_only_from_caddys_fixed_address():
    import ipaddress

    spec = compose()
    caddy_address = spec["services"]["caddy"]["networks"]["default"]["ipv4_address"]
    (subnet,) = [c["subnet"] for c in spec["networks"]["default"]["ipam"]["config"]]
    assert ipaddress.ip_address(caddy_address) in ipaddress.ip_network(subnet)
    for app in app_services(spec).values():
        value = app["environment"]["STUDIO_TRUSTED_PROXIES"]
        assert re.fullmatch(r"\$\{STUDIO_TRUSTED_PROXIES:-([^}]+)\}", value).group(1) == caddy_address


# --- Dockerfile ----------------------------------------------------------------------------------------


def test_dockerfile_is_python_311_slim_non_root_with_health_check():
    assert instruction("FROM") == ["python:3.11-slim"]
    users = instruction("USER")
    assert users and users[-1] not in ("root", "0", "0:0")
    words = [word for word, _ in dockerfile_instructions()]
    assert words.index("USER") < words.index("CMD")  # the server runs as that user
    assert instruction("EXPOSE") == [APP_PORT]
    (health,) = instruction("HEALTHCHECK")
    assert f"127.0.0.1:{APP_PORT}{HEALTH_PATH}" in health
    assert "pip install \".[auth]\"" in " ".join(instruction("RUN"))


def test_dockerfile_compiles_the_apps_bytecode_in_the_image():
    """The server runs with PYTHONDONTWRITEBYTECODE and cannot write to /app: without bytecode made in the
    image, Python compiled the app's modules from source at every start (issue 21, fast start)."""
    steps = dockerfile_instructions()
    copied = [i for i, (word, args) in enumerate(steps)
              if word == "COPY" and args.split()[0] in ("core", "ui")]
    compiled = [i for i, (word, args) in enumerate(steps) if word == "RUN" and "compileall" in args
                and " core ui" in args]
    assert len(copied) == 2 and compiled and min(compiled) > max(copied)


def test_dockerfile_cmd_is_streamlit_run_headless_on_all_interfaces():
    (cmd,) = instruction("CMD")
    argv = exec_form(cmd)
    assert argv[:5] == ["python", "-m", "streamlit", "run", "streamlit_app.py"]
    options = dict(zip(argv[5::2], argv[6::2], strict=True))
    assert options["--server.address"] == "0.0.0.0"
    assert options["--server.port"] == APP_PORT
    assert options["--server.headless"] == "true"


def test_dockerfile_copies_what_exists_and_dockerignore_keeps_secrets_and_clutter_out():
    for args in instruction("COPY"):
        *sources, _dest = args.split()
        for source in sources:
            assert (ROOT / source).exists(), source
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".venv", ".git", "tests", "test-results", ".streamlit/secrets.toml", ".env"} <= ignored
    copied = {args.split()[0] for args in instruction("COPY")}
    assert not copied & ignored


# --- the image's command, run here ---------------------------------------------------------------------


def healthy_in_time(proc: subprocess.Popen, url: str) -> bool:
    """Does the server answer ok on its health route before it exits or the start time runs out?"""
    deadline = time.monotonic() + servers.START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}{HEALTH_PATH}", timeout=1).text == "ok":
                return True
        time.sleep(servers.HEALTH_POLL_S)
    return False



@pytest.fixture
def image_cmd_server(tmp_path):
    """The Dockerfile's CMD on this checkout (demo mode, its own data dir, a free port): (url, port)."""
    port = servers.free_port()
    argv = on_port(exec_form(instruction("CMD")[0]), port)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(STUDIO_DATA_DIR=str(tmp_path / "data"), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        if not healthy_in_time(proc, url):
            pytest.fail("the image's CMD did not start: " + log_path.read_text(errors="replace")[-2000:])
        yield url, port
    finally:
        servers.stop(proc)


def test_image_cmd_serves_health_and_the_app_here(image_cmd_server):
    url, port = image_cmd_server
    assert httpx.get(f"{url}{HEALTH_PATH}", timeout=5).text == "ok"
    assert httpx.get(f"{url}/", timeout=5).status_code == 200
    (health,) = instruction("HEALTHCHECK")
    check = on_port(exec_form(health), port)
    assert subprocess.run(check, timeout=30).returncode == 0  # the image's HEALTHCHECK command agrees


def test_compose_emulator_command_and_its_health_check_work_here(tmp_path):
    emulator = compose()["services"]["emulator"]
    port = servers.free_port()
    command = [sys.executable if a == "python" else a.replace("8765", str(port)) for a in emulator["command"]]
    check = [a.replace("8765", str(port)) for a in emulator["healthcheck"]["test"][2:]]
    with open(tmp_path / "emulator.log", "wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + servers.START_TIMEOUT_S
        while time.monotonic() < deadline and proc.poll() is None:
            if subprocess.run([sys.executable, *check], capture_output=True, timeout=30).returncode == 0:
                break
            time.sleep(servers.HEALTH_POLL_S)
        assert subprocess.run([sys.executable, *check], timeout=30).returncode == 0, (
            (tmp_path / "emulator.log").read_text(errors="replace"))
    finally:
        servers.stop(proc)


# --- the secrets examples and the README ---------------------------------------------------------------


def test_team_secrets_example_lists_every_team_setting_and_parses():
    text = (DEPLOY / "secrets.toml.example").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert {"MULEROUTER_API_KEY", "APIMART_API_KEY"} <= set(data)
    assert "auth" not in data  # copied as it is, it must not turn sign-in on with placeholder values
    assert isinstance(data["team"]["admins"], list)
    budget = data["budget"]
    assert {"per_person_usd_per_day", "team_usd_per_day", "timezone", "people"} <= set(budget)
    for name in ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url",
                 "trusted_header", "[connections.studio]", "[auth]"):
        assert name in text, name
    tomllib.loads((ROOT / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8"))


def test_readme_quick_start_stays_two_commands_and_has_the_team_section():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [line for block in re.findall(r"```bash\n(.*?)```", quick, re.S) for line in block.splitlines()
                if line.strip()]
    assert len(commands) == 2
    team = readme.split("## Deploy for a team", 1)[1].split("\n## ", 1)[0]
    for needed in ("docker compose -f deploy/compose.yaml up -d", "http://localhost:8080",
                   "python -m core migrate-media", "deploy/secrets.toml.example", "app3"):
        assert needed in team, needed
    for variable in ("STUDIO_DATABASE_URL", "STUDIO_MEDIA_URL", "STUDIO_MEDIA_PUBLIC_ENDPOINT",
                     "STUDIO_TRUSTED_HEADER", "STUDIO_TRUSTED_PROXIES", "AWS_ENDPOINT_URL"):
        assert variable in readme.split("## Configuration", 1)[1].split("\n## ", 1)[0], variable
