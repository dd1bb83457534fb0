"""Is this API key right? One request that costs nothing (no Streamlit).

    check_key(access, client=None) -> KeyCheck        the plain result ("Check key" in Settings,
                                                      `python -m core check-key ROUTER`, the first-run setup)
    check_typed_key(router, key, base_url=None)       the same for a key as typed (default base URL)

The request: `GET` of the status of a task id that cannot exist (config.CONNECTION_TEST_TASK_IDS), with the
key in `Authorization: Bearer …`, exactly as a poll is made:
    MuleRouter  GET {base}/vendors/klingai/v1/kling-v3/text-to-video/generation/
                    00000000-0000-0000-0000-000000000000          (one line; the path of the first endpoint)
    APIMart     GET {base}/v1/tasks/task_00000000000000000000000000
Why it costs nothing: it only reads a task's status. No task is created, so nothing is generated or billed and
no slot of the account's concurrency is taken (Kling: "query interfaces do not consume concurrency",
api-reference §8). Neither router documents a balance endpoint (api-reference §1, §2), so none is asked.

What the answer means (MuleRouter's status table, api-reference §1.5; APIMart: 401 = bad key, §2.5):
    404 (or 400/422: the id was read, so the key was)  → the key is accepted
    401 / 403                                          → the key is wrong, expired or without permission
    402 (or balance/quota words)                       → the key is accepted, the account has no credit
    no answer / 5xx                                    → the router could not be reached: nothing known
Never retried (one request), never logged with the key.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from core import config
from core.errors import (
    AuthError,
    NetworkError,
    NotFoundError,
    PaymentRequiredError,
    RequestRejectedError,
    StudioError,
)
from core.jobs.providers import get_provider
from core.models import RouterAccess
from core.net.http import KEY_MISSING_MESSAGE, get_with_retries, make_client

ACCEPTED = "accepted"
NO_CREDIT = "no_credit"  # accepted, but the account cannot pay for a job
WRONG_KEY = "wrong_key"
MISSING = "missing"
UNREACHABLE = "unreachable"
UNCLEAR = "unclear"  # the router answered something we cannot read as yes or no

WHY_FREE = ("It asks for the status of a task id that cannot exist: nothing is created, so nothing is "
            "generated or charged.")


@dataclass(frozen=True)
class KeyCheck:
    """What the check found: `ok` (the key is accepted), a `verdict` word, plain `message`, the `request` made
    (method and URL, never the key) and the router's HTTP status (None without an answer)."""

    ok: bool
    verdict: str
    message: str
    request: str
    status: int | None = None


def probe_request(access: RouterAccess) -> str:
    """The one request check_key makes, as "GET <url>" (no key)."""
    return f"GET {get_provider(access.router).probe_url(access.base_url)}"


def check_key(access: RouterAccess, client: httpx.Client | None = None) -> KeyCheck:
    """Check a key with one free request (see the module docstring). Never raises a StudioError."""
    request = probe_request(access)
    if not access.key or not access.key.strip():
        return KeyCheck(False, MISSING, KEY_MISSING_MESSAGE, request)
    own = client is None
    http = client or make_client()
    provider = get_provider(access.router)
    try:
        payload = get_with_retries(http, provider.probe_url(access.base_url), key=access.key,
                                   router=access.router, budget=0)
        provider.parse_status(payload)  # APIMart may answer an error inside its envelope under HTTP 200
    except (NotFoundError, RequestRejectedError) as exc:
        return KeyCheck(True, ACCEPTED, "The router accepted the key.", request, exc.status_code)
    except PaymentRequiredError as exc:
        return KeyCheck(True, NO_CREDIT, f"The router accepted the key, but: {exc.user_message}", request,
                        exc.status_code)
    except AuthError as exc:
        return KeyCheck(False, WRONG_KEY, exc.user_message, request, exc.status_code)
    except NetworkError as exc:
        return KeyCheck(False, UNREACHABLE, exc.user_message, request, None)
    except StudioError as exc:
        unreachable = exc.status_code is None or exc.status_code >= 500
        return KeyCheck(False, UNREACHABLE if unreachable else UNCLEAR, exc.user_message, request,
                        exc.status_code)
    finally:
        if own:
            http.close()
    # a task answer for an id that cannot exist: the key was read and accepted
    return KeyCheck(True, ACCEPTED, "The router accepted the key.", request, 200)


def check_typed_key(router: str, key: str, base_url: str | None = None,
                    client: httpx.Client | None = None) -> KeyCheck:
    """check_key for a key as a person typed it, at `base_url` (default: the router's public address)."""
    url = (base_url or config.DEFAULT_BASE_URLS[router]).rstrip("/")
    return check_key(RouterAccess(router=router, base_url=url, key=key or ""), client)


__all__ = ["ACCEPTED", "MISSING", "NO_CREDIT", "UNCLEAR", "UNREACHABLE", "WHY_FREE", "WRONG_KEY", "KeyCheck",
           "check_key", "check_typed_key", "probe_request"]
