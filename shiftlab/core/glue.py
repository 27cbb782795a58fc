"""Glue: numbers computed in a notebook, shown in its prose (``{glue:text}`name:.3g```).

Every glued number carries its *kind* (a fraction, an accuracy, a count ...), checked when it
is glued and stored beside it, so that the book's tests can check that every number the reader
sees is finite and in range. Writes the same output as myst-nb's ``glue``; where myst-nb is not
installed (e.g. Colab) it only shows the value when asked.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GLUE_KINDS", "GLUE_PREFIX", "glue"]


#: What a glued number is, so that the tests can check its range (see :func:`glue`).
GLUE_KINDS: dict[str, tuple[float, float]] = {
    "fraction": (0.0, 1.0),      # a share of something, e.g. of pooled values or of photos
    "accuracy": (0.0, 1.0),      # classification accuracy as a fraction
    "probability": (0.0, 1.0),
    "percent": (0.0, 100.0),     # a percentage, e.g. Zhang's consistency
    "count": (0.0, float("inf")),  # a non-negative whole number
    "nonneg": (0.0, float("inf")),  # any non-negative number (errors, ratios, seconds)
    "signed": (float("-inf"), float("inf")),  # a difference, may be negative
}
GLUE_PREFIX = "application/papermill.record/"


def _plain(value: Any) -> Any:
    """NumPy and torch scalars as plain Python numbers (so the page shows ``0.5``, not
    ``np.float64(0.5)``)."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    return value


def glue(name: str, value: Any, kind: str | None = None, display: bool = False) -> None:
    """Record a value for the book's prose (``{glue:text}`name:.3g```).

    Args:
        name: the name the prose refers to.
        value: a number, a string or a figure.
        kind: for numbers, what they are (a key of :data:`GLUE_KINDS`: ``"fraction"``,
            ``"accuracy"``, ``"percent"``, ``"count"`` ...). It is stored beside the value and
            the book's tests check the range (and that every number is finite).
        display: also show the value in the notebook.

    Writes the same output as myst-nb's ``glue`` when myst-nb is installed (building the
    book, running the tests); elsewhere (e.g. Colab) it only shows the value if ``display``.
    """
    value = _plain(value)
    if kind is not None and kind not in GLUE_KINDS:
        raise ValueError(f"glue kind must be one of {sorted(GLUE_KINDS)}, got {kind!r}")
    if kind is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"glue {name!r}: kind {kind!r} needs a number, got {type(value).__name__}")
        low, high = GLUE_KINDS[kind]
        if not (low <= value <= high):  # also False for NaN
            raise ValueError(f"glue {name!r}: {value!r} is not a valid {kind} (range [{low}, {high}])")
        if kind == "count" and value != int(value):
            raise ValueError(f"glue {name!r}: a count must be a whole number, got {value!r}")
    try:
        import IPython.core.formatters
        import myst_nb  # noqa: F401  (only to know that the book machinery is there)
        from IPython.display import display as ipy_display
    except ImportError:
        if display:
            print(f"{name} = {value}")
        return
    bundle, metadata = IPython.core.formatters.format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    if kind is not None:
        metadata["shiftlab"] = {"kind": kind}
    ipy_display({prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata)
