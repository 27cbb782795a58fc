"""Animations of the explorers that play in the rendered book, which has no kernel.

Every "Try it" explorer of the course (ipywidgets) shows only its default state in static
HTML. Each function here precomputes a short sequence of frames of the same view (one batched
computation for all frames, the same measurement functions as the explorer) and returns a
self-contained JavaScript player (:meth:`matplotlib.animation.Animation.to_jshtml`): PNG frames
embedded in the page, a slider and play buttons, nothing beyond matplotlib.

=====================  ============================================================
``conv_slide``         a digit sliding under a convolution: input, feature map, and the
                       feature map of the shifted input minus the shifted feature map
``pooling_slide``      the "ㄱ" toy under 2x2 max pooling, one pixel at a time
``digit_slide``        a digit sliding under models A/B/C: class probabilities per model
                       and the probability of the true class along the path
``photo_slide``        a photo window moving one pixel at a time (crop protocol): the
                       ImageNet model's top-5 classes per frame
``aliasing_slide``     1-D aliasing: a signal shifted sample by sample, subsampled by 2
                       without and with a binomial blur
``downsample_slide``   max pool, BlurPool and APS on the same sliding input, with the
                       global sums of their outputs
=====================  ============================================================

Page weight: every frame is a PNG of the whole figure (reduced to a 256-colour palette,
:data:`PNG_COLORS`, which makes it 2-3 times lighter with no visible change), base64-encoded in
the page, so a player weighs about ``frames x (bytes per frame)``: 15-40 kB a frame at the
defaults (at most 17 frames, 92 dpi, figures :data:`~shiftlab.viz.plotting.BOOK_WIDTH` = 8 in
wide and at most 4.6 in high), 0.2-0.7 MB a player, under :data:`PAGE_BUDGET`.
:func:`page_weight` measures a player; one over the budget is still returned, with a warning
that says which knob to turn (``frames``, ``dpi``). The player's buttons use the Font Awesome
icons that matplotlib's template loads from a CDN; offline, the buttons still work, unlabelled.
"""

from __future__ import annotations

import base64
import io
import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, Literal

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.animation import FuncAnimation, HTMLWriter
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.ticker import MaxNLocator
from PIL import Image
from torch import nn

from shiftlab.core.shifts import Fill, translate
from shiftlab.data.photos import imagenet_class_names
from shiftlab.measure.pooling import l_shape_example
from shiftlab.measure.protocols import DEFAULT_EMBED_SIZE, PROTOCOLS, shift_sequence
from shiftlab.measure.sampling import fourier_shift_1d, lowpass_1d, relative_change, subsample_1d, two_tone
from shiftlab.nn.blurpool import binomial_row
from shiftlab.nn.imagenet_models import ImageNetModel
from shiftlab.nn.mnist_models import pool_factory
from shiftlab.viz.mnist_explorers import COLORS
from shiftlab.viz.plotting import BOOK_WIDTH, show_image, show_values

__all__ = [
    "Mode",
    "FrameFormat",
    "JPEG_QUALITY",
    "DEFAULT_DPI",
    "DEFAULT_INTERVAL_MS",
    "MAX_FRAMES",
    "PAGE_BUDGET",
    "PNG_COLORS",
    "Animation",
    "page_weight",
    "animate",
    "conv_slide",
    "pooling_slide",
    "digit_slide",
    "photo_slide",
    "aliasing_slide",
    "downsample_slide",
]

#: how the player starts: play once, loop, or go back and forth
Mode = Literal["loop", "once", "reflect"]
_MODES = ("loop", "once", "reflect")
#: how each frame is embedded
FrameFormat = Literal["png", "jpeg"]
#: the JPEG quality of ``frame_format="jpeg"`` (photographs)
JPEG_QUALITY = 85
#: the resolution of the frames (92 dpi: an 8 in figure is 736 px wide, the book's text column, so
#: that 9-10 pt text is 11-13 px on the page; at 72 dpi it was 576 px, scaled down to about 6 px text)
DEFAULT_DPI = 92
#: time per frame of the player (ms)
DEFAULT_INTERVAL_MS = 350
#: the most frames a player may have (the defaults use at most 25)
MAX_FRAMES = 60
#: the page weight (bytes) a player should stay under; a heavier one comes with a warning
PAGE_BUDGET = 1_500_000
#: colours of the palette each PNG frame is reduced to (2-3 times lighter, no visible change
#: for drawings); None keeps the full-colour frames
PNG_COLORS = 256

ShiftPath = Sequence[int] | Sequence[tuple[int, int]] | torch.Tensor


