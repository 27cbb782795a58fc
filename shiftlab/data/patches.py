"""A toy that only absolute position can solve (after Kayhan & van Gemert, CVPR 2020).

Every image is black except one square patch of random grey values. Class 0 puts the patch
``distance`` pixels from the **left** border, class 1 the same distance from the **right**
border, at a random height; the patch content is drawn from one distribution for both classes.
The content says nothing about the class: only where the patch is does. Images come in
*mirror pairs*: image ``2i + 1`` holds the very same patch as image ``2i``, at the same height,
at the other border. On a torus the two are circular shifts of each other.
"""

from __future__ import annotations

import torch

__all__ = ["make_position_toy"]


def make_position_toy(n: int, size: int = 32, patch: int = 5, distance: int = 0,
                      generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images ``[n, 1, size, size]`` (float32 in [0, 1]) and labels ``[n]`` (0: patch
    ``distance`` px from the left border, 1: from the right), as mirror pairs (see the module
    docstring); ``n`` must be even."""
    for name, v in (("n", n), ("size", size), ("patch", patch), ("distance", distance)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an int, got {v!r}")
    if n < 2 or n % 2:
        raise ValueError(f"n must be a positive even number (mirror pairs), got {n}")
    if patch < 1 or distance < 0 or 2 * (patch + distance) > size:
        raise ValueError(f"a {patch}-px patch {distance} px from both borders does not fit in {size} px "
                         f"(needs 2 * (patch + distance) <= size)")
    pairs = n // 2
    content = torch.rand(pairs, patch, patch, generator=generator) * 0.8 + 0.2   # never black
    ys = torch.randint(0, size - patch + 1, (pairs,), generator=generator)
    rows = ys[:, None] + torch.arange(patch)                                     # [P, patch]
    images = torch.zeros(pairs, 2, size, size)
    left = distance + torch.arange(patch)
    right = size - distance - patch + torch.arange(patch)
    idx = torch.arange(pairs)[:, None, None]
    images[:, 0][idx, rows[:, :, None], left[None, None, :]] = content
    images[:, 1][idx, rows[:, :, None], right[None, None, :]] = content
    labels = torch.tensor([0, 1]).repeat(pairs)
    return images.reshape(n, 1, size, size), labels
