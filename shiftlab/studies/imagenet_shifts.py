"""The ImageNet shift study of chapter 07: every measurement of
:mod:`shiftlab.measure.photo_shifts` for one model and photo set, each cached (kind
``"imagenet_shifts"`` of :mod:`shiftlab.core.cache`), with the headline numbers and the
comparison with the published ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from shiftlab.core.cache import load_or_compute
from shiftlab.core.config import is_quick
from shiftlab.data.photos import PhotoSet
from shiftlab.measure.photo_shifts import (
    _check,
    measure_consistency,
    measure_resize_routines,
    measure_scales,
    measure_sequences,
)
from shiftlab.measure.protocols import DEFAULT_EMBED_SIZE, PROTOCOLS
from shiftlab.measure.shift_metrics import (
    PUBLISHED_AZULAY_WEISS,
    PUBLISHED_ZHANG,
    bootstrap_interval,
    consistency,
    flip_rate,
    jaggedness,
    mean_absolute_change,
    p_top1_change,
    per_photo,
)
from shiftlab.nn.imagenet_models import ImageNetModel

__all__ = [
    "load_or_compute_arrays",
    "StudyConfig",
    "ShiftStudy",
    "run_shift_study",
    "comparison_markdown",
    "intervals_markdown",
]


def load_or_compute_arrays(stem: str, config: dict[str, Any], compute: Callable[[], dict[str, Any]],
                           use_cache: bool = True) -> dict[str, np.ndarray]:
    """One cached measurement of the study: a dict of arrays, kind ``"imagenet_shifts"`` of
    :func:`shiftlab.core.cache.load_or_compute` (file ``<stem>_<key>.npz``)."""
    arrays, _ = load_or_compute("imagenet_shifts", stem, {"config": config}, compute,
                                use_cache=use_cache, fmt="npz")
    return arrays


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

    def per_photo_values(self) -> dict[str, np.ndarray]:
        """For every key of :meth:`numbers`, one value per photo (``[n_photos]``, float64) whose
        mean is that number: every headline number is an average over photos (each photo has the
        same number of frames, crops and scales, so averages over pairs are averages over photos)."""
        out: dict[str, np.ndarray] = {}
        for p, s in self.sequences.items():
            out[f"p_change_{p}"] = per_photo("p_change", s)
            out[f"mac_{p}"] = per_photo("mac", s)
            flips = s["top5_correct"][:, 1:] != s["top5_correct"][:, :-1]
            out[f"top5_flip_rate_{p}"] = flips.mean(axis=1)
            out[f"jaggedness_{p}"] = flips.any(axis=1)
            mid = s["top1"].shape[1] // 2
            out[f"top1_{p}"] = s["top1"][:, mid] == s["labels"]
        out["consistency"] = per_photo("consistency", self.consistency)
        out["crop_accuracy"] = self.consistency["correct"].mean(axis=1)
        for i, size in enumerate(self.scales["sizes"]):
            out[f"scale_top1_{int(size)}"] = self.scales["top1_correct"][:, i]
            out[f"scale_top5_{int(size)}"] = self.scales["top5_correct"][:, i]
        r = self.resize
        out["resize_top1_differs"] = r["top5_pil"][:, 0] != r["top5_interp"][:, 0]
        out["resize_top5_set_differs"] = np.array([set(a) != set(b) for a, b in zip(r["top5_pil"], r["top5_interp"])])
        out["resize_top5_list_differs"] = (r["top5_pil"] != r["top5_interp"]).any(axis=1)
        out["resize_top1_pil"] = r["top5_pil"][:, 0] == r["labels"]
        out["resize_top1_interp"] = r["top5_interp"][:, 0] == r["labels"]
        out["resize_pixel_diff"] = r["pixel_diff"]
        return {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in out.items()}

    def intervals(self, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> dict[str, tuple[float, float]]:
        """A percentile bootstrap interval over photos for every key of :meth:`numbers` (all are
        per-photo averages, see :meth:`per_photo_values`): photos resampled with replacement,
        ``n_boot`` times, the same resamples for every metric (seeded, so deterministic).

        Args:
            n_boot: number of bootstrap resamples.
            level: coverage of the interval, in (0, 1) (0.95: the 2.5 and 97.5 percentiles).
            seed: seed of the resampling.

        Returns:
            ``{key: (low, high)}`` with the keys of :meth:`numbers` (consistency in %, the rest as there).

        Raises:
            ValueError: fewer than 2 photos, ``level`` outside (0, 1) or ``n_boot`` < 1.
        """
        if self.n_photos < 2:
            raise ValueError("a bootstrap interval over photos needs at least 2 photos, "
                             f"this study has {self.n_photos}")
        return {k: bootstrap_interval(v, n_boot=n_boot, level=level, seed=seed)
                for k, v in self.per_photo_values().items()}


def run_shift_study(model: ImageNetModel, photos: PhotoSet, config: StudyConfig | None = None,
                    use_cache: bool = True, progress: bool = True) -> ShiftStudy:
    """Every measurement of the chapter for one model and photo set, each loaded from the cache
    or computed (batched: one forward pass per photo and measurement).

    Args:
        model: from :func:`shiftlab.nn.imagenet_models.load_imagenet_model`.
        photos: from :func:`shiftlab.data.photos.load_photos`.
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
            partial(measure_sequences, model, photos, p, cfg.n_steps, cfg.max_shift, cfg.embed_size, progress),
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


