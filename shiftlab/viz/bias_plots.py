"""Figures of the data-bias chapter: where ImageNet's boxes are (box-centre histograms, box
height against centre) and how MNIST is centred (:func:`plot_centring`)."""

from __future__ import annotations

import numpy as np
import torch

from shiftlab.data.boxes import BoxTable
from shiftlab.measure.centring import centre_of_mass, ink_frequency
from shiftlab.measure.position_bias import centre_histogram, positions
from shiftlab.measure.tta import ring_shifts
from shiftlab.viz.plotting import BOOK_WIDTH, show_image

__all__ = ["plot_centre_histograms", "plot_height_vs_centre", "plot_centring"]


def _class_panels(table: BoxTable, classes: list[int | str] | None, width: float = BOOK_WIDTH,
                  ncols: int = 3):
    """("all 1000 classes", every box) followed by one (name, boxes) per class, and a grid of
    axes for them (``ncols`` per row, ``width`` inches wide, square panels)."""
    import matplotlib.pyplot as plt

    panels = [("all classes", table)] + [(table.short_name(table.class_index(c)),
                                          table.for_class(c)) for c in (classes or [])]
    ncols = min(ncols, len(panels))
    nrows = -(-len(panels) // ncols)
    side = (width - 1.2) / ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, side * nrows + 0.7), squeeze=False,
                             layout="constrained", sharex=True, sharey=True)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    return panels, fig, axes


def plot_centre_histograms(table: BoxTable, classes: list[int | str] | None = None, bins: int = 20,
                           kind: str = "centre", width: float = BOOK_WIDTH):
    """2-D histograms of box positions: all boxes first, then one panel per class (3 panels
    per row, ``width`` inches wide).

    Colour = density relative to uniform (1 = uniform share; log colour scale). Returns the figure.
    """
    from matplotlib.colors import LogNorm

    panels, fig, axes = _class_panels(table, classes, width)
    im = None
    for ax, (title, t) in zip(axes.ravel(), panels):
        x, y, valid = positions(t, kind)
        h = centre_histogram(x[valid], y[valid], bins=bins if len(t) > 2000 else min(bins, 8))
        im = ax.imshow(np.where(h > 0, h, np.nan), extent=(0, 1, 1, 0), cmap="magma",
                       norm=LogNorm(vmin=0.1, vmax=20), interpolation="nearest")
        ax.set_title(f"{title}\n{int(valid.sum()):,} boxes")
        ax.set_xticks([0, 0.5, 1])
        ax.set_yticks([0, 0.5, 1])
        ax.set_facecolor("black")
    for ax in axes[-1]:
        ax.set_xlabel("centre x / width" if kind == "centre" else "free position u")
    for ax in axes[:, 0]:
        ax.set_ylabel("centre y / height" if kind == "centre" else "free position v")
    cb = fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8)
    cb.set_label("density / uniform share (log)")
    what = "box centres" if kind == "centre" else "free positions (size removed)"
    fig.suptitle(f"ImageNet validation boxes, {what}; 1 = uniform share, black = empty")
    return fig


def plot_height_vs_centre(table: BoxTable, classes: list[int | str] | None = None, bins: int = 25,
                          width: float = BOOK_WIDTH):
    """2-D histograms of box height (fraction of the image height) against centre y (fraction of
    the height), all boxes and one panel per class (3 per row); the grey lines bound what is
    geometrically possible (a box of height h has its centre in ``[h/2, 1 - h/2]``)."""
    from matplotlib.colors import LogNorm

    panels, fig, axes = _class_panels(table, classes, width)
    im = None
    for ax, (title, t) in zip(axes.ravel(), panels):
        b = bins if len(t) > 2000 else min(bins, 10)
        h, _, _ = np.histogram2d(t.rel_height, t.cy, bins=b, range=[[0, 1], [0, 1]])
        h = h * b * b / max(len(t), 1)
        im = ax.imshow(np.where(h > 0, h, np.nan), origin="lower", extent=(0, 1, 0, 1),
                       cmap="viridis", norm=LogNorm(vmin=0.1, vmax=30),
                       interpolation="nearest", aspect="auto")
        hh = np.linspace(0, 1, 50)
        ax.plot(hh / 2, hh, color="0.7", lw=1.2)
        ax.plot(1 - hh / 2, hh, color="0.7", lw=1.2)
        ax.set_title(f"{title}\n{len(t):,} boxes")
        ax.set_xticks([0, 0.5, 1])
        ax.set_yticks([0, 0.5, 1])
        ax.set_facecolor("black")
    for ax in axes[-1]:
        ax.set_xlabel("centre y / height")
    for ax in axes[:, 0]:
        ax.set_ylabel("box height / height")
    cb = fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8)
    cb.set_label("density / uniform (log)")
    fig.suptitle("Box height against vertical centre (grey: the geometric limits)")
    return fig


