"""Figures of the MNIST chapters' controls (:mod:`shiftlab.studies.mnist_controls`).

:func:`plot_ink_control`: how much ink the shifts push out of the 28 x 28 frame, and the
accuracy per shift size over all digits beside the accuracy over the digits that keep all
their ink. :func:`plot_head_control`: the shift curves of the FC-head and the GAP-head models.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from shiftlab.measure.shift_accuracy import accuracy_by_ring
from shiftlab.nn.mnist_models import MODEL_NAMES
from shiftlab.studies.mnist_controls import HeadControl, InkControl
from shiftlab.studies.mnist_pooling import MnistResults
from shiftlab.viz.mnist_explorers import COLORS
from shiftlab.viz.plotting import BOOK_WIDTH

__all__ = ["plot_ink_control", "plot_head_control"]


def plot_ink_control(ink: InkControl, results: MnistResults, augment: bool = False,
                     models: Sequence[str] = MODEL_NAMES) -> Figure:
    """Left: the share of digit/shift pairs that keep all their ink, and the mean share of ink
    lost, per shift size ``r``. Right: accuracy per ``r`` over all digits (solid, the chapter's
    curve) and over the digits that keep their ink (dashed), mean over seeds."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(BOOK_WIDTH, 3.3), constrained_layout=True)
    first = ink.rings(models[0], augment)
    r = first["r"]
    ax1.plot(r, first["kept_share"], "o-", color="black", ms=4, label="pairs keeping all ink")
    ax1.plot(r, first["mean_lost"], "s--", color="grey", ms=4, label="mean share of ink lost")
    ax1.set(xlabel="shift r = max(|dx|, |dy|) (pixels)", ylabel="fraction",
            title="What a 28 × 28 frame loses", ylim=(0, 1.02))
    ax1.legend(fontsize=8, loc="center left")
    for m in models:
        ring = ink.rings(m, augment)
        every = np.mean([accuracy_by_ring(x.grid)[1] for x in results.select(m, augment)], axis=0)
        ax2.plot(r, every, "o-", color=COLORS[m], ms=4, label=f"{m}: all digits")
        ax2.plot(r, ring["kept_accuracy"], "^--", color=COLORS[m], ms=4, label=f"{m}: ink kept")
    ax2.set(xlabel="shift r = max(|dx|, |dy|) (pixels)", ylabel="accuracy (fraction)",
            title=f"Accuracy, {'with' if augment else 'no'} augmentation", ylim=(0, 1.02))
    ax2.legend(fontsize=7.5, loc="lower left", ncol=2)
    for ax in (ax1, ax2):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def plot_head_control(heads: HeadControl, results: MnistResults) -> Figure:
    """Accuracy per shift size for A, B, C with their FC heads (solid, no augmentation) and
    with GAP heads of equal size (dashed), mean ± std over seeds."""
    fig, ax = plt.subplots(figsize=(BOOK_WIDTH * 0.62, 3.3), constrained_layout=True)
    for m in MODEL_NAMES:
        for kind, runs, ls in (("FC", [x.grid for x in results.select(m, False)], "o-"),
                               ("GAP", [x.grid for x in heads.select(m)], "^--")):
            if not runs:
                continue
            rings = np.array([accuracy_by_ring(g)[1] for g in runs])
            err = rings.std(0, ddof=1) if len(runs) > 1 else None
            ax.errorbar(np.arange(rings.shape[1]), rings.mean(0), yerr=err, fmt=ls, color=COLORS[m],
                        ms=4, capsize=3, label=f"{m}, {kind} head")
    ax.set(xlabel="shift r = max(|dx|, |dy|) (pixels)", ylabel="accuracy (fraction)",
           title="FC heads against GAP heads of equal size", ylim=(0, 1.02))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=7.5, loc="lower left", ncol=2)
    return fig
