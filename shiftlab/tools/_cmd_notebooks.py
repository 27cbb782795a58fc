"""``python -m shiftlab notebooks sync|run`` (see :mod:`shiftlab.tools.cli`)."""

from __future__ import annotations

import argparse

from shiftlab.tools import notebooks as book

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    if args.action == "sync":
        for path in book.notebook_paths():
            print(("updated " if book.sync_notebook(path) else "ok      ") + str(path))
        return 0
    # every path is checked before the first notebook runs (a run can take an hour)
    paths = [book.check_notebook(p) for p in args.paths] if args.paths else book.notebook_paths()
    for path in paths:
        book.sync_notebook(path)
        print(f"running {path} ({'quick' if args.quick else 'full'} mode) ...", flush=True)
        seconds = book.execute_notebook(path, quick=args.quick)
        print(f"  done in {seconds:.0f} s", flush=True)
    return 0
