"""How a photo is shifted: the crop, embed (black) and inpaint protocols, batched.

Every protocol first builds a *source* image and then moves a square window of the network's
input size ``S`` (224 px) over it; all windows of one photo come out of a single gather, ready
for one forward pass. Moving the window by ``(-d, -d)`` moves the content by ``(+d, +d)``:

``crop``
    The photo resized (bilinear, antialiased) so its short side is ``S + 2m`` (256 for
    ``S = 224``, ``m = 16``), centre-cropped to a square ``(S + 2m)^2`` source. The window at
    offset ``m`` is the standard "resize 256, centre crop 224" view. Real image content enters
    at the border as the window moves.
``embed``
    The whole photo resized so its long side is ``embed_size`` (192 px by default), pasted in
    the centre of a black ``(S + 2m)^2`` canvas. Every window then shows the complete photo on
    black, at a different position: exactly the photo pasted into a black ``S x S`` canvas and
    moved (no content is lost as long as ``|d| <= m``).
``inpaint``
    As ``embed``, but the black border is filled by repeated normalised blurring
    (:func:`inpaint_normalized_blur`). The fill is computed once on the large canvas, so it
    moves with the photo.

A *shift sequence* is ``T`` windows whose content is shifted diagonally by
``d = -(T // 2), ..., T - 1 - T // 2`` pixels (``dx = dy = d``); neighbours in the sequence
differ by a 1-pixel diagonal shift.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms.v2 import functional as TF

__all__ = [
    "PROTOCOLS",
    "DEFAULT_EMBED_SIZE",
    "Protocol",
    "to_float",
    "resize_short",
    "resize_long",
    "center_crop",
    "standard_view",
    "crop_windows",
    "inpaint_normalized_blur",
    "protocol_source",
    "sequence_shifts",
    "shift_sequence",
    "zhang_crops",
    "scaled_embeddings",
    "resize_pil",
    "resize_interpolate",
]

Protocol = Literal["crop", "embed", "inpaint"]
PROTOCOLS: tuple[str, ...] = ("crop", "embed", "inpaint")
#: long side (px) of the photo pasted into the canvas by the embed and inpaint protocols
DEFAULT_EMBED_SIZE = 192


def _check_image(img: torch.Tensor, name: str = "img") -> None:
    """ValueError unless ``img`` is one RGB image ``[3, H, W]`` with ``H, W >= 1``."""
    if not isinstance(img, torch.Tensor) or img.ndim != 3 or img.shape[0] != 3:
        got = list(img.shape) if isinstance(img, torch.Tensor) else type(img).__name__
        raise ValueError(f"expected one RGB image [3, H, W] (uint8 or float in [0, 1]) as {name}, got {got}")
    if img.shape[1] < 1 or img.shape[2] < 1:
        raise ValueError(f"{name} is an empty image (shape {list(img.shape)}): it needs a positive height and width "
                         "to be resized or cropped; check how it was cut or loaded")


def _check_maps(img: torch.Tensor, name: str, ranks: tuple[int, ...] | None = None) -> None:
    """ValueError unless ``img`` is a tensor of one of ``ranks`` (None: any of at least 2
    dimensions, ``[..., H, W]``) with positive height and width."""
    if not isinstance(img, torch.Tensor) or (img.ndim not in ranks if ranks else img.ndim < 2):
        got = list(img.shape) if isinstance(img, torch.Tensor) else type(img).__name__
        shapes = " or ".join({3: "[C, H, W]", 4: "[N, C, H, W]"}[r] for r in ranks) if ranks else "[..., H, W]"
        raise ValueError(f"{name} must be a tensor {shapes}, got {got}")
    if img.shape[-2] < 1 or img.shape[-1] < 1:
        raise ValueError(f"{name} is empty (shape {list(img.shape)}): it needs a positive height and width")


def to_float(img: torch.Tensor) -> torch.Tensor:
    """uint8 ``[..., H, W]`` -> float32 in ``[0, 1]``; float input is returned as float32."""
    if img.dtype == torch.uint8:
        return img.float() / 255.0
    if not img.dtype.is_floating_point:
        raise TypeError(f"images must be uint8 or float, got {img.dtype}")
    return img.float()


def _positive(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _non_negative(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


def _short_side_to(h: int, w: int, size: int) -> tuple[int, int]:
    """``(new_h, new_w)`` with the short side ``size`` and the aspect ratio kept (each side >= 1)."""
    return (size, max(1, round(w * size / h))) if h <= w else (max(1, round(h * size / w)), size)


def resize_short(img: torch.Tensor, size: int) -> torch.Tensor:
    """Resize (bilinear, antialiased) so the *short* side is ``size``; float ``[3, h, w]`` in [0, 1]."""
    _check_image(img)
    size = _positive(size, "size")
    nh, nw = _short_side_to(img.shape[-2], img.shape[-1], size)
    return TF.resize(to_float(img), [nh, nw], antialias=True).clamp_(0, 1)


def resize_long(img: torch.Tensor, size: int) -> torch.Tensor:
    """Resize (bilinear, antialiased) so the *long* side is ``size``; float ``[3, h, w]`` in [0, 1]."""
    _check_image(img)
    size = _positive(size, "size")
    h, w = img.shape[-2:]
    nh, nw = (size, max(1, round(w * size / h))) if h >= w else (max(1, round(h * size / w)), size)
    return TF.resize(to_float(img), [nh, nw], antialias=True).clamp_(0, 1)


def center_crop(img: torch.Tensor, size: int) -> torch.Tensor:
    """The central ``size x size`` square (top-left at ``((H - size) // 2, (W - size) // 2)``) of
    ``img [..., H, W]``."""
    _check_maps(img, "img")
    size = _positive(size, "size")
    h, w = img.shape[-2:]
    if size > h or size > w:
        raise ValueError(f"cannot crop {size}x{size} from a {h}x{w} image")
    top, left = (h - size) // 2, (w - size) // 2
    return img[..., top : top + size, left : left + size]


def standard_view(img: torch.Tensor, resize: int = 256, crop: int = 224) -> torch.Tensor:
    """The standard evaluation view: short side to ``resize``, centre crop ``crop``; float [3, crop, crop]."""
    return center_crop(resize_short(img, resize), crop).contiguous()


def crop_windows(source: torch.Tensor, offsets: torch.Tensor, size: int) -> torch.Tensor:
    """Square windows of ``source`` at many offsets, in one gather.

    Args:
        source: ``[C, H, W]``.
        offsets: ``[T, 2]`` integer ``(x, y)`` = (column, row) of each window's top-left corner.
        size: window side.

    Returns:
        ``[T, C, size, size]`` with ``out[t] = source[:, y_t : y_t + size, x_t : x_t + size]``.
    """
    _check_maps(source, "source", (3,))
    if not isinstance(offsets, torch.Tensor) or offsets.ndim != 2 or offsets.shape[1] != 2:
        raise ValueError("offsets must be a [T, 2] integer tensor of (x, y) corners")
    if offsets.dtype.is_floating_point:
        raise TypeError("offsets must be integers")
    size = _positive(size, "size")
    h, w = source.shape[-2:]
    off = offsets.to(source.device, torch.long)
    if off.numel() and (off.min() < 0 or off[:, 0].max() + size > w or off[:, 1].max() + size > h):
        raise ValueError(f"windows of {size} px at offsets {off.tolist()} do not fit a {h}x{w} source")
    r = torch.arange(size, device=source.device)
    rows = off[:, 1, None] + r  # [T, size]
    cols = off[:, 0, None] + r
    out = source[:, rows[:, :, None], cols[:, None, :]]  # [C, T, size, size]
    return out.permute(1, 0, 2, 3).contiguous()


def _box(t: torch.Tensor, radius: int) -> torch.Tensor:
    """Separable (2r+1)^2 box filter with zero padding (sums / (2r+1)^2)."""
    k = 2 * radius + 1
    t = F.avg_pool2d(t, (1, k), stride=1, padding=(0, radius), count_include_pad=True)
    return F.avg_pool2d(t, (k, 1), stride=1, padding=(radius, 0), count_include_pad=True)


def inpaint_normalized_blur(img: torch.Tensor, known: torch.Tensor, radius: int = 3,
                            smooth_iters: int = 40) -> torch.Tensor:
    """Fill unknown pixels by repeated normalised blurring.

    Grow phase: every pass, each unknown pixel with at least one known pixel in its
    ``(2r+1)^2`` neighbourhood takes the average of those known pixels
    (``box(x * known) / box(known)``) and becomes known; repeat until nothing is unknown.
    Smooth phase: ``smooth_iters`` passes of normalised blurring over the filled region only
    (the original pixels never change), which removes the streaks of the grow phase. Pixels
    outside the image count as unknown (normalisation, not zero padding, at the border).

    Args:
        img: ``[C, H, W]`` or ``[N, C, H, W]`` float.
        known: bool ``[H, W]`` or ``[N, 1, H, W]``, True where ``img`` is valid.

    Returns:
        The filled image, same shape as ``img``; known pixels are returned unchanged and every
        filled value is a convex combination of known values.
    """
    _check_maps(img, "img", (3, 4))
    if not isinstance(known, torch.Tensor):
        raise ValueError(f"known must be a bool tensor [H, W] or [N, 1, H, W], got {type(known).__name__}")
    single = img.ndim == 3
    x = img[None] if single else img
    m = known
    if m.ndim == 2:
        m = m[None, None]
    elif m.ndim == 3:
        m = m[:, None] if not single else m[None]
    if x.ndim != 4 or m.ndim != 4 or m.shape[-2:] != x.shape[-2:]:
        raise ValueError(f"img [C,H,W]/[N,C,H,W] and known [H,W]/[N,1,H,W] must match, got "
                         f"{tuple(img.shape)} and {tuple(known.shape)}")
    _positive(radius, "radius")
    smooth_iters = _non_negative(smooth_iters, "smooth_iters")
    m = m.to(torch.bool).expand(x.shape[0], 1, *x.shape[-2:])
    if not m.flatten(1).any(1).all():
        raise ValueError("every image needs at least one known pixel to inpaint from")
    x = to_float(x).clone()
    orig = m.clone()
    w = m.to(x.dtype)
    x = x * w
    for _ in range(x.shape[-2] + x.shape[-1]):
        if bool(w.bool().all()):
            break
        num, den = _box(x * w, radius), _box(w, radius)
        new = (w == 0) & (den > 0)
        x = torch.where(new, num / den.clamp_min(1e-12), x)
        w = torch.where(new, torch.ones_like(w), w)
    ones = torch.ones_like(w)
    norm = _box(ones, radius)
    for _ in range(smooth_iters):
        x = torch.where(orig, x, _box(x, radius) / norm)
    return x[0] if single else x


def protocol_source(img: torch.Tensor, protocol: str, out_size: int = 224, max_shift: int = 16,
                    embed_size: int = DEFAULT_EMBED_SIZE) -> tuple[torch.Tensor, tuple[int, int, int, int] | None]:
    """The source image a protocol moves its window over (see the module docstring).

    Returns:
        ``(source, box)``: ``source`` float ``[3, out_size + 2 max_shift, out_size + 2 max_shift]``;
        ``box = (top, left, height, width)`` of the photo inside it for ``embed``/``inpaint``,
        None for ``crop``.
    """
    _check_image(img)
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    out_size, embed_size = _positive(out_size, "out_size"), _positive(embed_size, "embed_size")
    max_shift = _non_negative(max_shift, "max_shift")
    side = out_size + 2 * max_shift
    if protocol == "crop":
        return center_crop(resize_short(img, side), side).contiguous(), None
    if embed_size > out_size:
        raise ValueError(f"embed_size ({embed_size}) must not exceed out_size ({out_size})")
    photo = resize_long(img, embed_size)
    h, w = photo.shape[-2:]
    top, left = (side - h) // 2, (side - w) // 2
    canvas = torch.zeros(3, side, side)
    canvas[:, top : top + h, left : left + w] = photo
    if protocol == "inpaint":
        known = torch.zeros(side, side, dtype=torch.bool)
        known[top : top + h, left : left + w] = True
        canvas = inpaint_normalized_blur(canvas, known)
    return canvas, (top, left, h, w)


def sequence_shifts(n_steps: int) -> torch.Tensor:
    """The content shifts ``d`` of a ``n_steps``-long diagonal sequence: ``arange(T) - T // 2``."""
    n_steps = _positive(n_steps, "n_steps")
    return torch.arange(n_steps) - n_steps // 2


def shift_sequence(img: torch.Tensor, protocol: str, n_steps: int = 33, out_size: int = 224, max_shift: int = 16,
                   embed_size: int = DEFAULT_EMBED_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """All frames of one photo's diagonal 1-pixel shift sequence under a protocol, as one batch.

    Frame ``k`` shows the content shifted by ``(d_k, d_k)`` (right and down) relative to the
    centred frame, ``d = sequence_shifts(n_steps)``; it is the window at offset
    ``(max_shift - d_k, max_shift - d_k)`` of :func:`protocol_source`.

    Returns:
        ``(frames, d)``: float ``[T, 3, out_size, out_size]`` in [0, 1] and the shifts ``[T]``.
    """
    d = sequence_shifts(n_steps)
    max_shift = _non_negative(max_shift, "max_shift")
    if int(d.abs().max()) > max_shift:
        raise ValueError(f"{n_steps} steps need shifts up to {int(d.abs().max())} px > max_shift={max_shift}")
    source, _ = protocol_source(img, protocol, out_size, max_shift, embed_size)
    o = max_shift - d
    return crop_windows(source, torch.stack([o, o], dim=1), out_size), d


def zhang_crops(img: torch.Tensor, n_crops: int, generator: torch.Generator, resize: int = 256,
                out_size: int = 224, max_offset: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Zhang's consistency crops: the photo resized to short side ``resize`` and centre-cropped to a
    ``resize^2`` square, then ``n_crops`` windows of ``out_size`` at independent random offsets
    ``(u, v)`` uniform in ``{0, ..., max_offset - 1}^2``.

    Returns:
        ``(crops [n_crops, 3, out_size, out_size], offsets [n_crops, 2])``.
    """
    _check_image(img)
    n_crops = _positive(n_crops, "n_crops")
    resize, out_size = _positive(resize, "resize"), _positive(out_size, "out_size")
    max_offset = _positive(max_offset, "max_offset")
    if out_size + max_offset - 1 > resize:
        raise ValueError(f"offsets up to {max_offset - 1} px need resize >= {out_size + max_offset - 1}")
    source = center_crop(resize_short(img, resize), resize)
    offsets = torch.randint(0, max_offset, (n_crops, 2), generator=generator)
    return crop_windows(source, offsets, out_size), offsets


def scaled_embeddings(img: torch.Tensor, sizes: list[int] | tuple[int, ...], out_size: int = 224,
                      background: str = "black") -> torch.Tensor:
    """The photo at several scales, centred in an ``out_size`` canvas: long side ``sizes[i]``.

    ``background`` is ``"black"`` or ``"inpaint"``. Returns float ``[len(sizes), 3, out, out]``.
    """
    if background not in ("black", "inpaint"):
        raise ValueError(f"background must be 'black' or 'inpaint', got {background!r}")
    if not sizes:
        raise ValueError("sizes must not be empty")
    checked = [_positive(s, f"sizes[{i}]") for i, s in enumerate(sizes)]
    frames = []
    for s in checked:
        source, _ = protocol_source(img, "embed" if background == "black" else "inpaint", out_size, 0, s)
        frames.append(source)
    return torch.stack(frames)


def resize_pil(img: torch.Tensor, resize: int = 256, crop: int = 224) -> torch.Tensor:
    """Standard view made with PIL: ``Image.resize(..., BILINEAR)`` (PIL widens the filter when
    shrinking, i.e. antialiases), then the centre crop. Float ``[3, crop, crop]``."""
    from PIL import Image

    _check_image(img)
    if img.dtype != torch.uint8:
        raise TypeError("resize_pil needs the original uint8 photo")
    resize, crop = _positive(resize, "resize"), _positive(crop, "crop")
    nh, nw = _short_side_to(img.shape[-2], img.shape[-1], resize)
    pil = Image.fromarray(img.permute(1, 2, 0).numpy())
    arr = np.asarray(pil.resize((nw, nh), Image.Resampling.BILINEAR), dtype=np.uint8)
    return center_crop(to_float(torch.from_numpy(arr.copy()).permute(2, 0, 1)), crop).contiguous()


def resize_interpolate(img: torch.Tensor, resize: int = 256, crop: int = 224) -> torch.Tensor:
    """Standard view made with ``torch.nn.functional.interpolate(mode="bilinear", antialias=False)``
    (samples 4 neighbours whatever the scale: no antialiasing), then the centre crop."""
    _check_image(img)
    resize, crop = _positive(resize, "resize"), _positive(crop, "crop")
    nh, nw = _short_side_to(img.shape[-2], img.shape[-1], resize)
    x = F.interpolate(to_float(img)[None], size=(nh, nw), mode="bilinear", align_corners=False, antialias=False)
    x = (x[0].clamp(0, 1) * 255).round() / 255  # stored as an 8-bit image, like PIL's result
    return center_crop(x, crop).contiguous()
