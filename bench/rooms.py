"""How many rooms a Create page run crosses, and how often a call climbs back up a layer (issue 15).

Runs the Text to video page of a checkout through Streamlit's AppTest in demo mode (a private data
directory), with a profiler on the script thread during one rerun after a warm-up (typing a prompt), and
records every call from one project module into another. Each module is put in its room (its package:
core.authoring, core.jobs, …, ui.create, …) and layer by this checkout's tests/test_layers.py. A checkout
from before the move is measured too: `--map FILE` names its modules' new homes (old new, a line each),
so both are counted by the same rooms.

    python -m bench.rooms                        # this checkout
    python -m bench.rooms --root OLD --map MAP   # an older checkout, its modules renamed by MAP

Prints: the walk (every call into project code during the rerun, in order: how often it moves from one
room to another, and how often such a move goes back up to a higher layer, e.g. ui → core → ui), rooms
touched, distinct cross-room call edges (caller function → callee function), how many of them are calls
into a higher layer, and those calls.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

_TRACE = r'''
import json, sys, threading
from streamlit.testing.v1 import AppTest
PROJECT = ("core", "ui", "app_pages", "streamlit_app")
edges = set()
walk = []
def mod_of(frame):
    return frame.f_globals.get("__name__", "") if frame is not None else ""
def mine(name):
    return name.split(".")[0] in PROJECT
def prof(frame, event, arg):
    if event != "call":
        return
    callee = mod_of(frame)
    if not mine(callee):
        return
    back = frame.f_back
    while back is not None and not mine(mod_of(back)):
        back = back.f_back
    if back is None:
        return
    caller = mod_of(back)
    walk.append(callee)
    if caller != callee:
        edges.add((caller, back.f_code.co_name, callee, frame.f_code.co_name))
at = AppTest.from_file("streamlit_app.py", default_timeout=60)
at.run()
at.switch_page("app_pages/text_to_video.py").run()
at.text_area[0].input("A red fox runs through fresh snow at dawn").run()   # warm: every module imported
threading.setprofile(prof)
at.text_area[0].input("A red fox runs through fresh snow at dusk").run()
threading.setprofile(None)
assert not at.exception, [e.value for e in at.exception]
print(json.dumps({"edges": sorted(edges), "walk": walk}))
'''


def _layers(root: Path):
    spec = importlib.util.spec_from_file_location("_layers", root / "tests" / "test_layers.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(root))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(root))
    return module


def _renamer(map_file: Path | None):
    pairs: list[tuple[str, str]] = []
    if map_file:
        for line in map_file.read_text().splitlines():
            line = line.split("#")[0].strip()
            if line:
                old, new = line.split()
                pairs.append((old, new))
    pairs.sort(key=lambda p: len(p[0]), reverse=True)

    def rename(module: str) -> str:
        for old, new in pairs:
            if module == old or module.startswith(old + "."):
                return new + module[len(old):]
        return module

    return rename


def room_of(module: str, layers) -> str:
    """The package a module lives in; the base modules of core are one room, the ui's top level another."""
    best = max((p for _, prefixes in layers.LAYERS for p in prefixes
                if module == p or module.startswith(p + ".")), key=len, default=module)
    name = next(n for n, prefixes in layers.LAYERS if best in prefixes)
    return name if name in ("base", "core top", "ui shared", "pages") else best


def _room_layer(room: str, layers) -> int:
    names = [n for n, _ in layers.LAYERS]
    return names.index(room) if room in names else layers.layer_of(room)


def measure(root: Path) -> dict:
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        env.update(STUDIO_DATA_DIR=data, STUDIO_SECRETS_FILE=str(Path(data) / "none.toml"),
                   PYTHONPATH=str(root))
        out = subprocess.run([sys.executable, "-c", _TRACE], cwd=root, env=env, capture_output=True,
                             text=True, timeout=600)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=HERE)
    parser.add_argument("--map", type=Path, default=None)
    parser.add_argument("--show", type=int, default=15, help="climbs to list")
    args = parser.parse_args()
    layers = _layers(HERE)
    rename = _renamer(args.map)
    found = measure(args.root.resolve())
    edges = [tuple(e) for e in found["edges"]]
    rooms: set[str] = set()
    crossings, climbs = [], []
    for caller, caller_fn, callee, callee_fn in edges:
        a, b = rename(caller), rename(callee)
        ra, rb = room_of(a, layers), room_of(b, layers)
        rooms |= {ra, rb}
        if ra == rb:
            continue
        crossings.append((a, caller_fn, b, callee_fn))
        if layers.layer_of(b) > layers.layer_of(a):
            climbs.append(f"{a}.{caller_fn} → {b}.{callee_fn}")
    steps = [room_of(rename(m), layers) for m in found["walk"]]
    moves = [(a, b) for a, b in itertools.pairwise(steps) if a != b]
    ups = sum(1 for a, b in moves if _room_layer(b, layers) > _room_layer(a, layers))
    print(f"checkout: {args.root.resolve()}")
    print(f"the walk: {len(steps)} calls in project code, {len(moves)} moves between rooms, "
          f"{ups} of them back up to a higher layer")
    print(f"rooms touched: {len(rooms)}  ({', '.join(sorted(rooms))})")
    print(f"cross-room call edges: {len(crossings)}")
    print(f"climbs to a higher layer: {len(climbs)}")
    by_pair = Counter(f"{room_of(a, layers)} → {room_of(b, layers)}" for a, _, b, _ in crossings)
    for pair, n in by_pair.most_common(12):
        print(f"  {n:4d}  {pair}")
    for line in sorted(climbs)[: args.show]:
        print(f"  climb: {line}")


if __name__ == "__main__":
    main()
