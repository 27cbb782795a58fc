"""MNIST's own position bias: every digit was centred by its centre of mass.

LeCun et al. (1998) size-normalised each digit to a 20 x 20 box and placed it in the 28 x 28
field "so as to position [its centre of mass] at the center". The training set therefore
contains no shifted digits at all: :func:`centre_of_mass` measures how little the centres
vary. The same recipe turned into a preprocessing step, :func:`recenter`, moves any digit back
to the position the training digits share (one batched gather): invariance by
*canonicalisation*, at the cost of one forward pass.

Coordinates are in pixels, ``x`` = column, ``y`` = row, pixel centres at integers (the field's
centre is ``(13.5, 13.5)``).
"""

from __future__ import annotations

import numpy as np
import torch

from shiftlab.core.shifts import translate

__all__ = ["centre_of_mass", "centre_offsets", "recenter", "com_histogram", "shift_to_radius", "ink_frequency"]


def centre_of_mass(images: torch.Tensor) -> torch.Tensor:
    """Intensity-weighted centre ``(x, y)`` of each image, in pixels.

    Args:
        images: ``[N, 1, H, W]`` or ``[N, H, W]`` non-negative intensities.

    Returns:
        float64 ``[N, 2]``: ``x = sum_j j * I / sum I`` (column), ``y`` likewise over rows.

    Raises:
        ValueError: wrong shape, negative values, or an image without any ink (no centre).
    """
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a tensor, got {type(images).__name__}")
    if images.ndim == 4:
        if images.shape[1] != 1:
            raise ValueError(f"expected one channel, got shape {tuple(images.shape)}")
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"images must have shape [N, 1, H, W] or [N, H, W], got {tuple(images.shape)}")
    x = images.double()
    if (x < 0).any():
        raise ValueError("intensities must be non-negative for a centre of mass")
    mass = x.sum((1, 2))
    if (mass <= 0).any():
        bad = torch.nonzero(mass <= 0).flatten()[:5].tolist()
        raise ValueError(f"images {bad} have no ink, so no centre of mass")
    h, w = x.shape[-2:]
    cols = torch.arange(w, dtype=torch.float64, device=x.device)
    rows = torch.arange(h, dtype=torch.float64, device=x.device)
    cx = (x.sum(1) * cols).sum(1) / mass
    cy = (x.sum(2) * rows).sum(1) / mass
    return torch.stack([cx, cy], dim=1)


def centre_offsets(images: torch.Tensor) -> torch.Tensor:
    """Centre of mass minus the field's centre ``((W - 1) / 2, (H - 1) / 2)``, in pixels ``[N, 2]``."""
    com = centre_of_mass(images)
    h, w = images.shape[-2:]
    return com - torch.tensor([(w - 1) / 2, (h - 1) / 2], dtype=torch.float64, device=com.device)


def recenter(images: torch.Tensor, target: tuple[float, float] | torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Move every digit by whole pixels so its centre of mass lands nearest to ``target``.

    Args:
        images: ``[N, 1, H, W]``.
        target: ``(x, y)`` in pixels; default the field's centre. Pass the training set's mean
            centre of mass to undo shifts exactly the way MNIST was made.

    Returns:
        ``(recentred, dx, dy)``: the images (zero fill, one batched gather) and the integer
        shifts applied (``round(target - centre)``, clamped to less than the image size).
    """
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"images must have shape [N, 1, H, W], got {tuple(images.shape)}")
    h, w = images.shape[-2:]
    com = centre_of_mass(images)
    if target is None:
        t = torch.tensor([(w - 1) / 2, (h - 1) / 2], dtype=torch.float64)
    else:
        t = torch.as_tensor(target, dtype=torch.float64).reshape(-1)
        if t.numel() != 2:
            raise ValueError(f"target must be (x, y), got {target!r}")
    d = torch.round(t.to(com.device)[None] - com).long()
    dx = d[:, 0].clamp(-(w - 1), w - 1)
    dy = d[:, 1].clamp(-(h - 1), h - 1)
    return translate(images, dx.to(images.device), dy.to(images.device), fill="zero"), dx, dy


def com_histogram(offsets: torch.Tensor | np.ndarray, max_offset: float = 8.0, bins_per_pixel: int = 4
                  ) -> tuple[np.ndarray, np.ndarray]:
    """2-D histogram (fractions) of centre offsets ``[N, 2]`` over ``[-max_offset, max_offset]^2``.

    Returns:
        ``(hist [B (y), B (x)], edges [B + 1])`` with ``B = 2 * max_offset * bins_per_pixel``.
    """
    o = offsets.detach().cpu().numpy() if isinstance(offsets, torch.Tensor) else np.asarray(offsets)
    if o.ndim != 2 or o.shape[1] != 2 or o.shape[0] == 0:
        raise ValueError(f"offsets must have shape [N, 2] with N > 0, got {o.shape}")
    if max_offset <= 0 or bins_per_pixel < 1:
        raise ValueError("max_offset and bins_per_pixel must be positive")
    nb = round(2 * max_offset * bins_per_pixel)
    edges = np.linspace(-max_offset, max_offset, nb + 1)
    h, _, _ = np.histogram2d(o[:, 1], o[:, 0], bins=[edges, edges])
    return h / o.shape[0], edges


def shift_to_radius(offsets: torch.Tensor | np.ndarray) -> np.ndarray:
    """Chebyshev radius ``max(|dx|, |dy|)`` of offsets ``[N, 2]`` (the ring measure of the shift grid)."""
    o = offsets.detach().cpu().numpy() if isinstance(offsets, torch.Tensor) else np.asarray(offsets)
    if o.ndim != 2 or o.shape[1] != 2:
        raise ValueError(f"offsets must have shape [N, 2], got {o.shape}")
    return np.abs(o).max(1)


def ink_frequency(images: torch.Tensor, threshold: float = 0.0) -> torch.Tensor:
    """Fraction of images with ink (value > ``threshold``) at each pixel, ``[H, W]``."""
    if images.ndim != 4 or images.shape[1] != 1 or images.shape[0] == 0:
        raise ValueError(f"images must have shape [N, 1, H, W] with N > 0, got {tuple(images.shape)}")
    return (images[:, 0] > threshold).double().mean(0)
