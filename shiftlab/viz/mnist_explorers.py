"""Figures and the interactive view of the two MNIST chapters (models A, B, C).

Every function draws from a :class:`shiftlab.studies.mnist_pooling.MnistResults` (seed means) or from
trained models; every figure has a title, labelled axes with units and labelled colour bars.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import nn

from shiftlab.core.shifts import translate
from shiftlab.measure.shift_accuracy import accuracy_by_ring
from shiftlab.nn.mnist_models import MODEL_NAMES
from shiftlab.studies.mnist_pooling import MnistResults
from shiftlab.viz.plotting import BOOK_WIDTH, show_image
from shiftlab.viz.widgets import slider_view

__all__ = [
    "plot_training_curves",
    "plot_shift_heatmaps",
    "plot_ring_curves",
    "plot_sensitivity_maps",
    "plot_slide",
    "slide_explorer",
]

COLORS = {"A": "tab:blue", "B": "tab:orange", "C": "tab:green"}


def _aug_text(augment: bool) -> str:
    return "with augmentation" if augment else "without augmentation"


def _integer_axis(axis: Any, nbins: int | Literal["auto"] = "auto") -> None:
    axis.set_major_locator(MaxNLocator(nbins=nbins, integer=True))


def plot_training_curves(results: MnistResults, augments: Sequence[bool] = (False,)) -> Figure:
    """Training loss per batch (left) and test accuracy after each epoch (right), seed mean
    (+- std for the accuracy); solid lines without augmentation, dashed with it."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(BOOK_WIDTH, 3.3), constrained_layout=True)
    for aug in augments:
        for m in MODEL_NAMES:
            runs = results.select(m, aug)
            if not runs:
                continue
            ls = "--" if aug else "-"
            label = f"{m}{' + aug' if aug else ''}"
            loss = np.array([r.history.step_loss for r in runs])
            per_epoch = len(runs[0].history.step_loss) / max(1, len(runs[0].history.epoch_loss))
            x = np.arange(1, loss.shape[1] + 1) / per_epoch
            ax1.plot(x, loss.mean(0), ls, color=COLORS[m], label=label, lw=1)
            acc = np.array([r.history.epoch_test_acc for r in runs])
            ep = np.arange(1, acc.shape[1] + 1)
            err = acc.std(0, ddof=1) if len(runs) > 1 else None
            ax2.errorbar(ep, acc.mean(0), yerr=err, fmt=ls + "o", color=COLORS[m],
                         label=label, capsize=3, ms=4)
    ax1.set_yscale("log")
    ax1.set(xlabel="epoch", ylabel="loss per batch (log scale)",
            title="Training loss (seed mean)")
    ax2.set(xlabel="epoch", ylabel="test accuracy (fraction)",
            title="Unshifted test accuracy (± std)")
    _integer_axis(ax1.xaxis)
    _integer_axis(ax2.xaxis)
    ax1.legend(ncol=2 if len(augments) > 1 else 1)
    ax2.legend(ncol=2 if len(augments) > 1 else 1)
    return fig


def _grid_panel(ax: Any, img: np.ndarray, k: int, **kw: Any) -> Any:
    im = ax.imshow(img, extent=(-k - .5, k + .5, k + .5, -k - .5), interpolation="nearest", **kw)
    for r, style in ((3, "--"), (1, ":")):
        ax.add_patch(plt.Rectangle((-r - .5, -r - .5), 2 * r + 1, 2 * r + 1, fill=False,
                                   ec="white", ls=style, lw=1.2))
    ax.set(xlabel="dx (pixels)", ylabel="dy (pixels)")
    _integer_axis(ax.xaxis)
    _integer_axis(ax.yaxis)
    return im