@dataclass(frozen=True)
class Animation:
    """A self-contained HTML player of precomputed frames (shows itself in Jupyter).

    Attributes:
        html: the player: ``<img>`` frames embedded as base64 PNG, a slider, buttons, JavaScript.
        frames: the number of frames.
        poster_png: one frame as a PNG (for previews and documents without JavaScript); it is
            *not* part of :attr:`html` and not shown by Jupyter.
        poster_frame: which frame :attr:`poster_png` shows.
        values: the numbers behind the frames, one entry per frame along the first axis (e.g.
            ``"shifts"``, the probabilities, the errors), as NumPy arrays: for the text around
            the player and for checks.
    """

    html: str
    frames: int
    poster_png: bytes
    poster_frame: int = 0
    values: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        """Page weight of the player in bytes (UTF-8), see :func:`page_weight`."""
        return page_weight(self.html)

    def _repr_html_(self) -> str:
        return self.html

    def save_poster(self, path: str | Path) -> Path:
        """Write :attr:`poster_png` to ``path`` (a ``.png`` file) and return the path."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(self.poster_png)
        return out

    def __repr__(self) -> str:
        return f"Animation({self.frames} frames, {self.nbytes / 1e6:.2f} MB)"


def page_weight(html: str | Animation | Any) -> int:
    """Bytes that ``html`` adds to a page: an HTML string, an :class:`Animation`, or any object
    with an ``html`` / ``data`` string attribute (``IPython.display.HTML``), as UTF-8."""
    if isinstance(html, Animation):
        html = html.html
    elif not isinstance(html, str):
        text = getattr(html, "html", None)
        text = getattr(html, "data", None) if text is None else text
        if not isinstance(text, str):
            raise TypeError(f"page_weight needs an HTML string or an object holding one, got {type(html).__name__}")
        html = text
    return len(html.encode("utf-8"))


# --------------------------------------------------------------------------- the renderer


def _check_int(value: Any, name: str, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{name} must be in [{lo}, {hi if hi is not None else 'inf'}], got {value}")
    return int(value)


def animate(fig: Figure, update: Callable[[int], object], n_frames: int, *, dpi: int = DEFAULT_DPI,
            interval_ms: int = DEFAULT_INTERVAL_MS, mode: Mode = "loop", poster: int = 0,
            frame_format: FrameFormat = "png", png_colors: int | None = PNG_COLORS,
            budget: int | None = PAGE_BUDGET, values: Mapping[str, Any] | None = None) -> Animation:
    """Render ``update(0) ... update(n_frames - 1)`` on ``fig`` into a JavaScript player.

    The layout is computed once, on frame 0 (so that changing titles do not make the frames
    jump), every frame is saved as a PNG (or JPEG) at ``dpi``, and the figure is closed afterwards.

    Args:
        fig: the figure, at most :data:`~shiftlab.viz.plotting.BOOK_WIDTH` inches wide.
        update: draws frame ``k`` on ``fig`` (its return value is ignored).
        n_frames: number of frames, 1 to :data:`MAX_FRAMES`.
        dpi: resolution of the frames (20 to 200); the page weight grows like ``dpi**2``.
        interval_ms: time per frame.
        mode: how the player starts: ``"loop"``, ``"once"`` or ``"reflect"`` (back and forth).
        poster: the frame saved as :attr:`Animation.poster_png`.
        frame_format: ``"png"`` (sharp lines and text) or ``"jpeg"`` (quality
            :data:`JPEG_QUALITY`; an option for large photographs, softer text).
        png_colors: reduce each PNG frame to a palette of this many colours (2 to 256, no
            dithering; kept only when lighter); None: full colour.
        budget: warn when the player is heavier than this many bytes (None: never).
        values: the numbers behind the frames (tensors are converted to NumPy), kept on the result.

    Returns:
        The :class:`Animation`.

    Raises:
        ValueError: a bad frame count, dpi, mode or poster frame, or a figure wider than the book.
    """
    try:
        n_frames = _check_int(n_frames, "n_frames", 1, MAX_FRAMES)
        dpi = _check_int(dpi, "dpi", 20, 200)
        interval_ms = _check_int(interval_ms, "interval_ms", 1)
        poster = _check_int(poster, "poster", 0, n_frames - 1)
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        if frame_format not in ("png", "jpeg"):
            raise ValueError(f"frame_format must be 'png' or 'jpeg', got {frame_format!r}")
        if png_colors is not None:
            png_colors = _check_int(png_colors, "png_colors", 2, 256)
        width = float(fig.get_size_inches()[0])
        if width > BOOK_WIDTH + 1e-9:
            raise ValueError(f"the figure is {width:.2f} in wide; the book shows at most {BOOK_WIDTH} in")
        fig.set_dpi(dpi)
        update(0)
        if fig.get_layout_engine() is not None:  # lay out once, then keep every axes in place
            for _ in range(3):  # constrained layout converges over a few draws (one cut off x labels)
                fig.draw_without_rendering()
            with matplotlib.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
                fig.set_layout_engine(None)  # no engine at all ("none" keeps one that redraws per frame)

        def draw(k: int) -> None:
            update(k)

        anim = FuncAnimation(fig, draw, frames=n_frames, interval=interval_ms, repeat=False, blit=False)
        rc = {"savefig.bbox": "standard", "savefig.transparent": False, "animation.frame_format": frame_format}
        kw = {"pil_kwargs": {"quality": JPEG_QUALITY}} if frame_format == "jpeg" else {}
        with matplotlib.rc_context(rc), TemporaryDirectory() as tmp:  # type: ignore[arg-type]
            # what Animation.to_jshtml does, with the dpi and the JPEG quality passed on
            writer = HTMLWriter(fps=1000 / interval_ms,  # type: ignore[arg-type]  # a float works (stubs say int)
                                embed_frames=True, default_mode=mode, embed_limit=50.0)
            path = Path(tmp, "player.html")
            anim.save(str(path), writer=writer, dpi=dpi, savefig_kwargs=kw)
            html = path.read_text(encoding="utf-8")
            if frame_format == "png" and png_colors is not None:
                html = _palette_frames(html, png_colors)
            update(poster)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    arrays = {k: (v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v))
              for k, v in (values or {}).items()}
    result = Animation(html=html, frames=n_frames, poster_png=buf.getvalue(), poster_frame=poster, values=arrays)
    if budget is not None and result.nbytes > budget:
        warnings.warn(f"the animation weighs {result.nbytes / 1e6:.2f} MB, over the budget of {budget / 1e6:.2f} MB: "
                      f"use fewer frames or a lower dpi (now {n_frames} frames at {dpi} dpi)", stacklevel=3)
    return result


#: one embedded PNG frame of a jshtml player: base64 lines joined by backslash-newlines
_PNG_FRAME = re.compile(r'(data:image/png;base64,)((?:[A-Za-z0-9+/=]|\\\n)+)(")')


def _palette_png(png: bytes, colors: int) -> bytes:
    """``png`` reduced to a palette of ``colors`` colours (no dithering), if that is lighter."""
    src = Image.open(io.BytesIO(png))
    dpi = src.info.get("dpi")  # matplotlib's pHYs chunk: keep it, so the frame still says its dpi
    out = io.BytesIO()
    extra = {"dpi": tuple(round(float(d)) for d in dpi)} if dpi else {}
    src.convert("RGB").quantize(colors, dither=Image.Dither.NONE).save(out, "PNG", optimize=True, **extra)
    return out.getvalue() if out.tell() < len(png) else png


def _palette_frames(html: str, colors: int) -> str:
    """Every PNG frame of a jshtml player reduced to a palette (same embedding format)."""

    def lighter(m: re.Match[str]) -> str:
        png = base64.b64decode(m.group(2).replace("\\\n", ""))
        data = base64.encodebytes(_palette_png(png, colors)).decode("ascii").replace("\n", "\\\n")
        return m.group(1) + data + m.group(3)

    return _PNG_FRAME.sub(lighter, html)


def _figure(height: float, **kw: Any) -> Figure:
    """A figure of the book's width that pyplot does not know about (so Jupyter does not show
    it as a still below the player)."""
    return Figure(figsize=(BOOK_WIDTH, height), layout="constrained", **kw)


def _image_panel(ax: Axes, img: torch.Tensor | np.ndarray, title: str, **kw: Any) -> AxesImage:
    """:func:`~shiftlab.viz.plotting.show_image` (the explorers' drawing code); returns the image
    so that later frames only swap its data."""
    show_image(ax, img, title, **kw)
    return ax.images[-1]


# --------------------------------------------------------------------------- shift paths


def _resolve_frames(frames: int | None, default: int) -> int:
    return default if frames is None else _check_int(frames, "frames", 1, MAX_FRAMES)


def _centred(n: int) -> torch.Tensor:
    """``n`` consecutive integers centred on 0: ``-(n // 2) .. n - 1 - n // 2``."""
    return torch.arange(n) - n // 2


def _shift_path(shifts: ShiftPath | None, frames: int | None, default_frames: int, dy: int = 0) -> torch.Tensor:
    """``[T, 2]`` long ``(dx, dy)``: the given shifts (ints = horizontal, with ``dy``; or pairs),
    or a horizontal slide over ``frames`` consecutive ``dx`` centred on 0."""
    if shifts is None:
        n = _resolve_frames(frames, default_frames)
        dx = _centred(n)
        return torch.stack([dx, torch.full_like(dx, dy)], dim=1)
    path = shifts if isinstance(shifts, torch.Tensor) else torch.tensor(shifts)
    if path.numel() == 0:
        raise ValueError("shifts is empty: give at least one dx or (dx, dy)")
    if path.dtype.is_floating_point or path.dtype == torch.bool:
        raise TypeError(f"shifts must be whole pixels (integers), got {path.dtype}")
    path = path.long()
    if path.ndim == 1:
        path = torch.stack([path, torch.full_like(path, dy)], dim=1)
    if path.ndim != 2 or path.shape[1] != 2 or path.shape[0] == 0:
        raise ValueError(f"shifts must be a non-empty list of dx or of (dx, dy) pairs, got shape {tuple(path.shape)}")
    if path.shape[0] > MAX_FRAMES:
        raise ValueError(f"{path.shape[0]} shifts is more than MAX_FRAMES = {MAX_FRAMES}: use fewer")
    if frames is not None and frames != path.shape[0]:
        raise ValueError(f"frames = {frames} but {path.shape[0]} shifts were given: give one or the other")
    return path


def _as_image(img: torch.Tensor, name: str = "digit") -> torch.Tensor:
    """``[H, W]``, ``[1, H, W]`` or ``[1, 1, H, W]`` -> float ``[1, 1, H, W]``."""
    if not isinstance(img, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(img).__name__}")
    if img.ndim < 2 or img.ndim > 4 or (img.ndim > 2 and math.prod(img.shape[:-2]) != 1):
        raise ValueError(f"{name} must be one greyscale image [H, W] (or [1, H, W], [1, 1, H, W]), "
                         f"got shape {tuple(img.shape)}")
    return img.reshape(1, 1, *img.shape[-2:]).float()


def _device_of(f: object) -> torch.device:
    if isinstance(f, nn.Module):
        p = next(iter(f.parameters()), None)
        if p is not None:
            return p.device
    return torch.device("cpu")


def _shift_text(dx: int, dy: int) -> str:
    return f"shift dx = {dx:+d} px, dy = {dy:+d} px"


def _horizontal(path: torch.Tensor) -> bool:
    return bool((path[:, 1] == path[0, 1]).all())


def _path_axis(path: torch.Tensor) -> tuple[np.ndarray, str]:
    """x values and label for plots along the path: dx for a horizontal slide, else the step."""
    if _horizontal(path) and path[:, 0].unique().numel() == path.shape[0]:
        return path[:, 0].numpy(), f"dx (pixels; dy = {int(path[0, 1])})"
    return np.arange(path.shape[0]), "step along the path"


# --------------------------------------------------------------------------- 1. convolution


@torch.no_grad()
def conv_slide(digit: torch.Tensor, conv: Callable[[torch.Tensor], torch.Tensor], shifts: ShiftPath | None = None,
               *, frames: int | None = None, dy: int = 0, channel: int = 0, fill: Fill = "zero",
               dpi: int = DEFAULT_DPI, interval_ms: int = DEFAULT_INTERVAL_MS,
               mode: Mode = "reflect") -> Animation:
    """The equivariance explorer as a player: the input slides under a convolution.

    Panels: the input shifted by ``(dx, dy)``; ``conv(shifted input)``; and
    ``conv(shifted input) - shifted conv(input)`` on its own colour scale, fixed over the frames
    (zero where the convolution commutes with the shift; with zero padding, not at the border). The
    same quantities as :func:`shiftlab.viz.widgets.plot_equivariance` and
    :func:`shiftlab.measure.equivariance.equivariance_error`, all shifts in one forward pass.

    Args:
        digit: ``[H, W]`` (or ``[1, H, W]``, ``[1, 1, H, W]``) image.
        conv: maps ``[N, 1, H, W]`` to ``[N, C, H, W]`` ("same" padding, stride 1), e.g.
            :func:`shiftlab.measure.equivariance.make_conv`.
        shifts: the path: ints (horizontal ``dx``, with ``dy``) or ``(dx, dy)`` pairs; default a
            horizontal slide of ``frames`` (17) steps, ``dx = -8 .. 8``.
        frames, dy: the default path's length and row.
        channel: which output channel to show.
        fill: how the input is shifted (``"zero"`` or ``"circular"``).
        dpi, interval_ms, mode: see :func:`animate`.
    """
    x = _as_image(digit)
    path = _shift_path(shifts, frames, 17, dy)
    n = path.shape[0]
    dev = _device_of(conv)
    x = x.to(dev)
    dxs, dys = path[:, 0].to(dev), path[:, 1].to(dev)
    xs = translate(x.expand(n, -1, -1, -1), dxs, dys, fill)  # [T, 1, H, W]
    fx = conv(x)
    if fx.ndim != 4 or fx.shape[-2:] != x.shape[-2:]:
        raise ValueError(f"conv must keep the spatial size ('same' padding, stride 1): {tuple(x.shape[-2:])} -> "
                         f"{tuple(fx.shape[-2:])}")
    if not 0 <= channel < fx.shape[1]:
        raise ValueError(f"channel must be in [0, {fx.shape[1]}), got {channel}")
    f_sx = conv(xs)[:, channel].cpu()  # [T, H, W]
    s_fx = translate(fx.expand(n, -1, -1, -1), dxs, dys, fill)[:, channel].cpu()
    diff = f_sx - s_fx
    err = diff.abs().flatten(1).amax(1)
    xs_c = xs[:, 0].cpu()
    lim = max(float(f_sx.abs().max()), float(s_fx.abs().max()), 1e-9)
    pad = getattr(conv, "padding_mode", None)
    pad_text = f", {pad} padding" if isinstance(pad, str) else ""

    fig = _figure(2.9)
    axes = fig.subplots(1, 3)
    dlim = max(float(err.max()), 1e-9)
    lo, hi = float(xs_c.min()), max(float(xs_c.max()), 1e-9)
    im_in = _image_panel(axes[0], xs_c[0], "input, shifted", vmin=lo, vmax=hi)
    im_f = _image_panel(axes[1], f_sx[0], f"conv(shifted input), channel {channel}", cmap="RdBu_r",
                        vmin=-lim, vmax=lim, colorbar="response")
    im_d = _image_panel(axes[2], diff[0], "", cmap="PuOr_r", vmin=-dlim, vmax=dlim, colorbar="difference")
    title = fig.suptitle("")

    def update(k: int) -> None:
        dx, dyk = int(path[k, 0]), int(path[k, 1])
        im_in.set_data(xs_c[k].numpy())
        im_f.set_data(f_sx[k].numpy())
        im_d.set_data(diff[k].numpy())
        axes[2].set_title(f"conv(shifted) - shifted conv\nmax |difference| = {float(err[k]):.2g}")
        title.set_text(f"{_shift_text(dx, dyk)}: convolution commutes with the shift, except at the border"
                       f"\n({fill}-fill shift{pad_text}; the difference has its own colour scale)")

    poster = int(torch.argmax(err)) if bool((err > 0).any()) else n - 1
    return animate(fig, update, n, dpi=dpi, interval_ms=interval_ms, mode=mode, poster=poster,
                   values={"shifts": path, "max_error": err})


# --------------------------------------------------------------------------- 2. pooling toy


def _snake(max_shift: int) -> list[tuple[int, int]]:
    """Every ``(dx, dy)`` in ``[0, max_shift]^2``, row by row, alternating direction, so that
    consecutive shifts differ by one pixel."""
    out = []
    for dy in range(max_shift + 1):
        row = range(max_shift + 1) if dy % 2 == 0 else range(max_shift, -1, -1)
        out += [(dx, dy) for dx in row]
    return out


def _window_grid(ax: Axes, n: int, pool: int) -> None:
    """Thick lines between the pooling windows of an ``n x n`` map."""
    for b in range(pool, n, pool):
        ax.axhline(b - 0.5, color="black", lw=2)
        ax.axvline(b - 0.5, color="black", lw=2)


def pooling_slide(path: Sequence[tuple[int, int]] | None = None, *, frames: int | None = None, size: int = 8,
                  pool: int = 2, dpi: int = DEFAULT_DPI, interval_ms: int = 600,
                  mode: Mode = "loop") -> Animation:
    """The pooling explorer as a player: the "ㄱ" toy moved one pixel at a time.

    Panels: the input, the detector map with its pooling windows, the ``pool x pool`` max-pooled
    map of the unshifted input, and the pooled map of the shifted input with the values that
    changed outlined in red. Each frame is :func:`shiftlab.measure.pooling.l_shape_example`,
    drawn with the explorer's :func:`~shiftlab.viz.plotting.show_values`.

    Args:
        path: ``(dx, dy)`` shifts; default the first ``frames`` steps of a one-pixel-at-a-time walk
            over ``[0, 3]^2`` (16 frames; up to ``(size - 2)^2``), starting at ``(0, 0)``.
        frames: the default path's length.
        size, pool: the toy's image side and pooling size (see ``l_shape_example``).
        dpi, interval_ms, mode: see :func:`animate`.
    """
    if path is None:
        n = _resolve_frames(frames, 16)
        reach = max(3, math.isqrt(n - 1))  # the smallest walk with (reach + 1)^2 >= n shifts
        if reach > size - 3:
            raise ValueError(f"a {size} px toy has only {(size - 2) ** 2} shifts to walk over; "
                             f"frames = {n} is too many")
        steps = _snake(reach)[:n]
    else:
        steps = [(int(a), int(b)) for a, b in _shift_path(list(path), frames, 16).tolist()]
    examples = [l_shape_example(dx, dy, size=size, pool=pool) for dx, dy in steps]
    fig = _figure(2.7)
    axes = fig.subplots(1, 4)
    title = fig.suptitle("")
    ex0 = examples[0]
    # drawn once with the explorer's functions; the frames then only change the numbers
    im = _image_panel(axes[0], ex0.image_shifted, "input, shifted", cmap="Greys", vmin=0, vmax=1)
    show_values(axes[1], ex0.detector_shifted, "detector map", fmt="{:.0f}")
    _window_grid(axes[1], ex0.detector.shape[-1], pool)
    show_values(axes[2], ex0.pooled, f"{pool}x{pool} max pool\n(no shift)", fmt="{:.0f}")
    show_values(axes[3], ex0.pooled_shifted, f"{pool}x{pool} max pool\n(red: changed)", fmt="{:.0f}")
    outlines = [axes[3].add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2,
                                                visible=False))
                for i, j in np.ndindex(*ex0.pooled.shape)]

    def values_panel(ax: Axes, a: torch.Tensor) -> None:
        """What :func:`show_values` would draw for ``a``, on the artists it drew for frame 0."""
        arr = a.numpy()
        top = max(float(np.abs(arr).max()), 1e-9)
        ax.images[0].set_data(arr)
        ax.images[0].set_clim(0, top)
        for text, v in zip(ax.texts, arr.flat):
            text.set_text(f"{v:.0f}")
            text.set_color("white" if v > 0.6 * arr.max() else "black")

    def update(k: int) -> None:
        dx, dy = steps[k]
        ex = examples[k]
        changed = (ex.pooled != ex.pooled_shifted).numpy()
        im.set_data(ex.image_shifted.numpy())
        values_panel(axes[1], ex.detector_shifted)
        values_panel(axes[3], ex.pooled_shifted)
        for outline, c in zip(outlines, changed.flat):
            outline.set_visible(bool(c))
        title.set_text(f"{_shift_text(dx, dy)}: {int(changed.sum())} of {changed.size} pooled values change")

    changed = np.array([int((ex.pooled != ex.pooled_shifted).sum()) for ex in examples])
    poster = int(np.argmax(changed > 0)) if (changed > 0).any() else len(steps) - 1
    return animate(fig, update, len(steps), dpi=dpi, interval_ms=interval_ms, mode=mode, poster=poster,
                   values={"shifts": np.array(steps), "changed": changed})


