"""What one Create-page interaction costs the server (issue 21: interactions close to bare Streamlit), without
a browser: a session over Streamlit's websocket protocol from Python (bench/ws_tabs.py's way) changes one
widget as a browser does (a rerun asking with the new widget state) and we read, per interaction:

    wall ms      from the ask sent to the last message of the run(s) it caused (a run ended by st.rerun() is
                 followed by the next; the interaction ends once nothing came for QUIET_S)
    messages     websocket messages the server sent for it (each one is an element the browser redraws)
    KB           their bytes
    CPU ms       the server process's CPU (user + system, /proc) over the interaction

The same interactions on the trivial app (bench/probe.py TRIVIAL_CREATE_APP: the same three controls, no
work) in the same run are the baseline; the Chromium probe of bench/sessions.py adds the browser's part.

    prompt   a new prompt in the Prompt box (a text area commits on blur: one rerun with its new text)
    choice   another aspect ratio in the segmented control

    python -m bench.interactions [--rounds 20] [--before /path/to/older/checkout]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench import servers
from bench.probe import ASPECTS, TRIVIAL_CREATE_APP
from bench.servers import cpu_seconds
from bench.ws_tabs import DESKTOP_AGENT, client_state, resolved
from core import config

QUIET_S = 0.3
FIRST_RUN_S = 120.0
ROOT = Path(__file__).resolve().parents[1]
DONE = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)


class Session:
    """One browser session's worth of Streamlit: keeps every widget's state as the browser would."""

    def __init__(self, url: str, pid: int) -> None:
        self.url = url.rstrip("/")
        self.pid = pid
        self.page_hash = ""
        self.cache: dict[str, bytes] = {}
        self.widgets: dict[str, tuple[str, object]] = {}  # widget id → (value field, value)
        self.elements: dict[str, object] = {}  # widget label → its element proto (the last drawn)
        self.fragments: dict[str, str] = {}  # widget id → the fragment it is drawn in ("" none): the browser
        # asks for a run of that fragment only when such a widget changes
        self.inbox: asyncio.Queue[tuple[float, int, ForwardMsg]] = asyncio.Queue()
        self.runs: list[tuple[str, ...]] = []  # the last interaction's runs: the fragments each ran, () all
        self.paths: list[tuple[int, ...]] = []  # where its elements went ((0, …) main, (1, …) sidebar)
        self.kinds: list[tuple[tuple[int, ...], str]] = []  # its new elements: (path, type, e.g. "empty")
        self.ws = None

    async def open(self) -> None:
        parts = urlsplit(self.url)
        self.ws = await websockets.connect(
            f"ws://{parts.netloc}/_stcore/stream", subprotocols=["streamlit"], max_size=None,
            ping_interval=None,
            additional_headers={"Origin": f"{parts.scheme}://{parts.netloc}", "User-Agent": DESKTOP_AGENT},
            user_agent_header=DESKTOP_AGENT)
        asyncio.get_running_loop().create_task(self._read())
        await self.ask()
        deadline = time.perf_counter() + FIRST_RUN_S
        await self.settle(first=True)
        while not self.elements and time.perf_counter() < deadline:  # a first page still starting: it reruns
            with contextlib.suppress(TimeoutError):
                await self.settle(first=True)

    async def _read(self) -> None:
        async for frame in self.ws:
            if isinstance(frame, bytes):
                msg = resolved(ForwardMsg.FromString(frame), self.cache)
                if msg is not None:  # a reference to a message never received: nothing to read
                    await self.inbox.put((time.perf_counter(), len(frame), msg))

    async def ask(self, widget: str | None = None, field: str = "", value: object = None) -> None:
        """A rerun with every widget's state, `widget` set to `value` (a button's trigger_value is sent once,
        as the browser does)."""
        if widget is not None:
            self.widgets[widget] = (field, value)
        fragment = self.fragments.get(widget or "", "")
        state = client_state(self.url + "/", self.page_hash, "", self.cache, fragment)
        for wid, (name, val) in self.widgets.items():
            ws = state.widget_states.widgets.add()
            ws.id = wid
            if name == "string_array_value":
                ws.string_array_value.data.extend(val)
            else:
                setattr(ws, name, val)
        msg = BackMsg()
        msg.rerun_script.CopyFrom(state)
        if widget is not None and field == "trigger_value":
            del self.widgets[widget]
        await self.ws.send(msg.SerializeToString())

    async def settle(self, *, first: bool = False) -> tuple[float, int, int]:
        """(seconds to the last message, messages, bytes); ends once QUIET_S passed after a finished run."""
        start, count, size, last, finished = time.perf_counter(), 0, 0, time.perf_counter(), False
        self.runs, self.paths, self.kinds = [], [], []
        while True:
            try:
                at, n, msg = await asyncio.wait_for(self.inbox.get(), FIRST_RUN_S if first and not finished
                                                    else QUIET_S)
            except TimeoutError:
                if finished:
                    return last - start, count, size
                raise
            count, size, last = count + 1, size + n, at
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.page_hash = msg.new_session.page_script_hash or self.page_hash
                self.runs.append(tuple(msg.metadata.run.fragment_ids))
                finished = False
            elif kind == "delta":
                self.paths.append(tuple(msg.metadata.delta_path))
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                self.kinds.append((tuple(msg.metadata.delta_path), element.WhichOneof("type") or ""))
                inner = getattr(element, element.WhichOneof("type") or "empty", None)
                label = getattr(inner, "label", None)
                if label and getattr(inner, "id", ""):
                    self.elements[label] = inner
                    self.fragments[inner.id] = msg.delta.fragment_id
            elif kind == "script_finished":
                finished = msg.script_finished in DONE

    async def interact(self, label: str, field: str, value: object) -> tuple[float, int, int, float]:
        element = self.elements[label]
        cpu = cpu_seconds(self.pid)
        await self.ask(element.id, field, value)
        wall, count, size = await self.settle()
        return wall, count, size, cpu_seconds(self.pid) - cpu


async def measure(url: str, pid: int, rounds: int) -> dict[str, list[tuple[float, int, int, float]]]:
    session = Session(url, pid)
    await session.open()
    out: dict[str, list[tuple[float, int, int, float]]] = {"prompt": [], "choice": []}
    for i in range(rounds):
        out["prompt"].append(await session.interact(
            "Prompt", "string_value", f"a heron lifts off a misty lake at dawn, take {i}"))
        options = list(session.elements["Aspect ratio"].options)
        label = next(o.content for o in options if o.content.split(" ")[0] == ASPECTS[i % len(ASPECTS)])
        out["choice"].append(await session.interact("Aspect ratio", "string_array_value", [label]))
    await session.ws.close()
    return out


def _line(name: str, data: dict[str, list[tuple[float, int, int, float]]],
          base: dict[str, list[tuple[float, int, int, float]]] | None) -> str:
    parts = []
    for kind, rows in data.items():
        wall = statistics.median(r[0] for r in rows) * 1000
        cpu = statistics.median(r[3] for r in rows) * 1000
        msgs = statistics.median(r[1] for r in rows)
        kb = statistics.median(r[2] for r in rows) / 1024
        ratio = ""
        if base:
            ratio = f" ×{wall / (statistics.median(r[0] for r in base[kind]) * 1000):.1f}"
        parts.append(f"{kind} {wall:.0f} ms{ratio}, CPU {cpu:.0f} ms, {msgs:.0f} msgs, {kb:.1f} KB")
    return f"{name:<9} " + " | ".join(parts)


def run_app(script: Path, cwd: Path, rounds: int, tmp: Path, name: str) -> dict:
    data_dir = tmp / f"data-{name}"
    data_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in config.KEY_ENV_VARS.values()}
    env.update({config.DATA_DIR_ENV: str(data_dir), "PYTHONPATH": str(cwd)})
    with servers.streamlit_server(script, env=env, log_path=tmp / f"{name}.log", cwd=cwd) as (url, proc):
        return asyncio.run(measure(url, proc.pid, rounds))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--before", type=Path, help="an older checkout to measure in the same run")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-interactions-"))
    try:
        trivial = tmp / "trivial_app.py"
        trivial.write_text(TRIVIAL_CREATE_APP)
        base = run_app(trivial, ROOT, args.rounds, tmp, "trivial")
        print(_line("trivial", base, None), flush=True)
        if args.before:
            before = run_app(args.before / "streamlit_app.py", args.before, args.rounds, tmp, "before")
            print(_line("before", before, base), flush=True)
        after = run_app(ROOT / "streamlit_app.py", ROOT, args.rounds, tmp, "after")
        print(_line("after", after, base), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
