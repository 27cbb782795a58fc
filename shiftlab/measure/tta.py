"""Buying invariance with copies: test-time augmentation (TTA) and what augmentation costs.

*Test-time augmentation* replaces the prediction ``softmax(f(x))`` by the average over a set
``T`` of shifted copies, ``p(x) = mean_{t in T} softmax(f(S_t x))``. All copies of all images
go through the network as one batch (:func:`tta_predict`); the price is ``|T|`` forward
passes per prediction. If ``f`` is invariant to shifts by multiples of ``s`` and the copies
are circular shifts over one full period ``{0..s-1}^2``, the average is *exactly* invariant to
every circular shift (it averages over a whole coset): ``s^2`` copies, the same number that
:func:`augmentation_copies` gives for training-time augmentation.

Two studies use it (:mod:`shiftlab.studies.tta_study`, both cached):

:func:`~shiftlab.studies.tta_study.mnist_tta_study`
    the trained A/B/C models on test digits moved by a random shift on each Chebyshev ring
    ``max(|dx|, |dy|) = r`` (zero fill); accuracy with no TTA, with each TTA set, and after
    re-centring by centre of mass (:func:`shiftlab.measure.centring.recenter`).
:func:`~shiftlab.studies.tta_study.imagenet_tta_study`
    an ImageNet model on photos under the **crop protocol** (:mod:`shiftlab.measure.protocols`): a
    224 px window moved diagonally in 1-pixel steps over the "resize to 256, centre crop 256"
    source; a TTA copy is the window moved by ``t`` more (real image content, no fill).
    Every distinct window of a photo is evaluated once and reused by all frames and TTA sets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
from torch import nn

from shiftlab.core.shifts import Fill, shift_grid, translate_grid

__all__ = [
    "TTAResult",
    "tta_shifts",
    "tta_predict",
    "augmentation_copies",
    "guaranteed_copies",
    "ring_shifts",
    "HEADS",
]


# --------------------------------------------------------------------------- the operation


@dataclass
class TTAResult:
    """Averaged probabilities and what they cost.

    Attributes:
        probs: ``[N, K]`` mean softmax over the copies.
        copies: ``|T|``, copies per image.
        forward_passes: images that went through the network, ``N * |T|``.
        calls: how many times the model was called (1 when everything fit in one batch).
    """

    probs: torch.Tensor
    copies: int
    forward_passes: int
    calls: int


def tta_shifts(max_shift: int, step: int = 1) -> torch.Tensor:
    """The TTA set ``{-m, ..., m}^2`` with a step (``[S, 2]`` ``(dx, dy)``; see :func:`shift_grid`)."""
    return shift_grid(max_shift, step)


@torch.no_grad()
def tta_predict(model: nn.Module | Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                shifts: torch.Tensor, fill: Fill = "zero", batch_size: int | None = None) -> TTAResult:
    """Test-time augmentation over integer shifts: average the softmax over shifted copies.

    Args:
        model: maps ``[B, C, H, W]`` to logits ``[B, K]`` (an ``nn.Module`` is put in eval mode
            for the call and restored afterwards).
        images: ``[N, C, H, W]``.
        shifts: ``[S, 2]`` integer ``(dx, dy)``; ``(0, 0)`` alone gives the plain prediction.
        fill: ``"zero"`` or ``"circular"`` (:func:`shiftlab.translate`).
        batch_size: at most this many copies per call; ``None`` puts all ``N * S`` copies
            through the model in **one** forward pass. Whole images are kept together, so a
            call holds ``S * max(1, batch_size // S)`` copies.

    Returns:
        A :class:`TTAResult` (probabilities on the device of ``images``).
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"images must be a non-empty [N, C, H, W] tensor, got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    if not isinstance(shifts, torch.Tensor) or shifts.ndim != 2 or shifts.shape[1] != 2 or shifts.shape[0] == 0:
        raise ValueError("shifts must be a non-empty [S, 2] integer tensor of (dx, dy)")
    if shifts.dtype.is_floating_point:
        raise TypeError("shifts must be integers")
    if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
    n, s = images.shape[0], shifts.shape[0]
    per_call = n if batch_size is None else max(1, batch_size // s)
    was_training = isinstance(model, nn.Module) and model.training
    if isinstance(model, nn.Module):
        model.eval()
    out, calls = [], 0
    try:
        for i in range(0, n, per_call):
            x = images[i : i + per_call]
            b = x.shape[0]
            copies = translate_grid(x, shifts, fill=fill).reshape(s * b, *x.shape[1:])
            logits = model(copies)
            calls += 1
            if logits.ndim != 2 or logits.shape[0] != s * b:
                raise ValueError(f"the model must return logits [B, K], got {tuple(logits.shape)}")
            out.append(torch.softmax(logits.double(), dim=1).reshape(s, b, -1).mean(0).to(logits.dtype))
    finally:
        if was_training:
            cast(nn.Module, model).train()
    return TTAResult(torch.cat(out), s, n * s, calls)


def augmentation_copies(subsampling: int, n_rotations: int = 1, n_scales: int = 1) -> int:
    """Copies per image needed to show a network every phase of its subsampling grid (``s^2``),
    times every rotation and every scale one wants to cover: ``s^2 * n_rotations * n_scales``.

    The argument of Azulay & Weiss: a network with subsampling factor ``s`` (measure it with
    :func:`shiftlab.measure.probe.subsampling_factor`) is at best invariant to shifts by multiples of
    ``s``; the ``s^2`` sub-grid phases look different to it and each has to be learned, for
    every rotation and scale as well.
    """
    for name, v in (("subsampling", subsampling), ("n_rotations", n_rotations), ("n_scales", n_scales)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    return int(subsampling) ** 2 * int(n_rotations) * int(n_scales)


HEADS: tuple[str, ...] = ("global_pool", "fc")


def guaranteed_copies(subsampling: int, head: str, n_rotations: int = 1,
                      n_scales: int = 1) -> int | None:
    """Copies per image that cover every shift **given what the architecture guarantees**.

    A network with total subsampling ``s`` whose head pools globally (``head="global_pool"``)
    and whose layers wrap around at the border (circular boundary) is exactly invariant to
    circular shifts by multiples of ``s``; its ``s^2`` phases then cover every shift, so the
    count is :func:`augmentation_copies`. A fully connected head (``head="fc"``) reads each
    position with its own weights: the architecture guarantees no shift at all, so no number
    of copies is guaranteed to suffice and the function returns ``None``. (With zero padding
    the global-pool guarantee is only approximate, near the border.)
    """
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    copies = augmentation_copies(subsampling, n_rotations, n_scales)  # validates the ints
    return copies if head == "global_pool" else None


def ring_shifts(n: int, radius: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` shifts drawn uniformly from the ``8 r`` integer shifts with ``max(|dx|, |dy|) = r``
    (``r = 0``: all zero). Returns ``(dx, dy)`` long tensors ``[n]``."""
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        raise ValueError(f"radius must be a non-negative int, got {radius!r}")
    if n < 0:
        raise ValueError("n must be non-negative")
    if radius == 0:
        z = torch.zeros(n, dtype=torch.long)
        return z, z.clone()
    grid = shift_grid(int(radius))
    ring = grid[grid.abs().max(1).values == radius]
    pick = torch.randint(0, ring.shape[0], (n,), generator=generator)
    return ring[pick, 0].clone(), ring[pick, 1].clone()
