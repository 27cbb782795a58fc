"""Command line: ``python -m shiftlab COMMAND``.

``doctor``               print the environment report
``notebooks sync``       stamp every notebook's Colab badge and setup cell from ``_config.yml``
``notebooks run``        re-execute every notebook in place, top to bottom (full mode unless --quick)
``reproduce mnist``      train and evaluate the six MNIST configurations, print the article's tables
``reproduce width``      the same at four conv widths: shift accuracy and the pooling gap per width
``bench train``          time one epoch: shiftlab trainer vs the textbook DataLoader loop
``bench imagenet``       images x shifts per second, batched vs one image at a time

A user error (an option a command does not have, a bad value, a device that is not there,
missing or damaged data, an unusable cache or output folder) ends the command with one line
``error: ...`` on stderr and exit status 2, before any work where it can be checked up front;
never with a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import torch

from shiftlab.core.config import SetupError, cache_dir, is_quick
from shiftlab.core.device import doctor, get_device
from shiftlab.studies import width_study
from shiftlab.studies.mnist_pooling import (
    HEADLINE_HIDDEN,
    HEADLINE_WIDTH,
    NARROW_HIDDEN,
    NARROW_WIDTH,
    MnistSettings,
    run_mnist,
)
from shiftlab.tools import notebooks as book
from shiftlab.tools.bench import bench_train
from shiftlab.tools.imagenet_bench import main as imagenet_main

__all__ = ["main", "build_parser"]

#: training digits in MNIST (the largest ``bench train --size``)
_MNIST_TRAIN = 60000
_W = f"{HEADLINE_WIDTH[0]},{HEADLINE_WIDTH[1]}"
_NW = f"{NARROW_WIDTH[0]},{NARROW_WIDTH[1]}"


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line, ``error: ...``, exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str, most: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 or (most is not None and value > most):
        limit = f"between 1 and {most}" if most is not None else "a positive integer"
        raise argparse.ArgumentTypeError(f"must be {limit}, got {text!r}")
    return value


def _size(text: str) -> int:
    return _positive_int(text, _MNIST_TRAIN)


def _width(text: str) -> tuple[int, int]:
    """``"32,64"`` -> ``(32, 64)``: the two convolution widths of the MNIST models."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(p.isdigit() and int(p) >= 1 for p in parts):
        raise argparse.ArgumentTypeError(f"expected two positive integers such as 32,64, got {text!r}")
    return int(parts[0]), int(parts[1])


