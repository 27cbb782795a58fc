"""How much do small shifts change an ImageNet classifier? The metrics of Azulay & Weiss and
Zhang, measured on real photos, batched (all shifts of a photo in one forward pass) and cached.

Metrics (``N`` photos, a diagonal 1-pixel shift sequence of ``T`` frames per photo):

P(top-1 change)
    over all pairs of neighbouring frames (content shifted by one pixel diagonally), the
    fraction whose top-1 classes differ.
MAC (mean absolute change)
    over the same pairs ``(x, x')``, the mean of ``|p(y_hat | x) - p(y_hat | x')|`` where
    ``y_hat`` is the top-1 class of ``x``.
Jaggedness
    the fraction of photos whose top-5 correctness (true class in the top 5 or not) flips at
    least once between neighbouring frames; the *flip rate* is the fraction of pairs that flip.
Consistency (Zhang 2019)
    the percentage of pairs of random 224 crops of a 256 x 256 image (offsets uniform in
    ``{0..31}^2``) whose top-1 classes agree. We draw ``K`` crops per photo and use all
    ``K (K - 1) / 2`` pairs (the same expectation as Zhang's one pair per image, lower variance).
Barcode
    the probability of the true class along the sequence, one row per photo, rows sorted.
Accuracy vs scale
    top-1/top-5 accuracy when the whole photo, long side ``s`` px, is centred in a black 224 canvas.
Resize routines
    the standard view (short side 256, centre crop 224) made by PIL's antialiased bilinear
    resize and by ``F.interpolate(bilinear, antialias=False)``: how often top-1 / top-5 differ.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .cache import config_key, read_verified_bytes, write_verified_bytes
from .config import cache_dir, is_quick
from .imagenet import ImageNetModel
from .photos import PhotoSet
from .plotting import BOOK_WIDTH
from .protocols import (DEFAULT_EMBED_SIZE, PROTOCOLS, resize_interpolate, resize_pil, scaled_embeddings,
                        sequence_shifts, shift_sequence, zhang_crops)

__all__ = [
    "CODE_VERSION",
    "PUBLISHED_AZULAY_WEISS",
    "PUBLISHED_ZHANG",
    "sequence_statistics",
    "p_top1_change",
    "mean_absolute_change",
    "flip_rate",
    "jaggedness",
    "consistency",
    "barcode_order",
    "per_photo",
    "bootstrap_interval",
    "relation",
    "load_or_compute_arrays",
    "measure_sequences",
    "measure_consistency",
    "measure_scales",
    "measure_resize_routines",
    "ShiftStudy",
    "StudyConfig",
    "run_shift_study",
    "comparison_markdown",
    "plot_protocol_frames",
    "plot_sequence_curves",
    "plot_barcodes",
    "plot_pair_metrics",
    "plot_consistency",
    "plot_scale_curve",
    "plot_resize_example",
]

CODE_VERSION = "shift-metrics-1"

#: Azulay & Weiss (JMLR 2019), Table 1: P(top-1 change) and MAC under 1-pixel shifts.
PUBLISHED_AZULAY_WEISS: dict[str, dict[str, float]] = {
    "VGG16": {"p_change_crop": 0.062, "p_change_embed": 0.18, "mac_crop": 0.038, "mac_embed": 0.06},
    "ResNet50": {"p_change_crop": 0.061, "p_change_embed": 0.20, "mac_crop": 0.04, "mac_embed": 0.086},
    "DenseNet121": {"p_change_crop": 0.068, "p_change_embed": 0.19},
}
#: Zhang (ICML 2019): consistency in % on the ImageNet validation set (baseline / BlurPool Bin-5).
PUBLISHED_ZHANG: dict[str, dict[str, float]] = {
    "ResNet50": {"consistency": 89.2, "consistency_blurpool": 91.3},
    "VGG16": {"consistency": 88.5, "consistency_blurpool": 90.9},
    "ResNet18": {"consistency": 85.1, "consistency_blurpool": 88.4},
}


# --------------------------------------------------------------------------- pure metrics


def _as_array(x: Any, name: str, ndim: int) -> np.ndarray:
    """``x`` as a NumPy array with ``ndim`` dimensions and at least one row (a mean over nothing
    would be NaN)."""
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {a.shape}): need at least one sequence or photo")
    return a


def _classes(x: Any, name: str) -> np.ndarray:
    """Top-1 class indices ``[N, T]`` (integers), not probabilities or logits."""
    a = _as_array(x, name, 2)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name} must hold top-1 class indices (integers), got dtype {a.dtype}: "
                        "pass probs.argmax(-1), not the probabilities or logits themselves")
    return a


def _probabilities(x: Any, name: str) -> np.ndarray:
    """Probabilities ``[N, T]`` (finite, in [0, 1]), not logits."""
    a = _as_array(x, name, 2)
    if not np.issubdtype(a.dtype, np.number):
        raise TypeError(f"{name} must hold probabilities (numbers in [0, 1]), got dtype {a.dtype}")
    if a.size and not (np.isfinite(a).all() and a.min() >= 0 and a.max() <= 1 + 1e-6):
        raise ValueError(f"{name} must hold probabilities in [0, 1], got values in [{a.min()}, {a.max()}]: "
                         "logits? apply softmax first")
    return a


def sequence_statistics(probs: torch.Tensor, label: int) -> dict[str, np.ndarray]:
    """What the metrics need from the class probabilities ``[T, K]`` of one shift sequence.

    Returns:
        ``top1 [T]``, ``top5 [T, 5]``, ``p_true [T]`` (probability of ``label``), ``p_top1 [T]``
        (probability of each frame's own top-1), ``p_next [T - 1]`` (probability that frame
        ``k + 1`` gives to the top-1 class of frame ``k``), ``top5_correct [T]``.
    """
    if not isinstance(probs, torch.Tensor) or probs.ndim != 2 or probs.shape[0] < 1:
        raise ValueError("probs must be a [T, K] tensor with T >= 1")
    if not 0 <= int(label) < probs.shape[1]:
        raise ValueError(f"label {label} outside [0, {probs.shape[1]})")
    top5 = probs.topk(min(5, probs.shape[1]), dim=1).indices
    top1 = top5[:, 0]
    idx = torch.arange(probs.shape[0])
    return {
        "top1": top1.numpy().astype(np.int64),
        "top5": top5.numpy().astype(np.int64),
        "p_true": probs[:, int(label)].numpy().astype(np.float32),
        "p_top1": probs[idx, top1].numpy().astype(np.float32),
        "p_next": probs[idx[1:], top1[:-1]].numpy().astype(np.float32),
        "top5_correct": (top5 == int(label)).any(dim=1).numpy(),
    }


def p_top1_change(top1: np.ndarray | torch.Tensor) -> float:
    """Fraction of neighbouring pairs ``(k, k+1)`` in ``top1 [N, T]`` whose top-1 classes differ.

    Raises:
        TypeError: ``top1`` does not hold class indices (e.g. probabilities or logits).
        ValueError: no sequence, or fewer than 2 frames.
    """
    a = _classes(top1, "top1")
    if a.shape[1] < 2:
        raise ValueError("need at least 2 frames per sequence")
    return float((a[:, 1:] != a[:, :-1]).mean())


def mean_absolute_change(p_top1: np.ndarray | torch.Tensor, p_next: np.ndarray | torch.Tensor) -> float:
    """MAC: mean ``|p_k(y_hat_k) - p_{k+1}(y_hat_k)|`` from ``p_top1 [N, T]`` and ``p_next [N, T-1]``
    (probabilities, see :func:`sequence_statistics`).

    Raises:
        ValueError: values that are not probabilities in [0, 1] (e.g. logits), no sequence,
            fewer than 2 frames, or mismatched shapes.
    """
    a, b = _probabilities(p_top1, "p_top1"), _probabilities(p_next, "p_next")
    if a.shape[1] < 2:
        raise ValueError("need at least 2 frames per sequence")
    if b.shape != (a.shape[0], a.shape[1] - 1):
        raise ValueError(f"p_next must have shape {(a.shape[0], a.shape[1] - 1)}, got {b.shape}")
    return float(np.abs(a[:, :-1].astype(np.float64) - b).mean())


def flip_rate(correct: np.ndarray | torch.Tensor) -> float:
    """Fraction of neighbouring pairs in ``correct [N, T]`` (bool) whose correctness differs."""
    a = _as_array(correct, "correct", 2).astype(bool)
    if a.shape[1] < 2:
        raise ValueError("need at least 2 frames per sequence")
    return float((a[:, 1:] != a[:, :-1]).mean())


def jaggedness(correct: np.ndarray | torch.Tensor) -> float:
    """Fraction of sequences (rows of ``correct [N, T]``) whose correctness flips at least once."""
    a = _as_array(correct, "correct", 2).astype(bool)
    if a.shape[1] < 2:
        raise ValueError("need at least 2 frames per sequence")
    return float((a[:, 1:] != a[:, :-1]).any(axis=1).mean())


def consistency(top1: np.ndarray | torch.Tensor) -> float:
    """Zhang's consistency in %: over all pairs ``i < j`` of the crops of each image (rows of
    ``top1 [N, K]``), the percentage whose top-1 classes agree (each image weighs the same)."""
    a = _classes(top1, "top1")
    k = a.shape[1]
    if k < 2:
        raise ValueError("need at least 2 crops per image")
    i, j = np.triu_indices(k, 1)
    return float(100.0 * (a[:, i] == a[:, j]).mean())


def barcode_order(p_true: np.ndarray | torch.Tensor) -> np.ndarray:
    """Row order of the barcode: photos sorted by their mean probability of the true class
    (ties broken by the sequence's total variation, so steady rows come first)."""
    a = _as_array(p_true, "p_true", 2).astype(np.float64)
    tv = np.abs(np.diff(a, axis=1)).sum(axis=1) if a.shape[1] > 1 else np.zeros(a.shape[0])
    return np.lexsort((tv, -a.mean(axis=1)))


def per_photo(metric: str, data: dict[str, np.ndarray]) -> np.ndarray:
    """One value per photo whose mean is the study's headline number.

    ``metric`` is ``"p_change"`` or ``"mac"`` (``data`` = one protocol's sequences: every photo
    has the same number of pairs, so the mean over photos equals the mean over pairs) or
    ``"consistency"`` (``data`` = the crop measurements; % of each photo's crop pairs that agree).
    """
    if metric == "p_change":
        a = _classes(data["top1"], "top1")
        return (a[:, 1:] != a[:, :-1]).mean(axis=1)
    if metric == "mac":
        a, b = _probabilities(data["p_top1"], "p_top1"), _probabilities(data["p_next"], "p_next")
        return np.abs(a[:, :-1].astype(np.float64) - b).mean(axis=1)
    if metric == "consistency":
        a = _classes(data["top1"], "top1")
        i, j = np.triu_indices(a.shape[1], 1)
        return 100.0 * (a[:, i] == a[:, j]).mean(axis=1)
    raise ValueError(f"metric must be 'p_change', 'mac' or 'consistency', got {metric!r}")


def bootstrap_interval(values: np.ndarray | Sequence[float], n_boot: int = 2000,
                       level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-photo ``values`` (photos resampled
    with replacement): how far the headline number could move with another photo sample."""
    a = np.asarray(values, dtype=np.float64).reshape(-1)
    if a.size < 2:
        raise ValueError("need at least 2 values")
    if not 0 < level < 1 or n_boot < 1:
        raise ValueError("level must lie in (0, 1) and n_boot be positive")
    rng = np.random.default_rng(seed)
    means = a[rng.integers(0, a.size, size=(n_boot, a.size))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def relation(low: float, high: float, published: Sequence[float]) -> str:
    """How published values sit relative to our interval ``[low, high]``: ``"above"`` (ours is
    higher than every published value), ``"below"``, or ``"compatible with"`` (our interval
    reaches at least one of them)."""
    if low > high:
        raise ValueError(f"low must not exceed high, got {low} > {high}")
    pub = [float(v) for v in published]
    if not pub:
        raise ValueError("need at least one published value")
    if low > max(pub):
        return "above"
    if high < min(pub):
        return "below"
    return "compatible with"


# --------------------------------------------------------------------------- caching

_MAGIC = b"SHIFTLAB-NPZ-1\n"


def _write_verified(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_verified_bytes(path, buf.getvalue(), _MAGIC)


def _read_verified(path: Path) -> dict[str, np.ndarray]:
    payload = read_verified_bytes(path, _MAGIC)
    with np.load(io.BytesIO(payload), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_or_compute_arrays(kind: str, config: dict[str, Any], compute: Callable[[], dict[str, np.ndarray]],
                           use_cache: bool = True, folder: Path | None = None) -> dict[str, np.ndarray]:
    """Load a dict of arrays from the cache or compute and store it.

    The file name is ``<kind>-<config_key(config + CODE_VERSION)>.npz`` in
    ``cache_dir()/imagenet_shifts``; it is written atomically (temporary file + ``os.replace``)
    with a SHA-256 header and verified on load. A damaged file triggers a warning and a
    recomputation, never a silent use.
    """
    if not kind.isidentifier():
        raise ValueError(f"kind must be a simple name, got {kind!r}")
    if not use_cache:  # no cache folder needed
        return {k: np.asarray(v) for k, v in compute().items()}
    key = config_key({"config": config, "code": CODE_VERSION})
    path = (folder or cache_dir() / "imagenet_shifts") / f"{kind}-{key}.npz"
    if path.is_file():
        try:
            return _read_verified(path)
        except Exception as exc:  # damaged, truncated, foreign: never use it
            warnings.warn(f"cache file {path} is unusable ({exc}); recomputing", RuntimeWarning, stacklevel=2)
    arrays = {k: np.asarray(v) for k, v in compute().items()}
    _write_verified(path, arrays)
    return arrays


# --------------------------------------------------------------------------- measurements


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


# --------------------------------------------------------------------------- the whole study


@dataclass(frozen=True)
class StudyConfig:
    """Sizes of one study (quick mode makes them small; see :meth:`default`)."""

    n_steps: int = 17
    max_shift: int = 16
    embed_size: int = DEFAULT_EMBED_SIZE
    n_crops: int = 8
    seed: int = 0
    sizes: tuple[int, ...] = (224, 192, 160, 128, 96, 64, 32)
    protocols: tuple[str, ...] = PROTOCOLS

    @classmethod
    def default(cls) -> StudyConfig:
        """Full: 17 frames (shifts -8..8 px), 8 crops, 7 scales. Quick: 5 frames, 3 crops, 3 scales."""
        if is_quick():
            return cls(n_steps=5, n_crops=3, sizes=(224, 128, 64))
        return cls()

    def as_dict(self) -> dict[str, Any]:
        return {"n_steps": self.n_steps, "max_shift": self.max_shift, "embed_size": self.embed_size,
                "n_crops": self.n_crops, "seed": self.seed, "sizes": list(self.sizes),
                "protocols": list(self.protocols)}


@dataclass
class ShiftStudy:
    """All measurements of one model on one photo set (arrays per measurement) and the numbers."""

    model_name: str
    model_summary: str
    n_photos: int
    config: StudyConfig
    sequences: dict[str, dict[str, np.ndarray]]
    consistency: dict[str, np.ndarray]
    scales: dict[str, np.ndarray]
    resize: dict[str, np.ndarray]
    class_names: list[str] = field(default_factory=list, repr=False)

    def numbers(self) -> dict[str, float]:
        """The headline numbers (fractions in [0, 1] except consistency, in %)."""
        out: dict[str, float] = {}
        for p, s in self.sequences.items():
            out[f"p_change_{p}"] = p_top1_change(s["top1"])
            out[f"mac_{p}"] = mean_absolute_change(s["p_top1"], s["p_next"])
            out[f"top5_flip_rate_{p}"] = flip_rate(s["top5_correct"])
            out[f"jaggedness_{p}"] = jaggedness(s["top5_correct"])
            mid = s["top1"].shape[1] // 2
            out[f"top1_{p}"] = float((s["top1"][:, mid] == s["labels"]).mean())
        out["consistency"] = consistency(self.consistency["top1"])
        out["crop_accuracy"] = float(self.consistency["correct"].mean())
        for i, s in enumerate(self.scales["sizes"]):
            out[f"scale_top1_{int(s)}"] = float(self.scales["top1_correct"][:, i].mean())
            out[f"scale_top5_{int(s)}"] = float(self.scales["top5_correct"][:, i].mean())
        r = self.resize
        out["resize_top1_differs"] = float((r["top5_pil"][:, 0] != r["top5_interp"][:, 0]).mean())
        out["resize_top5_set_differs"] = float(np.mean([set(a) != set(b) for a, b in
                                                       zip(r["top5_pil"], r["top5_interp"])]))
        out["resize_top5_list_differs"] = float((r["top5_pil"] != r["top5_interp"]).any(1).mean())
        out["resize_top1_pil"] = float((r["top5_pil"][:, 0] == r["labels"]).mean())
        out["resize_top1_interp"] = float((r["top5_interp"][:, 0] == r["labels"]).mean())
        out["resize_pixel_diff"] = float(r["pixel_diff"].mean())
        return out


def run_shift_study(model: ImageNetModel, photos: PhotoSet, config: StudyConfig | None = None,
                    use_cache: bool = True, progress: bool = True) -> ShiftStudy:
    """Every measurement of the chapter for one model and photo set, each loaded from the cache
    or computed (batched: one forward pass per photo and measurement).

    Args:
        model: from :func:`shiftlab.imagenet.load_imagenet_model`.
        photos: from :func:`shiftlab.photos.load_photos`.
        config: sizes (default :meth:`StudyConfig.default`, which depends on quick mode).
        use_cache: read and write the cache (keyed by model, photos, config and code version).
    """
    _check(model, photos)
    cfg = config or StudyConfig.default()
    base = {"model": model.identity, "photos": photos.fingerprint()}
    seqs = {}
    for p in cfg.protocols:
        seqs[p] = load_or_compute_arrays(
            f"seq_{p}", {**base, "n_steps": cfg.n_steps, "max_shift": cfg.max_shift, "embed_size": cfg.embed_size},
            lambda p=p: measure_sequences(model, photos, p, cfg.n_steps, cfg.max_shift, cfg.embed_size, progress),
            use_cache)
    cons = load_or_compute_arrays("consistency", {**base, "n_crops": cfg.n_crops, "seed": cfg.seed},
                                  lambda: measure_consistency(model, photos, cfg.n_crops, cfg.seed, progress),
                                  use_cache)
    scales = load_or_compute_arrays("scales", {**base, "sizes": list(cfg.sizes)},
                                    lambda: measure_scales(model, photos, cfg.sizes, "black", progress), use_cache)
    resize = load_or_compute_arrays("resize", base, lambda: measure_resize_routines(model, photos, progress),
                                    use_cache)
    return ShiftStudy(model.name, model.summary(), len(photos), cfg, seqs, cons, scales, resize,
                      list(photos.class_names))


def comparison_markdown(study: ShiftStudy) -> str:
    """A narrow Markdown table (five columns) of our numbers beside the published ones, then
    one line that says what ours rest on (model, photos, pairs) and where the others come from."""
    n = study.numbers()
    k, t = study.n_photos, study.config.n_steps
    pairs = k * (t - 1)
    c = study.config.n_crops
    aw, z = PUBLISHED_AZULAY_WEISS, PUBLISHED_ZHANG
    lines = ["| metric | protocol | ours | VGG16 | ResNet50 |", "|---|---|---|---|---|"]

    def fmt(v: float | None, spec: str = ".3f") -> str:
        return "–" if v is None else format(v, spec)

    for metric, label in (("p_change", "P(top-1 change)"), ("mac", "MAC")):
        for p in ("crop", "embed", "inpaint"):
            if p not in study.sequences:
                continue
            pub = p if p in ("crop", "embed") else None
            v = aw["VGG16"].get(f"{metric}_{pub}") if pub else None
            r = aw["ResNet50"].get(f"{metric}_{pub}") if pub else None
            proto = {"crop": "crop", "embed": "black", "inpaint": "inpaint"}[p]
            ours = fmt(n[f"{metric}_{p}"])
            lines.append(f"| {label} | {proto} | {ours} | {fmt(v)} | {fmt(r)} |")
    lines.append(f"| consistency (%) | 224 crops of 256 | {n['consistency']:.1f} | "
                 f"{z['VGG16']['consistency']:.1f} | {z['ResNet50']['consistency']:.1f} |")
    lines += ["", f"Ours: {study.model_name}, {k} photos, {pairs} pairs of 1-pixel shifts per "
              f"protocol, {k * c * (c - 1) // 2} crop pairs. VGG16 and ResNet50: Azulay & Weiss, "
              "Table 1 (P(top-1 change) and MAC, 1-pixel shifts; – = not reported) and Zhang "
              "(consistency, 50 000 validation images)."]
    return "\n".join(lines)


# --------------------------------------------------------------------------- figures




def _integer_ticks(*axes: Any, nbins: int | str = "auto") -> None:
    from matplotlib.ticker import MaxNLocator

    for axis in axes:
        axis.set_major_locator(MaxNLocator(nbins=nbins, integer=True))


def _rgb(ax: Any, img: torch.Tensor, title: str) -> None:
    ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy(), interpolation="nearest")
    ax.set_title(title)
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    _integer_ticks(ax.xaxis, ax.yaxis, nbins=4)


def plot_protocol_frames(img: torch.Tensor, shifts: Sequence[int] = (-8, 0, 8),
                         max_shift: int = 16, embed_size: int = DEFAULT_EMBED_SIZE,
                         out_size: int = 224):
    """One row per protocol: the frames of a photo at a few diagonal shifts. Returns the figure."""
    import matplotlib.pyplot as plt

    side = min(2.6, BOOK_WIDTH / len(shifts))
    fig, axes = plt.subplots(len(PROTOCOLS), len(shifts), squeeze=False,
                             figsize=(side * len(shifts), (side + 0.1) * len(PROTOCOLS) + 0.4),
                             constrained_layout=True)
    n = 2 * max_shift + 1
    for i, p in enumerate(PROTOCOLS):
        frames, d = shift_sequence(img, p, n, out_size, max_shift, embed_size)
        for j, s in enumerate(shifts):
            k = int((d == s).nonzero()[0, 0])
            _rgb(axes[i, j], frames[k], f"{p}, d = {s:+d}")
    fig.suptitle(f"The three protocols: content moved by (d, d) px ({out_size} px input)")
    return fig


def plot_sequence_curves(study: ShiftStudy, protocol: str = "crop", n: int = 6):
    """Probability of the true class vs diagonal shift for the ``n`` most jagged photos."""
    import matplotlib.pyplot as plt

    s = study.sequences[protocol]
    tv = np.abs(np.diff(s["p_true"], axis=1)).sum(axis=1)
    fig, ax = plt.subplots(figsize=(BOOK_WIDTH, 3.3), constrained_layout=True)
    for i in np.argsort(-tv)[:n]:
        name = (study.class_names[s["labels"][i]].split(",")[0] if study.class_names
                else str(s["labels"][i]))
        ax.plot(s["shifts"], s["p_true"][i], marker=".", label=name)
    ax.set_xlabel("diagonal shift d (pixels; content moved by (d, d))")
    ax.set_ylabel("p(true class)")
    ax.set_ylim(-0.02, 1.02)
    _integer_ticks(ax.xaxis)
    ax.set_title(f"{protocol}: the {n} most jagged photos ({study.model_name})")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    return fig


def plot_barcodes(study: ShiftStudy, protocols: Sequence[str] | None = None):
    """Azulay & Weiss' "barcode": p(true class) along the shift sequence, one row per photo,
    rows sorted by mean probability; one panel per protocol, one colour bar."""
    import matplotlib.pyplot as plt

    protocols = list(protocols or study.sequences)
    fig, axes = plt.subplots(1, len(protocols), figsize=(BOOK_WIDTH, 4.2), squeeze=False,
                             constrained_layout=True)
    im = None
    for ax, p in zip(axes[0], protocols):
        s = study.sequences[p]
        order = barcode_order(s["p_true"])
        d = s["shifts"]
        im = ax.imshow(s["p_true"][order], aspect="auto", cmap="gray", vmin=0, vmax=1,
                       interpolation="nearest",
                       extent=(d[0] - 0.5, d[-1] + 0.5, len(order) - 0.5, -0.5))
        ax.set_title(f"{p}\nP(change) = {p_top1_change(s['top1']):.3f}")
        ax.set_xlabel("shift d (pixels)")
        ax.set_ylabel("photo (sorted by mean p)")
        _integer_ticks(ax.xaxis, ax.yaxis)
    cb = fig.colorbar(im, ax=list(axes[0]), shrink=0.9)
    cb.set_label("p(true class)")
    fig.suptitle(f"Barcodes: {study.model_name}, {study.n_photos} photos")
    return fig


def plot_pair_metrics(study: ShiftStudy):
    """Bars: our P(top-1 change) and MAC per protocol beside Azulay & Weiss' VGG16 / ResNet50
    (bars from zero; a missing bar = not published)."""
    import matplotlib.pyplot as plt

    n = study.numbers()
    protocols = list(study.sequences)
    fig, axes = plt.subplots(1, 2, figsize=(BOOK_WIDTH, 3.6), layout="constrained")
    for ax, metric, label in ((axes[0], "p_change", "P(top-1 change)"), (axes[1], "mac", "MAC")):
        x = np.arange(len(protocols))
        ax.bar(x - 0.27, [n[f"{metric}_{p}"] for p in protocols], 0.27,
               label=f"ours ({study.model_name})")
        for off, model in ((0.0, "VGG16"), (0.27, "ResNet50")):
            vals = [PUBLISHED_AZULAY_WEISS[model].get(f"{metric}_{p}", np.nan) for p in protocols]
            ax.bar(x + off, vals, 0.27, label=f"{model} (Azulay & Weiss)")
        ax.set_xticks(x, protocols)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("protocol")
        ax.set_ylabel(f"{label}, 1-pixel shift")
        ax.set_title(label)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8)
    fig.suptitle(f"Sensitivity to 1-pixel diagonal shifts ({study.n_photos} photos)")
    return fig


def plot_consistency(study: ShiftStudy):
    """Histogram of per-photo consistency (over that photo's crop pairs), with the mean and
    Zhang's published values marked."""
    import matplotlib.pyplot as plt

    t1 = study.consistency["top1"]
    i, j = np.triu_indices(t1.shape[1], 1)
    per = 100 * (t1[:, i] == t1[:, j]).mean(axis=1)
    fig, ax = plt.subplots(figsize=(7.0, 3.3), constrained_layout=True)
    ax.hist(per, bins=np.linspace(0, 100, 21), color="tab:blue", alpha=0.8)
    ax.axvline(per.mean(), color="k", lw=2, label=f"ours ({study.model_name}): {per.mean():.1f} %")
    for model, c in (("ResNet50", "tab:red"), ("VGG16", "tab:orange")):
        ax.axvline(PUBLISHED_ZHANG[model]["consistency"], color=c, ls="--",
                   label=f"{model}, Zhang 2019: {PUBLISHED_ZHANG[model]['consistency']} %")
    ax.set_xlabel("consistency of one photo (% of its crop pairs with the same top-1)")
    ax.set_ylabel("number of photos")
    _integer_ticks(ax.yaxis)
    ax.set_title(f"Consistency: {t1.shape[1]} random crops per photo, {len(per)} photos")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_scale_curve(study: ShiftStudy):
    """Top-1 and top-5 accuracy vs the photo's long side in the 224 canvas."""
    import matplotlib.pyplot as plt

    s = study.scales
    fig, ax = plt.subplots(figsize=(6.5, 3.4), constrained_layout=True)
    ax.plot(s["sizes"], 100 * s["top1_correct"].mean(0), "o-", label="top-1")
    ax.plot(s["sizes"], 100 * s["top5_correct"].mean(0), "s-", label="top-5")
    seq = study.sequences.get("crop")
    if seq is not None:
        mid = seq["top1"].shape[1] // 2
        ax.axhline(100 * (seq["top1"][:, mid] == seq["labels"]).mean(), color="gray", ls=":",
                   label="top-1, standard view")
    ax.set_xlabel("long side of the photo on the black 224 px canvas (pixels)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks([int(v) for v in s["sizes"]])
    ax.set_title(f"Accuracy vs object scale ({study.model_name}, {study.n_photos} photos)")
    ax.legend(fontsize=8)
    return fig


def plot_resize_example(study: ShiftStudy, photos: PhotoSet, index: int | None = None,
                        input_size: int = 224):
    """The two resized inputs of one photo (default: the one whose true-class probability moved
    most) with their top-1 predictions, and their difference."""
    import matplotlib.pyplot as plt

    r = study.resize
    if index is None:
        index = int(np.argmax(np.abs(r["p_true"][:, 0] - r["p_true"][:, 1])))
    img = photos.images[index]
    resize = round(input_size * 256 / 224)
    views = [resize_pil(img, resize, input_size), resize_interpolate(img, resize, input_size)]
    fig, axes = plt.subplots(1, 3, figsize=(BOOK_WIDTH, 3.3), constrained_layout=True,
                             gridspec_kw={"width_ratios": [1, 1, 1.15]})
    names = ("PIL (antialiased)", "interpolate (no antialias)")
    for ax, v, nm, key in zip(axes[:2], views, names, ("top5_pil", "top5_interp")):
        _rgb(ax, v, f"{nm}\ntop-1: {photos.short_name(r[key][index][0])}")
    diff = (views[0] - views[1]).abs().mean(0) * 255
    im = axes[2].imshow(diff.numpy(), cmap="magma", interpolation="nearest")
    axes[2].set_title("|difference|\n(mean over RGB)")
    axes[2].set_xlabel("x (pixels)")
    axes[2].set_ylabel("y (pixels)")
    _integer_ticks(axes[2].xaxis, axes[2].yaxis, nbins=4)
    fig.colorbar(im, ax=axes[2], fraction=0.046, pad=0.04).set_label("grey levels (0-255)")
    true = photos.short_name(int(r["labels"][index]))
    fig.suptitle(f"One photo, two resize routines (true class: {true}; p(true) "
                 f"{r['p_true'][index, 0]:.2f} vs {r['p_true'][index, 1]:.2f})")
    return fig, index
