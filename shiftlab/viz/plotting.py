"""Small plotting helpers shared by the chapters (titles, labels and units always set)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:
    from IPython.display import Markdown
    from matplotlib.typing import RcKeyType

__all__ = ["use_book_style", "BOOK_WIDTH", "learning_curves", "to_numpy", "show_image", "show_values",
           "image_row", "shift_heatmap", "markdown_table"]


#: The widest figure (inches) that the book's ~735 px text column shows without shrinking
#: its labels to illegibility. Every figure of the course is at most this wide.
BOOK_WIDTH = 8.0

_BOOK_RC: dict[RcKeyType, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.figsize": (7.0, 3.6),
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 9.5,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 8.5,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def use_book_style() -> None:
    """Figures for the book's text column: readable font sizes at most
    :data:`BOOK_WIDTH` inches wide, and sharp (retina PNG) in Jupyter.

    The setup cell of every chapter calls this; outside IPython it only sets the sizes.
    """
    plt.rcParams.update(_BOOK_RC)
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # plain Python: sizes only
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")


def to_numpy(t: torch.Tensor | np.ndarray) -> np.ndarray:
    """Detach, move to CPU and convert to a NumPy array."""
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def show_image(
    ax: Axes,
    img: torch.Tensor | np.ndarray,
    title: str,
    cmap: str = "gray",
    colorbar: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    pixel_axes: bool = True,
) -> None:
    """Draw a 2-D array with a title, pixel-index axes and an optional labelled colour bar."""
    arr = to_numpy(img).squeeze()
    if arr.ndim != 2:
        raise ValueError(f"show_image needs a 2-D array, got shape {arr.shape}")
    im = ax.imshow(arr, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title)
    if pixel_axes:
        ax.set_xlabel("x (pixels)")
        ax.set_ylabel("y (pixels)")
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    if colorbar is not None:
        cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        cb.set_label(colorbar)


def show_values(ax: Axes, arr: torch.Tensor | np.ndarray, title: str, fmt: str = "{:.1f}",
                cmap: str = "Blues", highlight: np.ndarray | None = None) -> None:
    """A small matrix drawn as coloured cells with its numbers written in (for toy examples).

    ``highlight`` (same shape, bool) outlines the cells to draw attention to in red.
    """
    a = to_numpy(arr)
    if a.ndim == 1:
        a = a[None]
        highlight = None if highlight is None else np.asarray(highlight)[None]
    ax.imshow(a, cmap=cmap, vmin=0, vmax=max(float(np.abs(a).max()), 1e-9), interpolation="nearest")
    for (i, j), v in np.ndenumerate(a):
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=9,
                color="white" if v > 0.6 * a.max() else "black")
        if highlight is not None and highlight[i, j]:
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2))
    ax.set_title(title)
    ax.set_xticks(range(a.shape[1]))
    ax.set_yticks(range(a.shape[0]))
    ax.set_xlabel("position (x)")
    ax.set_ylabel("position (y)" if a.shape[0] > 1 else "")


def image_row(images: Sequence[torch.Tensor | np.ndarray], titles: Sequence[str], suptitle: str,
              cmap: str = "gray", size: float = 2.6, max_cols: int = 6) -> Figure:
    """Images with titles and one overall title, in rows of at most ``max_cols``, each panel
    at most ``size`` inches and the figure at most :data:`BOOK_WIDTH` inches wide."""
    if len(images) != len(titles):
        raise ValueError("images and titles must have the same length")
    if not images:
        raise ValueError("image_row needs at least one image")
    if max_cols < 1:
        raise ValueError(f"max_cols must be >= 1, got {max_cols}")
    ncols = min(len(images), max_cols)
    nrows = -(-len(images) // ncols)
    size = min(size, BOOK_WIDTH / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + 0.45) * nrows + 0.35),
                             squeeze=False)
    for ax in axes.flat[len(images):]:
        ax.axis("off")
    for ax, img, title in zip(axes.flat, images, titles):
        show_image(ax, img, title, cmap=cmap, pixel_axes=False)
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def shift_heatmap(ax: Axes, values: torch.Tensor | np.ndarray, shifts: torch.Tensor | np.ndarray,
                  title: str, colorbar: str | None, cmap: str = "viridis",
                  vmin: float | None = None, vmax: float | None = None,
                  norm: object | None = None) -> AxesImage:
    """Draw one value per shift ``(dx, dy)`` (as from :func:`shiftlab.core.shifts.shift_grid`) as an
    image with dx across and dy down, axes in whole pixels.

    ``colorbar`` labels the panel's own colour bar; ``None`` draws none (share one colour bar
    between panels with ``fig.colorbar(returned_image, ax=axes)``). Returns the image.
    """
    v = to_numpy(values).reshape(-1)
    s = to_numpy(shifts)
    if s.ndim != 2 or s.shape[1] != 2 or s.shape[0] != v.shape[0]:
        raise ValueError(f"need one value per shift, got {v.shape[0]} values and shifts of shape {s.shape}")
    xs, ys = np.unique(s[:, 0]), np.unique(s[:, 1])
    grid = np.full((len(ys), len(xs)), np.nan)
    grid[np.searchsorted(ys, s[:, 1]), np.searchsorted(xs, s[:, 0])] = v
    kw = {"norm": norm} if norm is not None else {"vmin": vmin, "vmax": vmax}
    im = ax.imshow(grid, cmap=cmap, origin="upper", interpolation="nearest",
                   extent=(xs[0] - 0.5, xs[-1] + 0.5, ys[-1] + 0.5, ys[0] - 0.5), **kw)
    ax.set_title(title)
    ax.set_xlabel("dx (pixels, + = right)")
    ax.set_ylabel("dy (pixels, + = down)")
    # at most about 6 whole-pixel ticks per axis: -4 ... 4 in steps of 1 collide in a third of the page
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    if colorbar is not None:
        cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        cb.set_label(colorbar)
    return im


def learning_curves(ax: Axes, curves: Sequence[Sequence[float]], label: str, target: float | None = None,
                    **style: Any) -> None:
    """Draw one learning curve per seed (accuracy after each epoch; runs that stopped early are
    shorter), the first one labelled ``label``, and the stopping ``target`` as a dotted line."""
    for i, c in enumerate(curves):
        ax.plot(np.arange(1, len(c) + 1), c, marker="o", ms=3, lw=1.2, label=label if i == 0 else None, **style)
    if target is not None:
        ax.axhline(target, color="grey", lw=0.8, ls=":")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("held-out accuracy (fraction)")


def markdown_table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> Markdown:
    """A table for the notebook (and the rendered book) as Markdown; floats are shown as given,
    format them before calling."""
    from IPython.display import Markdown

    if any(len(r) != len(headers) for r in rows):
        raise ValueError("every row needs one cell per header")
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return Markdown("\n".join(lines))
