"""Borders leak absolute position: the toy of :mod:`shiftlab.data.patches` learned by
:class:`shiftlab.nn.fcn.PositionFCN` with each padding, at several distances from the border.

Every run (padding x distance x seed) trains a fresh network with Adam on mirror pairs and
reports its accuracy on fresh test pairs; runs are cached (kind ``"borders"``). Chance is 50 %.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from shiftlab.core.cache import load_or_compute
from shiftlab.core.config import quick_or_full
from shiftlab.core.glue import glue
from shiftlab.core.progress import tqdm
from shiftlab.data.patches import make_position_toy
from shiftlab.nn.fcn import PADDINGS, PositionFCN

__all__ = ["BorderSettings", "BorderResults", "train_position_fcn", "run_borders"]


@dataclass(frozen=True)
class BorderSettings:
    """What the study runs: paddings, patch distances from the border (px), seeds, the toy's
    size, and the training budget (Adam steps of ``batch`` images, learning rate)."""

    paddings: tuple[str, ...] = PADDINGS
    distances: tuple[int, ...] = (0, 2, 3, 4, 6, 8)
    seeds: tuple[int, ...] = (0, 1, 2)
    size: int = 32
    patch: int = 5
    channels: int = 8
    depth: int = 3
    n_train: int = 2000
    n_test: int = 1000
    steps: int = 300
    batch: int = 64
    lr: float = 3e-3

    def __post_init__(self) -> None:
        bad = [p for p in self.paddings if p not in PADDINGS]
        if bad or not self.paddings:
            raise ValueError(f"paddings must be among {PADDINGS}, got {self.paddings!r}")
        if not self.distances or not self.seeds:
            raise ValueError("at least one distance and one seed are needed")

    @classmethod
    def default(cls) -> BorderSettings:
        """Quick mode: 1 seed, distances 0 and 4, 80 steps. Full mode: 3 seeds, 6 distances (0-8 px)."""
        return quick_or_full(cls(distances=(0, 4), seeds=(0,), n_train=400, n_test=200, steps=80), cls())

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def train_position_fcn(padding: str, distance: int, seed: int, settings: BorderSettings,
                       depth: int | None = None) -> tuple[PositionFCN, float]:
    """Train one network on the toy at ``distance`` (``depth`` layers, default the settings');
    returns it and its test accuracy. Runs on one CPU thread: the network is so small that
    synchronising several threads costs more than the work (15x slower on a loaded 2-core
    machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(padding, distance, seed, settings, depth)
    finally:
        torch.set_num_threads(threads)


def _train(padding: str, distance: int, seed: int, settings: BorderSettings,
           depth: int | None) -> tuple[PositionFCN, float]:
    gen = torch.Generator().manual_seed(seed)
    x, y = make_position_toy(settings.n_train, settings.size, settings.patch, distance, gen)
    xt, yt = make_position_toy(settings.n_test, settings.size, settings.patch, distance, gen)
    torch.manual_seed(seed)
    model = PositionFCN(padding, settings.channels, depth or settings.depth)  # type: ignore[arg-type]
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    for _ in range(settings.steps):
        idx = torch.randint(0, x.shape[0], (settings.batch,), generator=gen)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = float((model(xt).argmax(1) == yt).float().mean())
    return model, acc


@dataclass
class BorderResults:
    """``acc[padding][distance]`` = test accuracies over seeds."""

    settings: BorderSettings
    acc: dict[str, dict[int, list[float]]]

    def table(self) -> dict[str, dict[int, tuple[float, float]]]:
        """``padding -> distance -> (mean, sample std over seeds)``."""
        return {p: {d: (float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0)
                    for d, v in row.items()} for p, row in self.acc.items()}

    def markdown(self) -> str:
        ds = list(self.settings.distances)
        lines = ["| padding | " + " | ".join(f"{d} px" for d in ds) + " |", "|---" * (len(ds) + 1) + "|"]
        for p, row in self.table().items():
            lines.append(f"| {p} | " + " | ".join(f"{100 * row[d][0]:.1f} ± {100 * row[d][1]:.1f}" for d in ds) + " |")
        return "\n".join(lines)

    def glue(self, prefix: str = "bd") -> None:
        """``{prefix}_{padding}_d{distance}`` (mean accuracy) and ``..._std``."""
        for p, row in self.table().items():
            for d, (mu, sd) in row.items():
                glue(f"{prefix}_{p}_d{d}", mu, kind="accuracy")
                glue(f"{prefix}_{p}_d{d}_std", sd, kind="nonneg")


def _accuracy_payload(padding: str, distance: int, seed: int, settings: BorderSettings) -> dict[str, Any]:
    return {"accuracy": train_position_fcn(padding, distance, seed, settings)[1]}


def run_borders(settings: BorderSettings | None = None, progress: bool = True, use_cache: bool = True) -> BorderResults:
    """Train and test every padding x distance x seed of ``settings`` (cached per run)."""
    s = settings or BorderSettings.default()
    base = {k: v for k, v in s.as_dict().items() if k not in ("paddings", "distances", "seeds")}
    acc: dict[str, dict[int, list[float]]] = {p: {d: [] for d in s.distances} for p in s.paddings}
    jobs = [(p, d, seed) for p in s.paddings for d in s.distances for seed in s.seeds]
    for p, d, seed in tqdm(jobs, desc="position toy", disable=not progress):
        meta = {**base, "padding": p, "distance": d, "seed": seed}
        payload, _ = load_or_compute("borders", f"{p}_d{d}_s{seed}", meta,
                                     partial(_accuracy_payload, p, d, seed, s), use_cache=use_cache)
        acc[p][d].append(float(payload["accuracy"]))
    return BorderResults(s, acc)
