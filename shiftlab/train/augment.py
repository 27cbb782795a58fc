"""Random-shift data augmentation as batched tensor work on the device.

The article trains with "random width/height shifts of up to 10 %" (Keras'
``width_shift_range=0.1, height_shift_range=0.1``). The course's version, exactly:

* for every image and each axis independently, draw ``t ~ Uniform[-f * 28, f * 28]`` pixels
  (``f = 0.1``: ``[-2.8, 2.8]``) and **round to the nearest integer**. The shifts are therefore
  integers in ``{-3, ..., 3}``: 0, +-1 and +-2 each have probability 1/5.6 (about 17.9 %),
  +-3 each 0.3/5.6 (about 5.4 %);
* move the digit by ``(dx, dy)`` whole pixels with **zero fill** (no wrap-around, no
  interpolation) using :func:`shiftlab.translate`: one gather for the whole batch.

Integer shifts keep the digits sharp and match the evaluation, which also uses integer shifts
with zero fill. (Keras interpolates sub-pixel shifts and fills with the nearest edge pixel; on
MNIST the edge pixels are black, so the fill agrees.)
"""

from __future__ import annotations

import torch

from shiftlab.core.shifts import translate

__all__ = ["sample_shifts", "random_shift"]


def sample_shifts(n: int, max_fraction: float, size: int, generator: torch.Generator | None = None,
                  device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image integer shifts ``(dx, dy)``: ``round(Uniform[-f*size, f*size])`` on each axis.

    Args:
        n: number of images.
        max_fraction: ``f``, the largest shift as a fraction of the image side (0.1 = 10 %).
        size: image side in pixels.
        generator: a ``torch.Generator`` on ``device`` for reproducible draws.
        device: where the shifts are made (default: the generator's device, else CPU).

    Returns:
        Two long tensors of shape ``[n]`` with values in ``[-round(f*size), round(f*size)]``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    if not 0.0 <= float(max_fraction) < 1.0:
        raise ValueError(f"max_fraction must be in [0, 1), got {max_fraction!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    if device is None:
        device = generator.device if generator is not None else torch.device("cpu")
    limit = float(max_fraction) * size
    u = torch.rand(2, n, generator=generator, device=device)
    t = torch.round((2.0 * u - 1.0) * limit).to(torch.long)
    return t[0], t[1]


def random_shift(x: torch.Tensor, max_fraction: float = 0.1, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift every image of a batch by its own random integer ``(dx, dy)`` (zero fill).

    Args:
        x: images ``[N, C, H, W]`` (square or not; each axis uses its own side).
        max_fraction: largest shift as a fraction of the side (see the module docstring).
        generator: a ``torch.Generator`` on ``x.device`` for reproducible draws.

    Returns:
        The shifted batch, same shape, dtype and device.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a tensor of shape [N, C, H, W], got {getattr(x, 'shape', type(x))}")
    n, _, h, w = x.shape
    if n == 0 or max_fraction == 0:
        return x.clone()
    if h == w:
        dx, dy = sample_shifts(n, max_fraction, w, generator, x.device)
    else:
        dx, _ = sample_shifts(n, max_fraction, w, generator, x.device)
        _, dy = sample_shifts(n, max_fraction, h, generator, x.device)
    return translate(x, dx, dy, fill="zero")
