"""Integer translations of image tensors, one image or a whole batch at once.

Convention used everywhere in the course: ``dx > 0`` moves the content to the **right**,
``dy > 0`` moves it **down**. Two ways to fill what enters the frame:

``"zero"``
    the pixels shifted out are lost and zeros come in (a real camera moving over a black
    background; no wrap-around). The zeros are written, not multiplied in, so even an ``inf``
    or ``NaN`` pixel leaves only zeros behind it;
``"circular"``
    the image wraps around like a torus (``torch.roll``); the setting in which convolutions
    with circular padding are *exactly* equivariant.
"""

from __future__ import annotations

from typing import Literal

import torch

__all__ = ["Fill", "translate", "shift_grid", "translate_grid", "check_shifts"]

Fill = Literal["zero", "circular"]

ShiftArg = int | torch.Tensor


def _as_shift_tensor(value: ShiftArg, name: str, device: torch.device) -> torch.Tensor:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer or an integer tensor, got a bool")
    if isinstance(value, int):
        return torch.tensor([value], dtype=torch.long, device=device)
    if isinstance(value, torch.Tensor):
        if value.dtype.is_floating_point or value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name} must hold integers (sub-pixel shifts are not translations here), "
                            f"got {value.dtype}")
        if value.ndim > 1:
            raise ValueError(f"{name} must be a scalar or a 1-D tensor, got shape {tuple(value.shape)}")
        return value.reshape(-1).to(device=device, dtype=torch.long)
    raise TypeError(f"{name} must be an int or an integer tensor, got {type(value).__name__}")


def check_shifts(shifts: torch.Tensor) -> torch.Tensor:
    """Check that ``shifts`` is a non-empty ``[S, 2]`` integer tensor of ``(dx, dy)`` pairs and
    return it (the shift lists of :func:`translate_grid` and the shift-grid evaluations).

    Raises:
        TypeError: not an integer tensor.
        ValueError: another shape, or no shift at all.
    """
    if not isinstance(shifts, torch.Tensor):
        raise TypeError(f"shifts must be a [S, 2] integer tensor, got {type(shifts).__name__}")
    if shifts.ndim != 2 or shifts.shape[1] != 2:
        raise ValueError(f"shifts must have shape [S, 2], got {tuple(shifts.shape)}")
    if shifts.shape[0] == 0:
        raise ValueError("shifts is empty: give at least one (dx, dy), e.g. shift_grid(0) for (0, 0) alone")
    if shifts.dtype.is_floating_point or shifts.dtype == torch.bool or shifts.is_complex():
        raise TypeError(f"shifts must hold integers, got {shifts.dtype}")
    return shifts


