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

from .plotting import BOOK_WIDTH
from .shifts import translate

__all__ = ["centre_of_mass", "centre_offsets", "recenter", "com_histogram", "shift_to_radius", "ink_frequency",
           "plot_centring"]


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
    nb = int(round(2 * max_offset * bins_per_pixel))
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


def plot_centring(train_images: torch.Tensor, test_images: torch.Tensor,
                  curves: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
                  radii: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8), aug_reach: int = 3,
                  seed: int = 0, width: float = BOOK_WIDTH):
    """The MNIST centring figure, in pixel coordinates, 2 x 2 panels ``width`` inches wide:
    (a) where training digits have ink, (b) their centres of mass, (c) centres of shifted test
    digits (one random shift per ring) against the 1-px square of the training centres and the
    reach of +-``aug_reach`` px augmentation, (d) optional accuracy curves
    ``{label: (ring, accuracy)}``."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import MaxNLocator

    from .plotting import show_image
    from .tta import ring_shifts  # local import: tta imports this module

    fig, axes = plt.subplots(2, 2, figsize=(width, 0.9 * width), layout="constrained")
    axes = axes.ravel()
    show_image(axes[0], ink_frequency(train_images),
               f"(a) ink, {train_images.shape[0]:,} training digits",
               cmap="magma", colorbar="fraction of digits with ink")
    com = centre_of_mass(train_images).numpy()
    c0 = np.round(com.mean(0))
    edges_x = np.arange(c0[0] - 1.5, c0[0] + 1.5 + 1e-9, 0.05)
    edges_y = np.arange(c0[1] - 1.5, c0[1] + 1.5 + 1e-9, 0.05)
    h, _, _ = np.histogram2d(com[:, 1], com[:, 0], bins=[edges_y, edges_x])
    h = h / com.shape[0]
    im = axes[1].imshow(np.where(h > 0, h, np.nan), cmap="viridis", interpolation="nearest",
                        extent=(edges_x[0], edges_x[-1], edges_y[-1], edges_y[0]))
    fig.colorbar(im, ax=axes[1], fraction=0.046, pad=0.04).set_label(
        "fraction of digits per 0.05 px bin")
    axes[1].add_patch(Rectangle((c0[0] - 0.5, c0[1] - 0.5), 1, 1, fill=False, ec="lime", lw=1.5))
    axes[1].set(title="(b) centres of mass, training", xlabel="x (pixels)",
                ylabel="y (pixels)")
    g = torch.Generator().manual_seed(seed)
    base = centre_of_mass(test_images).numpy()
    cmap = plt.get_cmap("plasma")
    for i, r in enumerate(radii):
        dx, dy = ring_shifts(test_images.shape[0], r, g)
        axes[2].scatter(base[:, 0] + dx.numpy(), base[:, 1] + dy.numpy(), s=2, alpha=0.4,
                        color=cmap(i / max(len(radii) - 1, 1)),
                        label=f"ring {r}" if r in (radii[0], radii[-1]) else None)
    axes[2].add_patch(Rectangle((c0[0] - 0.5, c0[1] - 0.5), 1, 1, fill=False, ec="lime", lw=2,
                                label="training centres"))
    axes[2].add_patch(Rectangle((c0[0] - aug_reach - 0.5, c0[1] - aug_reach - 0.5),
                                2 * aug_reach + 1, 2 * aug_reach + 1, fill=False, ec="k",
                                ls="--", lw=1.2, label=f"+-{aug_reach} px augmentation"))
    lim = max(radii) + 1.5
    axes[2].set(xlim=(c0[0] - lim, c0[0] + lim), ylim=(c0[1] + lim, c0[1] - lim),
                aspect="equal", title="(c) centres of shifted test digits",
                xlabel="x (pixels)", ylabel="y (pixels)")
    axes[2].legend(fontsize=8, loc="lower left", markerscale=4, framealpha=0.9)
    for ax in axes[:3]:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if curves:
        for label, (r, acc) in curves.items():
            axes[3].plot(r, acc, marker="o", ms=3, label=label)
        axes[3].axvspan(-0.5, 0.5, color="lime", alpha=0.25, label="training centres")
        axes[3].set(title="(d) trained on centred digits",
                    xlabel="shift ring max(|dx|, |dy|) (pixels)", ylabel="test accuracy",
                    ylim=(0, 1.01))
        axes[3].xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[3].legend(fontsize=8)
        axes[3].grid(alpha=0.3)
    else:
        axes[3].set_visible(False)
    return fig