def plot_shift_heatmaps(results: MnistResults, augment: bool = False, what: str = "accuracy",
                        vmin: float | None = None, vmax: float | None = None) -> Figure:
    """Seed-mean accuracy (or sensitivity) over the (dx, dy) grid for models A, B, C, one
    colour scale for the three panels.

    The dashed square marks ``|dx|, |dy| <= 3`` (the ``shift`` column); the dotted square the
    one-pixel neighbours (``shift min``). ``dx > 0`` moves right, ``dy > 0`` down.
    """
    if what not in ("accuracy", "sensitivity"):
        raise ValueError(f"what must be 'accuracy' or 'sensitivity', got {what!r}")
    k = results.settings.max_shift
    imgs = [results.mean_grid(m, augment, what) for m in MODEL_NAMES]
    if what == "accuracy":
        lo, hi = (0.0 if vmin is None else vmin), (1.0 if vmax is None else vmax)
        cmap, label, title = "viridis", "accuracy (fraction)", "Accuracy of shifted digits"
    else:
        lo = 0.0 if vmin is None else vmin
        hi = max(float(i.max()) for i in imgs) if vmax is None else vmax
        cmap, label = "magma", "||f(Sx) - f(x)|| / ||f(x)||"
        title = "Translation sensitivity of the logits"
    fig, axes = plt.subplots(1, 3, figsize=(BOOK_WIDTH, 3.1), constrained_layout=True)
    im = None
    for ax, m, img in zip(axes, MODEL_NAMES, imgs):
        im = _grid_panel(ax, img, k, cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(f"model {m}")
    assert im is not None  # three models, three panels
    fig.colorbar(im, ax=list(axes), shrink=0.85).set_label(label)
    n = len(results.settings.seeds)
    fig.suptitle(f"{title}, {_aug_text(augment)}\n(mean over "
                 f"{n} seed{'' if n == 1 else 's'}, {results.settings.grid_size:,} digits)")
    return fig


def plot_ring_curves(results: MnistResults, augments: Sequence[bool] = (False,)) -> Figure:
    """Accuracy vs shift magnitude ``r = max(|dx|, |dy|)`` (mean over the ring, then mean
    +- std over seeds) and along the horizontal axis (dy = 0)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(BOOK_WIDTH, 3.3), constrained_layout=True)
    k = results.settings.max_shift
    for aug in augments:
        for m in MODEL_NAMES:
            runs = results.select(m, aug)
            if not runs:
                continue
            ls, label = ("--" if aug else "-"), f"{m}{' + aug' if aug else ''}"
            rings = np.array([accuracy_by_ring(r.grid)[1] for r in runs])
            r = np.arange(rings.shape[1])
            err = rings.std(0, ddof=1) if len(runs) > 1 else None
            ax1.errorbar(r, rings.mean(0), yerr=err, fmt=ls + "o", color=COLORS[m],
                         label=label, capsize=3, ms=4)
            row = np.array([r_.grid.as_image()[k] for r_ in runs])  # dy = 0
            ax2.plot(np.arange(-k, k + 1), row.mean(0), ls + "o", color=COLORS[m],
                     label=label, ms=3)
    ax1.axvspan(0.5, 3.5, color="grey", alpha=0.15, label="'shift' range")
    ax1.set(xlabel="shift r = max(|dx|, |dy|) (pixels)", ylabel="accuracy (fraction)",
            title="Accuracy vs shift (± std)", ylim=(0, 1.02))
    ax2.set(xlabel="dx (pixels; dy = 0)", ylabel="accuracy (fraction)",
            title="Horizontal slide", ylim=(0, 1.02))
    _integer_axis(ax1.xaxis)
    _integer_axis(ax2.xaxis)
    ax1.legend(fontsize=7.5, loc="lower left", ncol=2 if len(augments) > 1 else 1)
    return fig


def plot_sensitivity_maps(results: MnistResults) -> Figure:
    """Sensitivity maps for A, B, C without (top) and with (bottom) augmentation, one colour
    scale for all six panels."""
    k = results.settings.max_shift
    grids = {(a, m): results.mean_grid(m, a, "sensitivity") for a in (False, True)
             for m in MODEL_NAMES if results.select(m, a)}
    vmax = max(float(g.max()) for g in grids.values())
    fig, axes = plt.subplots(2, 3, figsize=(BOOK_WIDTH, 5.6), squeeze=False, constrained_layout=True)
    im = None
    for i, aug in enumerate((False, True)):
        for j, m in enumerate(MODEL_NAMES):
            ax = axes[i, j]
            if (aug, m) not in grids:
                ax.axis("off")
                continue
            im = _grid_panel(ax, grids[(aug, m)], k, cmap="magma", vmin=0, vmax=vmax)
            ax.set_title(f"{m}, {'with' if aug else 'no'} augmentation")
    assert im is not None  # max() above raised if there were no grids
    fig.colorbar(im, ax=list(axes.flat), shrink=0.8).set_label("||f(Sx) - f(x)|| / ||f(x)||")
    fig.suptitle("Translation sensitivity of the logits (mean over digits and seeds)")
    return fig


@torch.no_grad()
def plot_slide(models: Mapping[str, nn.Module], image: torch.Tensor, label: int, dx: int = 0,
               dy: int = 0, max_shift: int = 8) -> Figure:
    """A test digit moved by ``(dx, dy)`` (zero fill) and each model's class probabilities,
    plus the probability of the true class along the horizontal slide ``dx = -8 .. 8``."""
    x = image.reshape(1, 1, *image.shape[-2:])
    dev = next(iter(models.values())).parameters().__next__().device
    x = x.to(dev)
    xs = translate(x, dx, dy)
    fig = plt.figure(figsize=(BOOK_WIDTH, 2.9), constrained_layout=True)
    gs = fig.add_gridspec(1, 3, width_ratios=[1, 1.5, 1.5])
    ax0, ax1, ax2 = fig.add_subplot(gs[0]), fig.add_subplot(gs[1]), fig.add_subplot(gs[2])
    show_image(ax0, xs[0, 0].cpu(), f"digit {label} at ({dx}, {dy})")
    _integer_axis(ax0.xaxis, nbins=4)
    _integer_axis(ax0.yaxis, nbins=4)
    width = 0.8 / len(models)
    offsets = np.arange(len(models)) * width - 0.4 + width / 2
    shifts = torch.arange(-max_shift, max_shift + 1, device=dev)
    row = translate(x.expand(len(shifts), -1, -1, -1), shifts, torch.full_like(shifts, dy))
    for (name, model), off in zip(models.items(), offsets):
        p = torch.softmax(model(xs), 1)[0].cpu().numpy()
        color = COLORS.get(name.split()[0], None)
        ax1.bar(np.arange(10) + off, p, width, label=name, color=color)
        pr = torch.softmax(model(row), 1)[:, label].cpu().numpy()
        ax2.plot(shifts.cpu().numpy(), pr, "o-", ms=3, label=name, color=color)
    ax1.set(xticks=range(10), xlabel="class", ylabel="probability", ylim=(0, 1.02),
            title="Class probabilities")
    ax2.axvline(dx, color="grey", ls=":")
    ax2.set(xlabel=f"dx (pixels; dy = {dy})", ylabel=f"p(class {label})", ylim=(0, 1.02),
            title="True class along the slide")
    _integer_axis(ax2.xaxis)
    ax1.legend(fontsize=7.5)
    return fig


def slide_explorer(models: Mapping[str, nn.Module], images: torch.Tensor, labels: torch.Tensor,
                   index: int = 0, dx: int = 3, dy: int = 0, max_shift: int = 8) -> Any:
    """Static figure of the default state, then sliders for the digit, dx and dy."""
    if not 0 <= index < images.shape[0]:
        raise ValueError(f"index must be in [0, {images.shape[0]}), got {index}")
    plot_slide(models, images[index], int(labels[index]), dx, dy, max_shift)
    plt.show()
    return slider_view(
        lambda index, dx, dy: plot_slide(models, images[index], int(labels[index]), dx, dy,
                                         max_shift),
        index=dict(value=index, min=0, max=images.shape[0] - 1, description="digit"),
        dx=dict(value=dx, min=-max_shift, max=max_shift, description="dx"),
        dy=dict(value=dy, min=-max_shift, max=max_shift, description="dy"),
    )
