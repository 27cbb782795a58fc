"""Can a network learn invariance? (after Biscione & Bowers, JMLR 2021), on MNIST.

MNIST digits are pasted on a 56 x 56 black canvas (:mod:`shiftlab.data.canvas`). A
:class:`shiftlab.nn.canvas_models.CanvasNet` with an ``"fc"`` head (flatten -> FC: invariance
must be learned) or a ``"gap"`` head (global average pool -> FC: architecturally nearly
invariant) is trained under one of four *conditions*, i.e. rectangles of allowed top-left
offsets ``(y_min, y_max, x_min, x_max)`` (inclusive) for digits 0-4 and for digits 5-9:

``centre``      every digit near the centre: offsets 12..16 on both axes (14 +- 2 px jitter)
``left``        every digit in the left strip: x in 0..8, y anywhere (0..28)
``everywhere``  every digit anywhere: 0..28 on both axes
``joint``       digits 0-4 anywhere, digits 5-9 only near the centre (12..16), all ten classes
                trained together: this teaches the shortcut "off-centre means 0-4"; Biscione &
                Bowers' sequential protocol is :mod:`shiftlab.studies.invariance_transfer`

and then tested with a fixed subset of the test digits at every offset of an 8 x 8 grid
(``0, 4, ..., 28`` on both axes). Positions are drawn afresh for every batch with batched
tensor operations; everything is seeded. Each trained-and-tested run (condition x head x seed)
is cached (kind ``"canvas"``) as the per-position, per-class numbers of correct answers, so any
class subset's accuracy map can be read back (:meth:`InvarianceResults.maps`).

Summaries (:meth:`InvarianceResults.summary`): mean accuracy at the grid positions inside the
training region ("trained"), at the positions at least :data:`FAR` pixels from it (Chebyshev
distance of the top-left offset to the rectangle, "far"), and over the whole grid ("all").
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from shiftlab.core.cache import load_or_compute
from shiftlab.core.config import quick_or_full
from shiftlab.core.glue import glue
from shiftlab.core.progress import tqdm
from shiftlab.data.canvas import Region, check_region, place_on_canvas, position_grid, sample_offsets
from shiftlab.data.mnist import MnistSplit, load_mnist
from shiftlab.nn.canvas_models import CANVAS_HEADS, CanvasNet

__all__ = [
    "CONDITIONS",
    "CONDITION_REGIONS",
    "CANVAS",
    "DIGIT",
    "FAR",
    "LOW",
    "HIGH",
    "ALL",
    "AccuracyMaps",
    "InvarianceSettings",
    "InvarianceResults",
    "chebyshev_distance",
    "mean_std",
    "Validation",
    "validation_set",
    "fit_canvas",
    "train_canvas_model",
    "evaluate_positions",
    "run_learned_invariance",
    "lazy_splits",
]

CANVAS = 56
DIGIT = 28
#: "far" positions are at least this many pixels (Chebyshev) from the training region
FAR = 8

CENTRE: Region = (12, 16, 12, 16)
LEFT: Region = (0, 28, 0, 8)
EVERYWHERE: Region = (0, 28, 0, 28)

#: condition -> (region of digits 0-4, region of digits 5-9)
CONDITION_REGIONS: dict[str, tuple[Region, Region]] = {
    "centre": (CENTRE, CENTRE),
    "left": (LEFT, LEFT),
    "everywhere": (EVERYWHERE, EVERYWHERE),
    "joint": (EVERYWHERE, CENTRE),
}
CONDITIONS: tuple[str, ...] = tuple(CONDITION_REGIONS)

LOW: tuple[int, ...] = (0, 1, 2, 3, 4)
HIGH: tuple[int, ...] = (5, 6, 7, 8, 9)
ALL: tuple[int, ...] = LOW + HIGH


@dataclass(frozen=True)
class InvarianceSettings:
    """What :func:`run_learned_invariance` trains and tests.

    Attributes:
        seeds: one network per seed, condition and head.
        conditions, heads: which of :data:`CONDITIONS` and ``("fc", "gap")`` to run.
        train_size: the first ``train_size`` MNIST training digits are trained on.
        val_size: the last ``val_size`` training digits are held out, each at one fixed offset of
            its class's training region, to decide when the training region is learned.
        epochs: the most epochs; training stops earlier once the held-out digits reach ``target``
            (None: always ``epochs``).
        batch_size, lr, lr_decay: Adam training (each digit gets a fresh position every batch),
            the learning rate multiplied by ``lr_decay`` after every epoch.
        test_size: a fixed random subset (``subset_seed``) of the MNIST test digits, each tested
            at every grid position.
        step: spacing of the test grid (top-left offsets ``0, step, ..., 28``).
        channels, hidden: the :class:`CanvasNet` widths.
    """

    seeds: tuple[int, ...] = (0, 1, 2)
    conditions: tuple[str, ...] = ("centre", "everywhere", "joint")
    heads: tuple[str, ...] = CANVAS_HEADS
    train_size: int = 59000
    val_size: int = 1000
    epochs: int = 10
    target: float | None = 0.98
    batch_size: int = 128
    lr: float = 2e-3
    lr_decay: float = 0.8
    test_size: int = 500
    step: int = 4
    channels: tuple[int, ...] = (16, 32, 64)
    hidden: int = 64
    subset_seed: int = 1234

    def __post_init__(self) -> None:
        for name in ("seeds", "conditions", "heads", "channels"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or any(
                isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in self.seeds):
            raise ValueError(f"seeds must be distinct non-negative ints (at least one), got {self.seeds}")
        bad = [c for c in self.conditions if c not in CONDITION_REGIONS]
        if bad or not self.conditions:
            raise ValueError(f"conditions must be a non-empty subset of {CONDITIONS}, got {self.conditions}")
        if not self.heads or any(h not in CANVAS_HEADS for h in self.heads):
            raise ValueError(f"heads must be a non-empty subset of {CANVAS_HEADS}, got {self.heads}")
        if not 1 <= self.val_size or not 1 <= self.train_size <= 60000 - self.val_size \
                or not 1 <= self.test_size <= 10000:
            raise ValueError("val_size must be positive, train_size in 1..60000 - val_size and test_size "
                             "in 1..10000")
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise ValueError("epochs and batch_size must be positive ints and lr a positive number")
        if not 0 < self.lr_decay <= 1 or (self.target is not None and not 0 < self.target <= 1):
            raise ValueError(f"lr_decay must be in (0, 1] and target None or in (0, 1], got "
                             f"{self.lr_decay!r}, {self.target!r}")
        if self.step < 1:
            raise ValueError(f"step must be a positive int, got {self.step}")

    @classmethod
    def default(cls) -> InvarianceSettings:
        """Quick mode: 1 seed, 1,000 training digits for 1 epoch, 64 test digits, narrow
        network (well under 30 s). Full mode: 3 seeds, the conditions centre, everywhere and
        joint (``left`` is available but not run, to fit a CPU), 59,000 training digits until
        the 1,000 held-out ones reach 98 % at their training positions (at most 10 epochs, the
        learning rate decaying by 0.8 per epoch), 500 test digits at each of the 64 positions,
        three stages of 16, 32 and 64 channels (with two stages the receptive field, about
        10 px, is too small for a global-pool head to recognise a 28-px digit: it stays near
        35 %)."""
        return quick_or_full(cls(seeds=(0,), train_size=1000, epochs=1, test_size=64, channels=(4, 8),
                                 conditions=("centre", "everywhere", "joint")), cls())

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k in ("seeds", "conditions", "heads", "channels"):
            d[k] = list(d[k])
        return d

    def run_meta(self, condition: str, head: str, seed: int) -> dict[str, Any]:
        """What determines one run's cached numbers."""
        keep = ("train_size", "val_size", "epochs", "target", "batch_size", "lr", "lr_decay", "test_size",
                "step", "channels", "hidden", "subset_seed")
        d = {k: v for k, v in self.as_dict().items() if k in keep}
        return {**d, "condition": condition, "regions": [list(r) for r in CONDITION_REGIONS[condition]],
                "head": head, "seed": seed, "canvas": CANVAS}


