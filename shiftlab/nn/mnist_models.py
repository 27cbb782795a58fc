"""The three MNIST models of the course, identical except for pooling.

In the lineage of Kauderer-Abrams (2017; his C, CP, CPCP):

``A``  conv(1->4) ReLU, conv(4->8) ReLU, flatten (8*28*28), FC 64 ReLU, FC 10
``B``  conv(1->4) ReLU, **maxpool 2**, conv(4->8) ReLU, flatten (8*14*14), FC 64 ReLU, FC 10
``C``  conv(1->4) ReLU, **maxpool 2**, conv(4->8) ReLU, **maxpool 2**, flatten (8*7*7), FC 64 ReLU, FC 10

Every convolution is 3x3 with stride 1 and ``"same"`` zero padding (padding 1), so it is
translation equivariant up to the border; the max pools are 2x2 with stride 2. Removing the
pools from C gives B (one pool) and A (none): the only other difference is the width of the
first fully connected layer, which has to match the flattened feature map. The layer's
defaults (4 and 8 channels, FC 64) are the narrow networks of quick mode, which train in
seconds on a CPU and still reach about 98 % on MNIST; the chapters' headline experiment uses
the lineage's widths, 32 and 64 channels and FC 128
(:data:`shiftlab.studies.mnist_pooling.HEADLINE_WIDTH`).

The pooling layer is a constructor argument (as timm's models take their anti-aliasing layer):
``make_model("C", pool="blur")`` is Zhang's BlurPool-C (each ``MaxPool2d(2)`` becomes max
stride 1 -> binomial blur -> subsample, :class:`shiftlab.nn.blurpool.AntiAliasedMaxPool2d`),
``pool="aps"`` is APS-C (:class:`shiftlab.nn.aps.APSMaxPool2d`), and any zero-argument callable
returning a module works too. Pools carry no parameters, so for a given seed every variant
starts from exactly model C's initial weights.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import nn

from shiftlab.nn.aps import APSMaxPool2d
from shiftlab.nn.blurpool import AntiAliasedMaxPool2d, BlurPool2d

__all__ = [
    "HEADS",
    "MODEL_NAMES",
    "PADDINGS",
    "POOLS",
    "VARIANTS",
    "MnistNet",
    "make_model",
    "make_variant",
    "pool_factory",
    "describe_model",
    "count_parameters",
]

MODEL_NAMES: tuple[str, ...] = ("A", "B", "C")

#: the named pooling layers of :func:`make_model`
POOLS: tuple[str, ...] = ("max", "blur", "aps")

#: the variants of model C trained in the sampling-theorem chapter, and their ``pool``
VARIANTS: tuple[str, ...] = ("BlurPool-C", "APS-C")
_VARIANT_POOL = {"BlurPool-C": "blur", "APS-C": "aps", "C": "max"}

PoolFactory = Callable[[], nn.Module]
PaddingMode = Literal["zeros", "circular"]


#: the conv padding modes of :class:`MnistNet` and the heads
PADDINGS: tuple[str, ...] = ("zeros", "circular")
HEADS: tuple[str, ...] = ("fc", "gap")


def pool_factory(pool: str | PoolFactory = "max", padding_mode: PaddingMode = "zeros") -> PoolFactory:
    """A zero-argument callable that builds one 2x downsampling layer: ``"max"``
    (``MaxPool2d(2)``), ``"blur"`` (Zhang's max -> Tri-3 blur -> subsample, reflect padding;
    circular padding when ``padding_mode="circular"``), ``"aps"`` (circular-padded max stride 1
    -> adaptive polyphase sampling), or a callable."""
    if padding_mode not in PADDINGS:
        raise ValueError(f"padding_mode must be one of {PADDINGS}, got {padding_mode!r}")
    if callable(pool):
        return pool
    if pool == "max":
        return lambda: nn.MaxPool2d(2)
    if pool == "blur":
        if padding_mode == "circular":  # max stride 1 over a circularly padded map, then blur
            return lambda: nn.Sequential(nn.CircularPad2d((0, 1, 0, 1)), nn.MaxPool2d(2, stride=1),
                                         BlurPool2d(3, 2, pad_mode="circular"))
        return lambda: AntiAliasedMaxPool2d(2, 2, filter_size=3, pad_mode="reflect")
    if pool == "aps":
        return lambda: APSMaxPool2d(2, 2, filter_size=1)
    raise ValueError(f"pool must be one of {POOLS} or a callable returning a module, got {pool!r}")

_POOLS = {"A": (False, False), "B": (True, False), "C": (True, True)}


def _is_int(value: object) -> bool:
    """An int or a NumPy integer, not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_arguments(name: Any, channels: Any, hidden: Any, image_size: Any, head: Any) -> None:
    """ValueError, saying what is accepted, for a bad argument of :class:`MnistNet` (``pool``
    and ``padding_mode`` are checked by :func:`pool_factory`)."""
    if not isinstance(name, str) or name not in _POOLS:
        raise ValueError(f"model name must be one of {MODEL_NAMES}, got {name!r}")
    if (not isinstance(channels, (tuple, list)) or len(channels) != 2
            or not all(_is_int(c) and c >= 1 for c in channels)):
        raise ValueError(f"channels must be two positive ints (the output channels of the two convolutions), "
                         f"e.g. (4, 8), got {channels!r}")
    if not _is_int(hidden) or hidden < 1:
        raise ValueError(f"hidden must be a positive int (the width of the hidden FC layer), e.g. 64, got {hidden!r}")
    if not _is_int(image_size) or image_size < 1:
        raise ValueError(f"image_size must be a positive int (the side of the square input images), e.g. 28, "
                         f"got {image_size!r}")
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")