# --------------------------------------------------------------------------- 3. MNIST models


@torch.no_grad()
def digit_slide(models: Mapping[str, nn.Module], digit: torch.Tensor, shifts: ShiftPath | None = None, *,
                label: int | None = None, frames: int | None = None, dy: int = 0, fill: Fill = "zero",
                dpi: int = DEFAULT_DPI, interval_ms: int = DEFAULT_INTERVAL_MS,
                mode: Mode = "reflect") -> Animation:
    """The digit explorer as a player: a digit slides under models A/B/C.

    Panels (as :func:`shiftlab.viz.mnist_explorers.plot_slide`): the shifted digit; every model's
    class probabilities (grouped bars); the probability of the true class along the path with
    a marker at the current shift. Each model sees all shifts in one forward pass.

    Args:
        models: name -> model mapping ``[N, 1, H, W]`` to 10 logits (e.g. ``{"A": ..., "B": ...}``).
        digit: ``[H, W]`` (or ``[1, H, W]``) image in [0, 1].
        shifts: the path (as for :func:`conv_slide`); default ``dx = -8 .. 8`` (``frames`` = 17).
        label: the true class; None: the first model's prediction for the unshifted digit.
        frames, dy: the default path's length and row.
        fill: how the digit is shifted.
        dpi, interval_ms, mode: see :func:`animate`.
    """
    if not models:
        raise ValueError("models is empty: give at least one, e.g. {'C': model_c}")
    x = _as_image(digit)
    path = _shift_path(shifts, frames, 17, dy)
    n = path.shape[0]
    dev = _device_of(next(iter(models.values())))
    xs = translate(x.to(dev).expand(n, -1, -1, -1), path[:, 0].to(dev), path[:, 1].to(dev), fill)
    probs = {name: torch.softmax(m(xs).float(), 1).cpu() for name, m in models.items()}
    for name, p in probs.items():
        if p.ndim != 2 or p.shape[0] != n:
            raise ValueError(f"model {name!r} must map [N, 1, H, W] to logits [N, classes], got {tuple(p.shape)}")
    classes = next(iter(probs.values())).shape[1]
    zero = ((path[:, 0] == 0) & (path[:, 1] == 0)).nonzero()
    centre = int(zero[0]) if zero.numel() else 0
    if label is None:
        label = int(next(iter(probs.values()))[centre].argmax())
    label = _check_int(label, "label", 0, classes - 1)
    xs_c = xs[:, 0].cpu()
    xv, xlabel = _path_axis(path)

    fig = _figure(2.9)
    gs = fig.add_gridspec(1, 3, width_ratios=[1, 1.5, 1.5])
    ax0, ax1, ax2 = fig.add_subplot(gs[0]), fig.add_subplot(gs[1]), fig.add_subplot(gs[2])
    im = _image_panel(ax0, xs_c[0], "shifted digit", vmin=0, vmax=max(float(xs_c.max()), 1e-9))
    width = 0.8 / len(models)
    offsets = np.arange(len(models)) * width - 0.4 + width / 2
    bars, dots = {}, {}
    for (name, p), off in zip(probs.items(), offsets):
        color = COLORS.get(name.split()[0], None)
        bars[name] = ax1.bar(np.arange(classes) + off, p[0].numpy(), width, label=name, color=color)
        pr = p[:, label].numpy()
        (line,) = ax2.plot(xv, pr, "o-", ms=3, label=name, color=color)
        (dots[name],) = ax2.plot([xv[0]], [pr[0]], "o", ms=8, mfc="none", color=line.get_color())
    marker = ax2.axvline(xv[0], color="grey", ls=":")
    ax1.set(xticks=range(classes), xlabel="class", ylabel="probability", ylim=(0, 1.02),
            title="Class probabilities")
    ax2.set(xlabel=xlabel, ylabel=f"p(class {label})", ylim=(0, 1.02), title="True class along the slide")
    ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.legend(fontsize=7.5)
    title = fig.suptitle("")

    def update(k: int) -> None:
        dx, dyk = int(path[k, 0]), int(path[k, 1])
        im.set_data(xs_c[k].numpy())
        for name, p in probs.items():
            for rect, h in zip(bars[name], p[k].numpy()):
                rect.set_height(float(h))
            dots[name].set_data([xv[k]], [float(p[k, label])])
        marker.set_xdata([xv[k], xv[k]])
        ps = ", ".join(f"{name} {float(p[k, label]):.2f}" for name, p in probs.items())
        title.set_text(f"Digit {label}, {_shift_text(dx, dyk)}: p(class {label}) = {ps}")

    p_label = torch.stack([p[:, label] for p in probs.values()])  # [models, T]
    disagree = p_label.amax(0) - p_label.amin(0)  # the poster: where the models differ most
    drop = (p_label - p_label[:, centre : centre + 1]).abs().sum(0)
    poster = int(torch.argmax(disagree if float(disagree.max()) > 0.05 else drop))
    return animate(fig, update, n, dpi=dpi, interval_ms=interval_ms, mode=mode, poster=poster,
                   values={"shifts": path, "label": np.full(n, label),
                           **{f"probs {name}": p for name, p in probs.items()}})


