"""Run configuration: quick mode, seeding, and where data and caches live.

Everything the course reads from the environment goes through this module:

``SHIFTLAB_QUICK``
    ``1`` (or ``true``/``yes``/``on``) turns on *quick mode*: every notebook runs the same
    code paths on small subsets so that it finishes in minutes on a CPU. The tests set it.
    ``0`` (or ``false``/``no``/``off``, or unset or empty) is full mode. Case and surrounding
    spaces do not matter; any other value is a :class:`SetupError`, so that a typo does not
    silently start an hour-long full run.
``SHIFTLAB_DATA``
    A folder laid out like the course's offline data (``mnist/``, ``imagenet_boxes/``,
    ``imagenet_samples/``, ``imagenet_val1000/``, ``weights/``). Loaders look there first.
``SHIFTLAB_CACHE``
    Where downloads and trained models are cached (default ``~/.cache/shiftlab``).

A bad value is reported as a :class:`SetupError` that names the variable and what to do.

This module is light on purpose (only the standard library at import time): the command line
imports it, for :class:`SetupError`, before it parses its arguments, and ``python -m shiftlab
--help`` must not wait for torch. :func:`seed_everything` imports NumPy and torch when called.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import TypeVar

__all__ = [
    "SetupError",
    "is_quick",
    "quick_or_full",
    "seed_everything",
    "data_root",
    "cache_dir",
    "in_colab",
    "short_path",
]

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class SetupError(ValueError):
    """Something in the user's setup needs fixing: an environment variable, a data or cache file,
    a folder. The message says what is wrong and what to do; ``python -m shiftlab`` prints it as
    one line (``error: ...``) without a traceback."""


def is_quick() -> bool:
    """Return True when quick mode is on (``SHIFTLAB_QUICK`` set to a true value).

    Raises:
        SetupError: if the variable holds something that is neither true nor false,
            so that a typo does not silently start an hour-long full run.
    """
    raw = os.environ.get("SHIFTLAB_QUICK", "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SetupError(
        f"SHIFTLAB_QUICK={raw!r} is not understood; use 1 (or true/yes/on) for quick mode, "
        "0 (or false/no/off, or unset it) for full mode"
    )


def quick_or_full(quick: T, full: T) -> T:
    """Pick a setting by mode: ``quick`` in quick mode, ``full`` otherwise."""
    return quick if is_quick() else full


def seed_everything(seed: int = 0, deterministic: bool = False) -> None:
    """Seed Python, NumPy and PyTorch (all devices) for a reproducible run.

    Args:
        seed: a non-negative integer.
        deterministic: also ask PyTorch for deterministic algorithms (slower on GPU).
    """
    # imported here, not at the top, to keep this module light (see the module docstring)
    import numpy as np
    import torch

    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        if torch.backends.cudnn.is_available():
            torch.backends.cudnn.benchmark = False


def data_root() -> Path | None:
    """The folder named by ``SHIFTLAB_DATA``, or None when the variable is unset.

    Raises:
        FileNotFoundError: when the variable is set but the folder does not exist.
    """
    raw = os.environ.get("SHIFTLAB_DATA", "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser().resolve()
    if not path.is_dir():
        raise FileNotFoundError(
            f"SHIFTLAB_DATA={raw!r} does not name an existing folder; "
            "point it at a folder with mnist/, imagenet_boxes/, imagenet_samples/, imagenet_val1000/, weights/ or "
            "unset it"
        )
    return path


def cache_dir() -> Path:
    """The cache folder (``SHIFTLAB_CACHE`` or ``~/.cache/shiftlab``), created if needed.

    Raises:
        SetupError: when the folder cannot be used (the variable names a file, or the folder
            cannot be created or written). Callers ask for it before they compute anything, so
            a bad cache fails at once instead of losing a trained model on save.
    """
    raw = os.environ.get("SHIFTLAB_CACHE", "").strip()
    path = Path(raw).expanduser() if raw else Path.home() / ".cache" / "shiftlab"
    where = f"SHIFTLAB_CACHE={raw!r}" if raw else f"the default cache folder {path} (SHIFTLAB_CACHE is unset)"
    fix = ("set SHIFTLAB_CACHE to a writable folder, or run without the cache "
           "(python -m shiftlab reproduce --no-cache; use_cache=False in Python)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file in the way, no permission, a read-only file system
        what = "names a file, not a folder" if path.is_file() else f"cannot be created ({exc.strerror or exc})"
        raise SetupError(f"{where} {what}: {fix}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise SetupError(f"{where} is not writable: {fix}")
    return path


def short_path(path: str | os.PathLike[str]) -> str:
    """``path`` as a message shows it without the machine's folders: under ``SHIFTLAB_DATA`` as
    ``$SHIFTLAB_DATA/...``, under ``SHIFTLAB_CACHE`` as ``$SHIFTLAB_CACHE/...``, under the home
    folder as ``~/...``; any other path unchanged. For the informational lines that notebooks
    print (which model, which photos), so committed outputs carry no build-machine paths; error
    messages keep the full path, which the user needs to act on."""
    p = Path(path).expanduser()
    try:
        p = p.resolve()
    except OSError:  # pragma: no cover - an unreadable parent: show it as given
        pass
    roots = [(os.environ.get("SHIFTLAB_DATA", ""), "$SHIFTLAB_DATA"),
             (os.environ.get("SHIFTLAB_CACHE", ""), "$SHIFTLAB_CACHE"), (str(Path.home()), "~")]
    for raw, name in roots:
        if not raw.strip():
            continue
        try:
            rel = p.relative_to(Path(raw.strip()).expanduser().resolve())
        except (ValueError, OSError):
            continue
        return name if str(rel) == "." else f"{name}/{rel.as_posix()}"
    return str(path)


def in_colab() -> bool:
    """True when running inside Google Colab."""
    try:
        import google.colab  # noqa: F401
    except ImportError:
        return False
    return True
