"""What several commands of :mod:`shiftlab.tools.cli` share: the ``--device`` check and file
names for write errors. Imported only by the command modules (it imports torch)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import torch

from shiftlab.core.config import SetupError
from shiftlab.core.device import get_device

__all__ = ["device_option", "naming"]


def device_option(text: str | None) -> torch.device:
    """The device of ``--device`` (the best available when None), checked before any work.

    Raises:
        SetupError: not a device name, or a device this machine does not have.
    """
    try:
        return get_device(text)
    except ValueError as exc:  # not a device name
        raise SetupError(f"--device {text}: {exc}") from exc
    except RuntimeError as exc:  # not on this machine
        raise SetupError(f"--device {text}: {exc}; leave --device out to use the best one available") from exc


@contextlib.contextmanager
def naming(path: Path) -> Iterator[None]:
    """Give an :class:`OSError` raised in the block without a file name (a failed ``write`` or
    ``close``: a full disk) the name ``path``, so that the command line reports it as one line
    that names the file."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None or exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