class MnistNet(nn.Module):
    """conv-[pool]-conv-[pool]-FC-FC for 1x28x28 digits; see the module docstring.

    Input: ``[N, 1, H, W]`` images. With the ``"fc"`` head the first FC layer is sized for the
    feature map of ``image_size x image_size`` images (``8 x 7 x 7`` for model C at the default
    widths), so ``forward`` takes those (a few px more, which the pools' floor division drops,
    also give that map) and refuses others, with a message saying so. The ``"gap"`` head
    averages the last map, so any size goes that the pools can halve: with ``pool="max"``,
    ``H, W >= 2 ** (number of pools)`` (1, 2 or 4 px for A, B, C), checked here; the blur and APS
    pools have their own limits (reflect padding needs maps over 1 px, APS even sides at each
    pool) and say so.

    Args:
        name: ``"A"``, ``"B"`` or ``"C"`` (which pools are present).
        channels: output channels of the two convolutions (two positive ints).
        hidden: width of the hidden fully connected layer (a positive int).
        image_size: side of the (square) input images the FC head is sized for (a positive int).
        pool: the downsampling layer at each pooling position (see :func:`pool_factory`); it
            must halve the side like ``MaxPool2d(2)``.
        padding_mode: ``"zeros"`` (the course's models) or ``"circular"`` (the convolutions,
            and BlurPool's blur, wrap around: the network lives on a torus).
        head: ``"fc"`` (flatten -> FC, the course's models) or ``"gap"`` (global average pool
            -> FC: the head is invariant to any circular shift of the last feature map).
    """

    def __init__(self, name: str = "C", channels: tuple[int, int] = (4, 8), hidden: int = 64,
                 image_size: int = 28, pool: str | PoolFactory = "max", padding_mode: PaddingMode = "zeros",
                 head: str = "fc") -> None:
        super().__init__()
        _check_arguments(name, channels, hidden, image_size, head)
        (c1, c2), hidden, image_size = (int(c) for c in channels), int(hidden), int(image_size)
        pool1, pool2 = _POOLS[name]
        side = image_size // (2 if pool1 else 1) // (2 if pool2 else 1)
        if side < 1:
            raise ValueError(f"image_size {image_size} is too small for model {name}: its {pool1 + pool2} pools "
                             f"need at least {2 ** (pool1 + pool2)} px")
        make_pool = pool_factory(pool, padding_mode)
        layers: list[nn.Module] = [nn.Conv2d(1, c1, 3, padding=1, padding_mode=padding_mode), nn.ReLU()]
        if pool1:
            layers.append(make_pool())
        layers += [nn.Conv2d(c1, c2, 3, padding=1, padding_mode=padding_mode), nn.ReLU()]
        if pool2:
            layers.append(make_pool())
        self.name = name
        self.padding_mode, self.head_kind = padding_mode, head
        self.image_size, self.n_pools = image_size, pool1 + pool2
        # the smallest side forward takes before it runs the features: max pooling (with the GAP head)
        # needs 2 px per pool; the other pools check their own inputs, the FC head its feature map
        self._min_side = 2 ** self.n_pools if pool == "max" and head == "gap" else 1
        self._fc_map = torch.Size((c2, side, side))  # the feature map the FC head is sized for
        self.features = nn.Sequential(*layers)
        flat: list[nn.Module] = [nn.Flatten()] if head == "fc" else [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.head = nn.Sequential(*flat, nn.Linear(c2 * side * side if head == "fc" else c2, hidden),
                                  nn.ReLU(), nn.Linear(hidden, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[N, 10]`` for images ``[N, 1, H, W]`` (which sizes: see the class docstring).

        The size checks compare shapes only (no device sync), so they cost nothing next to the
        convolutions."""
        # the shape checks are skipped while torch.jit.trace records (sizes are traced values there, and
        # a trace is specific to its input's shape anyway)
        check = not torch.jit.is_tracing()
        if x.ndim != 4 or (check and x.shape[1] != 1):
            raise ValueError(f"model {self.name} takes images of shape [N, 1, H, W], got {list(x.shape)}")
        if check and min(x.shape[-2:]) < self._min_side:
            raise ValueError(self._size_error(x, None))
        f = self.features(x)
        if check and self.head_kind == "fc" and f.shape[1:] != self._fc_map:
            raise ValueError(self._size_error(x, f))
        return self.head(f)

    def _size_error(self, x: torch.Tensor, features: torch.Tensor | None) -> str:
        """What :meth:`forward` says about images ``x`` of a size it does not take."""
        if self.head_kind == "gap":
            why = f"each of its {self.n_pools} max pools halves the side" if self._min_side > 1 else "not empty"
            return (f"model {self.name} with a GAP head takes images [N, 1, H, W] with H, W >= {self._min_side} "
                    f"({why}); got {list(x.shape)}")
        s = self.image_size
        got = "empty images" if features is None else f"whose feature map is {'x'.join(map(str, features.shape[1:]))}"
        return (f"model {self.name} with an FC head takes [N, 1, {s}, {s}] images (its first FC layer is sized for "
                f"their {'x'.join(map(str, self._fc_map))} feature map); got {list(x.shape)}, {got}. Resize or pad "
                f"the images to {s}x{s}, or for other sizes use head='gap' (global average pooling)")


def make_model(name: str, channels: tuple[int, int] = (4, 8), hidden: int = 64,
               pool: str | PoolFactory = "max", padding_mode: PaddingMode = "zeros", head: str = "fc") -> MnistNet:
    """Build model ``"A"``, ``"B"`` or ``"C"`` (weights from the current torch seed) with the
    given pooling layer (``"max"``, ``"blur"``, ``"aps"`` or a factory; see :func:`pool_factory`),
    conv padding (``"zeros"`` or ``"circular"``) and head (``"fc"`` or ``"gap"``)."""
    return MnistNet(name, channels=channels, hidden=hidden, pool=pool, padding_mode=padding_mode, head=head)


def make_variant(name: str, channels: tuple[int, int] = (4, 8), hidden: int = 64,
                 padding_mode: PaddingMode = "zeros", head: str = "fc") -> MnistNet:
    """``"BlurPool-C"`` (``make_model("C", pool="blur")``), ``"APS-C"`` (``pool="aps"``), or
    ``"C"`` itself (the reference); ``model.name`` says which (``C-blur3``, ``C-aps``, ``C``).
    ``padding_mode`` and ``head`` are passed to :class:`MnistNet`."""
    if name not in _VARIANT_POOL:
        raise ValueError(f"variant must be one of {VARIANTS + ('C',)}, got {name!r}")
    model = make_model("C", channels=channels, hidden=hidden, pool=_VARIANT_POOL[name],
                       padding_mode=padding_mode, head=head)
    model.name = {"BlurPool-C": "C-blur3", "APS-C": "C-aps", "C": "C"}[name]
    return model


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
        k, pad = layer.kernel_size, layer.padding[0]
        return f" {layer.in_channels}->{layer.out_channels}, {k[0]}x{k[1]}, pad {pad}"
    if isinstance(layer, nn.MaxPool2d):
        return f" {layer.kernel_size}x{layer.kernel_size}, stride {layer.stride}"
    if isinstance(layer, nn.Linear):
        return f" {layer.in_features}->{layer.out_features}"
    return ""
