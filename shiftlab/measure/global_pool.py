"""Where invariance comes from: global pooling over an equivariant representation.

If ``r`` is convolutional (equivariant, no stride) and the shift is circular, then
``sum_p r(S x)[p] = sum_p r(x)[p - t] = sum_p r(x)[p]``: the global sum (or mean) is exactly
invariant. A stride breaks the argument, because ``r`` is then only equivariant to shifts
that are multiples of the stride.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from shiftlab.core.shifts import Fill, translate

__all__ = ["DEAD_TOL", "global_sum", "SumChange", "relative_sum_change", "tiny_classifier"]


#: A channel whose mean |global sum| is at most this has no scale to measure changes against:
#: it is dead (a ReLU that never fires on these images) and is left out. Shared with
#: :mod:`shiftlab.measure.probe`.
DEAD_TOL = 1e-6

_PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]  # nn.Conv2d's


def global_sum(r: torch.Tensor) -> torch.Tensor:
    """Sum over the two spatial axes: ``[N, C, H, W] -> [N, C]``."""
    if r.ndim != 4:
        raise ValueError(f"r must have shape [N, C, H, W], got {tuple(r.shape)}")
    return r.sum(dim=(-2, -1))


@dataclass(frozen=True)
class SumChange:
    """How much the global sums of a representation move under shifts.

    Attributes:
        change: ``[S, N, K]``: for each shift, image and *live* channel,
            ``|Σ f(S x) - Σ f(x)|`` divided by the channel's scale.
        scale: ``[K]``: each live channel's mean ``|Σ f(x)|`` over the unshifted images.
        live: ``[C]`` bool: which of the representation's channels are live (mean ``|Σ f(x)|``
            above the tolerance); dead channels (e.g. a ReLU that never fires on these images)
            have no scale to compare with and are left out of ``change``.
    """

    change: torch.Tensor
    scale: torch.Tensor
    live: torch.Tensor

    @property
    def n_dead(self) -> int:
        """How many channels were left out because they are dead."""
        return int((~self.live).sum())


@torch.no_grad()
def relative_sum_change(
    f: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    shifts: torch.Tensor,
    fill: Fill = "circular",
    dead_tol: float = DEAD_TOL,
) -> SumChange:
    """The change of each channel's global sum under each shift, relative to the channel's
    typical size: ``|Σ f(S x)[n, k] - Σ f(x)[n, k]| / mean_n |Σ f(x)[n, k]|``.

    Dividing by the mean over the images (not by each image's own sum) keeps the measure
    finite when one image happens to give a zero sum (a ReLU channel that is silent on it).
    Channels whose mean ``|Σ f(x)|`` is at most ``dead_tol`` are dead and left out.

    Args:
        f: a map from ``[N, C, H, W]`` images to ``[N, K, h, w]`` feature maps.
        x: the images (at least one).
        shifts: ``[S, 2]`` integer ``(dx, dy)`` (at least one).
        fill: how the shift fills the border (``"circular"`` for the exact argument).
        dead_tol: the largest mean ``|Σ f(x)|`` that counts as a dead channel.

    Returns:
        a :class:`SumChange` with ``change`` of shape ``[S, N, K_live]``.

    Raises:
        ValueError: on malformed shifts, no images, or when every channel is dead.
    """
    if shifts.ndim != 2 or shifts.shape[1] != 2 or len(shifts) == 0:
        raise ValueError(f"shifts must have shape [S, 2] with S >= 1, got {tuple(shifts.shape)}")
    if len(x) == 0:
        raise ValueError("x holds no images")
    base = global_sum(f(x))                                 # [N, K]
    scale = base.abs().mean(dim=0)                          # [K]
    live = scale > dead_tol
    if not bool(live.any()):
        raise ValueError("every channel is dead on these images: no relative change is defined")
    out = []
    for dx, dy in shifts.tolist():
        moved = global_sum(f(translate(x, dx, dy, fill)))   # [N, K]
        out.append((moved - base).abs()[:, live] / scale[live])
    return SumChange(change=torch.stack(out), scale=scale[live], live=live)


class _Tiny(nn.Module):
    def __init__(self, head: str, stride: int, padding_mode: _PaddingMode, classes: int, size: int) -> None:
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
    padding_mode: _PaddingMode = "circular",
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
