"""The route of the change feed (issue 21): GET {config.CHANGES_ROUTE}?after=<seq> → what changed, as JSON.

    change_routes(feed_for)      the Starlette route; `feed_for()` gives the process's ChangeFeed
                                 (core/storage/change_feed.py), asked per request

Apart from the feed itself so that the server module builds its routes without importing the job records,
the catalog and Pydantic (core/server.py: the server answers before they are loaded, issue 21 fast start).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core import config


def changes_endpoint(feed_for: Any):
    async def changes(request: Request) -> JSONResponse:
        feed = feed_for()
        try:
            after = int(request.query_params.get("after", ""))
        except ValueError:
            after = feed.seq
        tab = request.query_params.get("tab")
        if tab:
            feed.note_ask(tab)
        held_until = time.monotonic() + config.LIVE_HOLD_MOST_S
        while feed.interacting() and time.monotonic() < held_until:  # a person's own run goes first
            await asyncio.sleep(config.LIVE_HOLD_POLL_S)
        return JSONResponse(feed.since(after).as_json(), headers={"cache-control": "no-store"})

    return changes


def change_routes(feed_for: Any, *, base_url_path: str = "") -> list[Route]:
    """GET {base}{config.CHANGES_ROUTE}?after=<seq> → the FeedAnswer as JSON."""
    base = "/" + base_url_path.strip("/") if base_url_path.strip("/") else ""
    return [Route(f"{base}{config.CHANGES_ROUTE}", changes_endpoint(feed_for), methods=["GET"],
                  name="changes")]
