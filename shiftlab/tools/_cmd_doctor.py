"""``python -m shiftlab doctor`` (see :mod:`shiftlab.tools.cli`)."""

from __future__ import annotations

import argparse

from shiftlab.core.device import doctor

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    doctor()
    return 0
