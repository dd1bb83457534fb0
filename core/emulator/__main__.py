"""Standalone emulator: python -m core.emulator --port P --complete-after SECONDS [--latency S]."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from core import config
from core.emulator import start_emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.emulator", description=__doc__)
    parser.add_argument("--host", default=config.EMULATOR_HOST)
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--complete-after", type=float, default=config.emulator_complete_after(),
                        help=f"seconds a task takes (default: ${config.EMULATOR_COMPLETE_AFTER_ENV} "
                        f"or {config.EMULATOR_COMPLETE_AFTER_S:g})")
    parser.add_argument("--latency", type=float, default=0.0, help="delay before every router reply")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    handle = start_emulator(complete_after=args.complete_after, latency=args.latency,
                            host=args.host, port=args.port)
    print(handle.base_url, flush=True)
    try:
        while handle.running and not stop.wait(timeout=config.EMULATOR_STOP_TIMEOUT_S):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
