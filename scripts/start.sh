#!/usr/bin/env bash
# Install the app in a local virtual environment and start it (demo mode when no API key is set).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e .
exec .venv/bin/python -m streamlit run streamlit_app.py "$@"
