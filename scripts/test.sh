#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine, then run the whole suite.
# Used by the README ("Run the tests") and by CI (.ci/run). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; never `playwright install`).
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# Debian's PostgreSQL server binaries for the ledger's tests on PostgreSQL (bench/pg.py starts a throwaway
# cluster from /usr/lib/postgresql/<version>/bin; the system service is not used).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi

# Debian's Caddy for the test that runs deploy/Caddyfile in front of a real app server (the identity header:
# the proxy's value wins, the browser's is dropped).
if ! command -v caddy >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq caddy >/dev/null
fi

# The project and its test extra in a local virtual environment.
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[test]"

.venv/bin/python -m ruff check .
# With arguments: exactly that pytest run. Without: the whole suite in two steps, the tests without a browser
# on two workers (each its own emulator, PostgreSQL cluster and S3 endpoint), then the Chromium tests in one
# process (Playwright's sync API and the real app servers they start want the machine to themselves).
if [ "$#" -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
.venv/bin/python -m pytest -n 2 --dist loadfile --ignore=tests/browser
exec .venv/bin/python -m pytest tests/browser
