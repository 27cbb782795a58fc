"""Where equivariance breaks, layer by layer.

Shift the input by ``d`` pixels (horizontally). A layer whose map is ``s`` times smaller than
the input (its *accumulated stride* ``s``) can at best move its map by ``d / s`` cells. The
error of the layer is measured on the **input grid**: both maps are upsampled by ``s``
(nearest: every cell covers ``s x s`` pixels; the shift is horizontal, so only the columns
need repeating), the unshifted one is moved by ``d`` pixels, and
the two are compared where both are defined,

    error = || up(F(T_d x)) - T_d up(F(x)) || / || T_d up(F(x)) ||   (Frobenius, over the batch).

Where ``s`` divides ``d`` this is exactly the cell-grid comparison ``F(T_d x)`` against ``F(x)``
moved by ``d / s`` cells (every cell counted ``s^2`` times, which the ratio cancels); where it
does not, the map cannot follow the shift and the error measures by how much it fails. The
*stride-aligned* variant shifts the input by ``s`` pixels instead, a whole cell: what is left
then is the border (padding) and the non-linear interplay of the layers, not the subsampling
phase. The *nearest-cell* variant (``snap=True``) asks for less: that the map moves by a
whole number of cells, ``floor(d / s)`` or ``ceil(d / s)``, whichever fits better. This is what
adaptive polyphase sampling (APS) promises: its output moves by whole cells, never by half a
cell. ``margin`` leaves out a band of that many input pixels at the left and right edges of
the compared region, so the interior error can be shown beside the full one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from shiftlab.measure.probe import capture_maps

__all__ = ["LayerError", "accumulated_stride", "map_equivariance_error", "layer_equivariance"]


@dataclass(frozen=True)
class LayerError:
    """One layer's equivariance error: its name, depth (1 = first watched layer), accumulated
    stride, and the relative error for a ``shift``-pixel input shift."""

    name: str
    depth: int
    stride: int
    shift: int
    error: float


def accumulated_stride(input_width: int, map_width: int) -> int:
    """``input_width / map_width``, which must be a whole number (``ValueError`` otherwise)."""
    if map_width < 1 or input_width < map_width or input_width % map_width:
        raise ValueError(f"a map of width {map_width} is not a whole subsampling of width {input_width}")
    return input_width // map_width


def _squared_parts(fx: torch.Tensor, fshift: torch.Tensor, stride: int, shift: int,
                   margin: int) -> tuple[torch.Tensor, torch.Tensor]:
    # per image: ||up(F(T_d x)) - T_d up(F(x))||^2 and ||T_d up(F(x))||^2 on the overlap, [N] each
    width = fx.shape[-1] * stride
    if not 0 <= shift < width or margin < 0 or 2 * margin >= width - shift:
        raise ValueError(f"shift {shift} and margin {margin} leave nothing to compare on a width of {width}")
    # the shift is horizontal: repeating along rows too would count every term s times more,
    # which the ratio cancels, so only the columns are upsampled
    up = lambda t: t.double().repeat_interleave(stride, dim=-1)  # noqa: E731
    a = up(fshift)[..., shift:]                    # [N, C, H, W - d]: where both are defined
    b = up(fx)[..., : width - shift]               # F(x) moved right by d
    if margin:
        a, b = a[..., margin:-margin], b[..., margin:-margin]
    return (a - b).pow(2).flatten(1).sum(1), b.pow(2).flatten(1).sum(1)


def _error_sums(fx: torch.Tensor, fshift: torch.Tensor, stride: int, shift: int, margin: int = 0,
                snap: bool = False) -> tuple[float, float]:
    # (squared error, squared reference) summed over the batch
    if fx.shape != fshift.shape or fx.ndim != 4:
        raise ValueError(f"both maps must be [N, C, h, w] of one shape, got {tuple(fx.shape)}, {tuple(fshift.shape)}")
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be a positive int, got {stride!r}")
    if not snap:
        num, den = _squared_parts(fx, fshift, stride, shift, margin)
    else:
        cands = [_squared_parts(fx, fshift, stride, m * stride, margin)
                 for m in sorted({shift // stride, -(-shift // stride)})]
        rel = torch.stack([n / d.clamp_min(1e-300) for n, d in cands])        # [candidates, N]
        best = rel.argmin(dim=0)
        num = torch.stack([n for n, _ in cands]).gather(0, best[None])[0]
        den = torch.stack([d for _, d in cands]).gather(0, best[None])[0]
    return float(num.sum()), float(den.sum())


def _ratio(total: float, ref: float) -> float:
    if ref == 0:
        return 0.0 if total == 0 else float("inf")
    return (total / ref) ** 0.5


def map_equivariance_error(fx: torch.Tensor, fshift: torch.Tensor, stride: int, shift: int, margin: int = 0,
                           snap: bool = False) -> float:
    """Relative error between ``fshift = F(T_d x)`` and ``F(x)`` moved by ``d = shift`` input
    pixels to the right, both ``[N, C, h, w]`` maps of stride ``stride`` (see the module docstring).
    ``snap``: moved instead by ``floor(d / s)`` or ``ceil(d / s)`` whole cells, whichever fits
    each image better (APS chooses its phase image by image)."""
    return _ratio(*_error_sums(fx, fshift, stride, shift, margin, snap))


@torch.no_grad()
def layer_equivariance(model: nn.Module, x: torch.Tensor, shifted: Callable[[int], torch.Tensor],
                       layers: Sequence[tuple[str, nn.Module]], shift: int = 1, aligned: bool = False,
                       margin: int = 0, snap: bool = False, batch: int = 64) -> list[LayerError]:
    """The error of every watched layer (``layers``: ``(name, module)`` in depth order).

    Args:
        x: the input batch ``[N, C, H, W]``.
        shifted: ``shifted(d)`` returns ``x`` moved right by ``d`` pixels (zero fill for a digit,
            a moved window for a photo).
        shift: the input shift ``d`` (ignored when ``aligned``).
        aligned: shift by each layer's own stride ``s`` instead (whole cells).
        margin, snap: see :func:`map_equivariance_error`.
        batch: images per forward pass (the maps of a chunk are held for every layer at once).
    """
    if not layers:
        raise ValueError("no layers to watch")
    if batch < 1:
        raise ValueError(f"batch must be positive, got {batch}")
    was_training = model.training
    model.eval()
    sums: dict[str, list[float]] = {n: [0.0, 0.0] for n, _ in layers}
    strides: dict[str, int] = {}
    inputs: dict[int, torch.Tensor] = {}
    try:
        for i in range(0, x.shape[0], batch):
            rows = slice(i, i + batch)
            base = capture_maps(model, x[rows], layers)
            if not strides:
                strides = {n: accumulated_stride(x.shape[-1], base[n].shape[-1]) for n, _ in layers}
                needed = sorted({strides[n] for n, _ in layers}) if aligned else [shift]
                inputs = {d: shifted(d) for d in needed}
            moved = {d: capture_maps(model, t[rows], layers) for d, t in inputs.items()}
            for n, _ in layers:
                d = strides[n] if aligned else shift
                num, den = _error_sums(base[n], moved[d][n], strides[n], d, margin, snap)
                sums[n][0] += num
                sums[n][1] += den
            del base, moved
    finally:
        model.train(was_training)
    return [LayerError(n, depth, strides[n], strides[n] if aligned else shift, _ratio(*sums[n]))
            for depth, (n, _) in enumerate(layers, start=1)]
