"""Fast start (issue 21 item 4): the server module, the views and the first script run import none of the
heavy libraries (PyAV, boto3, psycopg, pandas, scipy…): each comes with the function that uses it. The
services start in a thread, so the server answers before they are built. No timing here: bench/cold_start.py
measures the start against the trivial Streamlit app."""

from __future__ import annotations

import gc
import json
import logging
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from core import config, server
from core.storage.db import DatabaseUnavailable

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("av", "boto3", "botocore", "psycopg", "pandas", "pyarrow", "scipy", "choix")
SUBPROCESS_TIMEOUT_S = 120


def _view_modules() -> list[str]:
    return sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                  for p in (ROOT / "ui").rglob("*.py"))


def _heavy_after(code: str, tmp_path: Path, watched: tuple[str, ...] = (*HEAVY, "numpy")) -> list[str]:
    """The heavy modules (and numpy; or `watched`) in sys.modules after `code` ran in a fresh interpreter
    (demo mode, an empty data directory)."""
    env = {k: v for k, v in os.environ.items() if k not in config.KEY_ENV_VARS.values()}
    env.update({config.DATA_DIR_ENV: str(tmp_path), config.SECRETS_FILE_ENV: str(tmp_path / "none.toml"),
                "PYTHONPATH": str(ROOT)})
    env.pop(config.DATABASE_URL_ENV, None)
    probe = f"{code}\nimport json, sys\nprint('HEAVY=' + json.dumps([m for m in {watched!r} " \
            "if m in sys.modules]))\n"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("HEAVY="))
    return json.loads(line.removeprefix("HEAVY="))


def test_the_server_module_and_every_view_import_no_heavy_library(tmp_path):
    modules = _view_modules()
    assert "ui.create.page" in modules and "ui.results.jobs_view" in modules
    code = ("import importlib\nimport streamlit_app\n"
            f"for name in {modules!r}:\n    importlib.import_module(name)\n")
    assert _heavy_after(code, tmp_path) == []


def test_the_server_answers_before_the_records_the_catalog_and_pydantic_load(tmp_path):
    """What the server imports before /_stcore/health answers: its routes and middleware, not the job records,
    the catalog, Pydantic or httpx (0.29 → 0.04 s on top of Streamlit); the start thread loads them."""
    late = ("pydantic", "httpx", "core.jobs.record", "core.authoring.catalog", "core.storage.ledger",
            "core.engine.callbacks", "core.models")
    assert _heavy_after("import streamlit_app", tmp_path, late) == []


def test_the_server_spares_the_first_run_streamlits_direct_execution_check(tmp_path):
    """Streamlit's check "is this run outside `streamlit run`?" (inspect.stack() over every loaded module,
    ~0.1 s of the first page's run) is answered by the server module: it is the server of `streamlit run`.
    The flag it sets is Streamlit's own: this fails when an upgrade renames it."""
    code = ("import streamlit.delta_generator as dg\n"
            "assert dg._use_warning_has_been_displayed is False\n"
            "import streamlit_app\n"
            "assert dg._use_warning_has_been_displayed is True\n")
    assert _heavy_after(code, tmp_path) == []


def test_the_first_script_run_imports_no_heavy_library(tmp_path):
    """The default page drawn once, as a browser's first visit: numpy comes with Streamlit's favicon
    (allowed), the rest must not (a list in a component's data made Streamlit import pandas to ask whether
    it is a table)."""
    code = ("from streamlit.testing.v1 import AppTest\n"
            f"at = AppTest.from_file({str(ROOT / 'streamlit_app.py')!r}, default_timeout=60).run()\n"
            "assert not at.exception, at.exception\n"
            "assert any(t.label == 'Prompt' for t in at.text_area), 'no Prompt box'\n")
    assert [m for m in _heavy_after(code, tmp_path) if m != "numpy"] == []


def test_the_services_start_in_a_thread_then_the_first_page_imports(data_dir):
    seen = []
    thread = server.start_in_background(lambda: seen.append(server.services(start=False).engine.running))
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert seen == [True]  # warmed after the engine started
    assert server.services().engine.running


def test_a_start_that_fails_is_logged_and_the_pages_try_again(data_dir, monkeypatch, caplog):
    real = server.services
    calls = []

    def down(*args, **kwargs):
        calls.append(1)
        raise DatabaseUnavailable("the database is not answering")

    monkeypatch.setattr(server, "services", down)
    warmed = []
    with caplog.at_level(logging.ERROR, logger="core.server"):
        server.start_in_background(lambda: warmed.append(1)).join(timeout=30)
    assert calls == [1] and warmed == [1]  # the first page's imports still come
    assert "did not start" in caplog.text
    monkeypatch.setattr(server, "services", real)
    assert real().engine.running  # a page's own call builds them


def test_the_server_start_freezes_what_is_loaded_so_each_run_collects_little(data_dir):
    """Streamlit runs gc.collect(2) after every script run: what the start loaded is frozen out of it."""
    try:
        server.start_in_background(lambda: None, freeze=True).join(timeout=30)
        assert gc.get_freeze_count() > 10_000  # the modules, the catalog, the services
        assert len(gc.get_objects()) < gc.get_freeze_count()
    finally:
        gc.unfreeze()


def test_streamlit_runs_no_full_collection_after_each_script_run():
    """Decided with figures (bench/post_script_gc.py, ARCHITECTURE.md "Fast start"): off."""
    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert settings["runner"]["postScriptGC"] is False


def test_generate_and_its_take_card_import_no_heavy_library(tmp_path):
    """The first Generate of a fresh server (the take card scrolls itself into view): the card's component
    data is flat strings, so Streamlit imports no pandas to ask whether it is a table."""
    code = ("import time\nfrom streamlit.testing.v1 import AppTest\n"
            f"at = AppTest.from_file({str(ROOT / 'streamlit_app.py')!r}, default_timeout=60).run()\n"
            "box = next(t for t in at.text_area if t.label == 'Prompt')\n"
            "box.input('A paper boat on a rainy street at dusk').run()\n"
            "at.button(key='create.text.__generate').click().run()\n"
            "at.run()\n"
            "assert not at.exception, at.exception\n"
            "assert at.session_state['create.text.__take.scroll'], 'no scroll to the card'\n")
    assert [m for m in _heavy_after(code, tmp_path) if m != "numpy"] == []
