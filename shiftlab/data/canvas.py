"""Digits on a larger black canvas: the stimuli of the learned-invariance chapter.

An MNIST digit (``[1, 28, 28]``) is pasted into an all-black ``canvas x canvas`` image with
its top-left corner at an *offset* ``(y, x)``; offsets run from ``0`` to ``canvas - 28`` on
both axes, so the digit always lies wholly inside the canvas (28 on a 56 canvas: 29 x 29
possible positions). Everything is batched: :func:`place_on_canvas` writes a whole batch with
one indexed assignment, and :func:`sample_offsets` draws a batch of offsets from a rectangle of
allowed offsets with one call to the generator, so training can put every digit of every batch
at a fresh position without a Python loop over images.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["Region", "place_on_canvas", "position_grid", "sample_offsets", "check_region"]

#: a rectangle of allowed top-left offsets, inclusive: ``(y_min, y_max, x_min, x_max)``
Region = tuple[int, int, int, int]


def place_on_canvas(images: torch.Tensor, offsets: torch.Tensor | Sequence[Sequence[int]],
                    canvas: int = 56) -> torch.Tensor:
    """Paste each image into a black ``canvas x canvas`` image with its top-left at its offset.

    Args:
        images: ``[N, C, h, w]`` (e.g. MNIST digits ``[N, 1, 28, 28]``).
        offsets: ``[N, 2]`` integer ``(y, x)`` top-left offsets, each in ``0 .. canvas - h``
            (``y``) and ``0 .. canvas - w`` (``x``), so that the image fits wholly inside.
        canvas: side of the square canvas in pixels.

    Returns:
        ``[N, C, canvas, canvas]`` of the images' dtype and device: zeros except
        ``out[n, :, y:y+h, x:x+w] = images[n]``.

    Raises:
        ValueError: wrong shapes, non-integer offsets, or an offset that would put part of an
            image outside the canvas.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        raise ValueError(f"images must be a tensor [N, C, h, w], got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    n, c, h, w = images.shape
    if isinstance(canvas, bool) or not isinstance(canvas, int) or canvas < max(h, w):
        raise ValueError(f"canvas must be an int at least as large as the images ({h}x{w}), got {canvas!r}")
    off = torch.as_tensor(offsets, device=images.device)
    if off.is_floating_point() or off.is_complex() or off.dtype == torch.bool:
        raise ValueError(f"offsets must be integers, got dtype {off.dtype}")
    if off.shape != (n, 2):
        raise ValueError(f"offsets must have shape [N, 2] = [{n}, 2] (y, x per image), got {tuple(off.shape)}")
    off = off.long()
    if n and (int(off.min()) < 0 or int(off[:, 0].max()) > canvas - h or int(off[:, 1].max()) > canvas - w):
        raise ValueError(f"offsets must lie in 0..{canvas - h} (y) and 0..{canvas - w} (x) so that the "
                         f"{h}x{w} image fits inside the {canvas}x{canvas} canvas; got y in "
                         f"{int(off[:, 0].min())}..{int(off[:, 0].max())}, x in "
                         f"{int(off[:, 1].min())}..{int(off[:, 1].max())}")
    out = images.new_zeros(n, canvas, canvas, c)  # channels last: advanced indices on 3 leading dims
    rows = off[:, 0, None, None] + torch.arange(h, device=images.device)[None, :, None]  # [N, h, 1]
    cols = off[:, 1, None, None] + torch.arange(w, device=images.device)[None, None, :]  # [N, 1, w]
    batch = torch.arange(n, device=images.device)[:, None, None]                          # [N, 1, 1]
    out[batch, rows, cols] = images.permute(0, 2, 3, 1)
    return out.permute(0, 3, 1, 2).contiguous()


def position_grid(canvas: int = 56, digit: int = 28, step: int = 4) -> torch.Tensor:
    """The test positions: every top-left offset ``(y, x)`` on a grid of ``step`` pixels from
    ``0`` to ``canvas - digit`` (inclusive when it is a multiple of ``step``), row-major
    (``y`` slow, ``x`` fast). The default gives ``0, 4, ..., 28`` on both axes: ``[64, 2]``."""
    for name, v in (("canvas", canvas), ("digit", digit), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if digit > canvas:
        raise ValueError(f"digit ({digit}) must not be larger than the canvas ({canvas})")
    axis = torch.arange(0, canvas - digit + 1, step)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([yy.reshape(-1), xx.reshape(-1)], dim=1)


def check_region(region: Sequence[int], canvas: int = 56, digit: int = 28) -> Region:
    """Validate a region ``(y_min, y_max, x_min, x_max)`` of allowed offsets (inclusive) and
    return it as a tuple of ints.

    Raises:
        ValueError: not four ints, an empty range, or offsets outside ``0 .. canvas - digit``.
    """
    vals = tuple(region)
    if len(vals) != 4 or any(isinstance(v, bool) or not isinstance(v, int) for v in vals):
        raise ValueError(f"region must be four ints (y_min, y_max, x_min, x_max), got {region!r}")
    y0, y1, x0, x1 = vals
    top = canvas - digit
    if not (0 <= y0 <= y1 <= top and 0 <= x0 <= x1 <= top):
        raise ValueError(f"region {vals} must satisfy 0 <= min <= max <= {top} on both axes "
                         f"(a {digit}-pixel digit on a {canvas}-pixel canvas)")
    return y0, y1, x0, x1


def sample_offsets(n: int, region: Sequence[int], generator: torch.Generator | None = None,
                   canvas: int = 56, digit: int = 28, device: torch.device | str | None = None) -> torch.Tensor:
    """``[n, 2]`` long offsets ``(y, x)`` drawn uniformly (independently per axis, inclusive) from
    the rectangle ``region = (y_min, y_max, x_min, x_max)``, with one call to ``generator``.

    Raises:
        ValueError: a negative ``n`` or a bad region (see :func:`check_region`).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    y0, y1, x0, x1 = check_region(region, canvas, digit)
    dev = generator.device if generator is not None and device is None else device
    u = torch.rand(n, 2, generator=generator, device=dev)
    span = torch.tensor([y1 - y0 + 1, x1 - x0 + 1], device=u.device, dtype=u.dtype)
    low = torch.tensor([y0, x0], device=u.device)
    return (u * span).long().clamp_max(torch.tensor([y1 - y0, x1 - x0], device=u.device)) + low
