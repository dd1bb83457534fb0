"""The server process: what runs once per app server, whether or not a browser tab is open.

    lifespan(app)   started and stopped with the server by `st.App` (streamlit_app.py): the demo
                    emulator, the job engine (core/engine.py) and its ledger/media/client
    routes()        Starlette routes mounted beside Streamlit's own (e.g. /api/media/<name>)

No Streamlit import here: `st.App` takes these as plain ASGI pieces.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.routing import BaseRoute


def routes() -> list[BaseRoute]:
    """Our routes beside Streamlit's (Streamlit reserves /media/, so ours live under /api/)."""
    return []


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Start the process's services with the server and stop them with it."""
    yield
