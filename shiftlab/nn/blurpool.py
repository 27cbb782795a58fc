"""Anti-aliased downsampling (Zhang 2019, "Making convolutional networks shift-invariant again").

A stride-2 layer throws away every second sample. If the signal has energy above the new
Nyquist frequency, that energy *aliases*: a one-pixel shift of the input changes the output
completely instead of moving it by half a pixel. Zhang's remedy is the textbook one: low-pass
filter before subsampling. Each strided layer is split into its dense version and a blur:

``MaxPool(k, stride 2)``  ->  ``MaxPool(k, stride 1)`` then ``BlurPool(stride 2)``
``Conv(stride 2) ReLU``   ->  ``Conv(stride 1) ReLU`` then ``BlurPool(stride 2)``
``AvgPool(stride 2)``     ->  ``BlurPool(stride 2)``

``BlurPool`` convolves every channel with a normalised 2-D *binomial* filter (the outer product of
a row of Pascal's triangle with itself) and keeps every ``stride``-th sample:

====  ======================  ==========================
size  row                     name in the paper
====  ======================  ==========================
1     [1]                     no blur (plain subsampling)
2     [1, 1]                  Rect-2
3     [1, 2, 1]               Tri-3
4     [1, 3, 3, 1]            Bin-4
5     [1, 4, 6, 4, 1]         Bin-5
6     [1, 5, 10, 10, 5, 1]
7     [1, 6, 15, 20, 15, 6, 1]
====  ======================  ==========================

Padding as in the paper: ``(size - 1) // 2`` pixels before and ``ceil((size - 1) / 2)`` after,
on both axes, by *reflection* (other modes selectable); size 1 does no padding. Every binomial
filter of size >= 2 is zero at the Nyquist frequency, which makes the global sum of a
blur-subsampled map exactly independent of the sampling phase (see the tests).

This is a layer file: it imports nothing from shiftlab. Models take these layers as an argument
(``shiftlab.nn.mnist_models.make_model("C", pool="blur")``); the study that trains the variants
lives in :mod:`shiftlab.studies.mnist_variants`.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "PadMode",
    "MAX_FILTER_SIZE",
    "binomial_row",
    "binomial_filter",
    "blur_pad_sizes",
    "blur",
    "blur_subsample",
    "BlurPool2d",
    "AntiAliasedMaxPool2d",
    "AntiAliasedConv2d",
]

PadMode = Literal["reflect", "replicate", "zeros", "circular"]
_PAD_MODES = ("reflect", "replicate", "zeros", "circular")
#: the largest filter the course uses (the paper's table stops at 7)
MAX_FILTER_SIZE = 7


# --------------------------------------------------------------------------- filters
def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise TypeError(f"filter size must be an int, got {type(size).__name__}")
    if not 1 <= int(size) <= MAX_FILTER_SIZE:
        raise ValueError(f"filter size must be between 1 and {MAX_FILTER_SIZE}, got {size}")
    return int(size)


def binomial_row(size: int) -> torch.Tensor:
    """Row ``size - 1`` of Pascal's triangle as float64, **not** normalised (``[1, 2, 1]`` for 3)."""
    n = _check_size(size) - 1
    return torch.tensor([math.comb(n, k) for k in range(n + 1)], dtype=torch.float64)


def binomial_filter(size: int, dtype: torch.dtype = torch.float32, normalize: bool = True) -> torch.Tensor:
    """The 2-D binomial filter ``[size, size]``: outer product of :func:`binomial_row` with itself,
    divided by its sum (``4**(size - 1)``) when ``normalize`` so that it preserves the mean."""
    row = binomial_row(size)
    k = row[:, None] * row[None, :]
    if normalize:
        k = k / k.sum()
    return k.to(dtype)


def blur_pad_sizes(size: int) -> tuple[int, int, int, int]:
    """``(left, right, top, bottom)`` padding of a ``size`` filter: ``(size-1)//2`` before and
    ``ceil((size-1)/2)`` after on each axis (the paper's convention; even sizes pad more after)."""
    size = _check_size(size)
    before, after = (size - 1) // 2, size // 2
    return before, after, before, after


def _check_mode(pad_mode: str) -> str:
    if pad_mode not in _PAD_MODES:
        raise ValueError(f"pad_mode must be one of {_PAD_MODES}, got {pad_mode!r}")
    return pad_mode


