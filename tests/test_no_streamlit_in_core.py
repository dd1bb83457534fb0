"""House rule 1: every core module imports without importing streamlit."""

import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _core_modules() -> list[str]:
    import core

    names = ["core"]
    for info in pkgutil.walk_packages(core.__path__, prefix="core."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def test_every_core_module_imports_without_streamlit():
    modules = _core_modules()
    assert len(modules) > 10
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = [m for m in sys.modules if m == 'streamlit' or m.startswith('streamlit.')]\n"
        "print('STREAMLIT' if bad else 'CLEAN')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "CLEAN", out.stdout + out.stderr
