"""Aliasing in 1-D and 2-D: what subsampling by 2 does to a shift by one sample.

Keeping every second sample of a signal halves its Nyquist frequency. Energy above the new
Nyquist frequency (a quarter of the original sampling rate) does not disappear: it folds back
and masquerades as a lower frequency (*aliasing*). The consequence for shifts: shift the input
by one sample and the subsampled output is made of the *other* half of the samples. If the
signal was band-limited below the new Nyquist frequency, the two outputs are the same
underlying signal seen half a sample apart (one can be interpolated from the other: the
representation is *shiftable*, Simoncelli et al. 1992); if it was not, the two outputs are
unrelated. Low-pass filtering first (a binomial blur, :mod:`shiftlab.nn.blurpool`) removes most
of the offending energy.

All signals are periodic (circular shifts, circular filtering), the setting in which the
statements are exact. Functions accept batches: 1-D signals ``[..., L]``, images ``[..., H, W]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from shiftlab.nn.blurpool import binomial_row, blur_subsample

__all__ = [
    "two_tone",
    "zone_plate",
    "subsample_1d",
    "lowpass_1d",
    "fourier_shift_1d",
    "fourier_shift_2d",
    "relative_change",
    "shift_subsample_1d",
    "shift_subsample_2d",
    "shiftability_error_1d",
    "shiftability_error_2d",
    "phase_sums_1d",
]


def two_tone(n: int = 64, low: float = 0.05, high: float = 0.4, high_amp: float = 0.6,
             dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``cos(2 pi low k) + high_amp cos(2 pi high k)`` for ``k = 0..n-1`` (frequencies in cycles per
    sample). With the defaults the low tone survives subsampling by 2 and the high tone (above
    0.25) aliases to ``0.5 - 0.4 = 0.1`` cycles per original sample."""
    if n < 4:
        raise ValueError(f"n must be at least 4, got {n}")
    if not (0 <= low <= 0.5 and 0 <= high <= 0.5):
        raise ValueError("frequencies are in cycles per sample and must lie in [0, 0.5]")
    k = torch.arange(n, dtype=dtype)
    return torch.cos(2 * math.pi * low * k) + high_amp * torch.cos(2 * math.pi * high * k)


