"""Command line: ``python -m shiftlab COMMAND``.

``doctor``               print the environment report
``notebooks sync``       stamp every notebook's Colab badge and setup cell from ``_config.yml``
``notebooks run``        re-execute every notebook in place, top to bottom (full mode unless --quick)
``reproduce mnist``      train and evaluate the six MNIST configurations, print the article's tables
``bench train``          time one epoch: shiftlab trainer vs the textbook DataLoader loop
``bench imagenet``       images x shifts per second, batched vs one image at a time
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
    rep = sub.add_parser("reproduce", help="reproduce an experiment of the course")
    rep.add_argument("experiment", choices=["mnist"], help="which experiment")
    rep.add_argument("--seeds", type=int, default=None, help="number of seeds (default: 3, or SHIFTLAB_MNIST_SEEDS; quick mode 1)")
    rep.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best available)")
    rep.add_argument("--out", type=Path, default=None, help="write the numbers as JSON here")
    rep.add_argument("--no-cache", action="store_true", help="retrain and re-evaluate, ignoring the cache")
    bench = sub.add_parser("bench", help="speed benchmarks")
    bench.add_argument("target", choices=["train", "imagenet"], help="what to time")
    bench.add_argument("--quick", action="store_true", help="imagenet: a tiny run (2 photos x 9 shifts)")
    bench.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best available)")
    bench.add_argument("--size", type=int, default=None, help="training digits per epoch (default: all 60,000)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "doctor":
        from .device import doctor

        doctor()
        return 0
    if args.command == "reproduce":
        return _reproduce(args)
    if args.command == "bench":
        return _bench(args)
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


def _reproduce(args: argparse.Namespace) -> int:
    from .config import is_quick
    from .device import get_device
    from .experiments import MnistSettings, run_mnist

    if args.seeds is not None and args.seeds < 1:
        raise SystemExit("--seeds must be at least 1")
    settings = MnistSettings.default(seeds=args.seeds)
    dev = get_device(args.device)
    print(f"reproduce mnist: {'QUICK' if is_quick() else 'FULL'} mode on {dev}, seeds {list(settings.seeds)}, "
          f"{settings.epochs} epoch(s), {settings.train_size} training digits, grid [-{settings.max_shift}, "
          f"{settings.max_shift}]^2 on {settings.grid_size} test digits", flush=True)
    results = run_mnist(settings, device=dev, use_cache=not args.no_cache)
    print()
    print(results.format_tables())
    print(f"wall time {results.seconds:.0f} s (cached runs are loaded, not retrained)")
    if args.out is not None:
        print(f"wrote {results.to_json(args.out)}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.target == "imagenet":
        from .imagenet_bench import main as imagenet_main

        imagenet_main(["--quick"] if args.quick else [])
        return 0
    from .bench import bench_train

    result = bench_train(device=args.device, size=args.size)
    print(result.text())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
