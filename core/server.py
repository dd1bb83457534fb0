"""The server process: what runs once per app server, whether or not a browser tab is open.

    lifespan(app)   started and stopped with the server by `st.App` (streamlit_app.py): the demo
                    emulator, the job engine (core/engine.py) and its ledger/media/client
    routes()        Starlette routes mounted beside Streamlit's own (e.g. /api/media/<name>)

No Streamlit import here: `st.App` takes these as plain ASGI pieces.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute

from core import config, media_route, store

_media_caches: dict[Path, store.MediaCache] = {}
_media_caches_lock = threading.Lock()


def media_cache() -> store.MediaCache:
    """The media cache of the current data directory, made once per directory (on first use)."""
    directory = config.data_dir() / config.MEDIA_DIRNAME
    with _media_caches_lock:
        cache = _media_caches.get(directory)
        if cache is None:
            cache = _media_caches[directory] = store.MediaCache(directory)
        return cache


def routes(base_url_path: str = "") -> list[BaseRoute]:
    """Our routes beside Streamlit's (Streamlit reserves /media/, so ours live under /api/).
    `base_url_path`: Streamlit's `server.baseUrlPath` (st.App mounts user routes at the root)."""
    return [*media_route.media_routes(media_cache, base_url_path=base_url_path)]


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Start the process's services with the server and stop them with it."""
    yield