class AccuracyMaps(NamedTuple):
    """Accuracy per test position: ``per_seed[s, iy, ix]`` and its seed mean ``mean[iy, ix]``,
    with the top-left offsets ``axis`` (pixels) along both image axes."""

    mean: np.ndarray
    per_seed: np.ndarray
    axis: np.ndarray


def chebyshev_distance(positions: np.ndarray, region: Sequence[int]) -> np.ndarray:
    """Chebyshev distance (pixels) of each top-left offset ``(y, x)`` in ``positions [P, 2]`` to the
    rectangle ``region = (y_min, y_max, x_min, x_max)``; 0 inside it."""
    y0, y1, x0, x1 = region
    p = np.asarray(positions)
    dy = np.maximum(np.maximum(y0 - p[:, 0], p[:, 0] - y1), 0)
    dx = np.maximum(np.maximum(x0 - p[:, 1], p[:, 1] - x1), 0)
    return np.maximum(dy, dx)


def mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation over seeds (0 for one seed; nan for none)."""
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0 or np.all(np.isnan(a)):
        return float("nan"), float("nan")
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


def _classes(classes: Sequence[int] | None) -> tuple[int, ...]:
    if classes is None:
        return ALL
    out = tuple(int(c) for c in classes)
    if not out or any(c < 0 or c > 9 for c in out) or len(set(out)) != len(out):
        raise ValueError(f"classes must be distinct digits 0..9 (at least one), got {classes!r}")
    return out


def _classes_label(classes: Sequence[int]) -> str:
    c = tuple(classes)
    return {ALL: "0-9", LOW: "0-4", HIGH: "5-9"}.get(c, ",".join(map(str, c)))


@dataclass
class InvarianceResults:
    """Per-run, per-position, per-class counts of correct answers, and their summaries.

    ``counts[(condition, head)]`` is ``[seeds, P, 10]`` (correct answers at each grid position
    for each class), ``class_totals[k]`` the number of test digits of class ``k``.
    """

    settings: InvarianceSettings
    positions: np.ndarray
    counts: dict[tuple[str, str], np.ndarray]
    class_totals: np.ndarray
    histories: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    seconds: float = float("nan")
    from_cache: bool = False

    @property
    def axis(self) -> np.ndarray:
        """The top-left offsets (pixels) along one axis of the grid."""
        return np.unique(self.positions[:, 0])

    def region(self, condition: str, classes: Sequence[int] | None = None) -> Region:
        """The training region of ``classes`` under ``condition``; classes from both halves of a
        condition with two regions (``joint``) have no single region (ValueError)."""
        if condition not in CONDITION_REGIONS:
            raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
        cls = _classes(classes)
        low, high = CONDITION_REGIONS[condition]
        regions = {low if c < 5 else high for c in cls}
        if len(regions) != 1:
            raise ValueError(f"classes {cls} were trained in different regions under {condition!r}; "
                             "ask for digits 0-4 (LOW) or 5-9 (HIGH) separately")
        return regions.pop()

    def _per_seed_position(self, condition: str, head: str, classes: Sequence[int] | None) -> np.ndarray:
        if (condition, head) not in self.counts:
            raise KeyError(f"no runs for condition {condition!r}, head {head!r}; "
                           f"have {sorted(self.counts)}")
        cls = list(_classes(classes))
        c = self.counts[(condition, head)][:, :, cls].sum(axis=2)
        return c / float(self.class_totals[cls].sum())

    def maps(self, condition: str, head: str, classes: Sequence[int] | None = None) -> AccuracyMaps:
        """Accuracy maps ``[ny, nx]`` (rows: top-left y, columns: top-left x) of the test digits
        of ``classes`` (default all; e.g. :data:`HIGH` for digits 5-9), per seed and mean."""
        acc = self._per_seed_position(condition, head, classes)
        n = len(self.axis)
        per_seed = acc.reshape(acc.shape[0], n, n)
        return AccuracyMaps(per_seed.mean(axis=0), per_seed, self.axis)

    def summary(self, condition: str, head: str,
                classes: Sequence[int] | None = None) -> dict[str, tuple[float, float]]:
        """``{"trained", "far", "all": (mean, std over seeds)}``: mean accuracy over the grid
        positions inside the training region of ``classes``, at least :data:`FAR` px from it
        (``nan`` when there are none, e.g. ``everywhere``), and over the whole grid."""
        acc = self._per_seed_position(condition, head, classes)
        dist = chebyshev_distance(self.positions, self.region(condition, classes))
        out = {}
        for key, mask in (("trained", dist == 0), ("far", dist >= FAR), ("all", np.ones_like(dist, bool))):
            out[key] = mean_std(acc[:, mask].mean(axis=1)) if mask.any() else (float("nan"), float("nan"))
        return out

    def curves(self, condition: str, head: str) -> list[list[float]]:
        """The learning curves of ``(condition, head)``: per seed, the held-out accuracy at the
        training positions after every epoch (runs that met the target early are shorter)."""
        if (condition, head) not in self.histories:
            raise KeyError(f"no runs for condition {condition!r}, head {head!r}")
        return [list(h.get("val_acc", [])) for h in self.histories[(condition, head)]]

    def epochs_run(self, condition: str, head: str) -> list[int]:
        """Epochs each seed of ``(condition, head)`` trained for."""
        return [len(c) for c in self.curves(condition, head)]

    def rows(self) -> list[tuple[str, tuple[int, ...]]]:
        """The ``(condition, classes)`` rows of :meth:`table`."""
        out: list[tuple[str, tuple[int, ...]]] = []
        conds = {c for c, _ in self.counts}
        for cond in CONDITIONS:
            if cond not in conds:
                continue
            if cond == "joint":
                out += [(cond, LOW), (cond, HIGH)]
            else:
                out.append((cond, ALL))
                if cond == "centre" and "joint" in conds:
                    out.append((cond, HIGH))  # the baseline the joint run's digits 5-9 are compared with
        return out

    def table(self) -> list[dict[str, Any]]:
        """One dict per (condition, classes, head): ``condition``, ``classes`` (label),
        ``head``, ``trained``/``far``/``all`` as (mean, std)."""
        heads = [h for h in CANVAS_HEADS if any(k[1] == h for k in self.counts)]
        return [{"condition": cond, "classes": _classes_label(cls), "head": head, **self.summary(cond, head, cls)}
                for cond, cls in self.rows() for head in heads if (cond, head) in self.counts]

    def markdown(self) -> str:
        """The summary table in Markdown (accuracy, mean ± sample std over seeds; a dash where a
        condition has no far positions)."""
        def fmt(ms: tuple[float, float]) -> str:
            m, s = ms
            if math.isnan(m):
                return "–"
            return f"{m:.3f}" if len(self.settings.seeds) == 1 else f"{m:.3f} ± {s:.3f}"

        lines = ["| condition | digits | head | at trained positions | ≥ 8 px away | whole grid |",
                 "|---|---|---|---|---|---|"]
        for r in self.table():
            lines.append(f"| {r['condition']} | {r['classes']} | {r['head']} | {fmt(r['trained'])} | "
                         f"{fmt(r['far'])} | {fmt(r['all'])} |")
        return "\n".join(lines)

    def glue(self, prefix: str = "li") -> None:
        """Glue the key numbers (kind ``"accuracy"``; nan cells are skipped):
        ``{prefix}_{condition}[_{04|59}]_{head}_{trained|far|all}`` (seed means, the class
        suffix only where the row is not all digits), ``{prefix}_joint_gain_{head}`` (signed:
        far accuracy of digits 5-9 under ``joint`` minus under ``centre``), and the counts
        ``{prefix}_seeds``, ``{prefix}_max_epochs``, ``{prefix}_train_size``, ``{prefix}_test_size``,
        ``{prefix}_positions``; per run kind ``{prefix}_epochs_{condition}_{head}`` (the most epochs
        a seed needed), ``{prefix}_val_{condition}_{head}`` (final held-out accuracy, seed mean) and
        ``{prefix}_first_{condition}_{head}`` (held-out accuracy after the first epoch, seed mean)."""
        for r in self.table():
            suffix = "" if r["classes"] == "0-9" else "_" + r["classes"].replace("-", "")
            for stat in ("trained", "far", "all"):
                m = r[stat][0]
                if not math.isnan(m):
                    glue(f"{prefix}_{r['condition']}{suffix}_{r['head']}_{stat}", m, kind="accuracy")
        for head in CANVAS_HEADS:
            if ("joint", head) in self.counts and ("centre", head) in self.counts:
                gain = self.summary("joint", head, HIGH)["far"][0] - self.summary("centre", head, HIGH)["far"][0]
                glue(f"{prefix}_joint_gain_{head}", gain, kind="signed")
        for cond, head in self.counts:
            curves = self.curves(cond, head)
            glue(f"{prefix}_epochs_{cond}_{head}", max(len(c) for c in curves), kind="count")
            glue(f"{prefix}_val_{cond}_{head}", float(np.mean([c[-1] for c in curves])), kind="accuracy")
            glue(f"{prefix}_first_{cond}_{head}", float(np.mean([c[0] for c in curves])), kind="accuracy")
        glue(f"{prefix}_seeds", len(self.settings.seeds), kind="count")
        glue(f"{prefix}_max_epochs", self.settings.epochs, kind="count")
        glue(f"{prefix}_train_size", self.settings.train_size, kind="count")
        glue(f"{prefix}_test_size", self.settings.test_size, kind="count")
        glue(f"{prefix}_positions", int(self.positions.shape[0]), kind="count")


def lazy_splits() -> Callable[[str], MnistSplit]:
    """``split(name)``: the MNIST split ``name`` (``"train"``, ``"test"``), read on first use
    and kept, so that a study whose runs all come from the cache reads no digits."""
    splits: dict[str, MnistSplit] = {}

    def split(name: str) -> MnistSplit:
        if name not in splits:
            splits[name] = load_mnist(name)  # type: ignore[arg-type]
        return splits[name]

    return split


# --------------------------------------------------------------------------- training and testing
class Validation(NamedTuple):
    """Held-out digits already placed on the canvas (``canvases [V, 1, 56, 56]``, ``labels [V]``)."""

    canvases: torch.Tensor
    labels: torch.Tensor


def validation_set(images: torch.Tensor, labels: torch.Tensor, regions: tuple[Region, Region],
                   seed: int) -> Validation:
    """Put each held-out digit at one fixed random offset of its class's training region
    (``regions[0]`` for labels below 5, ``regions[1]`` otherwise), drawn with ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    low = sample_offsets(images.shape[0], regions[0], gen, CANVAS, DIGIT)
    high = sample_offsets(images.shape[0], regions[1], gen, CANVAS, DIGIT)
    offsets = torch.where((labels < 5)[:, None], low, high)
    return Validation(place_on_canvas(images, offsets, CANVAS), labels)


