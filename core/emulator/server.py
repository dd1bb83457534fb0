"""Run the emulator app with uvicorn on 127.0.0.1 in a daemon thread, and the handle to drive it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from core import config
from core.emulator.app import EmulatorApp
from core.emulator.state import ANY, EmulatorState, Task, make_fault


def _drop_fn(server: uvicorn.Server) -> Callable[[Any], bool]:
    """Close (without a reply) the connection whose peer address is `client`."""

    def drop(client: Any) -> bool:
        for connection in list(server.server_state.connections):
            if client is not None and getattr(connection, "client", None) == tuple(client):
                connection.transport.close()
                return True
        return False

    return drop


class EmulatorHandle:
    """A running emulator: its base URL, its state (faults, submissions, tasks) and `stop()`."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, emulator: EmulatorApp,
                 base_url: str) -> None:
        self._server = server
        self._thread = thread
        self._emulator = emulator
        self._state: EmulatorState = emulator.state
        self.base_url = base_url

    def __repr__(self) -> str:
        return f"EmulatorHandle({self.base_url!r})"

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and wait for the thread (idempotent)."""
        self._server.should_exit = True
        self._thread.join(timeout=config.EMULATOR_STOP_TIMEOUT_S)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=config.EMULATOR_STOP_TIMEOUT_S)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # -- faults --
    def set_fault(self, kind: str, *, router: str | None = None, count: int | None = 1, phase: str = ANY,
                  **params: Any) -> None:
        """Arm a fault (see the package docstring); ValueError for an unknown kind, router or phase."""
        self._state.add_fault(make_fault(kind, router=router, count=count, phase=phase, **params))

    def clear_faults(self) -> None:
        self._state.clear_faults()

    @property
    def faults(self) -> list[dict[str, Any]]:
        return self._state.faults()

    # -- state --
    def reset(self) -> None:
        """Forget tasks, faults, submissions and uploads; complete_after and latency back to start."""
        self._state.reset()

    @property
    def submissions(self) -> list[dict[str, Any]]:
        """Every submit call so far: {router, path, body, task_id (None unless a task was made), status,
        key_hint (state.key_hint of the key it came with)}."""
        return self._state.submissions()

    @property
    def polls(self) -> list[dict[str, Any]]:
        """Every poll so far: {router, task_id, key_hint}."""
        return self._state.polls()

    @property
    def tasks(self) -> dict[str, Task]:
        return self._state.tasks()

    def set_complete_after(self, seconds: float) -> None:
        """Run time of tasks created from now on."""
        self._state.set_complete_after(seconds)

    def set_latency(self, seconds: float) -> None:
        """Delay before every router reply (submit, poll, upload), served concurrently."""
        self._state.set_latency(seconds)

    def set_callbacks(self, **settings: Any) -> None:
        """Callback knobs (core/emulator/callbacks.py): mulerouter_url, mulerouter_secret (MuleRouter's
        console endpoint), copies (duplicates), delay_s (late ones), lose (the next N never sent)."""
        from core.emulator.callbacks import configure

        configure(self._state, **settings)

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Every callback the emulator posted: {router, url, type, status} (status "lost": never sent)."""
        return self._state.deliveries()

    def set_billing(self, *, factor: float = 1.0, kling_units: float | None = None) -> None:
        """APIMart reports its rate-card cost × `factor`; MuleRouter answers of finished tasks carry Kling's
        `final_unit_deduction` = `kling_units` (None: not at all, as documented)."""
        self._state.bill_factor, self._state.kling_units = float(factor), kling_units

    def set_keys(self, keys: list[str] | None) -> None:
        """Accept only these keys (401 for any other); None: any non-empty key (the default)."""
        self._state.keys = None if keys is None else frozenset(keys)

    def set_account_limit(self, limit: int, shape: str | None = None) -> None:
        """At most `limit` tasks per router running at once (0: none); over it a submit is refused as busy, in
        `shape` "429" (default) or "1303" (Kling's body)."""
        self._state.set_account_limit(limit, shape)

    @property
    def peak_running(self) -> dict[str, int]:
        """Router → the most tasks it ran at once (counted at each accepted submit)."""
        return dict(self._state.peak_running)

    @property
    def busy_refusals(self) -> int:
        return self._state.busy_refusals

    @property
    def complete_after(self) -> float:
        return self._state.complete_after

    @property
    def latency(self) -> float:
        return self._state.latency


def start_emulator(
    *,
    complete_after: float = config.EMULATOR_COMPLETE_AFTER_S,
    latency: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    host: str = config.EMULATOR_HOST,
    port: int = 0,
) -> EmulatorHandle:
    """Start serving both routers on host:port (0 = a free port) in a daemon thread; returns at once
    when the server accepts connections. `clock` drives task progress; `wall_clock` the timestamps."""
    state = EmulatorState(complete_after, latency)
    emulator = EmulatorApp(state, clock=clock, wall=wall_clock)
    # proto=IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections (else ~40 ms per reply)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    uv_config = uvicorn.Config(emulator.app, log_level="warning", lifespan="off", access_log=False,
                               http="h11", loop="asyncio",
                               timeout_graceful_shutdown=int(config.EMULATOR_STOP_TIMEOUT_S))
    server = uvicorn.Server(uv_config)
    emulator.drop = _drop_fn(server)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"emulator-{sock.getsockname()[1]}")
    thread.start()
    deadline = time.monotonic() + config.EMULATOR_START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the router emulator did not start on {host}:{port}")
        time.sleep(config.EMULATOR_START_POLL_S)
    bound_port = sock.getsockname()[1]
    return EmulatorHandle(server, thread, emulator, f"http://{host}:{bound_port}")
