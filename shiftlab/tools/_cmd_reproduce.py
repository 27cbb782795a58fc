"""``python -m shiftlab reproduce mnist|width`` (see :mod:`shiftlab.tools.cli`).

Everything that can be checked before the training is (the device, the settings, ``--out``,
the cache folder). When the work is done and some results could not be saved to the cache
(:func:`shiftlab.core.cache.failed_saves`), the results are still printed and written to
``--out``, and the command then ends with one line ``error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

from shiftlab.core import cache
from shiftlab.core.config import SetupError, cache_dir, is_quick
from shiftlab.studies import width_study
from shiftlab.studies.mnist_pooling import MnistSettings, run_mnist
from shiftlab.tools._cmd_common import device_option, naming

__all__ = ["run", "check_out"]


def run(args: argparse.Namespace) -> int:
    before = len(cache.failed_saves())
    status = _width(args) if args.experiment == "width" else _mnist(args)
    unsaved = cache.failed_saves()[before:]
    if unsaved:
        raise SetupError(cache.describe_failed_saves(unsaved))
    return status


def check_out(path: Path) -> None:
    """Fail before any work when ``--out`` cannot be written."""
    if path.is_dir():
        raise SetupError(f"--out {path} is a folder: give a file name, e.g. --out {path / 'results.json'}")
    folder = path.parent
    if not folder.is_dir():
        raise SetupError(f"--out {path}: the folder {folder} does not exist; create it first or choose another path")
    # the file is written in place: an existing file must be writable, else its folder
    blocker = path if path.exists() else folder
    if not os.access(blocker, os.W_OK if path.exists() else os.W_OK | os.X_OK):
        raise SetupError(f"--out {path}: {blocker} is not writable; choose another path")


def _checks(args: argparse.Namespace) -> None:
    if args.out is not None:
        check_out(args.out)
    if not args.no_cache:
        cache_dir()  # an unusable cache fails here (naming SHIFTLAB_CACHE and --no-cache), not on the first save


def _mnist(args: argparse.Namespace) -> int:
    dev = device_option(args.device)
    settings = MnistSettings.default(seeds=args.seeds)
    if args.width is not None or args.hidden is not None:
        settings = dataclasses.replace(settings, channels=args.width or settings.channels,
                                       hidden=args.hidden or settings.hidden)
    _checks(args)
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
        with naming(args.out):
            print(f"wrote {results.to_json(args.out)}")
    return 0


def _width(args: argparse.Namespace) -> int:
    if args.width is not None:
        raise SetupError("reproduce width trains every width of the study; --width belongs to reproduce mnist")
    dev = device_option(args.device)
    settings = MnistSettings.default(seeds=args.seeds)
    _checks(args)
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
        with naming(args.out):
            args.out.write_text(json.dumps(study.to_dict(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    return 0
