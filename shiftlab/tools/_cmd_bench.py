"""``python -m shiftlab bench train|imagenet`` (see :mod:`shiftlab.tools.cli`)."""

from __future__ import annotations

import argparse

from shiftlab.studies.mnist_pooling import HEADLINE_HIDDEN, HEADLINE_WIDTH
from shiftlab.tools._cmd_common import device_option
from shiftlab.tools.bench import bench_train
from shiftlab.tools.imagenet_bench import main as imagenet_main

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    if args.target == "imagenet":
        imagenet_main(["--quick"] if args.quick else [])
        return 0
    dev = device_option(args.device)
    result = bench_train(device=dev, size=args.size, channels=args.width or HEADLINE_WIDTH,
                         hidden=args.hidden or HEADLINE_HIDDEN)
    print(result.text())
    return 0
