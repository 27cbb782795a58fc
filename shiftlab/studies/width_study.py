"""How the pooling story depends on the networks' width (issue 12).

Models A, B and C are trained (or loaded from the cache) at several conv widths, everything
else as in :func:`shiftlab.studies.mnist_pooling.run_mnist` (same epochs, data, seeds, shift
grid, augmentation). One :class:`~shiftlab.studies.mnist_pooling.MnistResults` per width,
so the headline reproduction and the study share their trained models through the cache.

The question it answers: is "pooling buys only a couple of points of shift accuracy" a
property of pooling, or of narrow networks? The *pooling gap* at each width is the difference
of the seed means of the ``"shift"`` column (C - A for two pooling stages, B - A for one), with
its standard error (:meth:`MnistResults.gain`).

The study reports only the ``"shift"`` and ``"shift min"`` columns, which need shifts up to 3
pixels, so its grid is ``[-3, 3]^2`` (:data:`STUDY_MAX_SHIFT`): 49 shifted copies of each grid
digit instead of the 289 of the headline chapter's heat maps. The numbers are the same as with
the larger grid (the same digits, the same shifts); only the evaluation is about five times
cheaper. The trained models are shared with :func:`run_mnist` all the same (the grid is not part
of a model's cache key).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from shiftlab.core.config import quick_or_full
from shiftlab.core.device import get_device
from shiftlab.core.glue import glue
from shiftlab.nn.mnist_models import MODEL_NAMES
from shiftlab.studies.mnist_pooling import COLUMNS, MnistResults, MnistSettings, run_mnist

__all__ = ["WIDTHS", "STUDY_HIDDEN", "STUDY_MAX_SHIFT", "GAPS", "WidthStudy", "default_widths", "run_width_study",
           "width_label"]

Width = tuple[int, int]

#: the conv widths of the full study, narrowest first (the last is the headline width)
WIDTHS: tuple[Width, ...] = ((4, 8), (8, 16), (16, 32), (32, 64))

#: the hidden FC width of every network of the study (only the conv widths vary)
STUDY_HIDDEN: int = 128

#: the study's shift grid is ``[-STUDY_MAX_SHIFT, STUDY_MAX_SHIFT]^2``: all its columns need
STUDY_MAX_SHIFT: int = 3

#: the pooling gaps reported: (name, with pooling, without)
GAPS: tuple[tuple[str, str, str], ...] = (("C - A", "C", "A"), ("B - A", "B", "A"))


def _signed(x: float, digits: int = 3) -> str:
    """``x`` with its sign, but a value that rounds to zero as ``0.000`` (never ``-0.000``)."""
    text = f"{x:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


def width_label(width: Sequence[int]) -> str:
    """``(32, 64)`` -> ``"32/64"``."""
    return "/".join(str(int(c)) for c in width)


def default_widths() -> tuple[Width, ...]:
    """:data:`WIDTHS` in full mode; three narrow widths in quick mode (seconds on a CPU)."""
    return quick_or_full(((2, 4), (4, 8), (8, 16)), WIDTHS)


@dataclass
class WidthStudy:
    """The A/B/C reproduction at each width: ``results[width]``, widths narrowest first."""

    results: dict[Width, MnistResults]
    seconds: float = float("nan")

    def __post_init__(self) -> None:
        if not self.results:
            raise ValueError("a width study needs at least one width")

    @property
    def widths(self) -> list[Width]:
        return list(self.results)

    @property
    def n_seeds(self) -> int:
        return min(len(r.settings.seeds) for r in self.results.values())

    def column(self, model: str, augment: bool, column: str = "shift") -> tuple[np.ndarray, np.ndarray]:
        """Mean and std over seeds of ``column`` for ``model`` at every width (two arrays)."""
        if model not in MODEL_NAMES:
            raise ValueError(f"model must be one of {MODEL_NAMES}, got {model!r}")
        if column not in COLUMNS:
            raise ValueError(f"column must be one of {COLUMNS}, got {column!r}")
        cells = [r.table(augment)[model][column] for r in self.results.values()]
        return np.array([c[0] for c in cells]), np.array([c[1] for c in cells])

    def gap(self, new: str, old: str, augment: bool, column: str = "shift") -> tuple[np.ndarray, np.ndarray]:
        """The gap ``new - old`` in ``column`` at every width: difference of seed means and its
        standard error (``nan`` with one seed), see :meth:`MnistResults.gain`."""
        pairs = [r.gain(column, (new, augment), (old, augment)) for r in self.results.values()]
        return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])

    def markdown(self, augment: bool = False, column: str = "shift") -> str:
        """One row per width: ``column`` for A, B, C (mean ± std) and the gaps (± s.e.)."""
        one = self.n_seeds == 1
        head = f"| conv widths | {' | '.join(MODEL_NAMES)} | {' | '.join(g[0] for g in GAPS)} |"
        rows = [head, "|---" * (1 + len(MODEL_NAMES) + len(GAPS)) + "|"]
        cols = {m: self.column(m, augment, column) for m in MODEL_NAMES}
        gaps = {g[0]: self.gap(g[1], g[2], augment, column) for g in GAPS}
        for i, w in enumerate(self.widths):
            cells = [f"{cols[m][0][i]:.3f}" + ("" if one else f" ± {cols[m][1][i]:.3f}") for m in MODEL_NAMES]
            cells += [_signed(gaps[g][0][i]) + ("" if one else f" ± {gaps[g][1][i]:.3f}") for g in gaps]
            rows.append(f"| {width_label(w)} | " + " | ".join(cells) + " |")
        return "\n".join(rows)

    def glue(self, prefix: str = "width") -> None:
        """Glue the ``"shift"`` column and the gaps for the prose:
        ``{prefix}_{w1}x{w2}_{noaug|aug}_{A|B|C}`` (mean, plus ``_std``) and
        ``{prefix}_{w1}x{w2}_{noaug|aug}_gap_{CA|BA}`` (plus ``_se``, glued only with several seeds)."""
        for aug in (False, True):
            tag = "aug" if aug else "noaug"
            cols = {m: self.column(m, aug) for m in MODEL_NAMES}
            gaps = {g[1] + g[2]: self.gap(g[1], g[2], aug) for g in GAPS}
            for i, w in enumerate(self.widths):
                key = f"{prefix}_{w[0]}x{w[1]}_{tag}"
                for m, (mu, sd) in cols.items():
                    glue(f"{key}_{m}", float(mu[i]), kind="accuracy")
                    glue(f"{key}_{m}_std", float(sd[i]), kind="nonneg")
                for g, (d, se) in gaps.items():
                    glue(f"{key}_gap_{g}", float(d[i]), kind="signed")
                    if not np.isnan(se[i]):
                        glue(f"{key}_gap_{g}_se", float(se[i]), kind="nonneg")

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds,
                "widths": {width_label(w): r.to_dict() for w, r in self.results.items()}}


def run_width_study(settings: MnistSettings | None = None, widths: Sequence[Sequence[int]] | None = None,
                    hidden: int = STUDY_HIDDEN, max_shift: int = STUDY_MAX_SHIFT,
                    device: torch.device | str | None = None, progress: bool = True,
                    use_cache: bool = True) -> WidthStudy:
    """Train (or load) and evaluate A, B and C with and without augmentation at every width.

    Args:
        settings: everything but the widths (default: :meth:`MnistSettings.default`); its
            ``channels`` and ``hidden`` are replaced by each width and ``hidden``.
        widths: pairs of conv widths (default: :func:`default_widths`), reported in this order.
        hidden: the hidden FC width of every network of the study.
        max_shift: the shift grid is ``[-max_shift, max_shift]^2`` (at least 3: the columns need it).
    """
    settings = settings or MnistSettings.default()
    raw = default_widths() if widths is None else widths
    ws: list[Width] = []
    for w in raw:
        if len(w) != 2 or any(isinstance(c, bool) or int(c) != c or int(c) < 1 for c in w):
            raise ValueError(f"each width must be two positive ints, got {tuple(w)!r}")
        ws.append((int(w[0]), int(w[1])))
    if not ws or len(set(ws)) != len(ws):
        raise ValueError(f"widths must be distinct and at least one, got {ws}")
    if isinstance(hidden, bool) or int(hidden) < 1:
        raise ValueError(f"hidden must be a positive int, got {hidden!r}")
    if isinstance(max_shift, bool) or int(max_shift) != max_shift or int(max_shift) < 3:
        raise ValueError(f"max_shift must be an int of at least 3, got {max_shift!r}")
    dev = get_device(device)
    start = time.perf_counter()
    results = {w: run_mnist(dataclasses.replace(settings, channels=w, hidden=int(hidden),
                                                      max_shift=int(max_shift)), device=dev,
                            progress=progress, use_cache=use_cache) for w in ws}
    return WidthStudy(results, time.perf_counter() - start)
