"""The six MNIST configurations (models A, B, C; without and with augmentation) x seeds.

One call, :func:`run_mnist`, trains (or loads from the cache) every model, evaluates it on the
shift grid (also cached) and returns :class:`MnistResults`: per-run numbers, mean +- std tables
in the article's layout, JSON in and out. Both MNIST chapters and
``python -m shiftlab reproduce mnist`` go through it, so they share one set of trained models.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from shiftlab.core.cache import load_or_compute
from shiftlab.core.config import SetupError, quick_or_full
from shiftlab.core.device import get_device
from shiftlab.core.glue import glue
from shiftlab.core.progress import tqdm
from shiftlab.data.mnist import load_mnist
from shiftlab.measure.shift_accuracy import GridResult, article_columns, evaluate_shift_grid
from shiftlab.nn.mnist_models import MODEL_NAMES
from shiftlab.train.trainer import History, TrainConfig, TrainedModel, evaluate_accuracy, load_or_train

__all__ = [
    "ARTICLE",
    "COLUMNS",
    "HEADLINE_WIDTH",
    "HEADLINE_HIDDEN",
    "NARROW_WIDTH",
    "NARROW_HIDDEN",
    "MnistSettings",
    "RunResult",
    "MnistResults",
    "grid_subset",
    "run_mnist",
    "load_trained",
]

COLUMNS: tuple[str, ...] = ("default", "shift min", "shift")

#: The article's table: ARTICLE[augment][model] = (default, shift min, shift).
ARTICLE: dict[bool, dict[str, tuple[float, float, float]]] = {
    False: {"A": (0.974, 0.959, 0.686), "B": (0.979, 0.967, 0.718), "C": (0.987, 0.982, 0.843)},
    True: {"A": (0.968, 0.974, 0.950), "B": (0.980, 0.982, 0.966), "C": (0.989, 0.989, 0.983)},
}

#: conv widths and hidden FC width of the headline experiment: those of the articles' lineage
#: (Kauderer-Abrams; the Keras MNIST examples that such blog experiments start from)
HEADLINE_WIDTH: tuple[int, int] = (32, 64)
HEADLINE_HIDDEN: int = 128

#: the narrow networks of quick mode, and of the chapters that reuse MNIST models for their own
#: questions (data bias, borders, the worst case) on a CPU budget: see :meth:`MnistSettings.narrow`
NARROW_WIDTH: tuple[int, int] = (4, 8)
NARROW_HIDDEN: int = 64


@dataclass(frozen=True)
class MnistSettings:
    """What a reproduction runs.

    Attributes:
        seeds: one trained model per seed and configuration.
        epochs, train_size: training length and the number of training digits used.
        test_size: digits for the ``default`` column (the first ``test_size`` of the test set).
        grid_size: digits shifted over the whole grid (a fixed random subset of the test set,
            drawn with :data:`subset_seed`).
        max_shift: the grid is ``[-max_shift, max_shift]^2``.
        channels, hidden: conv widths and hidden FC width of A, B and C (default: the headline
            width, :data:`HEADLINE_WIDTH` and :data:`HEADLINE_HIDDEN`).
    """

    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 5
    train_size: int = 60000
    test_size: int = 10000
    grid_size: int = 1000
    max_shift: int = 8
    subset_seed: int = 1234
    channels: tuple[int, int] = HEADLINE_WIDTH
    hidden: int = HEADLINE_HIDDEN

    def __post_init__(self) -> None:
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if not self.seeds:
            raise ValueError("at least one seed is needed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct, got {self.seeds}")
        if not 1 <= self.test_size <= 10000 or not 1 <= self.grid_size <= 10000:
            raise ValueError("test_size and grid_size must be between 1 and 10000")
        if self.max_shift < 3:
            raise ValueError("max_shift must be at least 3 (the 'shift' column needs |d| <= 3)")

    @classmethod
    def default(cls, seeds: int | None = None) -> MnistSettings:
        """Quick mode: 1 seed, 1 epoch, 5,000 training digits, 100 grid digits, narrow networks
        (:data:`NARROW_WIDTH`, :data:`NARROW_HIDDEN`). Full mode: 3 seeds, 5 epochs, all 60,000
        training digits, 1,000 grid digits, 10,000 test digits, the headline width
        (:data:`HEADLINE_WIDTH`, :data:`HEADLINE_HIDDEN`).

        ``seeds=N`` uses seeds ``0 .. N-1``; without it, the environment variable
        ``SHIFTLAB_MNIST_SEEDS`` (when set) gives N in full mode.
        """
        base = quick_or_full(cls(seeds=(0,), epochs=1, train_size=5000, test_size=2000, grid_size=100,
                                 channels=NARROW_WIDTH, hidden=NARROW_HIDDEN), cls())
        if seeds is None and not quick_or_full(True, False):
            raw = os.environ.get("SHIFTLAB_MNIST_SEEDS", "").strip()
            if raw:
                if not raw.isdigit() or int(raw) < 1:
                    raise SetupError(f"SHIFTLAB_MNIST_SEEDS must be a positive integer, got {raw!r}")
                seeds = int(raw)
        if seeds is not None and (isinstance(seeds, bool) or int(seeds) < 1):
            raise ValueError(f"seeds must be a positive integer, got {seeds!r}")
        return base if seeds is None else dataclasses.replace(base, seeds=tuple(range(int(seeds))))

    @classmethod
    def narrow(cls, seeds: int | None = None) -> MnistSettings:
        """:meth:`default` with the narrow networks (:data:`NARROW_WIDTH`, :data:`NARROW_HIDDEN`)
        in both modes: what the chapters that reuse MNIST models for their own questions train,
        so that their full runs stay within a CPU budget."""
        return dataclasses.replace(cls.default(seeds), channels=NARROW_WIDTH, hidden=NARROW_HIDDEN)

    def train_config(self, model: str, augment: bool, seed: int) -> TrainConfig:
        return TrainConfig(model=model, augment=augment, epochs=self.epochs, seed=seed,
                           train_size=self.train_size, channels=self.channels, hidden=self.hidden)

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["seeds"], d["channels"] = list(self.seeds), list(self.channels)
        return d


@dataclass
class RunResult:
    """One trained model's numbers."""

    model: str
    augment: bool
    seed: int
    default: float
    grid: GridResult
    history: History
    columns: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.columns:
            self.columns = article_columns(self.grid, self.default)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "augment": self.augment, "seed": self.seed, "default": self.default,
                "columns": self.columns, "grid": self.grid.to_dict(), "history": self.history.as_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunResult:
        return cls(d["model"], bool(d["augment"]), int(d["seed"]), float(d["default"]),
                   GridResult.from_dict(d["grid"]), History.from_dict(d["history"]), dict(d["columns"]))


