"""Progress bars: :func:`tqdm` is ``tqdm.auto.tqdm`` (a widget in Jupyter, text in a terminal),
switched off wherever it is called when the environment variable ``TQDM_DISABLE`` is true.

tqdm reads ``TQDM_DISABLE`` only for arguments the caller leaves out, and the package passes
``disable=not progress`` everywhere; this wrapper makes the variable win. The book's own run
(``python -m shiftlab notebooks run``) sets it: a progress widget saved in a notebook has no
state and renders as an empty box.
"""

from __future__ import annotations

import os
from typing import Any

from tqdm.auto import tqdm as _tqdm

__all__ = ["tqdm", "bars_disabled"]

_TRUE = {"1", "true", "yes", "on"}


def bars_disabled() -> bool:
    """Whether ``TQDM_DISABLE`` asks for no progress bars at all."""
    return os.environ.get("TQDM_DISABLE", "").strip().lower() in _TRUE


def tqdm(*args: Any, **kwargs: Any) -> Any:
    """``tqdm.auto.tqdm(*args, **kwargs)``, with ``disable=True`` when :func:`bars_disabled`."""
    if bars_disabled():
        kwargs["disable"] = True
    return _tqdm(*args, **kwargs)
