"""Measuring equivariance and invariance of any function of images.

For a shift ``S`` (see :mod:`shiftlab.core.shifts`):

* *equivariance error* ``|f(S x) - S f(x)|``: zero when ``f`` commutes with the shift;
* *invariance error* ``|f(S x) - f(x)|``: zero when ``f`` ignores the shift.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

from shiftlab.core.shifts import Fill, translate

__all__ = ["equivariance_error", "invariance_error", "exact_region", "defined_region", "lost_ink", "make_conv"]

ImageFn = Callable[[torch.Tensor], torch.Tensor]
_PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]  # nn.Conv2d's


@torch.no_grad()
def equivariance_error(f: ImageFn, x: torch.Tensor, dx: int, dy: int, fill: Fill = "zero") -> torch.Tensor:
    """Elementwise ``|f(S x) - S f(x)|`` for one shift ``S = (dx, dy)``.

    ``f`` must map ``[N, C, H, W]`` to a tensor whose last two axes are the same spatial grid
    (a convolution with "same" padding, a pointwise nonlinearity, ...).

    Returns:
        A tensor shaped like ``f(x)``; reduce it (max over batch and channels) for a map.
    """
    if x.ndim != 4:
        raise ValueError(f"x must have shape [N, C, H, W], got {tuple(x.shape)}")
    fx = f(x)
    if fx.shape[-2:] != x.shape[-2:]:
        raise ValueError(
            f"f changes the spatial size {tuple(x.shape[-2:])} -> {tuple(fx.shape[-2:])}; "
            "equivariance on the same grid needs 'same' padding and stride 1"
        )
    return (f(translate(x, dx, dy, fill)) - translate(fx, dx, dy, fill)).abs()


@torch.no_grad()
def invariance_error(f: ImageFn, x: torch.Tensor, dx: int, dy: int, fill: Fill = "zero") -> torch.Tensor:
    """Elementwise ``|f(S x) - f(x)|`` for one shift ``S = (dx, dy)``."""
    if x.ndim != 4:
        raise ValueError(f"x must have shape [N, C, H, W], got {tuple(x.shape)}")
    return (f(translate(x, dx, dy, fill)) - f(x)).abs()


def exact_region(height: int, width: int, dx: int, dy: int, radius: int) -> torch.Tensor:
    """Where a zero-padded "same" convolution (filter radius ``radius``) is guaranteed to be
    exactly equivariant to a zero-fill shift ``(dx, dy)``.

    On the side the image enters from, ``|dx|`` columns (``|dy|`` rows) hold the shifted
    output's zero fill, which the convolution of the shifted image does not reproduce (the bias
    and the neighbouring pixels reach them). On the side the image leaves, the last ``radius``
    columns (rows) see pixels that the shift pushed out of the frame. Everywhere else the two
    sides see the same pixels and the same padding zeros.

    Returns:
        A ``[height, width]`` bool mask, True where the error must be zero.
    """
    if radius < 0:
        raise ValueError(f"radius must be >= 0, got {radius}")
    if abs(dx) >= width or abs(dy) >= height:
        raise ValueError("the shift must be smaller than the image")

    def band(n: int, d: int) -> torch.Tensor:
        keep = torch.ones(n, dtype=torch.bool)
        if d > 0:
            keep[:d] = False
            keep[max(n - radius, 0):] = False
        elif d < 0:
            keep[n + d:] = False
            keep[:radius] = False
        return keep

    return band(height, dy)[:, None] & band(width, dx)[None, :]


def defined_region(height: int, width: int, dx: int, dy: int) -> torch.Tensor:
    """Where a zero-fill shift ``(dx, dy)`` of a ``[height, width]`` map holds a value of the map.

    ``S f(x)`` moves ``f(x)`` by ``(dx, dy)`` and writes zeros into the ``|dx|`` columns (``|dy|``
    rows) the content enters from. Those zeros are the shift's *fill*, a convention, not an
    output of ``f``: comparing ``f(S x)`` with them measures the definition (``f`` of a black
    band is its bias), not the layer. The defined region is everything else: the positions
    ``p`` whose source ``p - (dx, dy)`` lies inside the frame.

    Returns:
        A ``[height, width]`` bool mask, True where ``S f(x)`` is a value of ``f(x)``.
    """
    if height < 1 or width < 1:
        raise ValueError(f"the map must have a positive size, got {height} x {width}")
    if abs(dx) >= width or abs(dy) >= height:
        raise ValueError(f"the shift ({dx}, {dy}) must be smaller than the map ({height} x {width})")
    def keep(n: int, d: int) -> torch.Tensor:  # the positions along one axis whose source is inside
        idx = torch.arange(n)
        return (idx - d >= 0) & (idx - d < n)

    return keep(height, dy)[:, None] & keep(width, dx)[None, :]


def lost_ink(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """The share of each image's ink that a zero-fill shift ``(dx, dy)`` pushes out of the frame.

    Ink is the sum of the (non-negative) pixel values; what leaves is the ink of the pixels whose
    destination lies outside the frame, i.e. outside ``defined_region(H, W, -dx, -dy)``. The
    share is computed from the pixels that leave, not as ``1 - kept / total``, so it is exactly
    zero when no ink leaves (no round-off). An image without ink loses nothing (0).

    Returns:
        A ``[N]`` tensor of shares in ``[0, 1]``.
    """
    if x.ndim != 4:
        raise ValueError(f"x must have shape [N, C, H, W], got {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()) or bool((x < 0).any()):
        raise ValueError("x must hold finite, non-negative intensities (ink), e.g. MNIST digits in [0, 1]")
    leaving = ~defined_region(x.shape[-2], x.shape[-1], -dx, -dy).to(x.device)
    total = x.sum(dim=(1, 2, 3))
    gone = (x * leaving).sum(dim=(1, 2, 3))
    return torch.where(total > 0, gone / total.clamp_min(torch.finfo(x.dtype).tiny), torch.zeros_like(total))


def make_conv(
    in_channels: int = 1,
    out_channels: int = 8,
    kernel_size: int = 5,
    padding_mode: _PaddingMode = "zeros",
    stride: int = 1,
    seed: int = 0,
) -> nn.Conv2d:
    """A randomly initialised ``Conv2d`` with "same" padding of the given mode, seeded.

    ``padding_mode`` is PyTorch's: ``"zeros"`` or ``"circular"`` (also ``"reflect"``,
    ``"replicate"``). The kernel size must be odd so that "same" padding is symmetric.
    """
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd number, got {kernel_size}")
    if padding_mode not in {"zeros", "circular", "reflect", "replicate"}:
        raise ValueError(f"unknown padding_mode {padding_mode!r}")
    gen = torch.Generator().manual_seed(seed)
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                     padding=kernel_size // 2, padding_mode=padding_mode)
    with torch.no_grad():
        bound = 1.0 / (in_channels * kernel_size**2) ** 0.5
        conv.weight.uniform_(-bound, bound, generator=gen)
        assert conv.bias is not None
        conv.bias.uniform_(-bound, bound, generator=gen)
    return conv.eval()
