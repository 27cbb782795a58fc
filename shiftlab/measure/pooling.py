"""Max pooling and (partial) translation invariance.

Three pieces, from a toy to a measurement:

* :func:`l_shape_example`: the articles' "ㄱ" pattern, a matching detector and 2x2 max pooling;
* :func:`fig98_example`: Goodfellow, Bengio & Courville, *Deep Learning*, Fig. 9.8
  (width-3, stride-1 max pooling over a row of detector values);
* :func:`pooled_unchanged_fraction`: on real feature maps, how many pooled values survive a
  shift, as a function of the shift, the pool size and the stride.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from shiftlab.core.shifts import translate

__all__ = [
    "max_pool_1d",
    "Fig98",
    "fig98_example",
    "LShapeExample",
    "l_shape_example",
    "pooled_unchanged_fraction",
    "unchanged_sweep",
]


def max_pool_1d(values: torch.Tensor, width: int = 3, stride: int = 1) -> torch.Tensor:
    """Max pooling of a 1-D signal with windows centred on every ``stride``-th sample.

    Windows are truncated at the borders (as in the *Deep Learning* book's figure), so the
    output has ``ceil(len / stride)`` values.
    """
    if values.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {tuple(values.shape)}")
    if width < 1 or width % 2 == 0:
        raise ValueError(f"width must be a positive odd number, got {width}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    pad = width // 2
    padded = F.pad(values[None, None], (pad, pad), value=float("-inf"))
    return F.max_pool1d(padded, width, stride=1)[0, 0][::stride]


@dataclass
class Fig98:
    """Detector and pooled rows before and after a 1-sample shift to the right."""

    detector: torch.Tensor
    detector_shifted: torch.Tensor
    pooled: torch.Tensor
    pooled_shifted: torch.Tensor

    @property
    def detector_changed(self) -> int:
        return int((self.detector != self.detector_shifted).sum())

    @property
    def pooled_changed(self) -> int:
        return int((self.pooled != self.pooled_shifted).sum())


def fig98_example(width: int = 3, stride: int = 1) -> Fig98:
    """Recompute *Deep Learning* Fig. 9.8.

    The detector row of the book is ``0.1, 1, 0.2, 0.1`` (with ``0.3`` just outside it on the
    left). Shifting the input one step right moves every value one place; the pooled rows are
    computed here, not copied.
    """
    signal = torch.tensor([0.3, 0.1, 1.0, 0.2, 0.1])  # the book's values, one extra on the left
    detector = signal[1:]
    detector_shifted = signal[:-1]  # every value moved one place to the right
    return Fig98(
        detector=detector,
        detector_shifted=detector_shifted,
        pooled=max_pool_1d(detector, width, stride),
        pooled_shifted=max_pool_1d(detector_shifted, width, stride),
    )


@dataclass
class LShapeExample:
    """The "ㄱ" toy: images, detector responses and pooled outputs before/after a shift."""

    image: torch.Tensor
    image_shifted: torch.Tensor
    kernel: torch.Tensor
    detector: torch.Tensor
    detector_shifted: torch.Tensor
    pooled: torch.Tensor
    pooled_shifted: torch.Tensor


@torch.no_grad()
def l_shape_example(dx: int = 0, dy: int = 1, size: int = 8, pool: int = 2) -> LShapeExample:
    """An "ㄱ" (a bar across and a stroke down on the right) in the top-left corner.

    The detector is the pattern itself (cross-correlation, "valid" padding) with a bias and a
    ReLU that let only a complete match through (``ReLU(x * k - (sum(k) - 1))``: 1 on a full
    match, 0 elsewhere), followed by ``pool x pool`` max pooling with stride ``pool``. With the default
    one-pixel downward
    shift, the detector's peak moves but stays inside the same pooling window, so the pooled
    output is unchanged.
    """
    if size < 6:
        raise ValueError(f"size must be at least 6, got {size}")
    kernel = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    image = torch.zeros(size, size)
    image[0:3, 0:3] = kernel
    shifted = translate(image, dx, dy, "zero")
    k = kernel[None, None]
    bias = torch.tensor([1.0 - float(kernel.sum())])
    det = F.relu(F.conv2d(image[None, None], k, bias))[0, 0]
    det_s = F.relu(F.conv2d(shifted[None, None], k, bias))[0, 0]
    return LShapeExample(
        image=image,
        image_shifted=shifted,
        kernel=kernel,
        detector=det,
        detector_shifted=det_s,
        pooled=F.max_pool2d(det[None, None], pool)[0, 0],
        pooled_shifted=F.max_pool2d(det_s[None, None], pool)[0, 0],
    )


@torch.no_grad()
def pooled_unchanged_fraction(
    features: torch.Tensor,
    shift: int,
    pool_size: int,
    stride: int,
    axis: str = "x",
    atol: float = 1e-6,
) -> dict[str, float]:
    """How many max-pooled values survive a shift of the feature maps.

    The maps are shifted along one axis by ``shift`` pixels (zero fill) and pooled (``pool_size``,
    ``stride``, no padding). Two comparisons, both restricted to *active* outputs (non-zero
    before or after, so that empty background does not count as "unchanged"):

    ``same_position``
        pooled value at the same output position unchanged (invariance, as in Fig. 9.8);
    ``aligned``
        pooled value unchanged after moving the old output by a whole number of output cells,
        ``floor(shift / stride)`` or ``ceil(shift / stride)``, whichever matches more (equivariance
        on the coarse grid; for shifts that are multiples of the stride it is exact away from
        the border).

    Args:
        features: ``[N, C, H, W]`` non-negative feature maps (e.g. :func:`edge_features`).

    Returns:
        ``{"same_position": f1, "aligned": f2}`` as fractions in [0, 1].
    """
    if features.ndim != 4:
        raise ValueError(f"features must have shape [N, C, H, W], got {tuple(features.shape)}")
    if pool_size < 1 or stride < 1:
        raise ValueError("pool_size and stride must be >= 1")
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    dx, dy = (shift, 0) if axis == "x" else (0, shift)
    before = F.max_pool2d(features, pool_size, stride)
    after = F.max_pool2d(translate(features, dx, dy, "zero"), pool_size, stride)

    def moved(k: int) -> torch.Tensor:
        return translate(before, k if axis == "x" else 0, 0 if axis == "x" else k, "zero") if k else before

    def frac(ref: torch.Tensor) -> float:
        active = (ref > atol) | (after > atol)
        same = ((ref - after).abs() <= atol) & active
        return float(same.sum()) / max(int(active.sum()), 1)

    ks = {shift // stride, -(-shift // stride)}
    return {"same_position": frac(before), "aligned": max(frac(moved(k)) for k in ks)}


def unchanged_sweep(
    features: torch.Tensor,
    shifts: Sequence[int],
    pools: Sequence[tuple[int, int]],
    axis: str = "x",
) -> list[dict[str, float]]:
    """:func:`pooled_unchanged_fraction` for every shift and every ``(pool_size, stride)``.

    Returns:
        One row per (pool, stride, shift): ``{"pool", "stride", "shift", "same_position", "aligned"}``.
    """
    if not shifts or not pools:
        raise ValueError("shifts and pools must not be empty")
    rows: list[dict[str, float]] = []
    for pool_size, stride in pools:
        for s in shifts:
            r = pooled_unchanged_fraction(features, s, pool_size, stride, axis=axis)
            rows.append({"pool": pool_size, "stride": stride, "shift": s, **r})
    return rows