def _device(text: str) -> torch.device:

    try:
        return get_device(text)
    except ValueError as exc:  # not a device name
        raise argparse.ArgumentTypeError(str(exc)) from exc
    except RuntimeError as exc:  # not on this machine
        raise argparse.ArgumentTypeError(f"{exc}; leave --device out to use the best one available") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m shiftlab", description="shiftlab course tools")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="print the environment report")
    nb = sub.add_parser("notebooks", help="notebook tools")
    nb_sub = nb.add_subparsers(dest="action", required=True)
    nb_sub.add_parser("sync", help="stamp badges and setup cells from _config.yml")
    run = nb_sub.add_parser("run", help="re-execute notebooks in place")
    run.add_argument("paths", nargs="*", type=Path, help="notebooks (default: all of notebooks/)")
    run.add_argument("--quick", action="store_true", help="quick mode instead of full mode")
    rep = sub.add_parser("reproduce", help="reproduce an experiment of the course")
    rep.add_argument("experiment", choices=["mnist", "width"],
                     help="mnist: the six configurations; width: them at every width of the width study")
    rep.add_argument("--seeds", type=_positive_int, default=None,
                     help="number of seeds (default: 3, or SHIFTLAB_MNIST_SEEDS; quick mode 1)")
    rep.add_argument("--device", type=_device, default=None, help="cpu, cuda, mps (default: the best available)")
    rep.add_argument("--width", type=_width, default=None,
                     help=f"conv widths of A/B/C, e.g. 16,32 (default: the headline {_W}; quick mode {_NW})")
    rep.add_argument("--hidden", type=_positive_int, default=None,
                     help=f"width of the hidden FC layer (default: the headline {HEADLINE_HIDDEN}; "
                          f"quick mode {NARROW_HIDDEN}; reproduce width: {width_study.STUDY_HIDDEN})")
    rep.add_argument("--out", type=Path, default=None, help="write the numbers as JSON to this file")
    rep.add_argument("--no-cache", action="store_true",
                     help="train and evaluate without reading or writing the cache (SHIFTLAB_CACHE)")
    bench = sub.add_parser("bench", help="speed benchmarks")
    bench_sub = bench.add_subparsers(dest="target", required=True)
    train = bench_sub.add_parser("train", help="one epoch: shiftlab trainer vs the textbook DataLoader loop")
    train.add_argument("--device", type=_device, default=None, help="cpu, cuda, mps (default: the best available)")
    train.add_argument("--size", type=_size, default=None,
                       help=f"training digits per epoch, 1 to {_MNIST_TRAIN} (default: all)")
    train.add_argument("--width", type=_width, default=None,
                       help=f"conv widths of model C, e.g. 4,8 (default: the headline {_W})")
    train.add_argument("--hidden", type=_positive_int, default=None,
                       help=f"width of the hidden FC layer (default: the headline {HEADLINE_HIDDEN})")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; returns the exit status (2 with one ``error:`` line for a user error)."""
    args = _parse(argv)
    try:
        return _run(args)
    except (SetupError, FileNotFoundError) as exc:
        print("error: " + " ".join(line.strip() for line in str(exc).splitlines() if line.strip()),
              file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "doctor":

        doctor()
        return 0
    if args.command == "reproduce":
        return _reproduce(args)
    if args.command == "bench":
        return _bench(args)

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


def _check_out(path: Path) -> None:
    """Fail before any work when ``--out`` cannot be written."""
    if path.is_dir():
        raise SetupError(f"--out {path} is a folder: give a file name, e.g. --out {path / 'results.json'}")
    folder = path.parent
    if not folder.is_dir():
        raise SetupError(f"--out {path}: the folder {folder} does not exist; create it first or choose another path")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise SetupError(f"--out {path}: {folder if not path.exists() else path} is not writable; "
                         "choose another path")


def _reproduce(args: argparse.Namespace) -> int:
    settings = MnistSettings.default(seeds=args.seeds)
    if args.experiment == "width":
        return _reproduce_width(args, settings)
    if args.width is not None or args.hidden is not None:
        settings = dataclasses.replace(settings, channels=args.width or settings.channels,
                                       hidden=args.hidden or settings.hidden)
    if args.out is not None:
        _check_out(args.out)
    if not args.no_cache:
        cache_dir()  # an unusable cache fails here (naming SHIFTLAB_CACHE and --no-cache), not on the first save
    dev = get_device(args.device)
    print(f"reproduce mnist: {'QUICK' if is_quick() else 'FULL'} mode on {dev}, seeds {list(settings.seeds)}, "
          f"width {settings.channels[0]},{settings.channels[1]} + FC {settings.hidden}, "
          f"{settings.epochs} epoch(s), {settings.train_size} training digits, grid [-{settings.max_shift}, "
          f"{settings.max_shift}]^2 on {settings.grid_size} test digits"
          f"{', without the cache' if args.no_cache else ''}", flush=True)
    results = run_mnist(settings, device=dev, use_cache=not args.no_cache)
    print()
    print(results.format_tables())
    print(f"wall time {results.seconds:.0f} s" + ("" if args.no_cache else " (cached runs are loaded, not retrained)"))
    if args.out is not None:
        print(f"wrote {results.to_json(args.out)}")
    return 0


def _reproduce_width(args: argparse.Namespace, settings: MnistSettings) -> int:
    if args.width is not None:
        raise SetupError("reproduce width trains every width of the study; --width belongs to reproduce mnist")
    if args.out is not None:
        _check_out(args.out)
    if not args.no_cache:
        cache_dir()
    dev = get_device(args.device)
    hidden = args.hidden or width_study.STUDY_HIDDEN
    widths = width_study.default_widths()
    print(f"reproduce width: {'QUICK' if is_quick() else 'FULL'} mode on {dev}, seeds {list(settings.seeds)}, "
          f"widths {', '.join(width_study.width_label(w) for w in widths)} + FC {hidden}, {settings.epochs} epoch(s), "
          f"{settings.train_size} training digits, grid [-{width_study.STUDY_MAX_SHIFT}, "
          f"{width_study.STUDY_MAX_SHIFT}]^2 on {settings.grid_size} test digits"
          f"{', without the cache' if args.no_cache else ''}", flush=True)
    study = width_study.run_width_study(settings, widths, hidden=hidden, device=dev, use_cache=not args.no_cache)
    for aug in (False, True):
        print(f"\n'shift' accuracy {'with' if aug else 'without'} augmentation (mean ± std over seeds) "
              "and the pooling gaps (± standard error)")
        print(study.markdown(aug))
    print(f"\nwall time {study.seconds:.0f} s")
    if args.out is not None:
        args.out.write_text(json.dumps(study.to_dict(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.target == "imagenet":

        imagenet_main(["--quick"] if args.quick else [])
        return 0

    result = bench_train(device=args.device, size=args.size, channels=args.width or HEADLINE_WIDTH,
                         hidden=args.hidden or HEADLINE_HIDDEN)
    print(result.text())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
