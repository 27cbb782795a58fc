"""The MNIST models under the worst shift, and under three meanings of "shift" (chapter 12).

* :func:`run_worst_case`: A, B, C, BlurPool-C and APS-C, each trained with and without the
  course's shift augmentation, all seeds: average, worst-of-10-random and worst-case accuracy
  over the boxes ``|dx|, |dy| <= k`` (:mod:`shiftlab.measure.worst_shift`).
* :func:`run_protocols`: C, BlurPool-C and APS-C with zero padding (the course's models) and
  with circular padding, the latter also with a global-average-pool head: Zhang's consistency
  and accuracy under roll, crop and embed (:mod:`shiftlab.measure.move_protocols`).

The trained models come from the course's cache (:func:`shiftlab.studies.mnist_pooling.load_trained`,
:func:`shiftlab.studies.mnist_variants.load_variant`; missing ones are trained); the digits are
the course's fixed grid subset of the test set. Each model's numbers are cached (kind
``"robustness"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from shiftlab.core.cache import load_or_compute
from shiftlab.core.device import get_device
from shiftlab.core.glue import glue
from shiftlab.core.progress import tqdm
from shiftlab.data.mnist import load_mnist
from shiftlab.measure.move_protocols import PROTOCOLS, protocol_consistency
from shiftlab.measure.worst_shift import worst_case_curve
from shiftlab.nn.mnist_models import PaddingMode
from shiftlab.studies.mnist_pooling import MnistSettings, grid_subset, load_trained
from shiftlab.studies.mnist_variants import load_variant

__all__ = ["WORST_MODELS", "PROTOCOL_MODELS", "load_any", "WorstCaseResults", "ProtocolResults",
           "run_worst_case", "run_protocols", "neighbours_of"]

WORST_MODELS: tuple[str, ...] = ("A", "B", "C", "BlurPool-C", "APS-C")

#: the rows of the protocol table: (label, variant, padding, head)
PROTOCOL_MODELS: tuple[tuple[str, str, PaddingMode, str], ...] = (
    ("C", "C", "zeros", "fc"), ("BlurPool-C", "BlurPool-C", "zeros", "fc"), ("APS-C", "APS-C", "zeros", "fc"),
    ("C circ", "C", "circular", "fc"), ("BlurPool-C circ", "BlurPool-C", "circular", "fc"),
    ("APS-C circ", "APS-C", "circular", "fc"),
    ("C circ GAP", "C", "circular", "gap"), ("BlurPool-C circ GAP", "BlurPool-C", "circular", "gap"),
    ("APS-C circ GAP", "APS-C", "circular", "gap"),
)

KS: tuple[int, ...] = (1, 2, 3)


def load_any(name: str, settings: MnistSettings, seed: int, augment: bool = False,
             padding_mode: PaddingMode = "zeros", head: str = "fc", device: torch.device | str | None = None
             ) -> nn.Module:
    """A trained MNIST model of the course: A/B/C (zero padding, FC head) from chapter 05's
    cache, any other combination from :func:`shiftlab.studies.mnist_variants.load_variant`."""
    if name in ("A", "B", "C") and padding_mode == "zeros" and head == "fc":
        return load_trained(settings, name, augment, seed, device=device).model.eval()
    if name in ("A", "B"):
        raise ValueError(f"model {name} exists only with zero padding and an FC head")
    return load_variant(name, settings, seed, device=device, augment=augment, padding_mode=padding_mode, head=head)


def neighbours_of(indices: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """The crop protocol's 8 neighbours of test digit ``i``: digits ``i + 1 ... i + 8`` (mod N),
    ``[len(indices), 8, 1, 28, 28]``."""
    n = images.shape[0]
    idx = (indices[:, None] + torch.arange(1, 9)) % n
    return images[idx]


def _mean_std(v: list[float]) -> tuple[float, float]:
    return float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0


@dataclass
class WorstCaseResults:
    """``values[label][k][metric]`` = one number per seed; labels ``"C"``, ``"C+aug"`` ...;
    metrics ``average``, ``random`` (worst of 10 random shifts), ``worst`` (grid search)."""

    values: dict[str, dict[int, dict[str, list[float]]]]
    n_digits: int

    def table(self) -> dict[str, dict[int, dict[str, tuple[float, float]]]]:
        return {m: {k: {q: _mean_std(v) for q, v in row.items()} for k, row in ks.items()}
                for m, ks in self.values.items()}

    def markdown(self, k: int = 3) -> str:
        """One row per model: the three accuracies for the box ``|dx|, |dy| <= k`` and the drop
        from average to worst case (percentage points), mean ± std over seeds."""
        heads = ["model", "average", "worst of 10 random", "worst case", "average - worst (pts)"]
        lines = ["| " + " | ".join(heads) + " |", "|---" * len(heads) + "|"]
        for m, ks in self.values.items():
            row = ks[k]
            drop = [100 * (a - w) for a, w in zip(row["average"], row["worst"])]
            cells = [f"{100 * _mean_std(row[q])[0]:.1f} ± {100 * _mean_std(row[q])[1]:.1f}"
                     for q in ("average", "random", "worst")]
            cells.append(f"{_mean_std(drop)[0]:.1f} ± {_mean_std(drop)[1]:.1f}")
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def glue(self, prefix: str = "wc") -> None:
        """``{prefix}_{model}_k{k}_{metric}`` (means; ``+aug`` becomes ``aug``, dashes go)."""
        for m, ks in self.table().items():
            key = m.replace("+", "").replace("-", "")
            for k, row in ks.items():
                for q, (mu, sd) in row.items():
                    glue(f"{prefix}_{key}_k{k}_{q}", mu, kind="accuracy")
                    glue(f"{prefix}_{key}_k{k}_{q}_std", sd, kind="nonneg")


@dataclass
class ProtocolResults:
    """``values[label][protocol][metric]`` = one number per seed (metric ``consistency`` in %,
    ``accuracy`` as a fraction)."""

    values: dict[str, dict[str, dict[str, list[float]]]]
    max_shift: int

    def table(self) -> dict[str, dict[str, dict[str, tuple[float, float]]]]:
        return {m: {p: {q: _mean_std(v) for q, v in row.items()} for p, row in ps.items()}
                for m, ps in self.values.items()}

    def markdown(self) -> str:
        heads = ["model", *[f"{p}: consistency (%)" for p in PROTOCOLS], *[f"{p}: accuracy" for p in PROTOCOLS]]
        lines = ["| " + " | ".join(heads) + " |", "|---" * len(heads) + "|"]
        for m, ps in self.table().items():
            cells = [f"{ps[p]['consistency'][0]:.2f} ± {ps[p]['consistency'][1]:.2f}" for p in PROTOCOLS]
            cells += [f"{ps[p]['accuracy'][0]:.3f}" for p in PROTOCOLS]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def glue(self, prefix: str = "pr") -> None:
        """``{prefix}_{label}_{protocol}_{metric}``: label without spaces and dashes."""
        for m, ps in self.table().items():
            key = m.replace(" ", "").replace("-", "")
            for p, row in ps.items():
                glue(f"{prefix}_{key}_{p}_consistency", row["consistency"][0], kind="percent")
                glue(f"{prefix}_{key}_{p}_consistency_std", row["consistency"][1], kind="nonneg")
                glue(f"{prefix}_{key}_{p}_accuracy", row["accuracy"][0], kind="accuracy")


_Tensors = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def _digits(settings: MnistSettings, dev: torch.device) -> _Tensors:
    te = load_mnist("test", device=dev)
    subset = grid_subset(settings, te.images.shape[0])
    return te.images, te.labels, subset, te.images[subset.to(dev)]


def run_worst_case(settings: MnistSettings | None = None, models: tuple[str, ...] = WORST_MODELS,
                   ks: tuple[int, ...] = KS, n_random: int = 10, device: torch.device | str | None = None,
                   progress: bool = True, use_cache: bool = True) -> WorstCaseResults:
    """Worst-case, worst-of-``n_random`` and average accuracy for every model, with and without
    augmentation, every seed of ``settings`` (default: quick/full default)."""
    s = settings or MnistSettings.default()
    dev = get_device(device)
    _, labels_all, subset, x = _digits(s, dev)
    y = labels_all[subset.to(dev)]
    values: dict[str, dict[int, dict[str, list[float]]]] = {}
    jobs = [(m, aug, seed) for m in models for aug in (False, True) for seed in s.seeds]
    for m, aug, seed in tqdm(jobs, desc="worst case", disable=not progress):
        label = m + ("+aug" if aug else "")
        meta = {"settings": s.as_dict(), "model": m, "augment": aug, "seed": seed, "ks": list(ks),
                "n_random": n_random, "what": "worst_case"}

        def compute(m: str = m, aug: bool = aug, seed: int = seed) -> dict[str, Any]:
            model = load_any(m, s, seed, augment=aug, device=dev)
            curve = worst_case_curve(model, x, y, ks, n_random=n_random, seed=seed)
            return {"curve": {str(k): v for k, v in curve.items()}}

        payload, _ = load_or_compute("robustness", f"worst_{label.replace('+', '_')}_s{seed}", meta, compute,
                                     use_cache=use_cache)
        row = values.setdefault(label, {int(k): {"average": [], "random": [], "worst": []} for k in ks})
        for k in ks:
            for q in ("average", "random", "worst"):
                row[k][q].append(float(payload["curve"][str(k)][q]))
    return WorstCaseResults(values, int(x.shape[0]))


def run_protocols(settings: MnistSettings | None = None, rows: tuple[tuple[str, str, PaddingMode, str], ...] =
                  PROTOCOL_MODELS, max_shift: int = 3, device: torch.device | str | None = None,
                  progress: bool = True, use_cache: bool = True) -> ProtocolResults:
    """Consistency and accuracy of every row of ``rows`` under roll, crop and embed, all seeds."""
    s = settings or MnistSettings.default()
    dev = get_device(device)
    images_all, labels_all, subset, x = _digits(s, dev)
    y = labels_all[subset.to(dev)]
    nbrs = neighbours_of(subset.to(dev), images_all)
    values: dict[str, dict[str, dict[str, list[float]]]] = {}
    jobs = [(row, seed) for row in rows for seed in s.seeds]
    for (label, variant, pad, head), seed in tqdm(jobs, desc="protocols", disable=not progress):
        meta = {"settings": s.as_dict(), "variant": variant, "padding": pad, "head": head, "seed": seed,
                "max_shift": max_shift, "what": "protocols"}

        def compute(variant: str = variant, pad: PaddingMode = pad, head: str = head, seed: int = seed
                    ) -> dict[str, Any]:
            model = load_any(variant, s, seed, padding_mode=pad, head=head, device=dev)
            return {p: protocol_consistency(model, x, y, p, max_shift, neighbours=nbrs) for p in PROTOCOLS}

        stem = f"protocols_{label.replace(' ', '_')}_s{seed}"
        payload, _ = load_or_compute("robustness", stem, meta, compute, use_cache=use_cache)
        row = values.setdefault(label, {p: {"consistency": [], "accuracy": []} for p in PROTOCOLS})
        for p in PROTOCOLS:
            for q in ("consistency", "accuracy"):
                row[p][q].append(float(payload[p][q]))
    return ProtocolResults(values, max_shift)
