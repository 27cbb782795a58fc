"""Command line: ``python -m shiftlab COMMAND``.

``doctor``               print the environment report
``notebooks sync``       stamp every notebook's Colab badge and setup cell from ``_config.yml``
``notebooks run``        re-execute every notebook in place, top to bottom (full mode unless --quick)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shiftlab", description="shiftlab course tools")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="print the environment report")
    nb = sub.add_parser("notebooks", help="notebook tools")
    nb_sub = nb.add_subparsers(dest="action", required=True)
    nb_sub.add_parser("sync", help="stamp badges and setup cells from _config.yml")
    run = nb_sub.add_parser("run", help="re-execute notebooks in place")
    run.add_argument("paths", nargs="*", type=Path, help="notebooks (default: all of notebooks/)")
    run.add_argument("--quick", action="store_true", help="quick mode instead of full mode")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "doctor":
        from .device import doctor

        doctor()
        return 0
    from . import book

    if args.action == "sync":
        for path in book.notebook_paths():
            print(("updated " if book.sync_notebook(path) else "ok      ") + str(path))
        return 0
    paths = args.paths or book.notebook_paths()
    for path in paths:
        book.sync_notebook(path)
        print(f"running {path} ({'quick' if args.quick else 'full'} mode) ...", flush=True)
        seconds = book.execute_notebook(path, quick=args.quick)
        print(f"  done in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
