#!/usr/bin/env bash
# Install the app in a local virtual environment and start it (demo mode when no API key is set).
#
# Private by default: the studio listens on 127.0.0.1, so only this computer reaches it. To open it to your
# network, pass --share (or set STUDIO_SHARE=1): it then listens on every interface, and a warning is printed
# when the operator's key is set and nobody has to sign in. Other arguments go to `streamlit run`
# (an explicit --server.address wins).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e .
# the app's bytecode now, not at each start when PYTHONDONTWRITEBYTECODE is set (a faster first page)
.venv/bin/python -m compileall -q core ui >/dev/null

share="${STUDIO_SHARE:-0}"
address=""
port="8501"
args=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --share) share=1 ;;
    --server.address) address="$2"; args+=("$1" "$2"); shift ;;
    --server.port) port="$2"; args+=("$1" "$2"); shift ;;
    --server.port=*) port="${1#*=}"; args+=("$1") ;;
    --server.address=*) address="${1#*=}"; args+=("$1") ;;
    *) args+=("$1") ;;
  esac
  shift
done
if [ -z "$address" ]; then
  if [ "$share" = "1" ]; then address="0.0.0.0"; else address="127.0.0.1"; fi
  args+=("--server.address" "$address")
fi
if [ "$address" = "127.0.0.1" ] || [ "$address" = "localhost" ]; then
  echo "The studio listens on this computer only (http://localhost:$port). To open it to your network: --share" >&2
fi
.venv/bin/python -m core share-check --address "$address"
exec .venv/bin/python -m streamlit run streamlit_app.py "${args[@]}"
