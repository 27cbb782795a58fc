"""Measuring an ImageNet model on shifted, cropped and rescaled photos, batched: every shift
of a photo goes through the model in one forward pass. Each function returns plain arrays
(one row per photo) for the metrics of :mod:`shiftlab.measure.shift_metrics`; the chapter's
cached study of all of them is :func:`shiftlab.studies.imagenet_shifts.run_shift_study`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from shiftlab.core.progress import tqdm
from shiftlab.data.photos import PhotoSet
from shiftlab.measure.protocols import (
    DEFAULT_EMBED_SIZE,
    PROTOCOLS,
    resize_interpolate,
    resize_pil,
    scaled_embeddings,
    sequence_shifts,
    shift_sequence,
    zhang_crops,
)
from shiftlab.measure.shift_metrics import sequence_statistics
from shiftlab.nn.imagenet_models import ImageNetModel

__all__ = [
    "measure_sequences",
    "measure_consistency",
    "measure_scales",
    "measure_resize_routines",
]


def _check(model: ImageNetModel, photos: PhotoSet) -> None:
    if not isinstance(model, ImageNetModel):
        raise TypeError(f"model must be an ImageNetModel (see load_imagenet_model), got {type(model).__name__}")
    if not isinstance(photos, PhotoSet) or len(photos) == 0:
        raise ValueError("photos must be a non-empty PhotoSet (see load_photos)")


def measure_sequences(model: ImageNetModel, photos: PhotoSet, protocol: str, n_steps: int = 17,
                      max_shift: int = 16, embed_size: int = DEFAULT_EMBED_SIZE,
                      progress: bool = True) -> dict[str, np.ndarray]:
    """Run every photo's diagonal shift sequence under ``protocol`` (one forward pass per photo).

    Returns:
        Arrays stacked over photos: ``top1 [N, T]``, ``top5 [N, T, 5]``, ``p_true``, ``p_top1``,
        ``top5_correct [N, T]``, ``p_next [N, T-1]``, plus ``shifts [T]`` and ``labels [N]``.
    """
    _check(model, photos)
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    rows = []
    for img, label in tqdm(list(zip(photos.images, photos.labels.tolist())), desc=f"{protocol} sequences",
                           disable=not progress, leave=False):
        frames, _ = shift_sequence(img, protocol, n_steps, model.input_size, max_shift, embed_size)
        rows.append(sequence_statistics(model.predict(frames, batch_size=n_steps), label))
    out = {k: np.stack([r[k] for r in rows]) for k in rows[0]}
    out["shifts"] = sequence_shifts(n_steps).numpy()
    out["labels"] = photos.labels.numpy()
    return out


def measure_consistency(model: ImageNetModel, photos: PhotoSet, n_crops: int = 8, seed: int = 0,
                        progress: bool = True) -> dict[str, np.ndarray]:
    """Zhang's random-crop consistency: ``n_crops`` random crops per photo in one forward pass.

    Returns ``top1 [N, K]``, ``offsets [N, K, 2]``, ``correct [N, K]``.
    """
    _check(model, photos)
    if n_crops < 2:
        raise ValueError(f"n_crops must be at least 2, got {n_crops}")
    gen = torch.Generator().manual_seed(seed)
    resize = round(model.input_size * 256 / 224)
    top1, offsets = [], []
    for img in tqdm(photos.images, desc="consistency crops", disable=not progress, leave=False):
        crops, off = zhang_crops(img, n_crops, gen, resize=resize, out_size=model.input_size,
                                 max_offset=resize - model.input_size)
        top1.append(model.predict(crops, batch_size=n_crops).argmax(1).numpy())
        offsets.append(off.numpy())
    t1 = np.stack(top1)
    return {"top1": t1, "offsets": np.stack(offsets), "correct": t1 == photos.labels.numpy()[:, None]}


def measure_scales(model: ImageNetModel, photos: PhotoSet, sizes: Sequence[int] = (224, 192, 160, 128, 96, 64, 32),
                   background: str = "black", progress: bool = True) -> dict[str, np.ndarray]:
    """Accuracy vs object scale: the whole photo with long side ``s`` centred in the canvas.

    Returns ``sizes [S]``, ``top1_correct [N, S]``, ``top5_correct [N, S]``, ``p_true [N, S]``.
    """
    _check(model, photos)
    sizes = [int(s) for s in sizes]
    if not sizes or any(s < 1 or s > model.input_size for s in sizes):
        raise ValueError(f"sizes must lie in [1, {model.input_size}], got {sizes}")
    t1, t5, pt = [], [], []
    labels = photos.labels.tolist()
    for img, label in tqdm(list(zip(photos.images, labels)), desc="scales", disable=not progress, leave=False):
        probs = model.predict(scaled_embeddings(img, sizes, model.input_size, background), batch_size=len(sizes))
        top5 = probs.topk(5, 1).indices
        t1.append((top5[:, 0] == label).numpy())
        t5.append((top5 == label).any(1).numpy())
        pt.append(probs[:, label].numpy())
    return {"sizes": np.array(sizes), "top1_correct": np.stack(t1), "top5_correct": np.stack(t5),
            "p_true": np.stack(pt).astype(np.float32)}


def measure_resize_routines(model: ImageNetModel, photos: PhotoSet, progress: bool = True) -> dict[str, np.ndarray]:
    """The resize anecdote: each photo's standard view made by PIL (antialiased) and by
    ``F.interpolate`` (no antialiasing), both evaluated in one forward pass per photo.

    Returns ``top5_pil [N, 5]``, ``top5_interp [N, 5]``, ``p_true [N, 2]``, ``pixel_diff [N]``
    (mean absolute difference of the two inputs, in 0-255 grey levels).
    """
    _check(model, photos)
    resize = round(model.input_size * 256 / 224)
    a5, b5, pt, diff = [], [], [], []
    for img, label in tqdm(list(zip(photos.images, photos.labels.tolist())), desc="resize routines",
                           disable=not progress, leave=False):
        pair = torch.stack([resize_pil(img, resize, model.input_size),
                            resize_interpolate(img, resize, model.input_size)])
        probs = model.predict(pair, batch_size=2)
        top5 = probs.topk(5, 1).indices.numpy()
        a5.append(top5[0])
        b5.append(top5[1])
        pt.append(probs[:, label].numpy())
        diff.append(float((pair[0] - pair[1]).abs().mean()) * 255)
    return {"top5_pil": np.stack(a5), "top5_interp": np.stack(b5), "p_true": np.stack(pt).astype(np.float32),
            "pixel_diff": np.array(diff), "labels": photos.labels.numpy()}
