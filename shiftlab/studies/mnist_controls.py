"""The controls of the MNIST pooling chapters (05, 06): matched heads, and shifts that keep the ink.

Two questions a reviewer asks of "pooling buys invariance" before accepting it:

**Is it the pool or the head?** Models A, B and C differ in more than their pools: the first
fully connected layer sees the whole last feature map, so A's head (64 x 28 x 28 inputs at the
headline width) has 16 times the weights of C's (64 x 7 x 7). :func:`run_head_control` trains
the same three bodies with a **global-average-pool head** (GAP -> FC 128 -> FC 10), identical
for A, B and C: the only difference left is the pools (and with them the receptive field).
Same budget, data, seeds and shift protocol as :func:`shiftlab.studies.mnist_pooling.run_mnist`.

**Is it invariance or missing strokes?** A zero-fill shift of a 28 x 28 digit by more than its
margin pushes ink out of the frame. :func:`run_ink_control` re-evaluates the headline models on
the shift grid with the accuracy split into digits that keep all their ink and those that lose
some (:func:`shiftlab.measure.ink.ink_split_accuracy`). Both are cached (kinds ``"mnist_heads"``
and ``"mnist_ink"``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from shiftlab.core.cache import load_or_compute
from shiftlab.core.device import get_device
from shiftlab.core.glue import glue
from shiftlab.core.progress import tqdm
from shiftlab.data.mnist import load_mnist
from shiftlab.measure.ink import InkSplit, ink_split_accuracy
from shiftlab.measure.shift_accuracy import GridResult
from shiftlab.nn.mnist_models import MODEL_NAMES, count_parameters, make_model
from shiftlab.studies.mnist_pooling import MnistSettings, grid_subset, load_trained
from shiftlab.studies.mnist_variants import train_and_evaluate
from shiftlab.train.trainer import History

__all__ = ["HeadRun", "HeadControl", "InkControl", "run_head_control", "run_ink_control",
           "head_parameters"]

_METRICS: tuple[str, ...] = ("default", "shift min", "shift", "consistency")


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


def head_parameters(name: str, settings: MnistSettings, head: str) -> int:
    """Parameters of model ``name``'s head (everything after the last conv block) at the
    settings' widths, for ``head="fc"`` (flatten -> FC) or ``"gap"`` (GAP -> FC)."""
    model = make_model(name, settings.channels, settings.hidden, head=head)
    return count_parameters(model.head)


@dataclass
class HeadRun:
    """One trained GAP-head model and its numbers (the article's columns and consistency, %)."""

    model: str
    seed: int
    default: float
    shift_min: float
    shift: float
    consistency: float
    grid: GridResult
    history: History

    def value(self, metric: str) -> float:
        return float(getattr(self, metric.replace(" ", "_")))


