"""Test-time augmentation, measured: the MNIST study (TTA and re-centring on shifted digits
for the trained A/B/C models) and the ImageNet study (TTA under the crop protocol), both
cached. The operation itself is :func:`shiftlab.measure.tta.tta_predict`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from shiftlab.core.cache import CODE_VERSIONS, load_or_compute
from shiftlab.core.config import is_quick
from shiftlab.core.progress import tqdm
from shiftlab.core.shifts import translate
from shiftlab.data.mnist import load_mnist
from shiftlab.data.photos import PhotoSet
from shiftlab.measure.centring import centre_of_mass, recenter
from shiftlab.measure.protocols import crop_windows, protocol_source, sequence_shifts
from shiftlab.measure.shift_metrics import mean_absolute_change, p_top1_change, sequence_statistics
from shiftlab.measure.tta import ring_shifts, tta_predict, tta_shifts
from shiftlab.nn.imagenet_models import ImageNetModel
from shiftlab.studies.imagenet_shifts import load_or_compute_arrays
from shiftlab.studies.mnist_pooling import MnistSettings, load_trained

__all__ = [
    "MnistTTAConfig",
    "MnistTTAStudy",
    "mnist_tta_study",
    "ImageNetTTAConfig",
    "ImageNetTTAStudy",
    "imagenet_tta_study",
]


@dataclass(frozen=True)
class MnistTTAConfig:
    """What :func:`mnist_tta_study` measures.

    Attributes:
        n_digits: the first ``n_digits`` test digits.
        radii: Chebyshev rings of the test shifts; every digit gets one random shift per ring
            (a generator seeded with ``seed + r``), zero fill.
        tta: TTA sets as ``(name, max_shift, step)``: shifts ``{-m, ..., m}^2`` with that step.
        recentre: also measure re-centring by centre of mass.
        augment: which training modes to include (False = plain models).
    """

    n_digits: int = 2000
    radii: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7, 8)
    tta: tuple[tuple[str, int, int], ...] = (("TTA 3x3, 1 px", 1, 1), ("TTA 3x3, 2 px", 2, 2))
    recentre: bool = True
    augment: tuple[bool, ...] = (False, True)
    seed: int = 0
    batch_size: int = 8192

    @classmethod
    def default(cls) -> MnistTTAConfig:
        """Full: 2,000 digits. Quick: 200 digits (same rings and TTA sets)."""
        return cls(n_digits=200) if is_quick() else cls()

    @property
    def methods(self) -> tuple[str, ...]:
        return ("no TTA",) + tuple(t[0] for t in self.tta) + (("re-centre",) if self.recentre else ())

    def copies(self, method: str) -> int:
        """Forward passes per prediction of a method."""
        for name, m, step in self.tta:
            if name == method:
                return (2 * (m // step) + 1) ** 2
        if method in ("no TTA", "re-centre"):
            return 1
        raise KeyError(method)

    def as_dict(self) -> dict[str, Any]:
        return {"n_digits": self.n_digits, "radii": list(self.radii), "tta": [list(t) for t in self.tta],
                "recentre": self.recentre, "seed": self.seed}


@dataclass
class MnistTTAStudy:
    """Accuracy under shifts with and without TTA.

    ``accuracy[(model, augment, method)]`` is ``[n_seeds, n_radii]``.
    """

    config: MnistTTAConfig
    seeds: tuple[int, ...]
    accuracy: dict[tuple[str, bool, str], np.ndarray]
    target: tuple[float, float]
    seconds: float = float("nan")

    def curve(self, model: str, method: str, augment: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` over seeds of accuracy per ring (std 0 for one seed)."""
        a = self.accuracy[(model, augment, method)]
        return a.mean(0), (a.std(0, ddof=1) if a.shape[0] > 1 else np.zeros(a.shape[1]))

    def shift_column(self, model: str, method: str, augment: bool = False, radius: int = 3) -> float:
        """The article's "shift" column estimated from the rings: the mean over the ``(2r+1)^2 - 1``
        non-zero shifts with ``|dx|, |dy| <= r`` is the ring accuracies weighted by ring size ``8 k``."""
        radii = np.asarray(self.config.radii)
        if not all(k in radii for k in range(1, radius + 1)):
            raise ValueError(f"the rings 1..{radius} are needed")
        mean, _ = self.curve(model, method, augment)
        w = np.array([8 * k for k in range(1, radius + 1)], dtype=np.float64)
        acc = np.array([mean[int(np.flatnonzero(radii == k)[0])] for k in range(1, radius + 1)])
        return float((w * acc).sum() / w.sum())

    def table_rows(self, augment: bool = False, radius: int = 3) -> list[list[str]]:
        """Rows ``[method, copies, A, B, C]`` of "shift"-column accuracies (mean over seeds)."""
        models = sorted({m for (m, a, _) in self.accuracy if a == augment})
        return [[meth, str(self.config.copies(meth))] + [f"{self.shift_column(m, meth, augment, radius):.3f}"
                                                         for m in models] for meth in self.config.methods]