def translate(x: torch.Tensor, dx: ShiftArg, dy: ShiftArg, fill: Fill = "zero") -> torch.Tensor:
    """Translate images by whole pixels.

    Args:
        x: images with shape ``[..., H, W]`` (e.g. ``[H, W]``, ``[C, H, W]`` or
            ``[N, C, H, W]``).
        dx, dy: horizontal and vertical shift in pixels. Either Python ints (the same
            shift for every image) or 1-D integer tensors of length ``N = x.shape[0]``
            (one shift per image: the whole batch is shifted in one gather, no loop).
        fill: ``"zero"`` or ``"circular"`` (see the module docstring).

    Returns:
        A new tensor with the shape, dtype and device of ``x``.

    Raises:
        ValueError: wrong shapes, an empty ``x`` or empty shift tensors, a shift of the image
            size or more, an unknown fill.
        TypeError: non-integer shifts.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"x must have shape [..., H, W] (at least 2-D), got shape {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"x is empty (shape {tuple(x.shape)}): there is no image to translate")
    if fill not in ("zero", "circular"):
        raise ValueError(f"fill must be 'zero' or 'circular', got {fill!r}")
    h, w = x.shape[-2:]
    sx = _as_shift_tensor(dx, "dx", x.device)
    sy = _as_shift_tensor(dy, "dy", x.device)
    if sx.numel() == 0 or sy.numel() == 0:
        raise ValueError("dx and dy must not be empty: give one shift, or one per image")
    per_image = max(sx.numel(), sy.numel())
    if sx.numel() not in (1, per_image) or sy.numel() not in (1, per_image):
        raise ValueError(f"dx and dy have different lengths ({sx.numel()} and {sy.numel()})")
    if (sx.abs() >= w).any() or (sy.abs() >= h).any():
        raise ValueError(
            f"shifts must be smaller than the image ({h}x{w}); got |dx| up to {int(sx.abs().max())}, "
            f"|dy| up to {int(sy.abs().max())}"
        )
    if per_image > 1:
        if x.ndim < 3 or x.shape[0] != per_image:
            raise ValueError(
                f"per-image shifts need x of shape [N, ..., H, W] with N = {per_image}, got {tuple(x.shape)}"
            )
        n = per_image
    else:
        n = 1
    sx = sx.expand(n)
    sy = sy.expand(n)
    flat = x.reshape(n, -1, h * w)
    rows = torch.arange(h, device=x.device)[None, :] - sy[:, None]  # [n, H] source rows
    cols = torch.arange(w, device=x.device)[None, :] - sx[:, None]  # [n, W] source cols
    if fill == "circular":
        rows, cols = rows % h, cols % w
        valid = None
    else:
        valid = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
        rows, cols = rows.clamp(0, h - 1), cols.clamp(0, w - 1)
    index = (rows[:, :, None] * w + cols[:, None, :]).reshape(n, 1, h * w)
    out = flat.gather(2, index.expand(n, flat.shape[1], h * w))
    if valid is not None:  # write zeros where nothing comes in (a product would keep inf * 0 = NaN)
        out = torch.where(valid.reshape(n, 1, h * w), out, torch.zeros((), dtype=out.dtype, device=out.device))
    return out.reshape(x.shape)


def shift_grid(max_shift: int, step: int = 1, device: torch.device | str | None = None) -> torch.Tensor:
    """All integer shifts ``(dx, dy)`` in ``[-max_shift, max_shift]^2`` (with a step).

    Returns:
        A ``[S, 2]`` long tensor, row-major in ``dy`` then ``dx`` (``S = (2m/step + 1)^2``),
        so ``values.reshape(k, k)`` gives an image indexed ``[dy, dx]``.
    """
    if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
        raise ValueError(f"max_shift must be a non-negative int, got {max_shift!r}")
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise ValueError(f"step must be a positive int, got {step!r}")
    if max_shift % step:
        raise ValueError(f"max_shift ({max_shift}) must be a multiple of step ({step})")
    r = torch.arange(-max_shift, max_shift + 1, step, device=device)
    dy, dx = torch.meshgrid(r, r, indexing="ij")
    return torch.stack([dx.reshape(-1), dy.reshape(-1)], dim=1)


def translate_grid(x: torch.Tensor, shifts: torch.Tensor, fill: Fill = "zero") -> torch.Tensor:
    """Every image under every shift, as one batch.

    Args:
        x: ``[N, C, H, W]`` images.
        shifts: ``[S, 2]`` integer ``(dx, dy)`` pairs (e.g. from :func:`shift_grid`).

    Returns:
        ``[S, N, C, H, W]``: ``out[s, n]`` is image ``n`` shifted by ``shifts[s]``. Reshape to
        ``[S * N, C, H, W]`` to evaluate all shifts in one forward pass.

    Raises:
        ValueError: wrong shapes, no image or no shift (see :func:`check_shifts`).
    """
    if x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty [N, C, H, W] batch, got shape {tuple(x.shape)}")
    check_shifts(shifts)
    s, n = shifts.shape[0], x.shape[0]
    shifts = shifts.to(x.device)
    rep = x.unsqueeze(0).expand(s, *x.shape).reshape(s * n, *x.shape[1:])
    dx = shifts[:, 0].repeat_interleave(n)
    dy = shifts[:, 1].repeat_interleave(n)
    return translate(rep, dx, dy, fill).reshape(s, n, *x.shape[1:])
