"""Who can reach this server, and whether that lets strangers spend the operator's key (pure, no Streamlit).

    is_private(address)                       the server listens on this machine only (loopback)
    operator_keys_set(secrets, environ)       the operator configured a router key (environment or secrets)
    sign_in_configured(team)                  Streamlit's login or a trusted proxy header is set up
    share_warning(address, keys, sign_in)     the warning to print / show, or None

The start command (scripts/start.sh) listens on 127.0.0.1 unless the operator passes --share (or sets
STUDIO_SHARE=1); `python -m core share-check --address A` prints the warning for that address.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Any

from core import config
from core.team.identity import TeamSettings

SHARE_ENV = "STUDIO_SHARE"  # "1": scripts/start.sh listens on every network interface
SHARED_ADDRESS = "0.0.0.0"
PRIVATE_ADDRESS = "127.0.0.1"

SHARE_WARNING = (
    "This studio is open to anyone who can reach this computer over the network ({address}), nobody has to "
    "sign in, and the operator's key for {routers} is set: anyone on the network can make videos that "
    "are charged to that key. Set up sign-in (see the README: Deploy for a team, Sign-in), or start without "
    "--share to keep it on this computer only."
)


def is_private(address: str | None) -> bool:
    """True when the address only listens on this machine (loopback, or a Unix socket path)."""
    value = (address or "").strip().strip("[]")
    if not value:
        return False  # Streamlit's default: every interface
    if value == "localhost" or value.startswith("/"):
        return True
    try:
        return ipaddress.ip_address(value).is_loopback
    except ValueError:
        return False  # a host name: it may well be reachable from elsewhere


def operator_keys_set(secrets: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> list[str]:
    """The routers (labels) the operator has a key for, from the environment or the secrets."""
    environ = os.environ if environ is None else environ
    found = []
    for router, name in config.KEY_ENV_VARS.items():
        if str(environ.get(name, "")).strip() or str(secrets.get(name, "") or "").strip():
            found.append(config.ROUTER_LABELS[router])
    return found


def sign_in_configured(team: TeamSettings) -> bool:
    return bool(team.login_configured or team.trusted_header)


def share_warning(address: str | None, keyed_routers: list[str], sign_in: bool) -> str | None:
    """The warning when the server is reachable from the network, with the operator's keys and no sign-in."""
    if is_private(address) or sign_in or not keyed_routers:
        return None
    where = address.strip() if address and address.strip() else "every network interface"
    if where == SHARED_ADDRESS:
        where = "every network interface"
    return SHARE_WARNING.format(address=where, routers=" and ".join(keyed_routers))