def _mnist_one(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, cfg: MnistTTAConfig,
               target: tuple[float, float]) -> dict[str, list[float]]:

    dev = next(model.parameters()).device
    out: dict[str, list[float]] = {m: [] for m in cfg.methods}
    tta_sets = {name: tta_shifts(m, step).to(dev) for name, m, step in cfg.tta}
    for r in cfg.radii:
        g = torch.Generator().manual_seed(cfg.seed + int(r))
        dx, dy = ring_shifts(images.shape[0], int(r), g)
        x = translate(images, dx.to(dev), dy.to(dev), fill="zero")
        y = labels
        with torch.no_grad():
            model.eval()
            logits = torch.cat([model(x[i : i + cfg.batch_size]) for i in range(0, x.shape[0], cfg.batch_size)])
        out["no TTA"].append(float((logits.argmax(1) == y).float().mean()))
        for name, sh in tta_sets.items():
            res = tta_predict(model, x, sh, fill="zero", batch_size=cfg.batch_size)
            out[name].append(float((res.probs.argmax(1) == y).float().mean()))
        if cfg.recentre:
            xr, _, _ = recenter(x, target)
            with torch.no_grad():
                lr = torch.cat([model(xr[i : i + cfg.batch_size]) for i in range(0, xr.shape[0], cfg.batch_size)])
            out["re-centre"].append(float((lr.argmax(1) == y).float().mean()))
    return out


def mnist_tta_study(settings: MnistSettings | None = None, config: MnistTTAConfig | None = None,
                    models: Sequence[str] = ("A", "B", "C"),
                    device: torch.device | str | None = "cpu", use_cache: bool = True,
                    progress: bool = True) -> MnistTTAStudy:
    """TTA and re-centring on shifted MNIST digits for the trained A/B/C models of
    :func:`shiftlab.studies.mnist_pooling.run_mnist` (loaded from its cache, trained if missing).

    Args:
        settings: :class:`shiftlab.studies.mnist_pooling.MnistSettings` (default: its ``default()``);
            every seed of it is measured.
        config: :class:`MnistTTAConfig` (default: its ``default()``).
        models: which of A, B, C.
        device: where to evaluate (default CPU).
        use_cache: read and write the per-model cache (keyed by the trained model's
            configuration, the study configuration and :data:`CODE_VERSION`).
    """
    settings = settings or MnistSettings.default()
    cfg = config or MnistTTAConfig.default()
    if not cfg.radii or min(cfg.radii) < 0 or max(cfg.radii) > 13:
        raise ValueError(f"radii must lie in [0, 13], got {cfg.radii}")
    start = time.perf_counter()
    train_com = centre_of_mass(load_mnist("train").images).mean(0)
    target = (float(torch.round(train_com[0])), float(torch.round(train_com[1])))
    test = load_mnist("test", limit=cfg.n_digits)
    acc: dict[tuple[str, bool, str], list[list[float]]] = {}
    jobs = [(m, a, s) for a in cfg.augment for m in models for s in settings.seeds]
    for name, aug, seed in tqdm(jobs, desc="MNIST TTA", disable=not progress):
        train_cfg = settings.train_config(name, aug, seed)
        meta = {"train_key": train_cfg.key(), "study": cfg.as_dict(), "target": list(target)}

        def compute(train_cfg=train_cfg, name=name, aug=aug, seed=seed) -> dict[str, Any]:
            tm = load_trained(settings, name, aug, seed, device=device)
            dev = next(tm.model.parameters()).device
            return _mnist_one(tm.model, test.images.to(dev), test.labels.to(dev), cfg, target)

        payload, _ = load_or_compute("mnist_tta", train_cfg.cache_stem(), meta, compute, use_cache=use_cache)
        for meth in cfg.methods:
            acc.setdefault((name, aug, meth), []).append(list(payload[meth]))
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in acc.items()}
    return MnistTTAStudy(cfg, tuple(settings.seeds), arrays, target, time.perf_counter() - start)