# --------------------------------------------------------------------------- 4. ImageNet photo


def _short(name: str) -> str:
    return name.split(",")[0].strip()


def photo_slide(model: ImageNetModel, photo: torch.Tensor, n_steps: int | None = None, *, frames: int | None = None,
                protocol: str = "crop", max_shift: int = 16, embed_size: int = DEFAULT_EMBED_SIZE,
                label: int | None = None,
                class_names: Sequence[str] | None = None, top: int = 5, dpi: int = DEFAULT_DPI,
                interval_ms: int = DEFAULT_INTERVAL_MS, mode: Mode = "reflect",
                frame_format: FrameFormat = "png") -> Animation:
    """A photo window moving one pixel at a time, with the model's top classes per frame.

    The frames are :func:`shiftlab.measure.protocols.shift_sequence` (diagonal one-pixel steps,
    content shift ``d = -(T // 2) .. T - 1 - T // 2``), classified in one batch by
    :meth:`ImageNetModel.predict`. Panels: the window the model sees; its ``top`` classes (bars
    with class names; the reference class in orange); the probability of the reference class
    along the sequence, with a marker at the current frame.

    Args:
        model: the classifier (e.g. ``load_imagenet_model("mobilenet_v2_offline")``).
        photo: one uint8 (or float in [0, 1]) RGB photo ``[3, H, W]``.
        n_steps: number of frames (alias ``frames``; default 17, at most ``2 max_shift + 1``).
        protocol: ``"crop"`` (the default), ``"embed"`` or ``"inpaint"``.
        max_shift: the protocol's margin (16 as in the chapter, which fixes the photo's scale).
        embed_size: the photo's long side in the embed and inpaint protocols.
        label: the reference class (the photo's true class); None: the top-1 class of the centred frame.
        class_names: the 1000 class names; default :func:`shiftlab.data.photos.imagenet_class_names`.
        top: how many classes to list.
        dpi, interval_ms, mode, frame_format: see :func:`animate` (the palette PNG frames are
            as light as JPEG ones here, about 40 kB, with sharper text).
    """
    if not isinstance(model, ImageNetModel):
        raise TypeError(f"model must be an ImageNetModel (load_imagenet_model(...)), got {type(model).__name__}")
    if n_steps is not None and frames is not None and n_steps != frames:
        raise ValueError(f"n_steps ({n_steps}) and frames ({frames}) are the same knob: give one")
    n = _resolve_frames(n_steps if n_steps is not None else frames, 17)
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    windows, d = shift_sequence(photo, protocol, n, out_size=model.input_size, max_shift=max_shift,
                                embed_size=embed_size)
    probs = model.predict(windows)  # [T, K]
    names = list(class_names) if class_names is not None else imagenet_class_names()
    if len(names) < probs.shape[1]:
        raise ValueError(f"class_names has {len(names)} names for {probs.shape[1]} classes")
    top = _check_int(top, "top", 1, probs.shape[1])
    centre = n // 2
    ref = int(probs[centre].argmax()) if label is None else _check_int(label, "label", 0, probs.shape[1] - 1)
    top_p, top_i = probs.topk(top, dim=1)
    imgs = windows.permute(0, 2, 3, 1).clamp(0, 1).numpy()
    dv = d.numpy()

    fig = _figure(2.9)
    gs = fig.add_gridspec(1, 3, width_ratios=[1.1, 1.25, 1.0])
    ax0, ax1, ax2 = fig.add_subplot(gs[0]), fig.add_subplot(gs[1]), fig.add_subplot(gs[2])
    im = ax0.imshow(imgs[0], interpolation="antialiased")
    ax0.set(xticks=[], yticks=[], xlabel=f"{model.input_size} px window ({protocol})")
    ypos = np.arange(top)[::-1]
    bars = ax1.barh(ypos, top_p[0].numpy(), color="tab:blue")
    ax1.set(xlim=(0, 1), xlabel="probability", yticks=ypos, title=f"Top-{top} classes")
    ax1.tick_params(axis="y", labelsize=8)
    pr = probs[:, ref].numpy()
    ax2.plot(dv, pr, "o-", ms=3, color="tab:orange")
    (dot,) = ax2.plot([dv[0]], [pr[0]], "o", ms=8, mfc="none", color="tab:orange")
    marker = ax2.axvline(dv[0], color="grey", ls=":")
    ax2.set(xlabel="content shift d (pixels)", ylabel=f"p({_short(names[ref])[:24]})", ylim=(0, 1.02),
            title="Along the sequence")
    ax2.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    title = fig.suptitle("")

    def update(k: int) -> None:
        im.set_data(imgs[k])
        idx = top_i[k].tolist()
        for rect, p, c in zip(bars, top_p[k].tolist(), idx):
            rect.set_width(p)
            rect.set_color("tab:orange" if c == ref else "tab:blue")
        ax1.set_yticks(ypos, [_short(names[c])[:22] for c in idx])
        dot.set_data([dv[k]], [pr[k]])
        marker.set_xdata([dv[k], dv[k]])
        title.set_text(f"{model.name}: content shift d = {int(dv[k]):+d} px (diagonal), "
                       f"top-1 {_short(names[idx[0]])} ({top_p[k, 0]:.0%})")

    changes = (top_i[:, 0] != top_i[centre, 0]).nonzero()
    poster = int(changes[0]) if changes.numel() else n - 1
    return animate(fig, update, n, dpi=dpi, interval_ms=interval_ms, mode=mode, poster=poster,
                   frame_format=frame_format, values={"shifts": d, "probs": probs, "reference": np.full(n, ref)})


