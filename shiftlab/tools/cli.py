"""Command line: ``python -m shiftlab COMMAND``.

``doctor``               print the environment report
``notebooks sync``       stamp every notebook's Colab badge and setup cell from ``_config.yml``
``notebooks run``        re-execute every notebook in place, top to bottom (full mode unless --quick)
``reproduce mnist``      train and evaluate the six MNIST configurations, print the article's tables
``reproduce width``      the same at four conv widths: shift accuracy and the pooling gap per width
``bench train``          time one epoch: shiftlab trainer vs the textbook DataLoader loop
``bench imagenet``       images x shifts per second, batched vs one image at a time

This module is the parser and the dispatcher, and imports only the standard library and the
light :mod:`shiftlab.core.config` at the top, so that ``--help`` and usage errors answer at
once. The work of each command lives in a module of its own, :data:`COMMANDS`
(``shiftlab/tools/_cmd_*.py``), which imports torch, torchvision and the studies; it is imported
by :func:`importlib.import_module` when that command runs, and exposes ``run(args) -> int``.

Errors are handled in one place, :func:`main`:

* A user error (an option a command does not have, a bad value, a device that is not there,
  missing, damaged or unreadable data, an unusable cache or output file, a notebook path that is
  not a chapter notebook, results the cache could not store) ends the command with one line
  ``error: ...`` on stderr and exit status 2, before any work where it can be checked up front;
  never with a traceback. These are :class:`~shiftlab.core.config.SetupError` (its message is
  printed), :class:`FileNotFoundError` without a file name (its message is printed) and any
  :class:`OSError` that carries a file name (``error: <what failed> <path>: <strerror>; <fix>``).
* Ctrl-C prints ``interrupted; completed results are in the cache`` and exits with 130 (the
  cache writes are atomic, so what was stored before is complete).
* Any other exception is a bug and shows its traceback.

Warnings raised while a command runs are printed as one line each, ``warning: ...``.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from shiftlab.core.config import SetupError

__all__ = ["main", "build_parser", "COMMANDS", "MAX_SEEDS"]

#: the module that does the work of each command (see the module docstring)
COMMANDS: dict[str, str] = {
    "doctor": "shiftlab.tools._cmd_doctor",
    "notebooks": "shiftlab.tools._cmd_notebooks",
    "reproduce": "shiftlab.tools._cmd_reproduce",
    "bench": "shiftlab.tools._cmd_bench",
}

#: the most seeds ``reproduce`` takes (three seeds of the full MNIST run take over an hour on a CPU)
MAX_SEEDS = 1000
#: the widest conv layer and hidden FC layer the MNIST commands take
MAX_WIDTH = 1024
MAX_HIDDEN = 8192
#: training digits in MNIST (the largest ``bench train --size``)
MNIST_TRAIN = 60000

# Defaults quoted in the help text. They are the studies' constants, repeated here so that
# --help does not import the studies (and torch); tests/test_cli.py checks that they agree.
HELP_DEFAULTS: dict[str, object] = {
    "HEADLINE_WIDTH": (32, 64),   # shiftlab.studies.mnist_pooling.HEADLINE_WIDTH
    "HEADLINE_HIDDEN": 128,       # shiftlab.studies.mnist_pooling.HEADLINE_HIDDEN
    "NARROW_WIDTH": (4, 8),       # shiftlab.studies.mnist_pooling.NARROW_WIDTH
    "NARROW_HIDDEN": 64,          # shiftlab.studies.mnist_pooling.NARROW_HIDDEN
    "STUDY_HIDDEN": 128,          # shiftlab.studies.width_study.STUDY_HIDDEN
}

INTERRUPTED = "interrupted; completed results are in the cache"


def _pair(value: object) -> str:
    assert isinstance(value, tuple)
    return f"{value[0]},{value[1]}"


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line, ``error: ...``, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _bounded_int(text: str, most: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 or (most is not None and value > most):
        limit = f"between 1 and {most}" if most is not None else "a positive integer"
        raise argparse.ArgumentTypeError(f"must be {limit}, got {text!r}")
    return value


def _seeds(text: str) -> int:
    return _bounded_int(text, MAX_SEEDS)


def _hidden(text: str) -> int:
    return _bounded_int(text, MAX_HIDDEN)


def _size(text: str) -> int:
    return _bounded_int(text, MNIST_TRAIN)


def _width(text: str) -> tuple[int, int]:
    """``"32,64"`` -> ``(32, 64)``: the two convolution widths of the MNIST models."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(p.isdigit() and 1 <= int(p) <= MAX_WIDTH for p in parts):
        raise argparse.ArgumentTypeError(
            f"expected two integers from 1 to {MAX_WIDTH} such as 32,64, got {text!r}")
    return int(parts[0]), int(parts[1])


