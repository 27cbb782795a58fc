"""Figures of the test-time augmentation studies."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from shiftlab.studies.tta_study import ImageNetTTAStudy, MnistTTAStudy

__all__ = [
    "plot_mnist_tta",
    "plot_imagenet_tta",
]


def plot_mnist_tta(study: MnistTTAStudy, models: Sequence[str] = ("A", "B", "C"),
                   width: float = 8.0):
    """Accuracy per shift ring for every method, one panel per model (plain models), with the
    augmented model's plain accuracy dashed for comparison; 2 panels per row, ``width``
    inches wide, the legend in a panel of its own. Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    radii = np.asarray(study.config.radii)
    n = len(models) + 1  # the last panel holds the legend
    nrows = -(-n // 2)
    fig, axes = plt.subplots(nrows, 2, figsize=(width, 0.36 * width * nrows + 0.4),
                             sharey=True, squeeze=False, layout="constrained")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    flat = axes.ravel()
    for ax, m in zip(flat, models):
        for i, meth in enumerate(study.config.methods):
            mean, std = study.curve(m, meth, False)
            c = study.config.copies(meth)
            label = f"{meth} ({c} pass{'es' if c > 1 else ''})"
            ax.errorbar(radii, mean, yerr=std, marker="o", ms=3, capsize=2,
                        color=colours[i % len(colours)], label=label)
        if (m, True, "no TTA") in study.accuracy:
            mean, _ = study.curve(m, "no TTA", True)
            ax.plot(radii, mean, "k--", lw=1.2, label="trained with augmentation, no TTA")
        ax.axvspan(-0.5, 0.5, color="0.9", zorder=0, label="training centres (ring 0)")
        ax.set(title=f"model {m}, trained without augmentation", ylim=(0, 1.01),
               xlim=(radii.min() - 0.5, radii.max() + 0.5),
               xlabel="shift ring max(|dx|, |dy|) (px)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("test accuracy")
    handles, labels = flat[0].get_legend_handles_labels()
    for ax in flat[len(models):]:
        ax.axis("off")
    flat[len(models)].legend(handles, labels, loc="center", fontsize=9, frameon=False)
    fig.suptitle(f"TTA and re-centring on shifted MNIST digits "
                 f"({len(study.seeds)} seed{'s' if len(study.seeds) > 1 else ''}, mean +- sd)")
    return fig


def plot_imagenet_tta(study: ImageNetTTAStudy, width: float = 8.0):
    """Bars per method (axes from zero): top-1 accuracy, P(top-1 change), MAC and forward
    passes, 2 x 2 panels ``width`` inches wide. Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    nums = study.numbers()
    meths = list(nums)
    short = [m.replace("TTA 3x3, ", "TTA ") for m in meths]
    panels = [("top1", "top-1 accuracy, all frames", "accuracy", "%.3f"),
              ("p_change", "P(top-1 change), 1-px pairs", "fraction of pairs", "%.3f"),
              ("mac", "mean absolute change (MAC)", "top-1 probability", "%.3f"),
              ("copies", "cost", "forward passes / prediction", "%.0f")]
    fig, axes = plt.subplots(2, 2, figsize=(width, 0.7 * width), layout="constrained")
    colours = ["0.5", "tab:blue", "tab:orange", "tab:green"]
    for ax, (key, title, ylabel, fmt) in zip(axes.ravel(), panels):
        vals = [nums[m][key] for m in meths]
        bars = ax.bar(range(len(meths)), vals, color=colours[: len(meths)])
        ax.bar_label(bars, fmt=fmt, fontsize=9)
        ax.set_xticks(range(len(meths)), short)
        ax.set(title=title, ylabel=ylabel, ylim=(0, max(vals) * 1.2 if max(vals) > 0 else 1))
        if key == "copies":
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"TTA on {study.n_photos} ImageNet photos, {study.config.n_steps} frames each "
                 f"({study.model_summary.split(':')[0].split(' (')[0]})")
    return fig