# --------------------------------------------------------------------------- 5. aliasing in 1-D


@torch.no_grad()
def aliasing_slide(signal: torch.Tensor | None = None, *, frames: int | None = None, factor: int = 2,
                   filter_size: int = 3, dpi: int = DEFAULT_DPI, interval_ms: int = 700,
                   mode: Mode = "loop") -> Animation:
    """Subsampling a signal that moves one sample per frame, without and with a binomial blur.

    Frame ``s`` shifts the (periodic) signal by ``s`` samples; the sampling grid stays put, so
    the kept samples are the signal's phase ``s mod factor``. Each output is drawn with what a
    shiftable representation would give, the unshifted output moved by ``s / factor`` samples
    (Fourier interpolation, :func:`shiftlab.measure.sampling.fourier_shift_1d`); the titles give
    the relative error and the global sum. Without the blur the output jumps between unrelated
    signals; with it, it moves smoothly and its sum stays the same.

    Args:
        signal: a 1-D periodic signal; default :func:`shiftlab.measure.sampling.two_tone` (64 samples,
            a tone at 0.05 and one at 0.4 cycles per sample, which aliases).
        frames: number of shifts ``s = 0 .. frames - 1`` (default 8).
        factor: subsampling factor.
        filter_size: the binomial blur (3 = ``[1, 2, 1] / 4``).
        dpi, interval_ms, mode: see :func:`animate`.
    """
    x = two_tone(64) if signal is None else signal
    if not isinstance(x, torch.Tensor) or x.ndim != 1 or x.numel() < 4:
        raise ValueError("signal must be a 1-D tensor of at least 4 samples")
    factor = _check_int(factor, "factor", 2, x.numel() // 2)
    row = binomial_row(filter_size)  # checks the size
    n = _resolve_frames(frames, 8)
    length = x.numel()
    xd = x.to(torch.float64)
    xs = torch.stack([torch.roll(xd, s, dims=-1) for s in range(n)])  # [T, L]
    kept = np.arange(0, length, factor)
    outs = {}
    for tag, size in (("no blur", 1), ("blur", filter_size)):
        y = subsample_1d(lowpass_1d(xs, size), factor)  # [T, L / factor]
        ideal = torch.stack([fourier_shift_1d(y[0], s / factor) for s in range(n)])
        outs[tag] = (y, ideal, relative_change(y, ideal), y.sum(-1))
    taps = ", ".join(str(int(v)) for v in row)
    labels = {"no blur": f"subsample by {factor}, no blur",
              "blur": f"binomial blur [{taps}] / {int(row.sum())}, then subsample by {factor}"}

    fig = _figure(4.6)
    axes = fig.subplots(3, 1, sharex=True)
    k_all = np.arange(length)
    lim = float(xd.abs().max()) * 1.1
    (sig_line,) = axes[0].plot(k_all, xs[0].numpy(), "-", color="0.6", lw=1)
    (sig_kept,) = axes[0].plot(kept, xs[0, kept].numpy(), "o", ms=3.5, color="tab:blue", label="kept samples")
    axes[0].set(ylabel="value", ylim=(-lim, 1.8 * lim),
                title="input (grey) and the samples that subsampling keeps (blue)")
    axes[0].legend(loc="upper right", fontsize=7.5)
    arts = {}
    for ax, tag in zip(axes[1:], ("no blur", "blur")):
        y, ideal, _, _ = outs[tag]
        color = "tab:red" if tag == "no blur" else "tab:green"
        (out_line,) = ax.plot(kept, y[0].numpy(), "o-", ms=3.5, lw=1, color=color, label="output")
        (ideal_line,) = ax.plot(kept, ideal[0].numpy(), "x", ms=5, color="black",
                                label=f"unshifted output moved by s/{factor}")
        ax.set(ylabel="value", ylim=(-lim, 1.8 * lim))
        ax.legend(loc="upper right", fontsize=7.5, ncol=2)
        arts[tag] = (out_line, ideal_line)
    axes[2].set_xlabel("sample index (original rate)")
    title = fig.suptitle("")

    def update(s: int) -> None:
        sig_line.set_ydata(xs[s].numpy())
        sig_kept.set_ydata(xs[s, kept].numpy())
        for ax, tag in zip(axes[1:], ("no blur", "blur")):
            y, ideal, err, total = outs[tag]
            arts[tag][0].set_ydata(y[s].numpy())
            arts[tag][1].set_ydata(ideal[s].numpy())
            ax.set_title(f"{labels[tag]}: error {float(err[s]):.0%}, sum {float(total[s]):.2f}")
        title.set_text(f"Aliasing: input shift s = {s} sample{'' if s == 1 else 's'} "
                       f"(subsampling keeps the input's samples of phase {s % factor})")

    return animate(fig, update, n, dpi=dpi, interval_ms=interval_ms, mode=mode, poster=min(1, n - 1),
                   values={"shifts": np.arange(n), **{f"{v} {tag}": outs[tag][i] for tag in outs
                                                      for i, v in ((2, "error"), (3, "sum"))}})


# --------------------------------------------------------------------------- 6. downsampling layers


def _test_pattern(size: int = 24) -> torch.Tensor:
    """A small image with fine detail that 2x subsampling aliases: a one-pixel grid of dots,
    a thin diagonal bar and a blob, values in [0, 1]."""
    r = torch.arange(size, dtype=torch.float32)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    img = 0.8 * torch.exp(-((xx - size * 0.3) ** 2 + (yy - size * 0.65) ** 2) / (size * 0.6))
    img = torch.where((xx - yy).abs() < 0.6, torch.ones_like(img), img)
    dots = ((xx % 4 == 1) & (yy % 4 == 1) & (xx > size / 2) & (yy < size / 2)).float()
    return img.maximum(dots).clamp(0, 1)


@torch.no_grad()
def downsample_slide(image: torch.Tensor | None = None, shifts: ShiftPath | None = None, *,
                     frames: int | None = None, dy: int = 0, fill: Fill = "circular",
                     dpi: int = DEFAULT_DPI, interval_ms: int = DEFAULT_INTERVAL_MS,
                     mode: Mode = "reflect") -> Animation:
    """The same sliding input through three 2x downsampling layers, side by side.

    The layers are the models' (:func:`shiftlab.nn.mnist_models.pool_factory`): ``MaxPool2d(2)``;
    BlurPool (max stride 1, binomial ``[1, 2, 1]`` blur, subsample 2; Zhang 2019); APS (circular
    max stride 1, then the polyphase component of largest norm; Chaman & Dokmanic 2021). The
    bottom panel follows each output's global sum along the path (relative to the unshifted
    input): under circular shifts APS keeps it exactly (its output is a circular shift of the
    unshifted one); the max pool's and BlurPool's sums move with the sampling phase (BlurPool's
    output changes smoothly, but its reflect padding and the stride-1 max's cropped border are
    not circular).

    Args:
        image: ``[H, W]`` greyscale image with even sides; default a 24 px test pattern.
        shifts: the path (as for :func:`conv_slide`); default ``dx = -6 .. 6`` (``frames`` = 13).
        frames, dy: the default path's length and row.
        fill: how the input is shifted (``"circular"``: APS is exact; ``"zero"``).
        dpi, interval_ms, mode: see :func:`animate`.
    """
    x = _as_image(_test_pattern() if image is None else image, "image")
    h, w = x.shape[-2:]
    if h % 2 or w % 2:
        raise ValueError(f"image sides must be even for 2x downsampling (APS), got {h}x{w}")
    path = _shift_path(shifts, frames, 13, dy)
    n = path.shape[0]
    xs = translate(x.expand(n, -1, -1, -1), path[:, 0], path[:, 1], fill)
    layers = {"max pool": pool_factory("max")(), "BlurPool": pool_factory("blur")(), "APS": pool_factory("aps")()}
    outs = {name: layer(xs)[:, 0] for name, layer in layers.items()}  # [T, H/2, W/2]
    sums = {name: o.sum((1, 2)) for name, o in outs.items()}
    zero = ((path[:, 0] == 0) & (path[:, 1] == 0)).nonzero()
    ref = int(zero[0]) if zero.numel() else 0
    xv, xlabel = _path_axis(path)
    colors = {"max pool": "tab:red", "BlurPool": "tab:green", "APS": "tab:purple"}

    fig = _figure(4.6)
    gs = fig.add_gridspec(2, 4, height_ratios=[1.25, 1])
    top_axes = [fig.add_subplot(gs[0, i]) for i in range(4)]
    ax_sum = fig.add_subplot(gs[1, :])
    ims = [_image_panel(top_axes[0], xs[0, 0], "input", vmin=0, vmax=float(x.max()), pixel_axes=False)]
    for ax, (name, o) in zip(top_axes[1:], outs.items()):
        ims.append(_image_panel(ax, o[0], name, vmin=0, vmax=float(o.max()), pixel_axes=False))
    top_axes[0].set_xlabel(f"{h} x {w} px")
    for ax, o in zip(top_axes[1:], outs.values()):
        ax.set_xlabel(f"{o.shape[-2]} x {o.shape[-1]} px")
    dots = {}
    for name, s in sums.items():
        rel = (s / s[ref]).numpy()
        ax_sum.plot(xv, rel, "o-", ms=3, color=colors[name], label=name)
        (dots[name],) = ax_sum.plot([xv[0]], [rel[0]], "o", ms=8, mfc="none", color=colors[name])
    marker = ax_sum.axvline(xv[0], color="grey", ls=":")
    ax_sum.set(xlabel=xlabel, ylabel="sum / sum unshifted", title="Global sum of each output")
    ax_sum.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_sum.legend(fontsize=7.5, ncol=3, loc="lower left")
    title = fig.suptitle("")

    def update(k: int) -> None:
        dx, dyk = int(path[k, 0]), int(path[k, 1])
        ims[0].set_data(xs[k, 0].numpy())
        for im, ax, (name, o) in zip(ims[1:], top_axes[1:], outs.items()):
            im.set_data(o[k].numpy())
            ax.set_title(f"{name}\nsum {float(sums[name][k]):.1f}")
        for name, s in sums.items():
            dots[name].set_data([xv[k]], [float(s[k] / s[ref])])
        marker.set_xdata([xv[k], xv[k]])
        title.set_text(f"{_shift_text(dx, dyk)} ({fill} shift) through three 2x downsampling layers")

    odd = ((path[:, 0] + path[:, 1]) % 2 == 1).nonzero()
    poster = int(odd[0]) if odd.numel() else 0
    return animate(fig, update, n, dpi=dpi, interval_ms=interval_ms, mode=mode, poster=poster,
                   values={"shifts": path, **{f"sum {name}": s for name, s in sums.items()}})
