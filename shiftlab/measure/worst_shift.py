"""The worst case under shifts (Engstrom et al., ICML 2019), beside the average.

For every digit and every shift of a box ``|dx|, |dy| <= k`` we know whether the model is
right (a boolean matrix ``correct [N, S]``). Three summaries of the same matrix:

``average``
    ``correct.mean()``: the accuracy under a random shift of the box (what the chapters report);
``worst``
    ``correct.all(1).mean()``: a digit counts only if the model is right under **every** shift of
    the box, i.e. against an adversary who searches the whole grid (Engstrom's grid attack);
``worst of r random``
    a digit counts if it is right under ``r`` shifts drawn at random from the box (Engstrom's
    cheap "worst-of-10" attack): between the two.

Because ``all`` over a set is at most any of its members, ``worst <= worst-of-r`` and
``worst <= average`` hold exactly for every matrix, and ``worst`` can only fall as ``k`` grows
(the boxes are nested). :func:`worst_case_curve` computes the predictions once, for the
largest box, and reads the smaller boxes from it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from shiftlab.core.shifts import Fill, shift_grid
from shiftlab.measure.shift_accuracy import shift_predictions

__all__ = ["average_accuracy", "worst_case_accuracy", "worst_of_random", "box_columns", "worst_case_curve"]


def _check(correct: torch.Tensor) -> torch.Tensor:
    if not isinstance(correct, torch.Tensor) or correct.ndim != 2 or 0 in correct.shape:
        raise ValueError("correct must be a non-empty [N digits, S shifts] tensor, got "
                         f"{getattr(correct, 'shape', type(correct))}")
    return correct.bool()


def average_accuracy(correct: torch.Tensor) -> float:
    """Mean of ``correct [N, S]``: accuracy under a uniformly drawn shift."""
    return float(_check(correct).float().mean())


def worst_case_accuracy(correct: torch.Tensor) -> float:
    """Share of digits that are right under every shift (every column) of ``correct [N, S]``."""
    return float(_check(correct).all(dim=1).float().mean())


def worst_of_random(correct: torch.Tensor, n_draws: int = 10, generator: torch.Generator | None = None) -> float:
    """Share of digits right under ``n_draws`` shifts drawn (with replacement, independently per
    digit) from the columns of ``correct [N, S]``."""
    c = _check(correct)
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive int, got {n_draws!r}")
    cols = torch.randint(c.shape[1], (c.shape[0], n_draws), generator=generator)
    return float(torch.gather(c, 1, cols).all(dim=1).float().mean())


def box_columns(shifts: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the rows of ``shifts [S, 2]`` inside the box ``|dx|, |dy| <= k``."""
    if k < 0:
        raise ValueError(f"k must be non-negative, got {k}")
    return torch.nonzero(shifts.abs().amax(dim=1) <= k).flatten()


def worst_case_curve(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, ks: Sequence[int] = (1, 2, 3),
                     n_random: int = 10, seed: int = 0, fill: Fill = "zero") -> dict[int, dict[str, float]]:
    """For each ``k`` of ``ks``: ``{"average", "worst", "random"}`` accuracies over the box
    ``|dx|, |dy| <= k`` (zero-fill shifts by default; ``random`` = worst of ``n_random``)."""
    if not ks or min(ks) < 1:
        raise ValueError(f"ks must be positive box radii, got {ks!r}")
    if images.shape[0] != labels.shape[0]:
        raise ValueError("images and labels must have the same length")
    shifts = shift_grid(max(ks))
    correct = shift_predictions(model, images, shifts, fill=fill) == labels.cpu()[:, None]  # [N, S]
    gen = torch.Generator().manual_seed(seed)
    out: dict[int, dict[str, float]] = {}
    for k in ks:
        c = correct[:, box_columns(shifts, k)]
        out[int(k)] = {"average": average_accuracy(c), "worst": worst_case_accuracy(c),
                       "random": worst_of_random(c, n_random, gen)}
    return out
