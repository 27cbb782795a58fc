"""Adaptive polyphase sampling (Chaman & Dokmanic 2021, "Truly shift-invariant CNNs").

Subsampling by 2 keeps one of the four *polyphase components* of a map,
``x[..., i::2, j::2]`` with ``(i, j) in {0, 1}^2``, always the same one ``(0, 0)``. Shift the input
by one pixel and the layer suddenly keeps a different component: the output is not a shifted
copy of the old one. APS keeps, for every image, **the component with the largest norm**
(``l_p`` over channels and positions). A circular shift of the input permutes the components
and shifts each circularly, and it does not change their norms, so APS picks "the same"
component and its output is a circular shift of the unshifted output. With circular padding
everywhere, every layer stays equivariant, and a global average pool at the end makes the whole
network **exactly invariant to every circular shift** -- at any weights, trained or not.

The guarantee needs all four ingredients: circular padding, circular shifts, even sizes at every
APS layer, and a shift-invariant head (global pooling). Model C's flatten + fully connected head
is *not* invariant to a circular shift of its last feature map, so APS-C (the MNIST variant,
``shiftlab.nn.mnist_models.make_model("C", pool="aps")``, identical to C except for its pools)
gets no exactness guarantee; :class:`CircularNet`
(global average pooling) does.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from shiftlab.core.shifts import check_shifts, translate_grid
from shiftlab.nn.blurpool import BlurPool2d, _check_maps, _check_size

__all__ = [
    "polyphase_components",
    "aps_index",
    "aps_downsample",
    "APSDownsample",
    "APSMaxPool2d",
    "CircularNet",
    "circular_shift_outputs",
]


def _check_stride(stride: int) -> int:
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be a positive int, got {stride!r}")
    return stride


def _check_p(p: float) -> float:
    """The order of the norm that ranks the components: positive (``p <= 0`` is no norm)."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not p > 0:
        raise ValueError(f"p must be a positive number (2 = Euclidean norm), got {p!r}")
    return float(p)


