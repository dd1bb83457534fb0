"""Router adapters and the high-level calls the job runner uses.

    get_provider(router) -> Provider
    submit(client, endpoint, body, access) -> (TaskRef, raw reply)       at most once
    poll(client, ref, access, *, sleep, rand) -> TaskStatus                GET with retries
    download(client, url, dest_path, *, max_bytes, allowed_origins) -> bytes  bounded (core.net.fetch), no key
    upload_image(client, access, data, filename, content_type) -> URL      APIMart only
    test_connection(client, access) -> (ok, plain message)                 (Settings uses core.jobs.keycheck)

Errors are those of core.errors; the key travels per request only.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from core import config
from core.authoring.catalog import Endpoint
from core.errors import (
    NotFoundError,
    PaymentRequiredError,
    RequestRejectedError,
    ServerError,
    StudioError,
)
from core.jobs.providers.apimart import ApimartProvider, envelope_error
from core.jobs.providers.base import Provider
from core.jobs.providers.mulerouter import MuleRouterProvider
from core.models import RouterAccess, TaskRef, TaskStatus
from core.net.fetch import EXPECT_VIDEO, FetchPolicy, Resolver, fetch_to_file
from core.net.http import (
    KEY_MISSING_MESSAGE,
    auth_headers,
    error_from_response,
    get_with_retries,
    network_error,
    post_once,
    trace_id_of,
)

log = logging.getLogger(__name__)

_PROVIDERS: dict[str, Provider] = {
    config.MULEROUTER: MuleRouterProvider(),
    config.APIMART: ApimartProvider(),
}


def get_provider(router: str) -> Provider:
    """The adapter of a router ('mulerouter' or 'apimart'); ValueError for anything else."""
    try:
        return _PROVIDERS[router]
    except KeyError:
        raise ValueError(f"unknown router {router!r}; known: {', '.join(_PROVIDERS)}") from None


def _check_access(endpoint_router: str, access: RouterAccess) -> None:
    if access.router != endpoint_router:
        raise ValueError(f"this endpoint belongs to {endpoint_router}, not {access.router}")


def submit(
    client: httpx.Client,
    endpoint: Endpoint,
    body: dict[str, Any],
    access: RouterAccess,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
    callback_url: str | None = None,
) -> tuple[TaskRef, Any]:
    """POST the body once; return the task reference and the router's raw reply. `callback_url`: where the
    router should post when the task ends, for a router that takes one per request (APIMart's `webhook`);
    ignored by the others.

    Raises SubmissionUnknownError when the request may have arrived but no usable answer came
    back (never replayed), or the mapped RouterError when the router said no. MuleRouter's
    reference-to-video route is tried once on its alternative path after a 404 (nothing created).
    """
    _check_access(endpoint.router, access)
    provider = get_provider(endpoint.router)
    payload_body = provider.submit_body(endpoint, body)
    if callback_url and provider.webhook_field:
        payload_body[provider.webhook_field] = callback_url
    path = endpoint.path
    try:
        _, payload = post_once(
            client, provider.submit_url(access.base_url, path), key=access.key, json=payload_body,
            router=endpoint.router, sleep=sleep, rand=rand,
        )
    except NotFoundError:
        alternative = provider.fallback_path(path)
        if alternative is None:
            raise
        log.warning("submit path %s answered 404; trying the alternative path %s once", path, alternative)
        path = alternative
        _, payload = post_once(
            client, provider.submit_url(access.base_url, path), key=access.key, json=payload_body,
            router=endpoint.router, sleep=sleep, rand=rand,
        )
    return provider.parse_submit(endpoint, payload, path=path), payload


def poll(
    client: httpx.Client,
    ref: TaskRef,
    access: RouterAccess,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
    budget: int = config.POLL_RETRY_BUDGET,
) -> TaskStatus:
    """GET the task's status (retrying transient failures) and parse it router-neutrally."""
    _check_access(ref.router, access)
    provider = get_provider(ref.router)
    try:
        payload = get_with_retries(
            client, provider.poll_url(access.base_url, ref), key=access.key, router=ref.router,
            sleep=sleep, rand=rand, budget=budget,
        )
        return provider.parse_status(payload)
    except StudioError as exc:
        if exc.task_id is None:
            exc.task_id = ref.task_id
        raise


def download(
    client: httpx.Client,
    url: str,
    dest_path: str | os.PathLike[str],
    *,
    max_bytes: int = config.VIDEO_MAX_DOWNLOAD_BYTES,
    allowed_origins: Iterable[str] = (),
    deadline_s: float | None = None,
    resolve: Resolver = socket.getaddrinfo,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Fetch a finished video into `dest_path` (a `.part` beside it, renamed at the end); bytes written.
    `progress(bytes so far)` runs as it streams; what it raises stops the download (nothing kept).

    Bounded (core.net.fetch): http(s) only, no address inside this network unless its origin is in
    `allowed_origins` (the configured router or the emulator), redirects checked hop by hop, one
    deadline (VIDEO_DOWNLOAD_DEADLINE_S by default), `max_bytes`, and the first bytes must be a video.
    No Authorization header is sent: result URLs are public CDN links. Nothing is left behind on
    failure. Raises FetchRefusedError, NetworkError or the reply's mapped RouterError.
    """
    policy = FetchPolicy(
        allowed_origins=frozenset(allowed_origins),
        deadline_s=config.VIDEO_DOWNLOAD_DEADLINE_S if deadline_s is None else deadline_s,
        max_bytes=max_bytes,
    )
    return fetch_to_file(client, url, dest_path, policy=policy, expect=EXPECT_VIDEO, resolve=resolve,
                         progress=progress)


def upload_image(
    client: httpx.Client, access: RouterAccess, data: bytes, filename: str, content_type: str
) -> str:
    """Upload a local image to APIMart (`POST /v1/uploads/images`, multipart field `file`).

    Returns its public URL. MuleRouter takes Base64 inline, so it has no upload: ValueError.
    """
    provider = get_provider(access.router)
    if not isinstance(provider, ApimartProvider):
        raise ValueError("only APIMart needs image uploads; MuleRouter takes images inline as Base64")
    headers = auth_headers(access.key, router=access.router)
    try:
        files = {"file": (filename, data, content_type)}
        response = client.post(provider.upload_url(access.base_url), headers=headers, files=files)
    except httpx.LocalProtocolError as exc:  # never sent; its text may quote headers: not chained
        raise network_error(exc, router=access.router) from None
    except httpx.TransportError as exc:
        raise network_error(exc, router=access.router) from exc
    if not response.is_success:
        raise error_from_response(response, router=access.router, key=access.key)
    try:
        payload = response.json()
    except ValueError:
        raise ServerError(
            "The router's reply to the image upload could not be read.",
            router=access.router, status_code=response.status_code, trace_id=trace_id_of(response),
        ) from None
    error = envelope_error(payload)
    if error is not None:
        raise error
    url = _upload_url_of(payload)
    if not url:
        raise ServerError(
            "The router accepted the image upload but sent back no URL.",
            router=access.router, status_code=response.status_code, raw_body=payload,
        )
    return url


def _upload_url_of(payload: Any) -> str | None:
    """`{url, …}` or `{"data": {url}}` / `{"data": [{url}]}`."""
    for candidate in (payload, payload.get("data") if isinstance(payload, dict) else None):
        if isinstance(candidate, list):
            candidate = candidate[0] if candidate else None
        if isinstance(candidate, dict) and isinstance(candidate.get("url"), str) and candidate["url"]:
            return candidate["url"]
    return None


KEY_OK = "The router accepted the API key."


def test_connection(client: httpx.Client, access: RouterAccess) -> tuple[bool, str]:
    """A cheap check for Settings: ask for a task id that cannot exist.

    404 (or another answer the router only gives after checking the key) → key accepted;
    401/403 → bad key; network trouble → a plain message. Never retried.
    """
    if not access.key or not access.key.strip():
        return False, KEY_MISSING_MESSAGE
    provider = get_provider(access.router)
    try:
        payload = get_with_retries(
            client, provider.probe_url(access.base_url), key=access.key, router=access.router, budget=0
        )
        provider.parse_status(payload)
    except NotFoundError:
        return True, KEY_OK
    except RequestRejectedError:
        return True, KEY_OK
    except PaymentRequiredError as exc:
        return True, f"{KEY_OK} But: {exc.user_message}"
    except StudioError as exc:
        return False, exc.user_message
    return True, KEY_OK


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported


__all__ = [
    "Provider",
    "download",
    "get_provider",
    "poll",
    "submit",
    "test_connection",
    "upload_image",
]
