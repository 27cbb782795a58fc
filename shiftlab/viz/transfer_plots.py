"""The figure of Biscione & Bowers' sequential protocol (:mod:`shiftlab.studies.invariance_transfer`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from shiftlab.studies.invariance_transfer import MODES, TransferResults
from shiftlab.studies.learned_invariance import CENTRE, EVERYWHERE, chebyshev_distance
from shiftlab.viz.plotting import BOOK_WIDTH, learning_curves

__all__ = ["plot_transfer"]

#: colour and marker of each mode; the line style tells the head (FC solid, GAP dotted)
_MODE_STYLE = {"frozen": ("tab:purple", "o"), "fine-tuned": ("tab:green", "s"), "scratch": ("tab:grey", "^")}


def plot_transfer(results: TransferResults) -> Figure:
    """Left: the pretraining curves (accuracy of held-out digits 0-4 at random positions after
    each epoch, one line per seed and head, the stopping target dotted). Right: accuracy of the new digits 5-9
    against the distance of their position from the centre where they were learned, for
    each mode and head (mean over seeds; chance 0.2)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(BOOK_WIDTH, 3.4), constrained_layout=True)
    heads = results.settings.heads
    for head, ls in zip(heads, ("-", ":"), strict=False):
        learning_curves(ax1, results.curves(head), f"{head.upper()} head", results.settings.target,
                        color="black", ls=ls)
    region = results.settings.pretrain_region
    where = {EVERYWHERE: "everywhere", CENTRE: "at the centre"}.get(region, f"in offsets {region}")
    ax1.set(xlabel="pretraining epoch", ylim=(0, 1.02), title=f"Pretraining: digits 0-4 {where}")
    ax1.legend(loc="lower right")
    dist = chebyshev_distance(results.positions, CENTRE)
    bins = np.unique(dist)
    for head, ls in zip(heads, ("-", ":"), strict=False):
        for mode in MODES:
            colour, marker = _MODE_STYLE[mode]
            acc = results.maps[(mode, head)].mean(0)
            ax2.plot(bins, [acc[dist == d].mean() for d in bins], marker=marker, ls=ls, color=colour, ms=4,
                     label=f"{head.upper()}, {mode}")
    ax2.axhline(0.2, color="grey", lw=0.8, ls=":")
    ax2.text(bins.max(), 0.19, "chance", ha="right", va="top", fontsize=8.5, color="grey")
    ax2.set(xlabel="distance from the centre region (pixels)", ylabel="accuracy (fraction)", ylim=(0, 1.02),
            title="New digits 5-9, learned at the centre")
    ax2.legend(fontsize=8, loc="lower left", ncol=2)
    return fig