def _check_maps(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"expected feature maps [N, C, H, W], got shape {tuple(x.shape)}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"expected floating-point maps, got {x.dtype}")


def _pad(x: torch.Tensor, pads: tuple[int, int, int, int], pad_mode: str) -> torch.Tensor:
    if not any(pads):
        return x
    if pad_mode == "zeros":
        return F.pad(x, pads)
    if pad_mode == "reflect" and (max(pads[:2]) >= x.shape[-1] or max(pads[2:]) >= x.shape[-2]):
        raise ValueError(f"reflect padding {pads} needs maps larger than the padding, got {tuple(x.shape[-2:])}")
    return F.pad(x, pads, mode=pad_mode)


def _depthwise(x: torch.Tensor, kernel: torch.Tensor, stride: int) -> torch.Tensor:
    c = x.shape[1]
    w = kernel.to(dtype=x.dtype, device=x.device).expand(c, 1, *kernel.shape[-2:])
    return F.conv2d(x, w, stride=stride, groups=c)


def blur(x: torch.Tensor, size: int = 3, pad_mode: PadMode = "reflect") -> torch.Tensor:
    """Each channel of ``x [N, C, H, W]`` convolved with the normalised binomial filter; same size
    out (for odd ``size``; even sizes pad one more pixel after, so the size is also kept)."""
    return blur_subsample(x, size, stride=1, pad_mode=pad_mode)


def blur_subsample(x: torch.Tensor, size: int = 3, stride: int = 2, pad_mode: PadMode = "reflect") -> torch.Tensor:
    """Zhang's BlurPool as a function: pad, blur each channel with the binomial filter of ``size``,
    keep every ``stride``-th sample starting at 0. ``size = 1`` is plain subsampling
    ``x[..., ::stride, ::stride]``. Output side: ``ceil(H / stride)``."""
    _check_maps(x)
    size = _check_size(size)
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be a positive int, got {stride!r}")
    _check_mode(pad_mode)
    if size == 1:
        return x[..., ::stride, ::stride]
    xp = _pad(x, blur_pad_sizes(size), pad_mode)
    return _depthwise(xp, binomial_filter(size, dtype=torch.float64)[None, None], stride)


class BlurPool2d(nn.Module):
    """Blur with a binomial filter, then subsample (see :func:`blur_subsample`).

    Works for any number of channels (the filter is shared by all channels and has no trainable
    parameters; it is a buffer, so it follows ``.to(device)`` and lands in ``state_dict``).

    Args:
        filter_size: 1..7 (1 = no blur).
        stride: subsampling factor.
        pad_mode: ``"reflect"`` (the paper), ``"replicate"``, ``"zeros"`` or ``"circular"``.
    """

    kernel: torch.Tensor  # the registered buffer

    def __init__(self, filter_size: int = 3, stride: int = 2, pad_mode: PadMode = "reflect") -> None:
        super().__init__()
        self.filter_size = _check_size(filter_size)
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
            raise ValueError(f"stride must be a positive int, got {stride!r}")
        self.stride = stride
        self.pad_mode = _check_mode(pad_mode)
        self.pads = blur_pad_sizes(self.filter_size)
        self.register_buffer("kernel", binomial_filter(self.filter_size)[None, None], persistent=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_maps(x)
        if self.filter_size == 1:
            return x[..., :: self.stride, :: self.stride]
        return _depthwise(_pad(x, self.pads, self.pad_mode), self.kernel, self.stride)

    def extra_repr(self) -> str:
        return f"filter_size={self.filter_size}, stride={self.stride}, pad_mode={self.pad_mode!r}"


class AntiAliasedMaxPool2d(nn.Module):
    """``MaxPool2d(kernel_size, stride=1)`` (no padding, as in the paper) then :class:`BlurPool2d`.

    Replaces ``nn.MaxPool2d(kernel_size, stride)``; for ``kernel_size = stride = 2`` and an even side
    ``H`` the output side is ``H / 2`` like the plain pool's.
    """

    def __init__(self, kernel_size: int = 2, stride: int = 2, filter_size: int = 3,
                 pad_mode: PadMode = "reflect") -> None:
        super().__init__()
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
            raise ValueError(f"kernel_size must be a positive int, got {kernel_size!r}")
        self.max = nn.MaxPool2d(kernel_size, stride=1)
        self.blurpool = BlurPool2d(filter_size, stride, pad_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blurpool(self.max(x))


class AntiAliasedConv2d(nn.Module):
    """A strided convolution block made anti-aliased: ``Conv2d(stride=1)`` -> activation ->
    :class:`BlurPool2d(stride)`. Replaces ``Conv2d(stride=s)`` -> activation.

    Args:
        in_channels, out_channels, kernel_size, padding: as for ``nn.Conv2d``.
        stride: the stride the original convolution had (moved into the blur-subsample).
        filter_size, pad_mode: of the blur.
        activation: the nonlinearity between the convolution and the blur: ``"relu"`` (the
            default, a new ``nn.ReLU()``), any module, or ``None`` for a linear block (an
            ``nn.Identity``), where conv and blur commute.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 2,
                 padding: int = 1, filter_size: int = 3, pad_mode: PadMode = "reflect",
                 activation: nn.Module | Literal["relu"] | None = "relu", bias: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=padding, bias=bias)
        if activation == "relu":
            self.act: nn.Module = nn.ReLU()
        elif activation is None:
            self.act = nn.Identity()
        elif isinstance(activation, nn.Module):
            self.act = activation
        else:
            raise TypeError(f"activation must be 'relu', an nn.Module or None, got {activation!r}")
        self.blurpool = BlurPool2d(filter_size, stride, pad_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blurpool(self.act(self.conv(x)))