def zone_plate(size: int = 64, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A circular zone plate ``[size, size]`` in [0, 1]: ``(1 + cos(pi r^2 / size)) / 2``, whose local
    frequency ``r / size`` grows linearly from 0 at the centre to the Nyquist frequency (0.5) at
    radius ``size / 2``; outside that disc (where it would alias already) the image is 0.5. The
    classic test image for aliasing: a subsampled copy shows ghost rings."""
    if size < 4:
        raise ValueError(f"size must be at least 4, got {size}")
    c = (torch.arange(size, dtype=torch.float64) - size / 2)
    r2 = c[:, None] ** 2 + c[None, :] ** 2
    z = (1 + torch.cos(math.pi * r2 / size)) / 2
    return torch.where(r2 <= (size / 2) ** 2, z, torch.full_like(z, 0.5)).to(dtype)


def _check_factor(factor: int) -> int:
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f"factor must be a positive int, got {factor!r}")
    return factor


def subsample_1d(x: torch.Tensor, factor: int = 2, phase: int = 0) -> torch.Tensor:
    """Every ``factor``-th sample of ``x [..., L]`` starting at ``phase``."""
    factor = _check_factor(factor)
    if not 0 <= phase < factor:
        raise ValueError(f"phase must be in [0, {factor}), got {phase}")
    return x[..., phase::factor]


def lowpass_1d(x: torch.Tensor, size: int = 3) -> torch.Tensor:
    """Circular convolution of ``x [..., L]`` with the normalised binomial filter of ``size`` (1..7),
    aligned like :func:`shiftlab.nn.blurpool.blur` (``(size - 1) // 2`` taps before the centre)."""
    if not isinstance(x, torch.Tensor) or x.ndim < 1:
        raise TypeError("x must be a tensor [..., L]")
    row = binomial_row(size)
    if size == 1:
        return x.clone()
    row = (row / row.sum()).to(x.dtype)
    before, after = (size - 1) // 2, size // 2
    shape = x.shape
    flat = x.reshape(-1, 1, shape[-1])
    out = F.conv1d(F.pad(flat, (before, after), mode="circular"), row.flip(0)[None, None])
    return out.reshape(shape)


def fourier_shift_1d(y: torch.Tensor, t: float) -> torch.Tensor:
    """Circularly shift ``y [..., L]`` by a *fractional* ``t`` samples (to the right) by band-limited
    (Fourier) interpolation: the shift a shiftable representation would allow."""
    n = y.shape[-1]
    freqs = torch.fft.fftfreq(n, dtype=torch.float64)
    phase = torch.exp(-2j * math.pi * freqs * t)
    return torch.fft.ifft(torch.fft.fft(y.to(torch.float64)) * phase).real.to(y.dtype)


def fourier_shift_2d(y: torch.Tensor, tx: float, ty: float) -> torch.Tensor:
    """Fractional circular shift of ``y [..., H, W]`` by ``(tx, ty)`` (right, down), Fourier interpolation."""
    h, w = y.shape[-2:]
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(w, dtype=torch.float64)[None, :]
    phase = torch.exp(-2j * math.pi * (fx * tx + fy * ty))
    return torch.fft.ifft2(torch.fft.fft2(y.to(torch.float64)) * phase).real.to(y.dtype)


def relative_change(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``||a - b|| / ||a||`` over the last axis (1-D) -- for batches use it on flattened rows."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    return (a - b).norm(dim=-1) / a.norm(dim=-1).clamp_min(1e-12)


def shift_subsample_1d(x: torch.Tensor, shift: int = 1, factor: int = 2,
                       filter_size: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """``(y0, y1)``: the subsampled (after an optional binomial low-pass) signal, and the same for
    the input circularly shifted by ``shift`` samples."""
    y0 = subsample_1d(lowpass_1d(x, filter_size), factor)
    y1 = subsample_1d(lowpass_1d(torch.roll(x, shift, dims=-1), filter_size), factor)
    return y0, y1


def shiftability_error_1d(x: torch.Tensor, factor: int = 2, filter_size: int = 1) -> torch.Tensor:
    """How far the subsampled output of the one-sample-shifted input is from the best guess one can
    make from the unshifted output alone, a ``1 / factor`` sample Fourier shift of it:
    ``||y1 - shift(y0, 1/factor)|| / ||y1||``. Zero for a signal band-limited below the new
    Nyquist frequency (shiftable); large when it aliases."""
    y0, y1 = shift_subsample_1d(x, 1, factor, filter_size)
    return relative_change(y1, fourier_shift_1d(y0, 1.0 / factor))


def shift_subsample_2d(img: torch.Tensor, shift: tuple[int, int] = (1, 0), factor: int = 2,
                       filter_size: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """2-D version of :func:`shift_subsample_1d` for images ``[H, W]``, ``[C, H, W]`` or ``[N, C, H, W]``
    with a circular binomial blur (:func:`shiftlab.nn.blurpool.blur_subsample`) and a circular shift
    ``(dx, dy)``. Returns the two subsampled images in the input's layout."""
    factor = _check_factor(factor)
    x = img
    while x.ndim < 4:
        x = x.unsqueeze(0)
    if x.ndim != 4:
        raise ValueError(f"img must have 2 to 4 dimensions, got {img.ndim}")
    dx, dy = shift
    y0 = blur_subsample(x, filter_size, factor, "circular")
    y1 = blur_subsample(torch.roll(x, (dy, dx), dims=(-2, -1)), filter_size, factor, "circular")
    lead = img.shape[:-2]
    return y0.reshape(*lead, *y0.shape[-2:]), y1.reshape(*lead, *y1.shape[-2:])


def shiftability_error_2d(img: torch.Tensor, shift: tuple[int, int] = (1, 0), factor: int = 2,
                          filter_size: int = 1) -> torch.Tensor:
    """2-D :func:`shiftability_error_1d`: ``||y1 - S_{shift/factor} y0|| / ||y1||`` per image
    (leading axes kept, spatial axes reduced)."""
    y0, y1 = shift_subsample_2d(img, shift, factor, filter_size)
    pred = fourier_shift_2d(y0, shift[0] / factor, shift[1] / factor)
    return relative_change(y1.flatten(-2), pred.flatten(-2))


def phase_sums_1d(x: torch.Tensor, factor: int = 2, filter_size: int = 1) -> torch.Tensor:
    """Global sum of the subsampled (optionally low-passed) signal for every input shift
    ``0 .. factor - 1``: ``[..., factor]``. Constant across shifts when the filter has zeros at the
    aliasing frequencies (every binomial filter of size >= 2 for ``factor = 2``)."""
    factor = _check_factor(factor)
    return torch.stack([subsample_1d(lowpass_1d(torch.roll(x, s, dims=-1), filter_size), factor).sum(-1)
                        for s in range(factor)], dim=-1)