def plot_centring(train_images: torch.Tensor, test_images: torch.Tensor,
                  curves: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
                  radii: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8), aug_reach: int = 3,
                  seed: int = 0, width: float = BOOK_WIDTH):
    """The MNIST centring figure, in pixel coordinates, 2 x 2 panels ``width`` inches wide:
    (a) where training digits have ink, (b) their centres of mass, (c) centres of shifted test
    digits (one random shift per ring) against the 1-px square of the training centres and the
    reach of +-``aug_reach`` px augmentation, (d) optional accuracy curves
    ``{label: (ring, accuracy)}``."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import MaxNLocator


    fig, axes = plt.subplots(2, 2, figsize=(width, 0.9 * width), layout="constrained")
    axes = axes.ravel()
    show_image(axes[0], ink_frequency(train_images),
               f"(a) ink, {train_images.shape[0]:,} training digits",
               cmap="magma", colorbar="fraction of digits with ink")
    com = centre_of_mass(train_images).numpy()
    c0 = np.round(com.mean(0))
    edges_x = np.arange(c0[0] - 1.5, c0[0] + 1.5 + 1e-9, 0.05)
    edges_y = np.arange(c0[1] - 1.5, c0[1] + 1.5 + 1e-9, 0.05)
    h, _, _ = np.histogram2d(com[:, 1], com[:, 0], bins=[edges_y, edges_x])
    h = h / com.shape[0]
    im = axes[1].imshow(np.where(h > 0, h, np.nan), cmap="viridis", interpolation="nearest",
                        extent=(edges_x[0], edges_x[-1], edges_y[-1], edges_y[0]))
    fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.04).set_label(
        "fraction of digits per 0.05 px bin")
    axes[1].add_patch(Rectangle((c0[0] - 0.5, c0[1] - 0.5), 1, 1, fill=False, ec="lime", lw=1.5))
    axes[1].set(title="(b) centres of mass, training", xlabel="x (pixels)",
                ylabel="y (pixels)")
    g = torch.Generator().manual_seed(seed)
    base = centre_of_mass(test_images).numpy()
    cmap = plt.get_cmap("plasma")
    for i, r in enumerate(radii):
        dx, dy = ring_shifts(test_images.shape[0], r, g)
        axes[2].scatter(base[:, 0] + dx.numpy(), base[:, 1] + dy.numpy(), s=2, alpha=0.4,
                        color=cmap(i / max(len(radii) - 1, 1)),
                        label=f"ring {r}" if r in (radii[0], radii[-1]) else None)
    axes[2].add_patch(Rectangle((c0[0] - 0.5, c0[1] - 0.5), 1, 1, fill=False, ec="lime", lw=2,
                                label="training centres"))
    axes[2].add_patch(Rectangle((c0[0] - aug_reach - 0.5, c0[1] - aug_reach - 0.5),
                                2 * aug_reach + 1, 2 * aug_reach + 1, fill=False, ec="k",
                                ls="--", lw=1.2, label=f"+-{aug_reach} px augmentation"))
    lim = max(radii) + 1.5
    axes[2].set(xlim=(c0[0] - lim, c0[0] + lim), ylim=(c0[1] + lim, c0[1] - lim),
                aspect="equal", title="(c) centres of shifted test digits",
                xlabel="x (pixels)", ylabel="y (pixels)")
    axes[2].legend(fontsize=8, loc="lower left", markerscale=4, framealpha=0.9)
    for ax in axes[:3]:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if curves:
        for label, (rings, acc) in curves.items():
            axes[3].plot(rings, acc, marker="o", ms=3, label=label)
        axes[3].axvspan(-0.5, 0.5, color="lime", alpha=0.25, label="training centres")
        axes[3].set(title="(d) trained on centred digits",
                    xlabel="shift ring max(|dx|, |dy|) (pixels)", ylabel="test accuracy",
                    ylim=(0, 1.01))
        axes[3].xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[3].legend(fontsize=8)
        axes[3].grid(alpha=0.3)
    else:
        axes[3].set_visible(False)
    return fig