def build_parser() -> argparse.ArgumentParser:
    w, nw = _pair(HELP_DEFAULTS["HEADLINE_WIDTH"]), _pair(HELP_DEFAULTS["NARROW_WIDTH"])
    hidden, narrow_hidden = HELP_DEFAULTS["HEADLINE_HIDDEN"], HELP_DEFAULTS["NARROW_HIDDEN"]
    device_help = "cpu, cuda, cuda:N, mps (default: the best available)"
    parser = _Parser(prog="python -m shiftlab", description="shiftlab course tools")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="print the environment report")
    nb = sub.add_parser("notebooks", help="notebook tools")
    nb_sub = nb.add_subparsers(dest="action", required=True)
    nb_sub.add_parser("sync", help="stamp badges and setup cells from _config.yml")
    run = nb_sub.add_parser("run", help="re-execute notebooks in place")
    run.add_argument("paths", nargs="*", type=Path,
                     help="chapter notebooks in the repository's notebooks/ folder (default: all of them)")
    run.add_argument("--quick", action="store_true", help="quick mode instead of full mode")
    rep = sub.add_parser("reproduce", help="reproduce an experiment of the course")
    rep.add_argument("experiment", choices=["mnist", "width"],
                     help="mnist: the six configurations; width: them at every width of the width study")
    rep.add_argument("--seeds", type=_seeds, default=None,
                     help=f"number of seeds, 1 to {MAX_SEEDS} (default: 3, or SHIFTLAB_MNIST_SEEDS; quick mode 1)")
    rep.add_argument("--device", default=None, help=device_help)
    rep.add_argument("--width", type=_width, default=None,
                     help=f"conv widths of A/B/C, e.g. 16,32 (default: the headline {w}; quick mode {nw})")
    rep.add_argument("--hidden", type=_hidden, default=None,
                     help=f"width of the hidden FC layer, 1 to {MAX_HIDDEN} (default: the headline {hidden}; "
                          f"quick mode {narrow_hidden}; reproduce width: {HELP_DEFAULTS['STUDY_HIDDEN']})")
    rep.add_argument("--out", type=Path, default=None, help="write the numbers as JSON to this file")
    rep.add_argument("--no-cache", action="store_true",
                     help="train and evaluate without reading or writing the cache (SHIFTLAB_CACHE)")
    bench = sub.add_parser("bench", help="speed benchmarks")
    bench_sub = bench.add_subparsers(dest="target", required=True)
    train = bench_sub.add_parser("train", help="one epoch: shiftlab trainer vs the textbook DataLoader loop")
    train.add_argument("--device", default=None, help=device_help)
    train.add_argument("--size", type=_size, default=None,
                       help=f"training digits per epoch, 1 to {MNIST_TRAIN} (default: all)")
    train.add_argument("--width", type=_width, default=None,
                       help=f"conv widths of model C, e.g. 4,8 (default: the headline {w})")
    train.add_argument("--hidden", type=_hidden, default=None,
                       help=f"width of the hidden FC layer, 1 to {MAX_HIDDEN} (default: the headline {hidden})")
    imagenet = bench_sub.add_parser("imagenet", help="images x shifts per second, batched vs one at a time (CPU)")
    imagenet.add_argument("--quick", action="store_true", help="a tiny run (2 photos x 9 shifts)")
    return parser


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line; an option the chosen command does not have is an error that
    names the command (plain ``parse_args`` would only say "unrecognized arguments")."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        command = " ".join(w for w in (args.command, getattr(args, "action", None), getattr(args, "target", None)) if w)
        parser.exit(2, f"error: {command} does not take {' '.join(extra)} (see {parser.prog} {command} --help)\n")
    return args


# --------------------------------------------------------------------------- errors, in one place
#: errno -> (what failed, the fix), for :func:`describe_os_error`
_OS_ERRORS: dict[int, tuple[str, str]] = {
    errno.EACCES: ("cannot access", "give this user permission on it (chmod, chown) or use another path"),
    errno.EPERM: ("cannot access", "give this user permission on it (chmod, chown) or use another path"),
    errno.ENOSPC: ("cannot write", "free disk space or write to another disk (--out, SHIFTLAB_CACHE)"),
    errno.EDQUOT: ("cannot write", "free space within your disk quota or write elsewhere (--out, SHIFTLAB_CACHE)"),
    errno.EROFS: ("cannot write", "the file system is read-only: choose a writable path (--out, SHIFTLAB_CACHE)"),
    errno.EISDIR: ("cannot use", "a folder is where a file is expected: remove or rename the folder, "
                                 "or give a file path"),
    errno.ENOTDIR: ("cannot use", "a file is where a folder is expected: remove or rename it, or choose another path"),
    errno.ENOENT: ("cannot find", "check the path (the command's file arguments, SHIFTLAB_DATA, SHIFTLAB_CACHE)"),
}


def describe_os_error(exc: OSError) -> str:
    """``<what failed> <path>: <strerror>; <fix>`` for an :class:`OSError` with a file name."""
    what, fix = _OS_ERRORS.get(exc.errno or 0, ("cannot use", "check the path and its permissions"))
    path = str(exc.filename) + (f" -> {exc.filename2}" if exc.filename2 is not None else "")
    return f"{what} {path}: {exc.strerror or exc}; {fix}"


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _user_error(exc: BaseException) -> str | None:
    """The ``error:`` text for a user error, None for anything else (a bug)."""
    if isinstance(exc, SetupError):
        return _one_line(str(exc))
    if isinstance(exc, OSError) and exc.filename is not None:
        return _one_line(describe_os_error(exc))
    if isinstance(exc, FileNotFoundError):  # a search that found nothing: the message says where it looked
        return _one_line(str(exc))
    return None


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:
    print(f"warning: {_one_line(str(message))}", file=file or sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit status: 0, 2 with one ``error:`` line for a user error,
    130 after Ctrl-C (see the module docstring)."""
    try:
        args = _parse(argv)
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            command = importlib.import_module(COMMANDS[args.command])
            return int(command.run(args))
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr, flush=True)
        return 130
    except Exception as exc:
        message = _user_error(exc)
        if message is None:
            raise
        sys.stdout.flush()
        print(f"error: {message}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