@dataclass
class HeadControl:
    """GAP-head A, B, C x seeds (``runs``) beside the FC-head reference numbers (``fc``:
    ``fc[model][metric] = (mean, std)``, the chapter's own table)."""

    settings: MnistSettings
    runs: list[HeadRun]
    fc: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    seconds: float = float("nan")

    def select(self, model: str) -> list[HeadRun]:
        return [r for r in self.runs if r.model == model]

    def table(self) -> dict[str, dict[str, tuple[float, float]]]:
        """``table[model][metric] = (mean, std)`` over seeds for the GAP-head models."""
        return {m: {k: _mean_std([r.value(k) for r in self.select(m)]) for k in _METRICS}
                for m in MODEL_NAMES if self.select(m)}

    def gain(self, new: str, old: str, metric: str = "shift") -> tuple[float, float]:
        """GAP-head ``new - old`` on ``metric``: difference of seed means and its standard
        error (``nan`` with a single seed)."""
        a = [r.value(metric) for r in self.select(new)]
        b = [r.value(metric) for r in self.select(old)]
        if not a or not b:
            raise ValueError(f"no runs of model {new if not a else old}")
        (ma, sa), (mb, sb) = _mean_std(a), _mean_std(b)
        se = float(np.sqrt(sa**2 / len(a) + sb**2 / len(b))) if len(a) > 1 and len(b) > 1 else float("nan")
        return ma - mb, se

    def markdown(self) -> str:
        """One row per model and head: head parameters, accuracy, the two shift columns and
        consistency (mean ± sample std over seeds)."""
        heads = ["model", "head", "head parameters", "accuracy", "1-px shifts", "shifts ≤ 3 px"]
        lines = ["| " + " | ".join(heads) + " |", "|---" * len(heads) + "|"]
        gap = self.table()
        for m in MODEL_NAMES:
            for kind, cols in (("FC", self.fc.get(m)), ("GAP", gap.get(m))):
                if not cols:
                    continue
                n = head_parameters(m, self.settings, kind.lower())
                cells = [f"{cols[k][0]:.3f} ± {cols[k][1]:.3f}" for k in ("default", "shift min", "shift")]
                lines.append(f"| {m} | {kind} | {n:,} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def glue(self, prefix: str = "hc") -> None:
        """Glue ``{prefix}_{A|B|C}_{default|shiftmin|shift|consistency}`` (mean, ``_std``),
        ``{prefix}_{A|B|C}_params`` (GAP head) and ``..._fcparams``, and the GAP-head gains
        ``{prefix}_gain_CA``, ``{prefix}_gain_BA`` on "shift" (``_se`` with several seeds)."""
        kinds = {"default": "accuracy", "shift min": "accuracy", "shift": "accuracy", "consistency": "percent"}
        for m, cols in self.table().items():
            for k, (mu, sd) in cols.items():
                glue(f"{prefix}_{m}_{k.replace(' ', '')}", mu, kind=kinds[k])
                glue(f"{prefix}_{m}_{k.replace(' ', '')}_std", sd, kind="nonneg")
            glue(f"{prefix}_{m}_params", head_parameters(m, self.settings, "gap"), kind="count")
            glue(f"{prefix}_{m}_fcparams", head_parameters(m, self.settings, "fc"), kind="count")
        for new, old in (("C", "A"), ("B", "A")):
            if self.select(new) and self.select(old):
                d, se = self.gain(new, old)
                glue(f"{prefix}_gain_{new}{old}", d, kind="signed")
                if not np.isnan(se):
                    glue(f"{prefix}_gain_{new}{old}_se", se, kind="nonneg")


def run_head_control(settings: MnistSettings | None = None, models: Sequence[str] = MODEL_NAMES,
                     fc: dict[str, dict[str, tuple[float, float]]] | None = None,
                     device: torch.device | str | None = None, progress: bool = True,
                     use_cache: bool = True) -> HeadControl:
    """Train (or load) A, B, C with a GAP head for every seed of ``settings`` (no augmentation)
    and evaluate them with the chapter's protocol.

    Args:
        settings: widths, budget, seeds and shift grid (default: :meth:`MnistSettings.default`).
        models: which of A, B, C.
        fc: the FC-head reference table to show beside them (e.g. ``{m: results.table(False)[m]}``
            from :func:`shiftlab.studies.mnist_pooling.run_mnist`); optional.
    """
    settings = settings or MnistSettings.default()
    bad = [m for m in models if m not in MODEL_NAMES]
    if bad or not models:
        raise ValueError(f"models must be some of {MODEL_NAMES}, got {tuple(models)!r}")
    dev = get_device(device)
    start = time.perf_counter()
    tr = load_mnist("train", device=dev, limit=settings.train_size)
    te = load_mnist("test", device=dev)
    subset = grid_subset(settings, te.images.shape[0]).to(dev)
    runs: list[HeadRun] = []
    jobs = [(s, m) for s in settings.seeds for m in models]
    for seed, m in tqdm(jobs, desc="GAP-head models", disable=not progress):
        cfg = settings.train_config(m, False, seed)
        meta = {"train": cfg.as_dict(), "head": "gap",
                "eval": {"test_size": settings.test_size, "grid_size": settings.grid_size,
                         "max_shift": settings.max_shift, "subset_seed": settings.subset_seed,
                         "consistency_shift": 3}}

        def compute(cfg: Any = cfg) -> dict[str, Any]:  # the payload of chapter 08's variants
            return train_and_evaluate(cfg, lambda c: make_model(c.model, c.channels, c.hidden, head="gap"),
                                      settings, tr, te, subset, dev, progress)

        p, _ = load_or_compute("mnist_heads", f"{m}_gap_s{seed}", meta, compute, use_cache=use_cache)
        runs.append(HeadRun(m, seed, float(p["default"]), float(p["shift_min"]), float(p["shift"]),
                            float(p["consistency"]), GridResult.from_dict(p["grid"]),
                            History.from_dict(p["history"])))
    return HeadControl(settings, runs, dict(fc or {}), time.perf_counter() - start)


@dataclass
class InkControl:
    """The ink split of the headline models: ``splits[(model, augment)]`` holds one
    :class:`~shiftlab.measure.ink.InkSplit` per seed."""

    settings: MnistSettings
    splits: dict[tuple[str, bool], list[InkSplit]]

    def rings(self, model: str, augment: bool) -> dict[str, np.ndarray]:
        """Per ring ``r``: the mean over seeds of the kept / losing accuracies, and the (seed
        independent) share of pairs that keep their ink and mean share of ink lost."""
        per = [s.by_ring() for s in self.splits[(model, augment)]]
        out = dict(per[0])
        for k in ("kept_accuracy", "lost_accuracy"):
            stack = np.stack([p[k] for p in per])
            n = np.sum(~np.isnan(stack), axis=0)     # a ring without such digits stays nan
            out[k] = np.where(n > 0, np.nansum(stack, axis=0) / np.maximum(n, 1), np.nan)
        return out

    def glue(self, prefix: str = "ink") -> None:
        """Glue, per ring ``r = 1 .. max``: ``{prefix}_kept_share_r{r}`` (fraction),
        ``{prefix}_mean_lost_r{r}`` (fraction) and, for every model and augmentation,
        ``{prefix}_{noaug|aug}_{A|B|C}_kept_r{r}`` (accuracy over the digits that keep their ink)."""
        first = next(iter(self.splits.values()))[0].by_ring()
        for r in range(1, int(first["r"].max()) + 1):
            glue(f"{prefix}_kept_share_r{r}", float(first["kept_share"][r]), kind="fraction")
            glue(f"{prefix}_mean_lost_r{r}", float(first["mean_lost"][r]), kind="fraction")
        for (m, aug) in self.splits:
            ring = self.rings(m, aug)
            for r in range(1, int(ring["r"].max()) + 1):
                v = float(ring["kept_accuracy"][r])
                if not np.isnan(v):
                    glue(f"{prefix}_{'aug' if aug else 'noaug'}_{m}_kept_r{r}", v, kind="accuracy")


def run_ink_control(settings: MnistSettings | None = None, models: Sequence[str] = MODEL_NAMES,
                    augments: Sequence[bool] = (False, True), device: torch.device | str | None = None,
                    progress: bool = True, use_cache: bool = True) -> InkControl:
    """Split each headline model's grid accuracy by ink kept / lost (the models come from the
    cache of :func:`shiftlab.studies.mnist_pooling.run_mnist`, trained there if missing)."""
    settings = settings or MnistSettings.default()
    dev = get_device(device)
    te = load_mnist("test", device=dev)
    subset = grid_subset(settings, te.images.shape[0]).to(dev)
    gx, gy = te.images[subset], te.labels[subset]
    splits: dict[tuple[str, bool], list[InkSplit]] = {}
    jobs = [(m, a, s) for a in augments for m in models for s in settings.seeds]
    for m, aug, seed in tqdm(jobs, desc="ink split", disable=not progress):
        cfg = settings.train_config(m, aug, seed)
        meta = {"train": cfg.as_dict(), "train_key": cfg.key(),
                "eval": {"grid_size": settings.grid_size, "max_shift": settings.max_shift,
                         "subset_seed": settings.subset_seed}}

        def compute(m: str = m, aug: bool = aug, seed: int = seed) -> dict[str, Any]:
            model = load_trained(settings, m, aug, seed, device=dev).model
            return ink_split_accuracy(model, gx, gy, settings.max_shift).to_dict()

        p, _ = load_or_compute("mnist_ink", cfg.cache_stem(), meta, compute, use_cache=use_cache)
        splits.setdefault((m, aug), []).append(InkSplit.from_dict(p))
    return InkControl(settings, splits)
