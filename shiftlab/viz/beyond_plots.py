"""Figures of the "beyond the articles" chapters (10-12): the position toy, per-layer
equivariance, the canvas accuracy maps, the worst case and the three shift protocols."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from shiftlab.measure.move_protocols import PROTOCOLS
from shiftlab.studies.borders_toy import BorderResults
from shiftlab.studies.layerwise_study import MODES, LayerStudy
from shiftlab.studies.learned_invariance import InvarianceResults
from shiftlab.studies.robustness import ProtocolResults, WorstCaseResults
from shiftlab.viz.plotting import BOOK_WIDTH, learning_curves

__all__ = ["plot_toy_examples", "plot_border_accuracy", "plot_layer_errors", "plot_accuracy_maps",
           "plot_learning_curves",
           "plot_worst_case", "plot_protocols"]

_PAD_COLORS = {"zeros": "C3", "circular": "C0", "reflect": "C2", "valid": "C1"}


def plot_toy_examples(images: torch.Tensor, labels: torch.Tensor, distances: Sequence[int]) -> Figure:
    """One row per distance: a class-0 and a class-1 image (``images [len(distances), 2, 1, S, S]``)."""
    n = len(distances)
    fig, axes = plt.subplots(1, 2 * n, figsize=(min(BOOK_WIDTH, 2.0 * n * 1.0 + 1), 1.9), squeeze=False)
    for i, d in enumerate(distances):
        for j in range(2):
            ax = axes[0, 2 * i + j]
            ax.imshow(images[i, j, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{'left' if int(labels[j]) == 0 else 'right'}, {d} px", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle("The position toy: the same kind of patch near the left or the right border")
    fig.tight_layout()
    return fig


def plot_border_accuracy(results: BorderResults, reach: int | None = None) -> Figure:
    """Test accuracy against the patch's distance from the border, one line per padding
    (mean ± std over seeds), with chance and the receptive-field reach marked."""
    fig, ax = plt.subplots(figsize=(BOOK_WIDTH * 0.75, 3.4))
    t = results.table()
    ds = list(results.settings.distances)
    for p, row in t.items():
        mu = np.array([row[d][0] for d in ds])
        sd = np.array([row[d][1] for d in ds])
        ax.errorbar(ds, 100 * mu, yerr=100 * sd, marker="o", capsize=3, label=f"{p} padding",
                    color=_PAD_COLORS.get(p))
    ax.axhline(50, color="grey", ls=":", lw=1)
    ax.text(ds[-1], 51.5, "chance", ha="right", va="bottom", fontsize=8, color="grey")
    if reach is not None:
        ax.axvline(reach + 0.5, color="k", ls="--", lw=0.8)
        ax.text(reach + 0.6, 60, f"border reach\n({reach} px)", fontsize=8, va="bottom")
    ax.set_xticks(ds)
    ax.set_xlabel("distance of the patch from the border (px)")
    ax.set_ylabel("test accuracy, left vs right (%)")
    ax.set_ylim(40, 103)
    ax.set_title("Where is the patch? Only the border can tell")
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    return fig


def plot_layer_errors(mnist: LayerStudy, imagenet: LayerStudy | None = None,
                      modes: Sequence[str] = ("shift 1 px", "nearest cell", "aligned")) -> Figure:
    """Error against depth: one panel per mode for the MNIST networks (one line each, stride
    as marker labels), and a panel for the ImageNet network with every mode."""
    panels = len(modes) + (1 if imagenet is not None else 0)
    fig, axes = plt.subplots(1, panels, figsize=(BOOK_WIDTH, 3.3), squeeze=False)
    styles = {"shift 1 px": "-", "interior": "-.", "nearest cell": "--", "aligned": ":"}
    top = max(float(c.mean(m).max()) for c in mnist.curves.values() for m in modes)
    for ax, mode in zip(axes[0], modes):
        for i, (name, c) in enumerate(mnist.curves.items()):
            depth = np.arange(1, len(c.names) + 1)
            ax.errorbar(depth, c.mean(mode), yerr=c.std(mode), marker="o", ms=3, capsize=2, label=name,
                        color=f"C{i}")
        longest = max(mnist.curves.values(), key=lambda c: len(c.names))
        for d, s in enumerate(longest.strides, start=1):
            ax.text(d, top * 1.08, f"s{s}", ha="center", fontsize=7, color="grey")
        ax.set_ylim(0, top * 1.18)
        ax.set_xticks(np.arange(1, len(longest.names) + 1))
        ax.set_xlabel("layer (depth)")
        ax.set_title(f"MNIST: {mode}", fontsize=10)
    axes[0, 0].set_ylabel("relative equivariance error")
    axes[0, len(modes) - 1].legend(fontsize=7, loc="upper left")  # the aligned panel has room
    if imagenet is not None:
        ax = axes[0, -1]
        (name, c), = imagenet.curves.items()
        depth = np.arange(1, len(c.names) + 1)
        for mode in MODES:
            ax.plot(depth, c.mean(mode), styles[mode], marker="o", ms=2.5, label=mode)
        ax.set_xlabel("activation layer (depth)")
        ax.set_title(f"ImageNet: {name}", fontsize=10)
        ax.set_xticks(depth[::3])
        ax.legend(fontsize=7)
    fig.suptitle("Where equivariance breaks, layer by layer (s = accumulated stride)")
    fig.tight_layout()
    return fig


def plot_accuracy_maps(results: InvarianceResults, conditions: Sequence[tuple[str, Sequence[int] | None, str]]
                       ) -> Figure:
    """Accuracy maps over the canvas: one row per ``(condition, classes, title)``, one column per
    head; the training region of those classes outlined (dashed) unless it is the whole grid."""
    heads = list(results.settings.heads)
    fig, axes = plt.subplots(len(conditions), len(heads),
                             figsize=(min(BOOK_WIDTH, 2.4 * len(heads) + 1.4), 2.35 * len(conditions) + 0.5),
                             squeeze=False, constrained_layout=True)
    axis = results.axis
    step = float(axis[1] - axis[0]) if len(axis) > 1 else 1.0
    im = None
    for r, (cond, classes, title) in enumerate(conditions):
        y0, y1, x0, x1 = results.region(cond, classes)
        whole = y0 <= axis[0] and x0 <= axis[0] and y1 >= axis[-1] and x1 >= axis[-1]
        for c, head in enumerate(heads):
            ax = axes[r, c]
            m = results.maps(cond, head, classes).mean
            ext = (axis[0] - step / 2, axis[-1] + step / 2, axis[-1] + step / 2, axis[0] - step / 2)
            im = ax.imshow(m, cmap="viridis", vmin=0, vmax=1, extent=ext)
            if not whole:
                ax.add_patch(Rectangle((x0 - step / 2, y0 - step / 2), x1 - x0 + step, y1 - y0 + step,
                                       fill=False, ec="white", lw=1.5, ls="--"))
            ax.set_title(f"{title}, {head.upper()} head", fontsize=9)
            ax.set_xticks(axis[::2])
            ax.set_yticks(axis[::2])
            ax.tick_params(labelsize=8)
            if r == len(conditions) - 1:
                ax.set_xlabel("digit's x offset (px)", fontsize=9)
            if c == 0:
                ax.set_ylabel("y offset (px)", fontsize=9)
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.6, label="test accuracy (fraction)")
    fig.suptitle("Accuracy at every position of the canvas (dashed: the training region)", fontsize=10)
    return fig


def plot_learning_curves(results: InvarianceResults) -> Figure:
    """One panel per condition: the held-out accuracy at the training positions after every
    epoch, one line per seed (FC head solid, GAP head dotted), the stopping target dotted grey."""
    conds = [c for c in results.settings.conditions if any(k[0] == c for k in results.histories)]
    fig, axes = plt.subplots(1, len(conds), figsize=(BOOK_WIDTH, 2.8), sharey=True, squeeze=False,
                             constrained_layout=True)
    # the shared y axis starts at the tenth below the lowest point (at most 0.5): the curves fill it
    low = math.floor(10 * min([0.5] + [v for hs in results.histories.values() for h in hs
                                       for v in h.get("val_acc", [])])) / 10
    for ax, cond in zip(axes[0], conds):
        for head, ls, colour in (("fc", "-", "tab:blue"), ("gap", ":", "tab:orange")):
            if (cond, head) in results.histories:
                learning_curves(ax, results.curves(cond, head), f"{head.upper()} head", results.settings.target,
                                color=colour, ls=ls)
        ax.set_title(cond, fontsize=10)
        ax.set_ylim(low, 1.005)
        ax.grid(alpha=0.3)
        if ax is not axes[0, 0]:
            ax.set_ylabel("")
    axes[0, 0].legend(fontsize=8, loc="lower right")
    fig.suptitle("Learning curves: held-out digits at their training positions, one line per seed",
                 fontsize=10)
    return fig


def plot_worst_case(results: WorstCaseResults) -> Figure:
    """Average, worst-of-10-random and worst-case accuracy against the box radius k, one panel
    without and one with augmentation, one colour per model."""
    fig, axes = plt.subplots(1, 2, figsize=(BOOK_WIDTH, 3.4), sharey=True)
    t = results.table()
    base = [m for m in t if not m.endswith("+aug")]
    styles = {"average": "-", "random": "--", "worst": ":"}
    for ax, aug in zip(axes, (False, True)):
        for i, m in enumerate(base):
            row = t[m + ("+aug" if aug else "")]
            ks = sorted(row)
            for q, ls in styles.items():
                ax.errorbar(ks, [100 * row[k][q][0] for k in ks], yerr=[100 * row[k][q][1] for k in ks],
                            ls=ls, marker="o", ms=3, capsize=2, color=f"C{i}",
                            label=m if q == "average" else None)
        ax.set_xticks(sorted(next(iter(t.values()))))
        ax.set_xlabel("box radius k: shifts with |dx|, |dy| ≤ k (px)")
        ax.set_title("with shift augmentation" if aug else "without augmentation", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("accuracy (%)")
    axes[0].legend(fontsize=7, loc="lower left", title="solid: average\ndashed: worst of 10\ndotted: worst case",
                   title_fontsize=7)
    fig.suptitle("Average vs worst case under shifts (MNIST, zero fill)")
    fig.tight_layout()
    return fig


def plot_protocols(results: ProtocolResults) -> Figure:
    """Consistency (%) per model and protocol as an annotated heatmap."""
    t = results.table()
    models = list(t)
    vals = np.array([[t[m][p]["consistency"][0] for p in PROTOCOLS] for m in models])
    fig, ax = plt.subplots(figsize=(BOOK_WIDTH * 0.7, 0.36 * len(models) + 1.4))
    im = ax.imshow(vals, cmap="magma", vmin=min(50.0, float(vals.min())), vmax=100, aspect="auto")
    for i in range(len(models)):
        for j in range(len(PROTOCOLS)):
            v = vals[i, j]
            txt = "100" if v == 100 else f"{v:.1f}"
            ax.text(j, i, txt, ha="center", va="center", fontsize=8, color="k" if v > 85 else "w")
    ax.set_xticks(range(len(PROTOCOLS)))
    ax.set_xticklabels(["roll (circular)", "crop (window)", "embed (zero fill)"])
    ax.set_yticks(range(len(models)))
    ax.set_yticklabels(models, fontsize=8)
    ax.set_title(f"Consistency (%) under three meanings of a shift ≤ {results.max_shift} px")
    fig.colorbar(im, ax=ax, label="consistency (%)")
    fig.tight_layout()
    return fig
