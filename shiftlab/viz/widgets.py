"""Interactive views (ipywidgets). Each one first draws a static figure of its default state,
so that the rendered book, which has no kernel, still shows it."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from shiftlab.core.shifts import translate
from shiftlab.measure.pooling import l_shape_example
from shiftlab.viz.plotting import show_image, show_values

__all__ = ["StaticNote", "slider_view", "plot_equivariance", "equivariance_explorer", "plot_pooling",
           "pooling_explorer"]


@torch.no_grad()
def plot_equivariance(image: torch.Tensor, conv: Callable[[torch.Tensor], torch.Tensor], dx: int, dy: int,
                      channel: int = 0) -> Figure:
    """Input shifted by (dx, dy); feature map of the shifted input; shifted feature map; their
    difference. Zero fill for the input shift (the image moves over a black background)."""
    x = image.reshape(1, 1, *image.shape[-2:])
    xs = translate(x, dx, dy, "zero")
    f_sx = conv(xs)[0, channel]
    s_fx = translate(conv(x), dx, dy, "zero")[0, channel]
    lim = float(max(f_sx.abs().max(), s_fx.abs().max()))
    fig, axes = plt.subplots(2, 2, figsize=(7.2, 6.4))
    show_image(axes[0, 0], xs[0, 0], f"input shifted by ({dx}, {dy})", colorbar="intensity")
    show_image(axes[0, 1], (f_sx - s_fx).abs(), "|difference| of the two maps", cmap="magma",
               colorbar="absolute error")
    show_image(axes[1, 0], f_sx, "conv(shifted input)", cmap="RdBu_r", vmin=-lim, vmax=lim,
               colorbar="response")
    show_image(axes[1, 1], s_fx, "shifted conv(input)", cmap="RdBu_r", vmin=-lim, vmax=lim,
               colorbar="response")
    fig.suptitle(f"Convolution commutes with the shift, except at the border\n"
                 f"(channel {channel}, zero padding)")
    fig.tight_layout()
    return fig


class StaticNote:
    """What :func:`slider_view` returns in the book's own run (``SHIFTLAB_BOOK_RUN=1``, set by
    ``python -m shiftlab notebooks run``): a widget saved without a kernel renders as an empty
    box, so the book shows this line instead, naming the sliders a reader gets in Jupyter."""

    def __init__(self, sliders: list[str]) -> None:
        self.sliders = sliders

    def _text(self) -> str:
        return (f"Interactive in Jupyter or Colab: sliders for {', '.join(self.sliders)} redraw the figure "
                "above (run this notebook; the book shows the default state).")

    def __repr__(self) -> str:
        return self._text()

    def _repr_markdown_(self) -> str:
        return f"*{self._text()}*"


def slider_view(draw: Callable[..., Figure], **sliders: dict[str, Any]) -> Any:
    """Integer sliders above an output area that redraws ``draw(**values)`` when a slider moves.

    Nothing is drawn at creation: callers draw the static figure of the default state first,
    which is what the rendered book shows. (Drawing inside ``ipywidgets.interactive`` at
    creation time made headless notebook execution hang now and then.)

    Args:
        draw: makes a figure from the slider values (keyword arguments named like the sliders).
        sliders: for each argument, ``ipywidgets.IntSlider`` settings (value, min, max, description).

    Returns:
        ``VBox([HBox(sliders), Output])``; in the book's own run (``SHIFTLAB_BOOK_RUN=1``) a
        :class:`StaticNote` instead, which renders as a line of text; None (with a note) when
        ipywidgets is missing.
    """
    if os.environ.get("SHIFTLAB_BOOK_RUN", "").strip() == "1":
        return StaticNote(list(sliders))
    try:
        import ipywidgets as w
    except ImportError:  # pragma: no cover - ipywidgets is a requirement
        print("ipywidgets is not installed: only the static figure above is available.")
        return None
    controls = {k: w.IntSlider(**v, continuous_update=False) for k, v in sliders.items()}
    out = w.Output()

    def redraw(_: Any = None) -> None:
        with out:
            out.clear_output(wait=True)
            draw(**{k: c.value for k, c in controls.items()})
            plt.show()

    for c in controls.values():
        c.observe(redraw, names="value")
    return w.VBox([w.HBox(list(controls.values())), out])


def equivariance_explorer(image: torch.Tensor, conv: Callable[[torch.Tensor], torch.Tensor],
                          dx: int = 4, dy: int = 2, max_shift: int = 8) -> Any:
    """Static figure at (dx, dy), then sliders for dx and dy (returns the widget)."""
    plot_equivariance(image, conv, dx, dy)
    plt.show()
    return slider_view(
        lambda dx, dy: plot_equivariance(image, conv, dx, dy),
        dx=dict(value=dx, min=-max_shift, max=max_shift, description="dx (px)"),
        dy=dict(value=dy, min=-max_shift, max=max_shift, description="dy (px)"),
    )


def plot_pooling(dx: int, dy: int) -> Figure:
    """The "ㄱ" toy for a shift (dx, dy): image, detector map, 2x2 max-pooled map, each before/after."""
    ex = l_shape_example(dx=dx, dy=dy)
    fig, axes = plt.subplots(2, 3, figsize=(8, 5.6))
    changed = (ex.pooled != ex.pooled_shifted).numpy()
    for row, (img, det, pooled, tag) in enumerate([
        (ex.image, ex.detector, ex.pooled, "original"),
        (ex.image_shifted, ex.detector_shifted, ex.pooled_shifted, f"shifted by ({dx}, {dy})"),
    ]):
        show_image(axes[row, 0], img, f"input, {tag}", cmap="Greys", colorbar="pixel value")
        show_values(axes[row, 1], det, f"detector map, {tag}", fmt="{:.0f}")
        show_values(axes[row, 2], pooled, f"2x2 max pool, {tag}", fmt="{:.0f}",
                    highlight=changed if row == 1 else None)
    fig.suptitle(f"Max pooling after a shift of ({dx}, {dy}): {int(changed.sum())} of "
                 f"{changed.size} pooled values change (red)")
    fig.tight_layout()
    return fig


def pooling_explorer(dx: int = 0, dy: int = 1) -> Any:
    """Static figure of the "ㄱ" toy at (dx, dy), then sliders (returns the widget)."""
    plot_pooling(dx, dy)
    plt.show()
    return slider_view(
        plot_pooling,
        dx=dict(value=dx, min=0, max=3, description="dx (px)"),
        dy=dict(value=dy, min=0, max=3, description="dy (px)"),
    )