def _mean_std(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, dtype=np.float64)
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


@dataclass
class MnistResults:
    """All runs of a reproduction, with summaries (std = sample standard deviation over seeds,
    0 for a single seed)."""

    settings: MnistSettings
    runs: list[RunResult]
    seconds: float = float("nan")

    def select(self, model: str, augment: bool) -> list[RunResult]:
        return [r for r in self.runs if r.model == model and r.augment == augment]

    def table(self, augment: bool) -> dict[str, dict[str, tuple[float, float]]]:
        """``table[model][column] = (mean, std)`` over seeds."""
        return {m: {c: _mean_std([r.columns[c] for r in self.select(m, augment)]) for c in COLUMNS}
                for m in MODEL_NAMES if self.select(m, augment)}

    def gain(self, column: str, new: tuple[str, bool], old: tuple[str, bool]) -> tuple[float, float]:
        """How much configuration ``new`` beats ``old`` on ``column``, e.g.
        ``gain("shift", ("C", False), ("A", False))`` for two pooling stages.

        Returns the difference of the seed means and its standard error,
        ``sqrt(s_new^2 / n_new + s_old^2 / n_old)`` (sample standard deviations over seeds;
        ``nan`` when either side has a single seed, whose spread is unknown).
        """
        if column not in COLUMNS:
            raise ValueError(f"column must be one of {COLUMNS}, got {column!r}")
        sides = []
        for model, augment in (new, old):
            runs = self.select(model, augment)
            if not runs:
                raise KeyError(f"no runs for model {model!r}, augment={augment}")
            sides.append(np.array([r.columns[column] for r in runs], dtype=np.float64))
        a, b = sides
        diff = float(a.mean() - b.mean())
        if a.size < 2 or b.size < 2:
            return diff, float("nan")
        return diff, float(np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size))

    def mean_grid(self, model: str, augment: bool, what: str = "accuracy") -> np.ndarray:
        """Seed-mean accuracy (or ``"sensitivity"``) image ``[dy, dx]``."""
        runs = self.select(model, augment)
        if not runs:
            raise KeyError(f"no runs for model {model!r}, augment={augment}")
        return np.mean([r.grid.as_image(getattr(r.grid, what)) for r in runs], axis=0)

    def format_tables(self) -> str:
        """Both tables in the article's layout, ours (mean +- std) beside the article's."""
        out = []
        for aug in (False, True):
            title = "with augmentation (random shifts up to 10 %)" if aug else "without augmentation"
            n = len(self.settings.seeds)
            seeds = f"{n} seed" + ("" if n == 1 else "s")
            out.append(f"MNIST, {title}; ours: mean +- std over {seeds}; article in brackets")
            out.append(f"{'model':<6}" + "".join(f"{c:>24}" for c in COLUMNS))
            for m, cols in self.table(aug).items():
                cells = [f"{mu:.3f} +- {sd:.3f} [{ARTICLE[aug][m][i]:.3f}]" for i, (mu, sd) in
                         enumerate(cols[c] for c in COLUMNS)]
                out.append(f"{m:<6}" + "".join(f"{c:>24}" for c in cells))
            out.append("")
        return "\n".join(out)

    def markdown_table(self, augment: bool) -> str:
        """One table (Markdown), four short columns: for each of the article's columns, ours
        (mean ± std over seeds; mean alone for one seed) with the article's value in brackets."""
        head = "| model | " + " | ".join(COLUMNS) + " |"
        rows = [head, "|---" * (1 + len(COLUMNS)) + "|"]
        one = len(self.settings.seeds) == 1  # no spread to report from a single seed
        for m, cols in self.table(augment).items():
            cells = [(f"{cols[c][0]:.3f}" if one else f"{cols[c][0]:.3f} ± {cols[c][1]:.3f}")
                     + f" ({ARTICLE[augment][m][i]:.3f})" for i, c in enumerate(COLUMNS)]
            rows.append(f"| {m} | " + " | ".join(cells) + " |")
        return "\n".join(rows)

    def glue_tables(self, prefix: str = "mnist") -> None:
        """Glue every table cell for the prose: ``{prefix}_{noaug|aug}_{A|B|C}_{default|shiftmin|shift}``
        (mean), the same name with ``_std``, and with ``_vs_article`` (mean minus the article's
        value, :data:`ARTICLE`)."""
        for aug in (False, True):
            for m, cols in self.table(aug).items():
                for c, (mu, sd) in cols.items():
                    name = f"{prefix}_{'aug' if aug else 'noaug'}_{m}_{c.replace(' ', '')}"
                    glue(name, mu, kind="accuracy")
                    glue(name + "_std", sd, kind="nonneg")
                    glue(name + "_vs_article", mu - ARTICLE[aug][m][COLUMNS.index(c)], kind="signed")

    def to_dict(self) -> dict[str, Any]:
        summary = {("aug" if a else "no_aug"): {m: {c: {"mean": v[0], "std": v[1]} for c, v in cols.items()}
                                                for m, cols in self.table(a).items()} for a in (False, True)}
        article = {("aug" if a else "no_aug"): {m: dict(zip(COLUMNS, v)) for m, v in t.items()}
                   for a, t in ARTICLE.items()}
        return {"settings": self.settings.as_dict(), "seconds": self.seconds, "summary": summary,
                "article": article, "runs": [r.to_dict() for r in self.runs]}

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def from_json(cls, path: str | Path) -> MnistResults:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        s = d["settings"]
        settings = MnistSettings(**{**s, "seeds": tuple(s["seeds"]), "channels": tuple(s["channels"])})
        return cls(settings, [RunResult.from_dict(r) for r in d["runs"]], float(d.get("seconds", float("nan"))))