def comparison_markdown(study: ShiftStudy, level: float = 0.95) -> str:
    """A narrow Markdown table (five columns) of our numbers, each with its bootstrap interval
    over photos (:meth:`ShiftStudy.intervals`, ``level`` coverage), beside the published ones,
    then one line that says what ours rest on (model, photos, pairs) and where the others come
    from."""
    n = study.numbers()
    ci = study.intervals(level=level) if study.n_photos >= 2 else {}
    k, t = study.n_photos, study.config.n_steps
    pairs = k * (t - 1)
    c = study.config.n_crops
    aw, z = PUBLISHED_AZULAY_WEISS, PUBLISHED_ZHANG
    pct = f"{100 * level:g} %"
    lines = [f"| metric | protocol | ours [{pct} interval] | VGG16 | ResNet50 |", "|---|---|---|---|---|"]

    def fmt(v: float | None, spec: str = ".3f") -> str:
        return "–" if v is None else format(v, spec)

    def ours(key: str, spec: str = ".3f") -> str:
        if key not in ci:
            return fmt(n[key], spec)
        lo, hi = ci[key]
        return f"{n[key]:{spec}} [{lo:{spec}}, {hi:{spec}}]"

    for metric, label in (("p_change", "P(top-1 change)"), ("mac", "MAC")):
        for p in ("crop", "embed", "inpaint"):
            if p not in study.sequences:
                continue
            pub = p if p in ("crop", "embed") else None
            v = aw["VGG16"].get(f"{metric}_{pub}") if pub else None
            r = aw["ResNet50"].get(f"{metric}_{pub}") if pub else None
            proto = {"crop": "crop", "embed": "black", "inpaint": "inpaint"}[p]
            lines.append(f"| {label} | {proto} | {ours(f'{metric}_{p}')} | {fmt(v)} | {fmt(r)} |")
    lines.append(f"| consistency (%) | 224 crops of 256 | {ours('consistency', '.1f')} | "
                 f"{z['VGG16']['consistency']:.1f} | {z['ResNet50']['consistency']:.1f} |")
    lines += ["", f"Ours: {study.model_name}, {k} photos, {pairs} pairs of 1-pixel shifts per "
              f"protocol, {k * c * (c - 1) // 2} crop pairs; intervals: percentile bootstrap over "
              "photos. VGG16 and ResNet50: Azulay & Weiss, Table 1 (P(top-1 change) and MAC, "
              "1-pixel shifts; – = not reported) and Zhang (consistency, 50 000 validation images)."]
    return "\n".join(lines)


def intervals_markdown(study: ShiftStudy, keys: Sequence[str] | None = None, level: float = 0.95) -> str:
    """Every headline number of ``study`` (or those in ``keys``) with its bootstrap interval over
    photos, as a three-column Markdown table (metric, value, interval)."""
    n = study.numbers()
    ci = study.intervals(level=level)
    pct = f"{100 * level:g} %"
    lines = [f"| metric | value | {pct} interval |", "|---|---|---|"]
    for key in keys if keys is not None else list(n):
        if key not in n:
            raise KeyError(f"{key!r} is not a number of this study; choose from {sorted(n)}")
        spec = ".1f" if key == "consistency" else ".3f"
        lo, hi = ci[key]
        lines.append(f"| `{key}` | {n[key]:{spec}} | [{lo:{spec}}, {hi:{spec}}] |")
    return "\n".join(lines)
