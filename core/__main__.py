"""Command line: `python -m core check ENDPOINT_ID FILE [--json] [--strict]`, `python -m core endpoints`,
`python -m core rules ENDPOINT_ID` (the rules table: rule, level, field, source; the prompt linter last),
`python -m core engine [--data-dir DIR]` (the job engine alone, without the web app: polls and downloads
the jobs of that ledger until stopped with Ctrl-C / SIGTERM; several may run on one ledger), and
`python -m core migrate-media [--data-dir DIR] [--dry-run]` (copy a local install into the configured
PostgreSQL and/or S3 bucket, idempotently, with a progress bar on stderr: core/storage/migrate.py; exit 0
done or
nothing to copy, 1 stopped or unreachable, 2 refused), and `python -m core check-videos [--data-dir DIR]
[--again]` (check the stored videos of jobs made before the video checks against their requests:
core/engine/check_videos.py; exit 0).

`python -m core check-key ROUTER [--ask]` checks the operator's key for ROUTER (environment, then
secrets.toml; --ask: type one, not echoed) with one request that costs nothing (core/jobs/keycheck.py): exit 0
the key is accepted, 1 not (wrong key, unreachable, no credit), 2 usage.
`python -m core smoke --router mulerouter|apimart [--yes]` sends one cheapest real job after a "type yes"
(core/smoke.py): exit 0 the video arrived, 1 it did not, 2 not confirmed / no key.

Exit codes of `check`: 0 the body is valid (cautions, printed as lines starting `caution:`, do not
count unless --strict), 1 it has problems (one line each, field path first) or, with --strict,
cautions; 2 unknown endpoint id or unreadable JSON. Problems include reference tokens that point at
nothing (`<<<image_3>>>` with 2 images: the form refuses them through the same `check.token_problems`);
cautions include the prompt linter's (core/authoring/lint.py), each with its reason and source.
`rules`: 0, or 2 for an unknown endpoint id.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from core.authoring import catalog, check, lint, rules

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Kling Prompt Studio tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    chk = sub.add_parser("check", help="check a request body before sending it")
    chk.add_argument("endpoint_id", help="an endpoint id (see `python -m core endpoints`)")
    chk.add_argument("file", help="a JSON file holding the request body, or - for standard input")
    chk.add_argument("--json", action="store_true", help="print the problems (and cautions) as a JSON list")
    chk.add_argument("--strict", action="store_true", help="cautions count as problems (exit 1)")
    rls = sub.add_parser("rules", help="print an endpoint's rules: rule, level, field, source")
    rls.add_argument("endpoint_id", help="an endpoint id (see `python -m core endpoints`)")
    sub.add_parser("endpoints", help="list the endpoint ids")
    eng = sub.add_parser("engine", help="run the job engine alone (no web app) until stopped")
    eng.add_argument("--data-dir", default=None, help="the ledger's folder (default: $STUDIO_DATA_DIR)")
    mig = sub.add_parser("migrate-media", help="copy this install's ledger, library and media into the "
                         "configured PostgreSQL ($STUDIO_DATABASE_URL) and/or S3 bucket ($STUDIO_MEDIA_URL)")
    mig.add_argument("--data-dir", default=None,
                     help="the local install's folder (default: $STUDIO_DATA_DIR)")
    mig.add_argument("--dry-run", action="store_true", help="only say what would be copied")
    chv = sub.add_parser("check-videos", help="check stored videos that have no check yet against their "
                         "requests (length, size, sound, shots, picture)")
    chv.add_argument("--data-dir", default=None, help="the ledger's folder (default: $STUDIO_DATA_DIR)")
    chv.add_argument("--again", action="store_true", help="also check again videos checked by an older "
                     "version of the checks")
    key = sub.add_parser("check-key", help="check a router key with one request that costs nothing")
    key.add_argument("router", choices=("mulerouter", "apimart"))
    key.add_argument("--ask", action="store_true", help="type the key (not echoed) instead of the operator's")
    smk = sub.add_parser("smoke", help="send one cheapest real job and follow it to the video (costs money)")
    smk.add_argument("--router", required=True, choices=("mulerouter", "apimart"))
    smk.add_argument("--yes", action="store_true", help="do not ask (for scripts that already asked)")
    smk.add_argument("--out", default=None, help="where to save the video (default: a temporary folder)")
    return parser


def run_check_videos(data_dir: str | None, again: bool, out: TextIO) -> int:
    """Check the stored videos that have no check yet (core/engine/check_videos.py)."""
    from pathlib import Path

    from core import config
    from core.engine.check_videos import check_stored_videos
    from core.server import media_store_for
    from core.storage.ledger import Ledger

    path = Path(data_dir) if data_dir else config.data_dir()
    ledger = Ledger(path, url=config.database_url())
    report = check_stored_videos(ledger, media_store_for(path), again=again,
                                 progress=lambda r: print(f"\r{r.checked} checked", end="", file=out,
                                                          flush=True))
    print(("\n" if report.checked else "") + report.line(), file=out)
    return EXIT_OK


def run_check_key(router: str, ask: bool, out: TextIO, err: TextIO) -> int:
    """Check the operator's key (or one typed) with the free request of core/jobs/keycheck.py."""
    import getpass

    from core import config
    from core.jobs import access as acc
    from core.jobs import keycheck
    from core.models import RouterAccess

    base_url = acc.operator_base_url(router)
    if ask:
        key = getpass.getpass(f"{config.ROUTER_LABELS[router]} API key (not shown): ")
        access = RouterAccess(router=router, base_url=base_url, key=key)
    else:
        found = acc.operator_access(router)
        if found is None:
            print(f"No {config.ROUTER_LABELS[router]} key is set: set ${config.KEY_ENV_VARS[router]} (or the "
                  "same name in .streamlit/secrets.toml), or use --ask.", file=err)
            return EXIT_USAGE
        access = found
    print(f"request: {keycheck.probe_request(access)}", file=out)
    print(f"why it costs nothing: {keycheck.WHY_FREE}", file=out)
    result = keycheck.check_key(access)
    status = f"HTTP {result.status}" if result.status is not None else "no answer"
    print(f"answer: {status} → {result.verdict}", file=out)
    print(result.message, file=out)
    return EXIT_OK if result.ok and result.verdict == keycheck.ACCEPTED else EXIT_PROBLEMS


