"""Accuracy under shifts, split by whether the shift keeps the digit's ink in the frame.

A zero-fill shift of a 28 x 28 MNIST digit by more than its margin pushes strokes out of the
frame (chapter 02 counts them: :func:`shiftlab.measure.equivariance.lost_ink`). The accuracy at
such a shift mixes two things, how the model copes with a moved digit and what it makes of a
digit with missing strokes. :func:`ink_split_accuracy` separates them: for every shift it counts
the digits that keep **all** their ink (no non-zero pixel leaves the frame) and how many of
those the model gets right, and the same for the digits that lose some ink, with the mean share
of ink lost. The accuracy over the "kept" digits is the one that measures invariance alone; it
is computed over fewer digits (and, at large shifts, a different mix of classes: narrow digits
such as "1" keep their ink longest), so its count is reported with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from shiftlab.core.shifts import check_shifts, shift_grid
from shiftlab.measure.equivariance import lost_ink
from shiftlab.measure.shift_accuracy import iter_shift_logits

__all__ = ["InkSplit", "ink_split_accuracy", "ink_lost_by_shift"]


@dataclass
class InkSplit:
    """Per-shift counts (all arrays ``[S]``, aligned with ``shifts`` ``[S, 2]`` as ``(dx, dy)``).

    Attributes:
        kept, kept_correct: digits whose ink all stays in the frame, and how many of them the
            model classifies correctly.
        lost, lost_correct: the same for the digits that lose some ink.
        mean_lost: the mean share of ink lost over all digits.
    """

    shifts: np.ndarray
    kept: np.ndarray
    kept_correct: np.ndarray
    lost: np.ndarray
    lost_correct: np.ndarray
    mean_lost: np.ndarray

    @property
    def n_images(self) -> int:
        return int(self.kept[0] + self.lost[0])

    def by_ring(self) -> dict[str, np.ndarray]:
        """Pooled over each ring ``r = max(|dx|, |dy|)``, ``r = 0 .. max``: ``"r"``, the accuracy
        over kept and over losing digits (``nan`` where there are none), the share of digit/shift
        pairs that keep their ink (``"kept_share"``) and the mean share of ink lost."""
        cheb = np.abs(self.shifts).max(1)
        r = np.arange(cheb.max() + 1)

        def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
            n = np.array([num[cheb == k].sum() for k in r], dtype=np.float64)
            d = np.array([den[cheb == k].sum() for k in r], dtype=np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(d > 0, n / np.maximum(d, 1), np.nan)

        return {"r": r, "kept_accuracy": ratio(self.kept_correct, self.kept),
                "lost_accuracy": ratio(self.lost_correct, self.lost),
                "kept_share": ratio(self.kept, self.kept + self.lost),
                "mean_lost": np.array([self.mean_lost[cheb == k].mean() for k in r])}

    def to_dict(self) -> dict[str, list]:
        return {k: getattr(self, k).tolist() for k in
                ("shifts", "kept", "kept_correct", "lost", "lost_correct", "mean_lost")}

    @classmethod
    def from_dict(cls, d: dict) -> InkSplit:
        ints = ("shifts", "kept", "kept_correct", "lost", "lost_correct")
        return cls(**{k: np.asarray(d[k], dtype=np.int64 if k in ints else np.float64)
                      for k in (*ints, "mean_lost")})


def ink_lost_by_shift(images: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Share of each image's ink that each zero-fill shift pushes out: ``[S, N]`` in ``[0, 1]``
    (exactly 0 where nothing leaves), for ``shifts`` ``[S, 2]`` of ``(dx, dy)``."""
    check_shifts(shifts)
    return torch.stack([lost_ink(images, int(dx), int(dy)) for dx, dy in shifts.tolist()])


@torch.no_grad()
def ink_split_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, max_shift: int = 8,
                       shifts: torch.Tensor | None = None, batch: int = 4096) -> InkSplit:
    """Accuracy of ``model`` at every shift, split into the digits that keep all their ink and
    those that lose some (zero fill, one forward pass per chunk, as
    :func:`shiftlab.measure.shift_accuracy.evaluate_shift_grid`).

    Args:
        images, labels: ``[N, 1, H, W]`` non-negative digits and ``[N]`` integer labels.
        max_shift: the grid ``[-max_shift, max_shift]^2`` (ignored when ``shifts`` is given).

    Raises:
        ValueError: mismatched or empty inputs, negative or non-finite intensities, non-integer
            labels, or bad shifts.
    """
    if images.ndim != 4 or labels.ndim != 1 or images.shape[0] != labels.shape[0] or images.shape[0] == 0:
        raise ValueError(f"need images [N, C, H, W] and labels [N] with N > 0, got {tuple(images.shape)}, "
                         f"{tuple(labels.shape)}")
    if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool:
        raise ValueError(f"labels must be integer class indices (e.g. torch.long), got dtype {labels.dtype}")
    grid = check_shifts(shift_grid(max_shift) if shifts is None else shifts).cpu()
    share = ink_lost_by_shift(images.detach().cpu().float(), grid)  # [S, N]; checks the intensities
    keeps = share == 0
    correct = torch.zeros_like(keeps)
    for rows, logits in iter_shift_logits(model, images, grid, batch):
        correct[:, rows] = (logits.argmax(-1).cpu() == labels[rows].cpu()[None])
    n_kept = keeps.sum(1)
    return InkSplit(grid.numpy().astype(np.int64), n_kept.numpy(), (correct & keeps).sum(1).numpy(),
                    (~keeps).sum(1).numpy(), (correct & ~keeps).sum(1).numpy(),
                    share.double().mean(1).numpy())
