"""The width study's figure: shift accuracy and the pooling gap against the conv widths."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from shiftlab.nn.mnist_models import MODEL_NAMES
from shiftlab.studies.mnist_pooling import ARTICLE, COLUMNS
from shiftlab.studies.width_study import GAPS, WidthStudy, width_label
from shiftlab.viz.plotting import BOOK_WIDTH

__all__ = ["plot_width_study"]


def plot_width_study(study: WidthStudy, column: str = "shift") -> Figure:
    """Left: ``column`` accuracy of A, B, C against width (mean ± std over seeds; solid without,
    dashed with augmentation; the article's values as arrows at the right edge). Right: the
    pooling gaps C - A and B - A (± standard error), with the article's gaps. The legends sit
    below the panels, so they never hide a curve."""
    if column not in COLUMNS:
        raise ValueError(f"column must be one of {COLUMNS}, got {column!r}")
    ci = COLUMNS.index(column)
    x = np.arange(len(study.widths))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(BOOK_WIDTH, 4.2), constrained_layout=True)
    for k, m in enumerate(MODEL_NAMES):
        for aug, ls in ((False, "-"), (True, "--")):
            mu, sd = study.column(m, aug, column)
            ax.errorbar(x, 100 * mu, yerr=100 * sd, color=f"C{k}", ls=ls, marker="o", ms=4, capsize=3,
                        label=f"{m}{' + aug' if aug else ''}")
        ax.plot(x[-1] + 0.35, 100 * ARTICLE[False][m][ci], marker="<", color=f"C{k}", ms=7, ls="none")
    ax.set(title=f"'{column}' accuracy against width", xlabel="conv widths (channels)",
           ylabel=f"'{column}' accuracy (%)")
    ax.plot([], [], marker="<", color="grey", ls="none", label="article (no aug)")
    _legend_below(ax, ncols=4)
    for j, (name, new, old) in enumerate(GAPS):
        for aug, ls in ((False, "-"), (True, "--")):
            d, se = study.gap(new, old, aug, column)
            err = None if np.isnan(se).all() else 100 * np.nan_to_num(se)
            bx.errorbar(x, 100 * d, yerr=err, color=f"C{3 + j}", ls=ls, marker="o", ms=4, capsize=3,
                        label=f"{name}{' + aug' if aug else ''}")
        art = ARTICLE[False][new][ci] - ARTICLE[False][old][ci]
        bx.plot(x[-1] + 0.35, 100 * art, marker="<", color=f"C{3 + j}", ms=7, ls="none")
    bx.plot([], [], marker="<", color="grey", ls="none", label="article (no aug)")
    bx.axhline(0, color="grey", lw=0.8, ls=":")
    bx.set(title="the pooling gap against width", xlabel="conv widths (channels)",
           ylabel="gap (percentage points)")
    _legend_below(bx, ncols=3)
    for a in (ax, bx):
        a.set_xticks(x, [width_label(w) for w in study.widths])
        a.set_xlim(-0.3, x[-1] + 0.6)
        a.grid(alpha=0.3)
    n = study.n_seeds
    fig.suptitle(f"MNIST A/B/C at {len(x)} widths (FC {_hidden(study)}), {n} seed{'s' if n > 1 else ''}; "
                 f"error bars: {'std / standard error' if n > 1 else 'none with one seed'}", fontsize=10)
    return fig


def _hidden(study: WidthStudy) -> int:
    return next(iter(study.results.values())).settings.hidden


def _legend_below(ax: plt.Axes, ncols: int) -> None:
    """The legend under the panel, one column per curve family (without / with augmentation
    stacked), the article's marker last."""
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i].startswith("article"))
    ax.legend([handles[i] for i in order], [labels[i] for i in order], fontsize=7, ncols=ncols,
              loc="upper center", bbox_to_anchor=(0.5, -0.2), columnspacing=1)
