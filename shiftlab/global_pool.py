"""Where invariance comes from: global pooling over an equivariant representation.

If ``r`` is convolutional (equivariant, no stride) and the shift is circular, then
``sum_p r(S x)[p] = sum_p r(x)[p - t] = sum_p r(x)[p]``: the global sum (or mean) is exactly
invariant. A stride breaks the argument, because ``r`` is then only equivariant to shifts
that are multiples of the stride.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

from .shifts import Fill, translate

__all__ = ["global_sum", "relative_sum_change", "tiny_classifier"]


def global_sum(r: torch.Tensor) -> torch.Tensor:
    """Sum over the two spatial axes: ``[N, C, H, W] -> [N, C]``."""
    if r.ndim != 4:
        raise ValueError(f"r must have shape [N, C, H, W], got {tuple(r.shape)}")
    return r.sum(dim=(-2, -1))


@torch.no_grad()
def relative_sum_change(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    shifts: torch.Tensor,
    fill: Fill = "circular",
    eps: float = 1e-12,
) -> torch.Tensor:
    """``|Σ f(S x) - Σ f(x)| / |Σ f(x)|`` per shift, image and channel.

    Args:
        f: a map from ``[N, C, H, W]`` images to ``[N, K, h, w]`` feature maps.
        x: the images.
        shifts: ``[S, 2]`` integer ``(dx, dy)``.

    Returns:
        ``[S, N, K]`` relative changes of the global sums.
    """
    if shifts.ndim != 2 or shifts.shape[1] != 2:
        raise ValueError(f"shifts must have shape [S, 2], got {tuple(shifts.shape)}")
    base = global_sum(f(x))
    out = []
    for dx, dy in shifts.tolist():
        moved = global_sum(f(translate(x, dx, dy, fill)))
        out.append((moved - base).abs() / (base.abs() + eps))
    return torch.stack(out)


class _Tiny(nn.Module):
    def __init__(self, head: str, stride: int, padding_mode: str, classes: int, size: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=stride, padding=1, padding_mode=padding_mode),
            nn.ReLU(),
            nn.Conv2d(8, 16, 3, padding=1, padding_mode=padding_mode),
            nn.ReLU(),
        )
        self.head_kind = head
        side = -(-size // stride)
        self.head = nn.Linear(16 * side * side if head == "fc" else 16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.features(x)
        z = r.flatten(1) if self.head_kind == "fc" else r.mean(dim=(-2, -1))
        return self.head(z)


def tiny_classifier(
    head: Literal["fc", "gap"] = "gap",
    stride: int = 1,
    padding_mode: str = "circular",
    classes: int = 10,
    size: int = 28,
    seed: int = 0,
) -> nn.Module:
    """A two-layer CNN with either a fully connected head on the flattened maps (``"fc"``) or
    global average pooling followed by a linear layer (``"gap"``), randomly initialised (seeded),
    in eval mode. Used to show which heads are invariant by construction.
    """
    if head not in ("fc", "gap"):
        raise ValueError(f"head must be 'fc' or 'gap', got {head!r}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    torch.manual_seed(seed)
    return _Tiny(head, stride, padding_mode, classes, size).eval()