def run_migrate(data_dir: str | None, dry_run: bool, out: TextIO, err: TextIO) -> int:
    """Copy the local install into the configured database and/or bucket (core/storage/migrate.py)."""
    from pathlib import Path

    from core import config
    from core.storage import migrate

    source = Path(data_dir) if data_dir else config.data_dir()
    return migrate.run(source, migrate.target_from_config(), dry_run=dry_run, out=out, err=err)


def run_engine(data_dir: str | None, out: TextIO) -> int:
    """Run the job engine of this process until SIGINT/SIGTERM."""
    import signal
    import threading
    from pathlib import Path

    from core import server

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    svc = server.services(Path(data_dir) if data_dir else None)
    print(f"engine {svc.engine.owner} running on {svc.data_dir}", file=out, flush=True)
    stop.wait()
    server.shutdown()
    return EXIT_OK


def _read(path: str, stdin: TextIO) -> str:
    if path == "-":
        return stdin.read()
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def _unknown(endpoint_id: str, err: TextIO) -> bool:
    if endpoint_id in catalog.ids():
        return False
    print(f"unknown endpoint {endpoint_id!r}; known endpoints:", file=err)
    print("\n".join(catalog.ids()), file=err)
    return True


def run_rules(endpoint_id: str, out: TextIO, err: TextIO) -> int:
    if _unknown(endpoint_id, err):
        return EXIT_USAGE
    print("\n".join(rules.table_lines(endpoint_id) + lint.rule_lines()), file=out)
    return EXIT_OK


def run_check(endpoint_id: str, path: str, as_json: bool, stdin: TextIO, out: TextIO, err: TextIO,
              strict: bool = False) -> int:
    if _unknown(endpoint_id, err):
        return EXIT_USAGE
    try:
        body = check.parse_body(_read(path, stdin))
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else 'not UTF-8 text'}",
              file=err)
        return EXIT_USAGE
    except check.BodyReadError as exc:
        print(str(exc), file=err)
        return EXIT_USAGE
    found = check.preflight(endpoint_id, body)
    warned = check.cautions(endpoint_id, body)
    linted = check.prompt_cautions(endpoint_id, body)
    if as_json:
        print(check.format_json(found, warned, linted), file=out)
    else:
        parts = (check.format_lines(found), check.caution_lines(warned), lint.caution_lines(linted))
        print("\n".join(t for t in parts if t) or "ok", file=out)
    return EXIT_PROBLEMS if found or (strict and (warned or linted)) else EXIT_OK


def main(argv: list[str] | None = None, stdin: TextIO | None = None, out: TextIO | None = None,
         err: TextIO | None = None) -> int:
    stdin, out, err = stdin or sys.stdin, out or sys.stdout, err or sys.stderr
    args = build_parser().parse_args(argv)
    if args.command == "endpoints":
        print("\n".join(check.endpoint_lines()), file=out)
        return EXIT_OK
    if args.command == "engine":
        return run_engine(args.data_dir, out)
    if args.command == "check-key":
        return run_check_key(args.router, args.ask, out, err)
    if args.command == "smoke":
        from core import smoke

        return smoke.main(args.router, yes=args.yes, out_dir=args.out, stdin=stdin, out=out, err=err)
    if args.command == "migrate-media":
        return run_migrate(args.data_dir, args.dry_run, out, err)
    if args.command == "rules":
        return run_rules(args.endpoint_id, out, err)
    if args.command == "check-videos":
        return run_check_videos(args.data_dir, args.again, out)
    return run_check(args.endpoint_id, args.file, args.json, stdin, out, err, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