# --------------------------------------------------------------------------- ImageNet study


@dataclass(frozen=True)
class ImageNetTTAConfig:
    """What :func:`imagenet_tta_study` measures.

    Attributes:
        n_steps: frames of the diagonal shift sequence (content shifted by
            ``d = -(T // 2) ... T - 1 - T // 2`` px in x and y; neighbours differ by one pixel).
        max_shift: margin of the crop-protocol source (``224 + 2 * max_shift`` px square).
        tta: TTA sets ``(name, max_shift, step)`` of window offsets ``{-m, ..., m}^2``.
        batch_size: windows per forward pass.
    """

    n_steps: int = 5
    max_shift: int = 16
    tta: tuple[tuple[str, int, int], ...] = (("TTA 3x3, 1 px", 1, 1), ("TTA 3x3, 8 px", 8, 8))
    batch_size: int = 32

    @classmethod
    def default(cls) -> ImageNetTTAConfig:
        """Full: 5 frames (shifts -2..2 px). Quick: 3 frames."""
        return cls(n_steps=3) if is_quick() else cls()

    @property
    def methods(self) -> tuple[str, ...]:
        return ("no TTA",) + tuple(t[0] for t in self.tta)

    def copies(self, method: str) -> int:
        """Forward passes per prediction of a method."""
        if method == "no TTA":
            return 1
        for name, m, step in self.tta:
            if name == method:
                return (2 * (m // step) + 1) ** 2
        raise KeyError(method)

    def as_dict(self) -> dict[str, Any]:
        return {"n_steps": self.n_steps, "max_shift": self.max_shift, "tta": [list(t) for t in self.tta]}


@dataclass
class ImageNetTTAStudy:
    """Per-photo statistics of every method (arrays stacked ``[N, T, ...]`` per method)."""

    model_summary: str
    config: ImageNetTTAConfig
    labels: np.ndarray
    stats: dict[str, dict[str, np.ndarray]]
    windows_per_photo: np.ndarray
    seconds: float = float("nan")

    @property
    def n_photos(self) -> int:
        return int(self.labels.shape[0])

    def numbers(self) -> dict[str, dict[str, float]]:
        """Per method: top-1 / top-5 accuracy over all frames, P(top-1 change), MAC, the
        fraction of photos whose top-1 never changes along the sequence, and the copies."""

        out = {}
        for meth, s in self.stats.items():
            top1 = s["top1"]
            out[meth] = {
                "top1": float((top1 == self.labels[:, None]).mean()),
                "top5": float(s["top5_correct"].mean()),
                "p_change": p_top1_change(top1),
                "mac": mean_absolute_change(s["p_top1"], s["p_next"]),
                "stable_photos": float((top1 == top1[:, :1]).all(1).mean()),
                "copies": float(self.config.copies(meth)),
            }
        return out


def _imagenet_one(model: ImageNetModel, img: torch.Tensor, label: int,
                  cfg: ImageNetTTAConfig) -> tuple[dict[str, dict], int]:

    size = model.input_size
    source, _ = protocol_source(img, "crop", size, cfg.max_shift)
    d = sequence_shifts(cfg.n_steps)
    frame = torch.stack([cfg.max_shift - d, cfg.max_shift - d], dim=1)  # [T, 2] window (x, y) offsets
    sets = {"no TTA": torch.zeros(1, 2, dtype=torch.long)}
    sets.update({name: tta_shifts(m, step) for name, m, step in cfg.tta})
    wanted = {meth: frame[:, None, :] - t[None] for meth, t in sets.items()}  # [T, S, 2]
    allw = torch.cat([w.reshape(-1, 2) for w in wanted.values()])
    if allw.min() < 0 or allw.max() > 2 * cfg.max_shift:
        raise ValueError(f"frames and TTA offsets need max_shift >= {int((allw - cfg.max_shift).abs().max())}")
    uniq, inverse = torch.unique(allw, dim=0, return_inverse=True)
    probs = model.predict(crop_windows(source, uniq, size), batch_size=cfg.batch_size).double()
    out, pos = {}, 0
    for meth, w in wanted.items():
        k = w.shape[0] * w.shape[1]
        idx = inverse[pos : pos + k].reshape(w.shape[0], w.shape[1])
        pos += k
        out[meth] = sequence_statistics(probs[idx].mean(1).float(), label)
    return out, int(uniq.shape[0])


def imagenet_tta_study(model: ImageNetModel, photos: PhotoSet, config: ImageNetTTAConfig | None = None,
                       use_cache: bool = True,
                       progress: bool = True) -> ImageNetTTAStudy:
    """TTA on an ImageNet model under the crop protocol (see the module docstring), cached.

    Args:
        model: an :class:`shiftlab.nn.imagenet_models.ImageNetModel`.
        photos: a :class:`shiftlab.data.photos.PhotoSet`.
        config: :class:`ImageNetTTAConfig` (default: its ``default()``).
    """
    cfg = config or ImageNetTTAConfig.default()
    if not hasattr(model, "predict") or not hasattr(model, "input_size"):
        raise TypeError("model must be an ImageNetModel (see shiftlab.nn.imagenet_models.load_imagenet_model)")
    if len(photos) == 0:
        raise ValueError("photos must not be empty")
    if cfg.n_steps < 2:
        raise ValueError("n_steps must be at least 2 (pairs of neighbouring frames)")
    start = time.perf_counter()
    conf = {"model": model.identity, "photos": photos.fingerprint(),
            "study": cfg.as_dict(), "tta_code": CODE_VERSIONS["mnist_tta"]}

    def compute() -> dict[str, np.ndarray]:
        rows, counts = [], []
        for img, label in tqdm(list(zip(photos.images, photos.labels.tolist())), desc="ImageNet TTA",
                               disable=not progress, leave=False):
            r, c = _imagenet_one(model, img, label, cfg)
            rows.append(r)
            counts.append(c)
        arrays = {"windows": np.array(counts), "labels": photos.labels.numpy()}
        for meth in cfg.methods:
            for key in rows[0][meth]:
                arrays[f"{meth}::{key}"] = np.stack([r[meth][key] for r in rows])
        return arrays

    arrays = load_or_compute_arrays("tta_crop", conf, compute, use_cache=use_cache)
    stats = {meth: {k.split("::", 1)[1]: v for k, v in arrays.items() if k.startswith(meth + "::")}
             for meth in cfg.methods}
    return ImageNetTTAStudy(model.summary(), cfg, arrays["labels"], stats, arrays["windows"],
                            time.perf_counter() - start)