def grid_subset(settings: MnistSettings, n_test: int = 10000) -> torch.Tensor:
    """Indices of the fixed random test subset that is shifted over the grid."""
    g = torch.Generator().manual_seed(settings.subset_seed)
    return torch.randperm(n_test, generator=g)[: settings.grid_size]


def _evaluate(tm: TrainedModel, settings: MnistSettings, test_x: torch.Tensor, test_y: torch.Tensor,
              subset: torch.Tensor, use_cache: bool) -> RunResult:
    cfg = tm.config
    meta = {"train": cfg.as_dict(), "train_key": cfg.key(), "eval": {
        "test_size": settings.test_size, "grid_size": settings.grid_size, "max_shift": settings.max_shift,
        "subset_seed": settings.subset_seed}}

    def compute() -> dict[str, Any]:
        default = evaluate_accuracy(tm.model, test_x[: settings.test_size], test_y[: settings.test_size])
        grid = evaluate_shift_grid(tm.model, test_x[subset], test_y[subset], settings.max_shift)
        return {"default": default, "grid": grid.to_dict()}

    payload, _ = load_or_compute("mnist_eval", cfg.cache_stem(), meta, compute, use_cache=use_cache)
    return RunResult(cfg.model, cfg.augment, cfg.seed, float(payload["default"]),
                     GridResult.from_dict(payload["grid"]), tm.history)


