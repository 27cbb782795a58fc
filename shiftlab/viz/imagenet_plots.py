"""The figures of the ImageNet shift chapter: protocol frames, probability traces, barcodes,
pair metrics, consistency, accuracy against scale and the resize example."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, cast

import numpy as np
import torch

from shiftlab.data.photos import PhotoSet
from shiftlab.measure.protocols import DEFAULT_EMBED_SIZE, PROTOCOLS, resize_interpolate, resize_pil, shift_sequence
from shiftlab.measure.shift_metrics import PUBLISHED_AZULAY_WEISS, PUBLISHED_ZHANG, barcode_order, p_top1_change
from shiftlab.studies.imagenet_shifts import ShiftStudy
from shiftlab.viz.plotting import BOOK_WIDTH

__all__ = [
    "plot_protocol_frames",
    "plot_sequence_curves",
    "plot_barcodes",
    "plot_pair_metrics",
    "plot_consistency",
    "plot_scale_curve",
    "plot_resize_example",
]


def _integer_ticks(*axes: Any, nbins: int | Literal["auto"] = "auto") -> None:
    from matplotlib.ticker import MaxNLocator

    for axis in axes:
        axis.set_major_locator(MaxNLocator(nbins=nbins, integer=True))


def _rgb(ax: Any, img: torch.Tensor, title: str) -> None:
    ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
    ax.set_title(title)
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    _integer_ticks(ax.xaxis, ax.yaxis, nbins=4)


def plot_protocol_frames(img: torch.Tensor, shifts: Sequence[int] = (-8, 0, 8),
                         max_shift: int = 16, embed_size: int = DEFAULT_EMBED_SIZE,
                         out_size: int = 224):
    """One row per protocol: the frames of a photo at a few diagonal shifts. Returns the figure."""
    import matplotlib.pyplot as plt

    side = min(2.6, BOOK_WIDTH / len(shifts))
    fig, axes = plt.subplots(len(PROTOCOLS), len(shifts), squeeze=False,
                             figsize=(side * len(shifts), (side + 0.1) * len(PROTOCOLS) + 0.4),
                             constrained_layout=True)
    n = 2 * max_shift + 1
    for i, p in enumerate(PROTOCOLS):
        frames, d = shift_sequence(img, p, n, out_size, max_shift, embed_size)
        for j, s in enumerate(shifts):
            k = int((d == s).nonzero()[0, 0])
            _rgb(axes[i, j], frames[k], f"{p}, d = {s:+d}")
    fig.suptitle(f"The three protocols: content moved by (d, d) px ({out_size} px input)")
    return fig


def plot_sequence_curves(study: ShiftStudy, protocol: str = "crop", n: int = 6):
    """Probability of the true class vs diagonal shift for the ``n`` most jagged photos."""
    import matplotlib.pyplot as plt

    s = study.sequences[protocol]
    tv = np.abs(np.diff(s["p_true"], axis=1)).sum(axis=1)
    fig, ax = plt.subplots(figsize=(BOOK_WIDTH, 3.3), constrained_layout=True)
    for i in np.argsort(-tv)[:n]:
        name = (study.class_names[s["labels"][i]].split(",")[0] if study.class_names
                else str(s["labels"][i]))
        ax.plot(s["shifts"], s["p_true"][i], marker=".", label=name)
    ax.set_xlabel("diagonal shift d (pixels; content moved by (d, d))")
    ax.set_ylabel("p(true class)")
    ax.set_ylim(-0.02, 1.02)
    _integer_ticks(ax.xaxis)
    ax.set_title(f"{protocol}: the {n} most jagged photos ({study.model_name})")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    return fig


def plot_barcodes(study: ShiftStudy, protocols: Sequence[str] | None = None):
    """Azulay & Weiss' "barcode": p(true class) along the shift sequence, one row per photo,
    rows sorted by mean probability; one panel per protocol, one colour bar."""
    import matplotlib.pyplot as plt

    protocols = list(protocols or study.sequences)
    fig, axes = plt.subplots(1, len(protocols), figsize=(BOOK_WIDTH, 4.2), squeeze=False,
                             constrained_layout=True)
    im = None
    for ax, p in zip(axes[0], protocols):
        s = study.sequences[p]
        order = barcode_order(s["p_true"])
        d = s["shifts"]
        im = ax.imshow(s["p_true"][order], aspect="auto", cmap="gray", vmin=0, vmax=1,
                       interpolation="nearest",
                       extent=(d[0] - 0.5, d[-1] + 0.5, len(order) - 0.5, -0.5))
        ax.set_title(f"{p}\nP(change) = {p_top1_change(s['top1']):.3f}")
        ax.set_xlabel("shift d (pixels)")
        ax.set_ylabel("photo (sorted by mean p)")
        _integer_ticks(ax.xaxis, ax.yaxis)
    assert im is not None  # plt.subplots raised above if there were no protocols
    cb = fig.colorbar(im, ax=list(axes[0]), shrink=0.9)
    cb.set_label("p(true class)")
    fig.suptitle(f"Barcodes: {study.model_name}, {study.n_photos} photos")
    return fig


def plot_pair_metrics(study: ShiftStudy):
    """Bars: our P(top-1 change) and MAC per protocol beside Azulay & Weiss' VGG16 / ResNet50
    (bars from zero; a missing bar = not published)."""
    import matplotlib.pyplot as plt

    n = study.numbers()
    protocols = list(study.sequences)
    fig, axes = plt.subplots(1, 2, figsize=(BOOK_WIDTH, 3.6), layout="constrained")
    for ax, metric, label in ((axes[0], "p_change", "P(top-1 change)"), (axes[1], "mac", "MAC")):
        x = np.arange(len(protocols))
        ax.bar(x - 0.27, [n[f"{metric}_{p}"] for p in protocols], 0.27,
               label=f"ours ({study.model_name})")
        for off, model in ((0.0, "VGG16"), (0.27, "ResNet50")):
            vals = [PUBLISHED_AZULAY_WEISS[model].get(f"{metric}_{p}", np.nan) for p in protocols]
            ax.bar(x + off, vals, 0.27, label=f"{model} (Azulay & Weiss)")
        ax.set_xticks(x, protocols)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("protocol")
        ax.set_ylabel(f"{label}, 1-pixel shift")
        ax.set_title(label)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8)
    fig.suptitle(f"Sensitivity to 1-pixel diagonal shifts ({study.n_photos} photos)")
    return fig


def plot_consistency(study: ShiftStudy):
    """Histogram of per-photo consistency (over that photo's crop pairs), with the mean and
    Zhang's published values marked."""
    import matplotlib.pyplot as plt

    t1 = study.consistency["top1"]
    i, j = np.triu_indices(t1.shape[1], 1)
    per = 100 * (t1[:, i] == t1[:, j]).mean(axis=1)
    fig, ax = plt.subplots(figsize=(7.0, 3.3), constrained_layout=True)
    ax.hist(per, bins=cast("Sequence[float]", np.linspace(0, 100, 21)), color="tab:blue", alpha=0.8)
    ax.axvline(per.mean(), color="k", lw=2, label=f"ours ({study.model_name}): {per.mean():.1f} %")
    for model, c in (("ResNet50", "tab:red"), ("VGG16", "tab:orange")):
        ax.axvline(PUBLISHED_ZHANG[model]["consistency"], color=c, ls="--",
                   label=f"{model}, Zhang 2019: {PUBLISHED_ZHANG[model]['consistency']} %")
    ax.set_xlabel("consistency of one photo (% of its crop pairs with the same top-1)")
    ax.set_ylabel("number of photos")
    _integer_ticks(ax.yaxis)
    ax.set_title(f"Consistency: {t1.shape[1]} random crops per photo, {len(per)} photos")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_scale_curve(study: ShiftStudy):
    """Top-1 and top-5 accuracy vs the photo's long side in the 224 canvas."""
    import matplotlib.pyplot as plt

    s = study.scales
    fig, ax = plt.subplots(figsize=(6.5, 3.4), constrained_layout=True)
    ax.plot(s["sizes"], 100 * s["top1_correct"].mean(0), "o-", label="top-1")
    ax.plot(s["sizes"], 100 * s["top5_correct"].mean(0), "s-", label="top-5")
    seq = study.sequences.get("crop")
    if seq is not None:
        mid = seq["top1"].shape[1] // 2
        ax.axhline(100 * (seq["top1"][:, mid] == seq["labels"]).mean(), color="gray", ls=":",
                   label="top-1, standard view")
    ax.set_xlabel("long side of the photo on the black 224 px canvas (pixels)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks([int(v) for v in s["sizes"]])
    ax.set_title(f"Accuracy vs object scale ({study.model_name}, {study.n_photos} photos)")
    ax.legend(fontsize=8)
    return fig


def plot_resize_example(study: ShiftStudy, photos: PhotoSet, index: int | None = None,
                        input_size: int = 224):
    """The two resized inputs of one photo (default: the one whose true-class probability moved
    most) with their top-1 predictions, and their difference."""
    import matplotlib.pyplot as plt

    r = study.resize
    if index is None:
        index = int(np.argmax(np.abs(r["p_true"][:, 0] - r["p_true"][:, 1])))
    img = photos.images[index]
    resize = round(input_size * 256 / 224)
    views = [resize_pil(img, resize, input_size), resize_interpolate(img, resize, input_size)]
    fig, axes = plt.subplots(1, 3, figsize=(BOOK_WIDTH, 3.3), constrained_layout=True,
                             gridspec_kw={"width_ratios": [1, 1, 1.15]})
    names = ("PIL (antialiased)", "interpolate (no antialias)")
    for ax, v, nm, key in zip(axes[:2], views, names, ("top5_pil", "top5_interp")):
        _rgb(ax, v, f"{nm}\ntop-1: {photos.short_name(r[key][index][0])}")
    diff = (views[0] - views[1]).abs().mean(0) * 255
    im = axes[2].imshow(diff.numpy(), cmap="magma", interpolation="nearest")
    axes[2].set_title("|difference|\n(mean over RGB)")
    axes[2].set_xlabel("x (pixels)")
    axes[2].set_ylabel("y (pixels)")
    _integer_ticks(axes[2].xaxis, axes[2].yaxis, nbins=4)
    fig.colorbar(im, ax=axes[2], fraction=0.046, pad=0.04).set_label("grey levels (0-255)")
    true = photos.short_name(int(r["labels"][index]))
    fig.suptitle(f"One photo, two resize routines (true class: {true}; p(true) "
                 f"{r['p_true'][index, 0]:.2f} vs {r['p_true'][index, 1]:.2f})")
    return fig, index
