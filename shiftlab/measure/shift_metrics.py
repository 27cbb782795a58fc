"""How much do small shifts change a classifier? The metrics of Azulay & Weiss and Zhang as
pure functions of measured arrays (the measurements are in :mod:`shiftlab.measure.photo_shifts`,
the chapter's study in :mod:`shiftlab.studies.imagenet_shifts`), plus the statistics over
photos (bootstrap intervals, how a measured interval relates to a published number).

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

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
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
]

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


def _check_finite(a: np.ndarray, name: str, what: str = "numbers") -> None:
    """ValueError when the float array ``a`` holds NaN or infinite values (a mean, a percentile,
    a comparison over them is NaN or meaningless, silently); says how many and where the first is."""
    if not np.issubdtype(a.dtype, np.inexact):
        return
    finite = np.isfinite(a)
    if finite.all():
        return
    first = tuple(int(i) for i in np.argwhere(~finite)[0])
    where = first[0] if len(first) == 1 else first
    raise ValueError(
        f"{name} holds {int((~finite).sum())} non-finite values (NaN or inf) of {a.size} (the first at index "
        f"{where}); pass finite {what}: a NaN usually comes from a failed measurement or a mean over nothing"
    )


def _as_array(x: Any, name: str, ndim: int, what: str = "numbers") -> np.ndarray:
    """``x`` as a NumPy array with ``ndim`` dimensions and at least one row (a mean over nothing
    would be NaN), and no NaN or infinite values."""
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {a.shape}): need at least one sequence or photo")
    _check_finite(a, name, what)
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
    a = _as_array(x, name, 2, what="probabilities in [0, 1]")
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
    with replacement): how far the headline number could move with another photo sample.

    Raises:
        ValueError: fewer than 2 values, a NaN or infinite value (the interval would be
            ``(nan, nan)``), ``level`` outside (0, 1) or ``n_boot`` not a positive int.
    """
    a = np.asarray(values, dtype=np.float64).reshape(-1)
    if a.size < 2:
        raise ValueError(f"need at least 2 values, got {a.size}")
    _check_finite(a, "values")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive int, got {n_boot!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), e.g. 0.95, got {level!r}")
    rng = np.random.default_rng(seed)
    means = a[rng.integers(0, a.size, size=(n_boot, a.size))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def relation(low: float, high: float, published: Sequence[float]) -> str:
    """How published values sit relative to our interval ``[low, high]``: ``"above"`` (ours is
    higher than every published value), ``"below"``, or ``"compatible with"`` (our interval
    reaches at least one of them).

    Raises:
        ValueError: ``low > high``, no published value, or a NaN or infinite bound or value
            (every comparison with NaN is False: the answer would silently be "compatible with").
    """
    _check_finite(np.array([low, high], dtype=np.float64), "the interval [low, high]")
    if low > high:
        raise ValueError(f"low must not exceed high, got {low} > {high}")
    pub = [float(v) for v in published]
    if not pub:
        raise ValueError("need at least one published value")
    _check_finite(np.array(pub), "published")
    if low > max(pub):
        return "above"
    if high < min(pub):
        return "below"
    return "compatible with"