def polyphase_components(x: torch.Tensor, stride: int = 2) -> torch.Tensor:
    """The ``stride**2`` polyphase components of ``x [N, C, H, W]`` as ``[N, stride**2, C, H/s, W/s]``;
    component ``k = i * stride + j`` is ``x[..., i::stride, j::stride]``.

    Raises:
        ValueError: when ``H`` or ``W`` is not a multiple of ``stride`` (then the components
            would have different sizes and a circular shift would not simply permute them).
    """
    _check_maps(x)
    s = _check_stride(stride)
    n, c, h, w = x.shape
    if h % s or w % s:
        raise ValueError(f"APS needs spatial sizes divisible by the stride {s}, got {h}x{w}")
    # [N, C, H/s, s, W/s, s] -> [N, s(i), s(j), C, H/s, W/s]
    return x.reshape(n, c, h // s, s, w // s, s).permute(0, 3, 5, 1, 2, 4).reshape(n, s * s, c, h // s, w // s)


def aps_index(x: torch.Tensor, stride: int = 2, p: float = 2.0) -> torch.Tensor:
    """Per image, the index ``k`` of the polyphase component of largest ``l_p`` norm, ``[N]`` long."""
    p = _check_p(p)
    comps = polyphase_components(x, stride)
    norms = comps.flatten(2).norm(p=p, dim=2)
    return norms.argmax(dim=1)


def aps_downsample(x: torch.Tensor, stride: int = 2, p: float = 2.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Adaptive polyphase sampling: ``(y, k)`` with ``y [N, C, H/s, W/s]`` the component of largest
    norm of every image and ``k [N]`` which one it was (ties: the lowest index).

    Raises:
        ValueError: ``p <= 0``, a bad stride, or sizes not divisible by the stride.
    """
    p = _check_p(p)
    comps = polyphase_components(x, stride)
    k = comps.flatten(2).norm(p=p, dim=2).argmax(dim=1)
    y = comps[torch.arange(x.shape[0], device=x.device), k]
    return y, k


class APSDownsample(nn.Module):
    """:func:`aps_downsample` as a layer (returns only the maps; the last choice is kept in
    :attr:`last_index` for inspection)."""

    def __init__(self, stride: int = 2, p: float = 2.0) -> None:
        super().__init__()
        self.stride = _check_stride(stride)
        self.p = _check_p(p)
        self.last_index: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, k = aps_downsample(x, self.stride, self.p)
        self.last_index = k.detach()
        return y

    def extra_repr(self) -> str:
        return f"stride={self.stride}, p={self.p}"


class APSMaxPool2d(nn.Module):
    """A max pool that replaces ``MaxPool2d(kernel_size, stride)``: pad ``kernel_size - 1`` pixels
    after (right, bottom; circularly by default) so that the size is kept, max pool with stride 1,
    optionally blur (binomial, same padding mode; ``filter_size = 1`` = no blur, at most
    :data:`shiftlab.nn.blurpool.MAX_FILTER_SIZE`), then :class:`APSDownsample`. Keeps the circular
    equivariance that makes APS exact.
    """

    def __init__(self, kernel_size: int = 2, stride: int = 2, filter_size: int = 1,
                 pad_mode: Literal["circular", "zeros", "replicate"] = "circular", p: float = 2.0) -> None:
        super().__init__()
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
            raise ValueError(f"kernel_size must be a positive int, got {kernel_size!r}")
        if pad_mode not in ("circular", "zeros", "replicate"):
            raise ValueError(f"pad_mode must be 'circular', 'zeros' or 'replicate', got {pad_mode!r}")
        filter_size = _check_size(filter_size)  # 0 or less used to mean "no blur" silently
        self.kernel_size, self.pad_mode = kernel_size, pad_mode
        self.max = nn.MaxPool2d(kernel_size, stride=1)
        self.blur = BlurPool2d(filter_size, 1, "circular" if pad_mode == "circular" else "replicate") \
            if filter_size > 1 else nn.Identity()
        self.aps = APSDownsample(stride, p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_maps(x)
        k = self.kernel_size - 1
        if k:
            x = F.pad(x, (0, k, 0, k)) if self.pad_mode == "zeros" else F.pad(x, (0, k, 0, k), mode=self.pad_mode)
        return self.aps(self.blur(self.max(x)))


class CircularNet(nn.Module):
    """A small all-circular CNN with a global-average-pool head, to compare downsampling layers:

    ``[conv3x3 (circular pad) -> ReLU -> pool] x len(channels)`` -> global average -> linear.

    Args:
        pool: ``"aps"`` (:class:`APSMaxPool2d`, exact invariance), ``"max"`` (``MaxPool2d(2, 2)``),
            ``"blur"`` (max stride 1 with circular pad, circular binomial blur, subsample 2).
        channels: output channels of each stage.
        in_channels, classes: input channels and number of outputs.
        filter_size: blur size for ``"blur"``.
        aps_filter_size: optional circular blur before APS (Chaman & Dokmanic's APS + LPF); 1 = none.
    """

    POOLS = ("aps", "max", "blur")

    def __init__(self, pool: str = "aps", channels: tuple[int, ...] = (8, 16), in_channels: int = 1,
                 classes: int = 10, filter_size: int = 3, aps_filter_size: int = 1) -> None:
        super().__init__()
        if pool not in self.POOLS:
            raise ValueError(f"pool must be one of {self.POOLS}, got {pool!r}")
        layers: list[nn.Module] = []
        c_in = in_channels
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1, padding_mode="circular"), nn.ReLU()]
            if pool == "aps":
                layers.append(APSMaxPool2d(2, 2, aps_filter_size))
            elif pool == "max":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [_CircularMax(), BlurPool2d(filter_size, 2, "circular")]
            c_in = c
        self.pool = pool
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(-2, -1)))


class _CircularMax(nn.Module):
    """2x2 max pool with stride 1 that keeps the size (one circular pixel right and bottom)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(F.pad(x, (0, 1, 0, 1), mode="circular"), 2, stride=1)


@torch.no_grad()
def circular_shift_outputs(model: nn.Module, x: torch.Tensor, shifts: torch.Tensor, batch: int = 2048) -> torch.Tensor:
    """Outputs ``[S, N, K]`` of ``model`` for ``x [N, C, H, W]`` circularly shifted by each ``(dx, dy)``
    of ``shifts [S, 2]`` (one gather per chunk, see :func:`shiftlab.translate_grid`)."""
    check_shifts(shifts)
    if x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty [N, C, H, W] batch, got shape {tuple(x.shape)}")
    outs = []
    per = max(1, batch // max(1, x.shape[0]))
    for i in range(0, shifts.shape[0], per):
        sh = shifts[i : i + per]
        moved = translate_grid(x, sh, fill="circular")
        outs.append(model(moved.reshape(-1, *x.shape[1:])).reshape(sh.shape[0], x.shape[0], -1))
    return torch.cat(outs)
