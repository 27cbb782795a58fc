"""A small fully convolutional network with global pooling, with a choice of padding.

``depth`` 3x3 convolutions (stride 1, ReLU), a global max (or average) pool over all positions
and a linear layer. Nothing in it depends on position except the border, so it shows what the
padding alone tells the network (Kayhan & van Gemert, CVPR 2020):

``"circular"``
    every layer commutes with circular shifts and the global pool forgets position, so the
    logits are **exactly** the same for an image and every circular shift of it, at any weights:
    such a network cannot know where anything is;
``"zeros"``
    the zero border is a landmark: a filter whose window overlaps it sees the zeros, so units
    within the receptive-field reach of the border (``depth`` pixels for 3x3 filters) know they
    are near it;
``"reflect"``, ``"valid"`` (no padding)
    no added zeros, but the border is still where the image ends: what they reveal is measured.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

__all__ = ["PADDINGS", "PositionFCN"]

Padding = Literal["zeros", "circular", "reflect", "valid"]
PADDINGS: tuple[str, ...] = ("zeros", "circular", "reflect", "valid")


class PositionFCN(nn.Module):
    """``[conv3x3 -> ReLU] x depth -> global pool -> linear`` (see the module docstring)."""

    def __init__(self, padding: Padding = "zeros", channels: int = 16, depth: int = 3, pool: str = "max",
                 classes: int = 2) -> None:
        super().__init__()
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
        if pool not in ("max", "avg"):
            raise ValueError(f"pool must be 'max' or 'avg', got {pool!r}")
        if depth < 1 or channels < 1:
            raise ValueError("depth and channels must be positive")
        layers: list[nn.Module] = []
        for i in range(depth):
            conv = (nn.Conv2d(1 if i == 0 else channels, channels, 3) if padding == "valid" else
                    nn.Conv2d(1 if i == 0 else channels, channels, 3, padding=1, padding_mode=padding))
            layers += [conv, nn.ReLU()]
        self.padding, self.depth, self.pool = padding, depth, pool
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, classes)

    @property
    def receptive_field(self) -> int:
        """Side of the input window one output unit sees: ``2 * depth + 1``."""
        return 2 * self.depth + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[N, classes]`` for images ``[N, 1, H, W]``."""
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"expected images of shape [N, 1, H, W], got {tuple(x.shape)}")
        f = self.features(x)                                   # [N, C, H', W']
        g = f.amax(dim=(2, 3)) if self.pool == "max" else f.mean(dim=(2, 3))
        return self.head(g)