def run_mnist(settings: MnistSettings | None = None, device: torch.device | str | None = None,
              progress: bool = True, use_cache: bool = True) -> MnistResults:
    """Train (or load) and evaluate all six configurations for every seed.

    Seeds are the outer loop, so an interrupted full run has complete seeds in the cache.
    ``use_cache=False`` trains and evaluates without reading or writing cached models and results.
    """

    settings = settings or MnistSettings.default()
    dev = get_device(device)
    start = time.perf_counter()
    train = load_mnist("train", device=dev, limit=settings.train_size)
    test = load_mnist("test", device=dev)
    test_head = type(test)(test.images[: settings.test_size], test.labels[: settings.test_size])
    subset = grid_subset(settings, test.images.shape[0]).to(dev)
    runs: list[RunResult] = []
    jobs = [(s, a, m) for s in settings.seeds for a in (False, True) for m in MODEL_NAMES]
    bar = tqdm(jobs, desc="MNIST runs", disable=not progress)
    for seed, aug, name in bar:
        cfg = settings.train_config(name, aug, seed)
        bar.set_postfix(run=cfg.label)
        tm = load_or_train(cfg, device=dev, progress=progress, use_cache=use_cache, train=train,
                           test=test_head)
        runs.append(_evaluate(tm, settings, test.images, test.labels, subset, use_cache))
    return MnistResults(settings, runs, time.perf_counter() - start)


def load_trained(settings: MnistSettings, model: str, augment: bool, seed: int | None = None,
                 device: torch.device | str | None = None) -> TrainedModel:
    """A trained model of a reproduction (from the cache; trains it if missing)."""
    seed = settings.seeds[0] if seed is None else seed
    return load_or_train(settings.train_config(model, augment, seed), device=device, progress=False)
