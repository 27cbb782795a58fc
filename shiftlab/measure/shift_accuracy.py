"""Accuracy under shifts: the (dx, dy) grid, the article's columns, the sensitivity map.

Protocol (used by both MNIST chapters). Every test digit is moved by every integer shift
``(dx, dy)`` of a grid (default ``[-8, 8]^2``, 289 shifts) with **zero fill, no wrap-around**
(:func:`shiftlab.translate_grid`); for a chunk of digits all their shifted copies go through
the model in **one forward pass**. From the resulting accuracy grid:

``default``
    accuracy on the unshifted test digits (the full 10,000 in full mode);
``shift min``
    the mean accuracy over the 8 gentlest non-zero shifts, the one-pixel neighbours
    ``(dx, dy) in {-1, 0, 1}^2 minus (0, 0)``;
``shift``
    the mean accuracy over the 48 non-zero shifts with ``|dx|, |dy| <= 3`` (3 px is 10 % of
    28 px rounded up: the range of the article's augmentation), each shift weighted equally.

Translation-sensitivity map (Kauderer-Abrams 2017): for each shift, the distance between the
final-layer representation (the 10 logits) of the shifted and of the original digit, divided
by the norm of the original's, ``||f(S x) - f(x)|| / ||f(x)||``, averaged over the digits.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from shiftlab.core.progress import tqdm
from shiftlab.core.shifts import Fill, check_shifts, shift_grid, translate_grid
from shiftlab.measure.shift_metrics import consistency

__all__ = [
    "GridResult",
    "iter_shift_logits",
    "shift_predictions",
    "evaluate_shift_grid",
    "grid_accuracy",
    "article_columns",
    "accuracy_by_ring",
    "SHIFT_MIN_RADIUS",
    "SHIFT_RADIUS",
    "shift_consistency",
    "flipping_digits",
]

SHIFT_MIN_RADIUS = 1
SHIFT_RADIUS = 3


@dataclass
class GridResult:
    """Results over a grid of shifts.

    Attributes:
        shifts: ``[S, 2]`` integer ``(dx, dy)``, row-major in dy then dx (see
            :func:`shiftlab.shift_grid`).
        accuracy: ``[S]`` accuracy over the digits for each shift.
        sensitivity: ``[S]`` mean normalised logit distance to the unshifted digit.
        n_images: how many digits were shifted.
    """

    shifts: np.ndarray
    accuracy: np.ndarray
    sensitivity: np.ndarray
    n_images: int

    @property
    def max_shift(self) -> int:
        return int(np.abs(self.shifts).max())

    def as_image(self, values: np.ndarray | None = None) -> np.ndarray:
        """``values`` (default: accuracy) as a ``[k, k]`` image indexed ``[dy, dx]``."""
        v = self.accuracy if values is None else np.asarray(values)
        k = round(math.sqrt(v.shape[0]))
        if k * k != v.shape[0]:
            raise ValueError("the shifts are not a full square grid")
        return v.reshape(k, k)

    def at(self, dx: int, dy: int) -> float:
        """Accuracy at one shift."""
        hit = np.flatnonzero((self.shifts[:, 0] == dx) & (self.shifts[:, 1] == dy))
        if hit.size == 0:
            raise KeyError(f"shift ({dx}, {dy}) is not in the grid")
        return float(self.accuracy[hit[0]])

    def to_dict(self) -> dict:
        return {"shifts": self.shifts.tolist(), "accuracy": self.accuracy.tolist(),
                "sensitivity": self.sensitivity.tolist(), "n_images": self.n_images}

    @classmethod
    def from_dict(cls, d: dict) -> GridResult:
        return cls(np.asarray(d["shifts"], dtype=np.int64), np.asarray(d["accuracy"], dtype=np.float64),
                   np.asarray(d["sensitivity"], dtype=np.float64), int(d["n_images"]))


def _check_finite(images: torch.Tensor, name: str = "images") -> None:
    """ValueError when ``images`` holds NaN or infinite values, which no model classifies
    meaningfully (the comparison with the label fails, and the accuracy silently reads 0).
    One ``isfinite(...).all()`` per call (a single device sync); the counts only on failure."""
    if not (images.dtype.is_floating_point or images.dtype.is_complex):
        return
    finite = torch.isfinite(images)
    if bool(finite.all()):
        return
    bad = int((~finite).sum())
    per_image = (~finite).flatten(1).any(1)
    n_bad, first = int(per_image.sum()), int(per_image.nonzero()[0, 0])
    raise ValueError(
        f"{name} hold {bad} non-finite values (NaN or inf) of {images.numel()}, in {n_bad} of {images.shape[0]} "
        f"images (the first at index {first}); a model's accuracy on them means nothing. Pass finite images: "
        "check how they were made (e.g. a normalisation by a zero standard deviation, or torch.empty)"
    )


def iter_shift_logits(model: nn.Module, images: torch.Tensor, shifts: torch.Tensor, batch: int = 4096,
                      fill: Fill = "zero", progress: bool = False) -> Iterator[tuple[slice, torch.Tensor]]:
    """Logits for every digit under every shift, a chunk of digits at a time.

    All ``S`` shifts of ``max(1, batch // S)`` digits go through the model in one forward pass.
    The model is put in eval mode for the loop and restored afterwards.

    Yields:
        ``(rows, logits)``: the slice of ``images`` in the chunk and logits ``[S, b, classes]``.

    Raises:
        ValueError: no image, an image with NaN or infinite values, or no shift (before any
            forward pass).
    """

    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"images must be a non-empty [N, C, H, W] batch, got {tuple(images.shape)}")
    _check_finite(images)
    check_shifts(shifts)
    dev = next(model.parameters()).device
    shifts = shifts.to(dev)
    s, n = shifts.shape[0], images.shape[0]
    step = max(1, batch // s)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for i in tqdm(range(0, n, step), desc="shift grid", disable=not progress, leave=False):
                x = images[i : i + step].to(dev)
                b = x.shape[0]
                moved = translate_grid(x, shifts, fill=fill).reshape(s * b, *x.shape[1:])
                yield slice(i, i + b), model(moved).reshape(s, b, -1)
    finally:
        model.train(was_training)


def shift_predictions(model: nn.Module, images: torch.Tensor, shifts: torch.Tensor, batch: int = 4096,
                      fill: Fill = "zero") -> torch.Tensor:
    """Top-1 predictions ``[N, S]`` of ``model`` for every digit moved by every shift ``[S, 2]``."""
    return torch.cat([logits.argmax(-1).T.cpu() for _, logits in iter_shift_logits(model, images, shifts, batch, fill)])


@torch.no_grad()
def evaluate_shift_grid(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, max_shift: int = 8,
                        shifts: torch.Tensor | None = None, batch: int = 4096,
                        progress: bool = False) -> GridResult:
    """Accuracy and sensitivity of ``model`` for every shift of a grid (zero fill).

    Args:
        model: maps ``[N, 1, H, W]`` to logits ``[N, classes]``.
        images, labels: ``[N, 1, H, W]`` digits and ``[N]`` labels.
        max_shift: the grid ``[-max_shift, max_shift]^2`` (ignored when ``shifts`` is given).
        shifts: explicit ``[S, 2]`` shifts; must contain ``(0, 0)`` for the sensitivity map.
        batch: about how many shifted images go through the model per forward pass (all
            shifts of ``max(1, batch // S)`` digits at once).
        progress: show a tqdm.auto bar.

    Raises:
        ValueError: mismatched or empty images and labels, images with NaN or infinite values,
            labels that are not integer class indices, or shifts without ``(0, 0)``.
    """
    if images.ndim != 4 or labels.ndim != 1 or images.shape[0] != labels.shape[0] or images.shape[0] == 0:
        raise ValueError(f"need images [N, C, H, W] and labels [N] with N > 0, got {tuple(images.shape)}, "
                         f"{tuple(labels.shape)}")
    if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
        raise ValueError(f"labels must be integer class indices (e.g. torch.long), got dtype {labels.dtype}: "
                         "pass labels.long() if they hold whole numbers")  # NaN images: iter_shift_logits
    dev = next(model.parameters()).device
    grid = check_shifts(shift_grid(max_shift) if shifts is None else shifts).to(dev)
    zero = torch.nonzero((grid == 0).all(1)).flatten()
    if zero.numel() == 0:
        raise ValueError("the shifts must include (0, 0) (the reference for the sensitivity map)")
    s, n = grid.shape[0], images.shape[0]
    correct = torch.zeros(s, device=dev)
    dist = torch.zeros(s, device=dev)
    for rows, logits in iter_shift_logits(model, images, grid, batch, progress=progress):
        y = labels[rows].to(dev)
        correct += (logits.argmax(-1) == y[None]).sum(1)
        ref = logits[zero[0]]
        dist += ((logits - ref[None]).norm(dim=-1) / ref.norm(dim=-1).clamp_min(1e-12)[None]).sum(1)
    return GridResult(grid.cpu().numpy().astype(np.int64), (correct / n).double().cpu().numpy(),
                      (dist / n).double().cpu().numpy(), n)


def grid_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, max_shift: int = 8,
                  batch: int = 4096) -> np.ndarray:
    """The accuracy grid alone, as a ``[2m+1, 2m+1]`` array indexed ``[dy + m, dx + m]``."""
    return evaluate_shift_grid(model, images, labels, max_shift, batch=batch).as_image()


def _mean_over(result: GridResult, radius: int) -> float:
    cheb = np.abs(result.shifts).max(1)
    sel = (cheb >= 1) & (cheb <= radius)
    if not sel.any() or result.max_shift < radius:
        raise ValueError(f"the grid (max shift {result.max_shift}) does not cover radius {radius}")
    return float(result.accuracy[sel].mean())


def article_columns(result: GridResult, default: float | None = None) -> dict[str, float]:
    """The article's three columns from a grid (see the module docstring for definitions).

    Args:
        result: a grid that covers ``[-3, 3]^2``.
        default: the unshifted accuracy on the full test set; ``None`` uses the grid's (0, 0).
    """
    return {
        "default": float(result.at(0, 0) if default is None else default),
        "shift min": _mean_over(result, SHIFT_MIN_RADIUS),
        "shift": _mean_over(result, SHIFT_RADIUS),
    }


def accuracy_by_ring(result: GridResult, values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` (default: accuracy) over each ring ``max(|dx|, |dy|) = r``.

    Returns:
        ``(r, mean)`` for ``r = 0 .. max_shift``.
    """
    v = result.accuracy if values is None else np.asarray(values)
    cheb = np.abs(result.shifts).max(1)
    r = np.arange(cheb.max() + 1)
    return r, np.array([v[cheb == k].mean() for k in r])


def flipping_digits(models: Mapping[str, nn.Module], images: torch.Tensor, labels: torch.Tensor,
                    shifts: torch.Tensor, fill: Fill = "zero") -> list[int]:
    """Indices (in order) of the digits that every model classifies correctly unshifted and at
    least one model misclassifies under some shift of ``shifts`` ``[S, 2]``: the digits worth
    showing when a figure is to show what a shift does (most digits survive small shifts).

    Raises:
        ValueError: no model, or images and labels of different lengths.
    """
    if not models:
        raise ValueError("models is empty: give at least one, e.g. {'C': model_c}")
    if images.ndim != 4 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"need images [N, C, H, W] and labels [N], got {tuple(images.shape)}, {tuple(labels.shape)}")
    y = labels.cpu()
    ok = torch.ones_like(y, dtype=torch.bool)
    flips = torch.zeros_like(ok)
    for model in models.values():
        dev = next(model.parameters()).device
        was_training = model.training
        model.eval()
        with torch.no_grad():
            ok &= model(images.to(dev)).argmax(-1).cpu() == y
        model.train(was_training)
        flips |= (shift_predictions(model, images, shifts, fill=fill) != y[:, None]).any(1)
    return torch.nonzero(ok & flips).flatten().tolist()


# --------------------------------------------------------------------------- consistency
def shift_consistency(model: nn.Module, images: torch.Tensor, max_shift: int = 3, fill: Fill = "zero") -> float:
    """Zhang's consistency for MNIST, in %: over every digit and every *pair* of shifts of
    ``[-max_shift, max_shift]^2`` (all pairs, each digit weighing the same), how often the two
    shifted copies get the same top-1 class. This is the expectation of Zhang's random-pair
    metric under uniformly drawn shifts, computed exactly instead of sampled."""
    top1 = shift_predictions(model, images, shift_grid(max_shift), fill=fill)
    return consistency(top1.numpy())
