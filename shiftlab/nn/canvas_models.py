"""The two networks of the learned-invariance chapter: one body, two heads.

:class:`CanvasNet` reads a ``[N, 1, canvas, canvas]`` image (a digit on a black canvas, see
:mod:`shiftlab.data.canvas`). Its body is a stack of stages ``conv 3x3 (zero padding 1) ->
BatchNorm (unless batchnorm=False) -> ReLU -> max pool 2``, one per entry of ``channels``; the
total stride is ``2 ** len(channels)`` (4 by default). The two heads differ only in how the
last feature map reaches the classifier:

``"fc"``   flatten -> FC ``hidden`` -> ReLU -> FC 10. Every position of the last feature map
           has its own weights, so a digit seen only at the centre drives weights that a digit
           elsewhere never touches: invariance must be *learned* from digits at many positions.
``"gap"``  global average pool -> FC ``hidden`` -> ReLU -> FC 10. The convolutions are
           translation *equivariant* (shifting the input shifts the feature map) and the average
           over all positions forgets where a feature was, so the head is *architecturally*
           (nearly) invariant. "Nearly": (i) the max pools are equivariant only to shifts by
           a multiple of their stride, so a shift by a multiple of the total stride
           ``2 ** len(channels)`` is exact and any other shift changes the pooling phase;
           (ii) zero padding makes the border special, so the content must stay away from the
           border. For shifts by a multiple of the total stride that keep the digit far from the
           border, the multiset of last-layer values is unchanged and the output is invariant
           up to rounding (``tests/test_canvas.py`` checks this in float64).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["CANVAS_HEADS", "CanvasNet"]

CANVAS_HEADS: tuple[str, ...] = ("fc", "gap")


class CanvasNet(nn.Module):
    """conv-BatchNorm-ReLU-pool stages, then an ``"fc"`` or ``"gap"`` head (see the module docstring).

    Args:
        head: ``"fc"`` (flatten -> FC, must learn invariance) or ``"gap"`` (global average pool
            -> FC, architecturally nearly invariant).
        channels: output channels of the conv stages (each stage halves the side).
        hidden: width of the hidden fully connected layer.
        canvas: side of the square input; must be divisible by ``2 ** len(channels)``.
        batchnorm: a BatchNorm after every convolution (False: the body is only convolutions,
            ReLUs and pools, e.g. to study it at random weights).
    """

    def __init__(self, head: str = "fc", channels: Sequence[int] = (16, 32), hidden: int = 64,
                 canvas: int = 56, batchnorm: bool = True) -> None:
        super().__init__()
        if head not in CANVAS_HEADS:
            raise ValueError(f"head must be one of {CANVAS_HEADS}, got {head!r}")
        chans = tuple(channels)
        if not chans or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in chans):
            raise ValueError(f"channels must be a non-empty sequence of positive ints, got {channels!r}")
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden must be a positive int, got {hidden!r}")
        stride = 2 ** len(chans)
        if isinstance(canvas, bool) or not isinstance(canvas, int) or canvas < stride or canvas % stride:
            raise ValueError(f"canvas must be a positive multiple of the total stride {stride}, got {canvas!r}")
        layers: list[nn.Module] = []
        c_in = 1
        for c in chans:
            layers += [nn.Conv2d(c_in, c, 3, padding=1), *([nn.BatchNorm2d(c)] if batchnorm else []),
                       nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c
        self.head_kind, self.channels, self.canvas, self.stride = head, chans, canvas, stride
        self.features = nn.Sequential(*layers)
        side = canvas // stride
        flat: list[nn.Module] = ([nn.Flatten()] if head == "fc"
                                 else [nn.AdaptiveAvgPool2d(1), nn.Flatten()])
        width = c_in * side * side if head == "fc" else c_in
        self.head = nn.Sequential(*flat, nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[N, 10]`` for canvases ``[N, 1, canvas, canvas]``."""
        if x.ndim != 4 or x.shape[1] != 1 or x.shape[2] != self.canvas or x.shape[3] != self.canvas:
            raise ValueError(f"expected images of shape [N, 1, {self.canvas}, {self.canvas}], got {tuple(x.shape)}")
        return self.head(self.features(x))