@torch.no_grad()
def _accuracy(model: torch.nn.Module, val: Validation, batch_size: int = 1024) -> float:
    hits = sum(int((model(val.canvases[i:i + batch_size]).argmax(1) == val.labels[i:i + batch_size]).sum())
               for i in range(0, val.labels.shape[0], batch_size))
    return hits / val.labels.shape[0]


def fit_canvas(model: torch.nn.Module, params: Sequence[torch.nn.Parameter], x: torch.Tensor, y: torch.Tensor,
               regions: tuple[Region, Region], *, epochs: int, batch_size: int, lr: float, lr_decay: float,
               seed: int, val: Validation | None = None, target: float | None = None,
               frozen_body: bool = False, desc: str = "train", progress: bool = True) -> dict[str, Any]:
    """Train ``params`` of ``model`` with Adam (cross-entropy) on digits ``x`` placed at a fresh
    random offset of their class's region at every batch (``regions[0]`` for labels below 5,
    ``regions[1]`` otherwise). The learning rate is multiplied by ``lr_decay`` after every epoch.

    Training stops after ``epochs`` epochs, or earlier, as soon as the accuracy on ``val`` (held-out
    digits at positions of the training region) reaches ``target``: "until the training region is
    learned". ``frozen_body`` keeps the network in eval mode (batch-norm statistics fixed).

    Returns the history: ``epoch_loss``, ``epoch_acc`` (training batches), ``val_acc`` (after every
    epoch, when ``val`` is given), ``epochs_run``, ``reached`` (the target was met) and ``seconds``.
    """
    if not 0 < lr_decay <= 1:
        raise ValueError(f"lr_decay must be in (0, 1], got {lr_decay!r}")
    if target is not None and (val is None or not 0 < target <= 1):
        raise ValueError("a target needs a validation set and must lie in (0, 1]")
    low, high = (check_region(r, CANVAS, DIGIT) for r in regions)
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=lr_decay)
    gen = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    steps = -(-n // batch_size)
    hist: dict[str, Any] = {"epoch_loss": [], "epoch_acc": [], "val_acc": [], "reached": False}
    t0 = time.perf_counter()
    bar = tqdm(total=steps * epochs, desc=desc, disable=not progress, leave=False)
    for _ in range(epochs):
        model.train(not frozen_body)
        order = torch.randperm(n, generator=gen)
        loss_sum, correct = 0.0, 0
        for i in range(steps):
            idx = order[i * batch_size:(i + 1) * batch_size]
            xb, yb = x[idx], y[idx]
            off_low = sample_offsets(len(idx), low, gen, CANVAS, DIGIT)
            off_high = sample_offsets(len(idx), high, gen, CANVAS, DIGIT)
            offsets = torch.where((yb < 5)[:, None], off_low, off_high)
            logits = model(place_on_canvas(xb, offsets, CANVAS))
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((logits.detach().argmax(1) == yb).sum())
            bar.update(1)
        sched.step()
        hist["epoch_loss"].append(loss_sum / n)
        hist["epoch_acc"].append(correct / n)
        post = {"loss": f"{hist['epoch_loss'][-1]:.3f}", "acc": f"{hist['epoch_acc'][-1]:.3f}"}
        if val is not None:
            model.eval()
            hist["val_acc"].append(_accuracy(model, val))
            post["val"] = f"{hist['val_acc'][-1]:.3f}"
        bar.set_postfix(post)
        if target is not None and hist["val_acc"][-1] >= target:
            hist["reached"] = True
            break
    bar.close()
    hist["epochs_run"] = len(hist["epoch_loss"])
    hist["seconds"] = time.perf_counter() - t0
    model.eval()
    return hist


def train_canvas_model(settings: InvarianceSettings, condition: str, head: str, seed: int, train: MnistSplit,
                       progress: bool = True) -> tuple[CanvasNet, dict[str, Any]]:
    """Train one :class:`CanvasNet` under ``condition`` with :func:`fit_canvas`: the first
    ``train_size`` training digits, each batch at fresh offsets of its class's region (see
    :data:`CONDITION_REGIONS`), until the last ``val_size`` training digits (held out, at fixed
    offsets of the same regions) reach ``target`` or ``epochs`` are done. Returns the network
    (eval mode) and its history (see :func:`fit_canvas`)."""

    if condition not in CONDITION_REGIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    regions = CONDITION_REGIONS[condition]
    n, total = settings.train_size, train.images.shape[0]
    if total < n + settings.val_size:
        raise ValueError(f"train_size={n} and val_size={settings.val_size} need {n + settings.val_size} "
                         f"digits but the split has only {total}")
    val = validation_set(train.images[total - settings.val_size:], train.labels[total - settings.val_size:],
                         regions, seed)
    torch.manual_seed(seed)
    model = CanvasNet(head, settings.channels, settings.hidden, CANVAS)
    hist = fit_canvas(model, list(model.parameters()), train.images[:n], train.labels[:n], regions,
                      epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
                      lr_decay=settings.lr_decay, seed=seed, val=val, target=settings.target,
                      desc=f"train {condition}/{head}/seed {seed}", progress=progress)
    return model, hist


@torch.no_grad()
def evaluate_positions(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
                       positions: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Correct answers per position and class: ``[P, 10]`` long, for ``images`` ``[N, 1, 28, 28]``
    placed at each top-left offset of ``positions`` ``[P, 2]`` on the canvas."""
    if images.shape[0] != labels.shape[0] or images.shape[0] == 0:
        raise ValueError("images and labels must be non-empty and of the same length")
    was_training = model.training
    model.eval()
    out = torch.zeros(positions.shape[0], 10, dtype=torch.long)
    n = images.shape[0]
    for p in range(positions.shape[0]):
        for i in range(0, n, batch_size):
            xb = images[i:i + batch_size]
            canvas = place_on_canvas(xb, positions[p].expand(xb.shape[0], 2), CANVAS)
            hit = model(canvas).argmax(1) == labels[i:i + batch_size]
            out[p] += torch.bincount(labels[i:i + batch_size][hit], minlength=10)
    model.train(was_training)
    return out


def _test_subset(test: MnistSplit, settings: InvarianceSettings) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(settings.subset_seed)
    idx = torch.randperm(test.images.shape[0], generator=gen)[:settings.test_size]
    return test.images[idx], test.labels[idx]


def run_learned_invariance(settings: InvarianceSettings | None = None, progress: bool = True,
                           use_cache: bool = True) -> InvarianceResults:
    """Train and test every condition x head x seed of ``settings`` (default
    :meth:`InvarianceSettings.default`), each run cached (kind ``"canvas"``), and return the
    results. ``use_cache=False`` recomputes without touching the cache."""

    s = settings if settings is not None else InvarianceSettings.default()
    t0 = time.perf_counter()
    positions = position_grid(CANVAS, DIGIT, s.step)
    split = lazy_splits()

    counts: dict[tuple[str, str], list[np.ndarray]] = {}
    histories: dict[tuple[str, str], list[dict[str, Any]]] = {}
    totals: np.ndarray | None = None
    all_cached = True
    jobs = [(c, h, seed) for c in s.conditions for h in s.heads for seed in s.seeds]
    for cond, head, seed in tqdm(jobs, desc="learned invariance", disable=not progress):
        def compute(cond: str = cond, head: str = head, seed: int = seed) -> dict[str, Any]:
            model, hist = train_canvas_model(s, cond, head, seed, split("train"), progress=progress)
            x_test, y_test = _test_subset(split("test"), s)
            t1 = time.perf_counter()
            correct = evaluate_positions(model, x_test, y_test, positions)
            hist["test_seconds"] = time.perf_counter() - t1
            return {"counts": correct, "class_totals": torch.bincount(y_test, minlength=10), "history": hist}

        payload, cached = load_or_compute("canvas", f"li_{cond}_{head}_s{seed}", s.run_meta(cond, head, seed),
                                          compute, use_cache=use_cache)
        all_cached &= cached
        counts.setdefault((cond, head), []).append(np.asarray(payload["counts"]))
        histories.setdefault((cond, head), []).append(dict(payload["history"]))
        totals = np.asarray(payload["class_totals"])
    assert totals is not None
    return InvarianceResults(s, positions.numpy(), {k: np.stack(v) for k, v in counts.items()}, totals,
                             histories, time.perf_counter() - t0, all_cached)
