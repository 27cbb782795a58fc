"""The three MNIST models of the course, identical except for pooling.

In the lineage of Kauderer-Abrams (2017; his C, CP, CPCP):

``A``  conv(1->4) ReLU, conv(4->8) ReLU, flatten (8*28*28), FC 64 ReLU, FC 10
``B``  conv(1->4) ReLU, **maxpool 2**, conv(4->8) ReLU, flatten (8*14*14), FC 64 ReLU, FC 10
``C``  conv(1->4) ReLU, **maxpool 2**, conv(4->8) ReLU, **maxpool 2**, flatten (8*7*7), FC 64 ReLU, FC 10

Every convolution is 3x3 with stride 1 and ``"same"`` zero padding (padding 1), so it is
translation equivariant up to the border; the max pools are 2x2 with stride 2. Removing the
pools from C gives B (one pool) and A (none): the only other difference is the width of the
first fully connected layer, which has to match the flattened feature map. The widths
(4 and 8 channels by default) are deliberately small so that the full reproduction (18 models)
trains on a 2-core CPU; they still reach about 98 % on MNIST.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["MODEL_NAMES", "MnistNet", "make_model", "describe_model", "count_parameters"]

MODEL_NAMES: tuple[str, ...] = ("A", "B", "C")

_POOLS = {"A": (False, False), "B": (True, False), "C": (True, True)}


class MnistNet(nn.Module):
    """conv-[pool]-conv-[pool]-FC-FC for 1x28x28 digits; see the module docstring.

    Args:
        name: ``"A"``, ``"B"`` or ``"C"`` (which pools are present).
        channels: output channels of the two convolutions.
        hidden: width of the hidden fully connected layer.
        image_size: side of the (square) input images.
    """

    def __init__(self, name: str = "C", channels: tuple[int, int] = (4, 8), hidden: int = 64,
                 image_size: int = 28) -> None:
        super().__init__()
        if name not in _POOLS:
            raise ValueError(f"model name must be one of {MODEL_NAMES}, got {name!r}")
        if len(channels) != 2 or min(channels) < 1:
            raise ValueError(f"channels must be two positive ints, got {channels!r}")
        pool1, pool2 = _POOLS[name]
        side = image_size // (2 if pool1 else 1) // (2 if pool2 else 1)
        if side < 1:
            raise ValueError(f"image_size {image_size} is too small for model {name}")
        c1, c2 = channels
        layers: list[nn.Module] = [nn.Conv2d(1, c1, 3, padding=1), nn.ReLU()]
        if pool1:
            layers.append(nn.MaxPool2d(2))
        layers += [nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU()]
        if pool2:
            layers.append(nn.MaxPool2d(2))
        self.name = name
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c2 * side * side, hidden), nn.ReLU(),
                                  nn.Linear(hidden, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[N, 10]`` for images ``[N, 1, H, W]``."""
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"expected images of shape [N, 1, H, W], got {tuple(x.shape)}")
        return self.head(self.features(x))


def make_model(name: str, channels: tuple[int, int] = (4, 8), hidden: int = 64) -> MnistNet:
    """Build model ``"A"``, ``"B"`` or ``"C"`` (weights from the current torch seed)."""
    return MnistNet(name, channels=channels, hidden=hidden)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def describe_model(model: nn.Module, image_size: int = 28) -> list[tuple[str, str, int]]:
    """One row per layer: ``(layer, output shape, parameters)``, probed with a dummy input."""
    rows: list[tuple[str, str, int]] = []
    x = torch.zeros(1, 1, image_size, image_size, device=next(model.parameters()).device)
    rows.append(("input", "x".join(map(str, x.shape[1:])), 0))
    seq = list(getattr(model, "features", [])) + list(getattr(model, "head", []))
    if not seq:
        raise TypeError("describe_model needs a model with .features and .head Sequential blocks")
    with torch.no_grad():
        for layer in seq:
            x = layer(x)
            n = sum(p.numel() for p in layer.parameters())
            rows.append((repr(layer).split("(")[0] + _args(layer), "x".join(map(str, x.shape[1:])), n))
    return rows


def _args(layer: nn.Module) -> str:
    if isinstance(layer, nn.Conv2d):
        return f" {layer.in_channels}->{layer.out_channels}, {layer.kernel_size[0]}x{layer.kernel_size[1]}, pad {layer.padding[0]}"
    if isinstance(layer, nn.MaxPool2d):
        return f" {layer.kernel_size}x{layer.kernel_size}, stride {layer.stride}"
    if isinstance(layer, nn.Linear):
        return f" {layer.in_features}->{layer.out_features}"
    return ""
