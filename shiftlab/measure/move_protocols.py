"""Three ways to "shift" a digit, and Zhang's consistency under each.

APS's promise of 100 % consistency is a statement about one protocol. Side by side:

``roll``
    ``torch.roll``: the digit wraps around the torus. The protocol of APS's theorem.
``crop``
    a 28 x 28 window moved over a larger image. MNIST has no larger image, and on its black
    background a moved window would be exactly the zero-fill shift, so the larger image is a
    **mosaic**: the digit in the middle of a 3 x 3 block of other test digits at a 24-pixel
    pitch (overlaps combined by ``max``). At shift 0 the window shows the digit and the empty
    4-pixel margins of its neighbours; as it moves, strokes of a neighbour enter at the edge,
    as other objects enter a camera's view.
``embed``
    zero-fill translation (:func:`shiftlab.core.shifts.translate`): the protocol of the MNIST
    chapters, and of Azulay & Weiss's embedding into a black canvas.

:func:`protocol_views` makes all shifted copies in one batched operation;
:func:`protocol_consistency` is Zhang's consistency over all pairs of shifts of the box
``|dx|, |dy| <= max_shift`` (as :func:`shiftlab.measure.shift_accuracy.shift_consistency`),
plus the accuracy over the same copies.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from shiftlab.core.shifts import check_shifts, shift_grid, translate_grid
from shiftlab.measure.shift_metrics import consistency

__all__ = ["PROTOCOLS", "PITCH", "mosaic", "protocol_views", "protocol_consistency"]

Protocol = Literal["roll", "crop", "embed"]
PROTOCOLS: tuple[str, ...] = ("roll", "crop", "embed")

#: distance between neighbouring digits of the crop protocol's mosaic, in pixels
PITCH = 24


def _check_images(images: torch.Tensor) -> None:
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"images must be a non-empty [N, C, H, W] batch, got {tuple(images.shape)}")


def mosaic(images: torch.Tensor, neighbours: torch.Tensor, pitch: int = PITCH) -> torch.Tensor:
    """Each digit of ``images [N, C, H, W]`` in the middle of a 3 x 3 block whose other cells
    are ``neighbours [N, 8, C, H, W]``, placed ``pitch`` pixels apart and combined by max.
    Returns ``[N, C, H + 2 pitch, W + 2 pitch]``; the middle digit's window starts at
    ``(pitch, pitch)``."""
    _check_images(images)
    n, c, h, w = images.shape
    if neighbours.shape != (n, 8, c, h, w):
        raise ValueError(f"neighbours must have shape {(n, 8, c, h, w)}, got {tuple(neighbours.shape)}")
    if not 1 <= pitch <= min(h, w):
        raise ValueError(f"pitch must be between 1 and the image side, got {pitch}")
    big = images.new_zeros(n, c, h + 2 * pitch, w + 2 * pitch)
    cells = [(r, q) for r in range(3) for q in range(3) if (r, q) != (1, 1)]
    for t, (r, q) in enumerate(cells):  # 8 cells: a loop over positions, not over images
        y, x = r * pitch, q * pitch
        big[..., y:y + h, x:x + w] = torch.maximum(big[..., y:y + h, x:x + w], neighbours[:, t])
    big[..., pitch:pitch + h, pitch:pitch + w] = torch.maximum(big[..., pitch:pitch + h, pitch:pitch + w], images)
    return big


def _windows(big: torch.Tensor, shifts: torch.Tensor, h: int, w: int, pitch: int) -> torch.Tensor:
    # moving the content by (dx, dy) = moving the window by (-dx, -dy): [S, N, C, h, w]
    hh, ww = big.shape[-2:]
    out = []
    for dx, dy in shifts.tolist():
        y, x = pitch - dy, pitch - dx
        if not (0 <= y <= hh - h and 0 <= x <= ww - w):
            raise ValueError(f"shift ({dx}, {dy}) leaves the mosaic (pitch {pitch})")
        out.append(big[..., y:y + h, x:x + w])
    return torch.stack(out)


def protocol_views(images: torch.Tensor, shifts: torch.Tensor, protocol: str,
                   neighbours: torch.Tensor | None = None, pitch: int = PITCH) -> torch.Tensor:
    """Every digit of ``images [N, C, H, W]`` moved by every shift of ``shifts [S, 2]`` (dx, dy)
    under ``protocol``; returns ``[S, N, C, H, W]``. ``crop`` needs ``neighbours [N, 8, C, H, W]``."""
    _check_images(images)
    check_shifts(shifts)
    if protocol == "roll":
        return translate_grid(images, shifts, fill="circular")
    if protocol == "embed":
        return translate_grid(images, shifts, fill="zero")
    if protocol == "crop":
        if neighbours is None:
            raise ValueError("the crop protocol needs neighbours [N, 8, C, H, W] (see mosaic)")
        return _windows(mosaic(images, neighbours, pitch), shifts.cpu(), images.shape[-2], images.shape[-1], pitch)
    raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")


@torch.no_grad()
def protocol_consistency(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, protocol: str,
                         max_shift: int = 3, neighbours: torch.Tensor | None = None,
                         batch: int = 200) -> dict[str, float]:
    """Zhang's consistency (%) over all pairs of shifts of ``|dx|, |dy| <= max_shift`` under
    ``protocol``, and the accuracy (fraction) over the same shifted copies."""
    if images.shape[0] != labels.shape[0]:
        raise ValueError("images and labels must have the same length")
    shifts = shift_grid(max_shift)
    dev = next(model.parameters()).device
    was_training = model.training
    model.eval()
    preds = []
    try:
        for i in range(0, images.shape[0], batch):
            nb = None if neighbours is None else neighbours[i:i + batch].to(dev)
            views = protocol_views(images[i:i + batch].to(dev), shifts, protocol, nb)  # [S, b, C, H, W]
            s, b = views.shape[:2]
            preds.append(model(views.flatten(0, 1)).argmax(-1).reshape(s, b).T.cpu())
    finally:
        model.train(was_training)
    top1 = torch.cat(preds)  # [N, S]
    return {"consistency": consistency(top1.numpy()),
            "accuracy": float((top1 == labels.cpu()[:, None]).float().mean())}
