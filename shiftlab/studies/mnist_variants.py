"""BlurPool-C and APS-C against A, B and C on MNIST (chapter 08).

The variants of model C (``make_model("C", pool="blur")`` and ``pool="aps"``, see
:mod:`shiftlab.nn.mnist_models`) are trained by the shiftlab trainer with the same budget as
A/B/C and evaluated with the same protocol (:mod:`shiftlab.measure.shift_accuracy`), plus
Zhang's consistency; both are cached (kind ``"mnist_variants"``). :func:`step_time` measures
the cost of a training step of each model, interleaved so that a busy machine slows all alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from shiftlab.core.cache import CODE_VERSIONS, load_or_compute
from shiftlab.core.device import get_device
from shiftlab.core.glue import glue
from shiftlab.core.progress import tqdm
from shiftlab.data.mnist import MnistSplit, load_mnist
from shiftlab.measure.shift_accuracy import GridResult, article_columns, evaluate_shift_grid, shift_consistency
from shiftlab.nn.mnist_models import MODEL_NAMES, VARIANTS, PaddingMode, make_model, make_variant
from shiftlab.studies.mnist_pooling import MnistSettings, grid_subset, load_trained, run_mnist
from shiftlab.train.trainer import History, TrainConfig, evaluate_accuracy, train_model

__all__ = [
    "VARIANTS",
    "VariantRun",
    "VariantResults",
    "load_variant",
    "run_variants",
    "step_time",
    "train_and_evaluate",
]


@dataclass
class VariantRun:
    """One trained variant (or reference model) and its numbers."""

    variant: str
    seed: int
    default: float
    shift_min: float
    shift: float
    consistency: float
    epoch_seconds: list[float]
    grid: GridResult | None = None

    @property
    def seconds_per_epoch(self) -> float:
        return float(np.mean(self.epoch_seconds)) if self.epoch_seconds else float("nan")


@dataclass
class VariantResults:
    """Runs of the variants (and of the cached references A/B/C) with a summary table."""

    runs: list[VariantRun]
    settings: MnistSettings
    step_ms: dict[str, float] = field(default_factory=dict)

    METRICS: tuple[str, ...] = ("default", "shift_min", "shift", "consistency", "seconds_per_epoch")

    def names(self) -> list[str]:
        seen: list[str] = []
        for r in self.runs:
            if r.variant not in seen:
                seen.append(r.variant)
        return seen

    def select(self, variant: str) -> list[VariantRun]:
        return [r for r in self.runs if r.variant == variant]

    def table(self) -> dict[str, dict[str, tuple[float, float]]]:
        """``table[variant][metric] = (mean, std)`` over seeds (sample std; 0 for one seed)."""
        out: dict[str, dict[str, tuple[float, float]]] = {}
        for v in self.names():
            rows = self.select(v)
            out[v] = {}
            for m in self.METRICS:
                a = np.asarray([getattr(r, m) for r in rows], dtype=np.float64)
                out[v][m] = (float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0)
        return out

    def markdown(self, trainer_clock: bool = False) -> str:
        """The comparison table in Markdown (mean ± sample std over seeds): accuracy on the
        unshifted test set, mean accuracy over the 1-pixel shifts and over the shifts up to
        3 pixels, consistency, and the interleaved cost per training step with the time per
        epoch it implies. ``trainer_clock`` adds the trainer's own (noisy) seconds per epoch."""
        heads = ["model", "accuracy", "1-px shifts", "shifts ≤ 3 px", "consistency (%)"]
        if trainer_clock:
            heads.append("s / epoch (trainer)")
        if self.step_ms:
            heads += ["ms / step", "s / epoch"]
        lines = ["| " + " | ".join(heads) + " |", "|---" * len(heads) + "|"]
        for v, cols in self.table().items():
            cells = [f"{cols[m][0]:.3f} ± {cols[m][1]:.3f}" for m in ("default", "shift_min", "shift")]
            cells.append(f"{cols['consistency'][0]:.1f} ± {cols['consistency'][1]:.1f}")
            if trainer_clock:
                cells.append(f"{cols['seconds_per_epoch'][0]:.1f} ± {cols['seconds_per_epoch'][1]:.1f}")
            if self.step_ms:
                ms = self.step_ms.get(v, float("nan"))
                steps = -(-self.settings.train_size // 128)
                cells += [f"{ms:.2f}", f"{ms * steps / 1000:.1f}"]
            lines.append(f"| {v} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    #: the glue kind of each metric (see :func:`shiftlab.core.glue.glue`)
    GLUE_KINDS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("default", "accuracy"), ("shift_min", "accuracy"), ("shift", "accuracy"),
        ("consistency", "percent"), ("seconds_per_epoch", "nonneg"))

    def glue_table(self, prefix: str = "var") -> None:
        """Glue ``{prefix}_{variant}_{metric}`` (mean) and ``..._std`` for the prose; variant names
        lose their dash (``BlurPoolC``). Means carry their kind (accuracy, percent, nonneg),
        standard deviations and step times are ``nonneg``."""
        kinds = dict(self.GLUE_KINDS)
        for v, cols in self.table().items():
            for m, (mu, sd) in cols.items():
                glue(f"{prefix}_{v.replace('-', '')}_{m}", mu, kind=kinds.get(m, "nonneg"))
                glue(f"{prefix}_{v.replace('-', '')}_{m}_std", sd, kind="nonneg")
        for v, ms in self.step_ms.items():
            glue(f"{prefix}_{v.replace('-', '')}_step_ms", ms, kind="nonneg")


def train_and_evaluate(cfg: TrainConfig, factory: Callable[[TrainConfig], nn.Module], settings: MnistSettings,
                       train_split: MnistSplit, test_split: MnistSplit, subset: torch.Tensor,
                       device: torch.device, progress: bool) -> dict[str, Any]:
    """Train ``factory(cfg)`` with the A/B/C budget and measure it with the A/B/C protocol: the
    payload every cached MNIST variant stores (``state_dict``, ``history``, ``default``, ``grid``,
    ``shift_min``, ``shift`` and ``consistency`` over ``[-3, 3]^2`` on the grid digits ``subset``)."""
    tm = train_model(cfg, train_split, None, device=device, progress=progress, model_factory=factory)
    model = tm.model.eval()
    default = evaluate_accuracy(model, test_split.images[: settings.test_size], test_split.labels[: settings.test_size])
    gx, gy = test_split.images[subset], test_split.labels[subset]
    grid = evaluate_shift_grid(model, gx, gy, settings.max_shift)
    cols = article_columns(grid, default)
    return {"state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "history": tm.history.as_dict(), "default": default, "grid": grid.to_dict(),
            "shift_min": cols["shift min"], "shift": cols["shift"], "consistency": shift_consistency(model, gx, 3)}


def _variant_payload(variant: str, settings: MnistSettings, seed: int, device: torch.device,
                     train_split: MnistSplit, test_split: MnistSplit, subset: torch.Tensor, use_cache: bool,
                     progress: bool, augment: bool = False, padding_mode: PaddingMode = "zeros",
                     head: str = "fc") -> dict[str, Any]:
    cfg = settings.train_config("C", augment, seed)
    meta: dict[str, Any] = {
        "variant": variant, "train": cfg.as_dict(), "train_code": CODE_VERSIONS["mnist_models"],
        "eval": {"test_size": settings.test_size, "grid_size": settings.grid_size,
                 "max_shift": settings.max_shift, "subset_seed": settings.subset_seed,
                 "consistency_shift": 3}}
    if padding_mode != "zeros" or head != "fc":  # only then, so that older cache keys stay valid
        meta["arch"] = {"padding_mode": padding_mode, "head": head}
    stem = f"{variant}{'_aug' if augment else ''}{_arch_suffix(padding_mode, head)}_s{seed}"

    def compute() -> dict[str, Any]:
        return train_and_evaluate(cfg, lambda c: make_variant(variant, c.channels, c.hidden,
                                                              padding_mode=padding_mode, head=head),
                                  settings, train_split, test_split, subset, device, progress)

    payload, _ = load_or_compute("mnist_variants", stem, meta, compute, use_cache=use_cache)
    return payload


def _arch_suffix(padding_mode: str, head: str) -> str:
    return ("_circ" if padding_mode == "circular" else "") + ("_gap" if head == "gap" else "")


def load_variant(variant: str, settings: MnistSettings, seed: int, device: torch.device | str | None = None,
                 use_cache: bool = True, progress: bool = False, augment: bool = False,
                 padding_mode: PaddingMode = "zeros", head: str = "fc") -> nn.Module:
    """The trained variant for ``settings`` and ``seed`` (trained and cached when missing).

    ``variant`` is ``"BlurPool-C"``, ``"APS-C"`` or ``"C"``; ``augment`` trains with the course's
    random shifts; ``padding_mode`` and ``head`` choose the architecture (see
    :class:`shiftlab.nn.mnist_models.MnistNet`). The defaults are chapter 08's models; model C
    with the defaults is better loaded with :func:`shiftlab.studies.mnist_pooling.load_trained`.
    """
    dev = get_device(device)
    tr = load_mnist("train", device=dev, limit=settings.train_size)
    te = load_mnist("test", device=dev)
    payload = _variant_payload(variant, settings, seed, dev, tr, te, grid_subset(settings).to(dev), use_cache,
                               progress, augment=augment, padding_mode=padding_mode, head=head)
    model = make_variant(variant, settings.channels, settings.hidden, padding_mode=padding_mode, head=head)
    model.load_state_dict(payload["state_dict"])
    return model.to(dev).eval()


def run_variants(settings: MnistSettings | None = None, variants: Sequence[str] = VARIANTS,
                 references: Sequence[str] = ("A", "B", "C"),
                 device: torch.device | str | None = None, progress: bool = True, use_cache: bool = True,
                 time_steps: int = 20) -> VariantResults:
    """Train (or load) the variants of model C for every seed of ``settings`` with the shiftlab
    trainer and the A/B/C budget, evaluate them with the A/B/C protocol
    (:mod:`shiftlab.measure.shift_accuracy`), and put them beside the cached references (no augmentation).

    Args:
        settings: a :class:`shiftlab.studies.mnist_pooling.MnistSettings` (default: its quick/full default).
        variants: which variants to train (see :data:`VARIANTS`).
        references: A/B/C models loaded from the course's cache (trained there if missing, by
            :func:`shiftlab.studies.mnist_pooling.run_mnist`'s own code, so they are shared with its chapter).
        time_steps: training steps timed per model in one process, interleaved, for a fair cost
            comparison (``step_ms``); 0 to skip.
    """
    settings = settings or MnistSettings.default()
    dev = get_device(device)
    tr = load_mnist("train", device=dev, limit=settings.train_size)
    te = load_mnist("test", device=dev)
    subset = grid_subset(settings, te.images.shape[0]).to(dev)
    runs: list[VariantRun] = []
    if references:
        ref = run_mnist(settings, device=dev, progress=progress, use_cache=use_cache)
        for name in references:
            for r in ref.select(name, False):
                tm = load_trained(settings, name, False, r.seed, device=dev)
                runs.append(VariantRun(name, r.seed, r.default, r.columns["shift min"], r.columns["shift"],
                                       shift_consistency(tm.model, te.images[subset], 3),
                                       list(r.history.epoch_seconds), r.grid))
    jobs = [(s, v) for s in settings.seeds for v in variants]
    for seed, v in tqdm(jobs, desc="variants", disable=not progress):
        p = _variant_payload(v, settings, seed, dev, tr, te, subset, use_cache, progress)
        runs.append(VariantRun(v, seed, float(p["default"]), float(p["shift_min"]), float(p["shift"]),
                               float(p["consistency"]), History.from_dict(p["history"]).epoch_seconds,
                               GridResult.from_dict(p["grid"])))
    step = {}
    if time_steps > 0:
        names = list(dict.fromkeys([*references, *variants]))
        step = step_time({n: partial(_ref_model, n, settings) for n in names}, tr, steps=time_steps,
                         device=dev)
    return VariantResults(runs, settings, step)


def _ref_model(name: str, settings: MnistSettings) -> nn.Module:
    if name in MODEL_NAMES:
        return make_model(name, channels=settings.channels, hidden=settings.hidden)
    return make_variant(name, settings.channels, settings.hidden)


def step_time(factories: dict[str, Callable[[], nn.Module]], train_split: MnistSplit, steps: int = 30,
              batch_size: int = 128, rounds: int = 3, device: torch.device | str | None = None) -> dict[str, float]:
    """Median milliseconds per Adam training step (forward, backward, update) of each model over
    ``steps * rounds`` steps, measured in the same process with the models interleaved step by
    step (rotating order), so that a busy machine slows them all alike. Multiply by the number of
    steps per epoch (469 for 60,000 digits in batches of 128) for a time per epoch."""
    if steps < 1 or rounds < 1:
        raise ValueError("steps and rounds must be positive")
    dev = get_device(device)
    models = {k: f().to(dev).train() for k, f in factories.items()}
    opts = {k: torch.optim.Adam(m.parameters(), lr=1e-3) for k, m in models.items()}
    x = train_split.images[:batch_size].to(dev)
    y = train_split.labels[:batch_size].to(dev)
    times: dict[str, list[float]] = {k: [] for k in models}

    def one(k: str) -> None:
        loss = F.cross_entropy(models[k](x), y)
        opts[k].zero_grad(set_to_none=True)
        loss.backward()
        opts[k].step()

    for k in models:  # warm-up
        one(k)
    names = list(models)
    for i in range(steps * rounds):
        # one step of every model in turn, the order rotated every time: a burst of load from
        # other processes hits all models alike, and the median ignores the bursts
        for k in names[i % len(names):] + names[: i % len(names)]:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            one(k)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            times[k].append((time.perf_counter() - t0) * 1000)
    return {k: float(np.median(v)) for k, v in times.items()}
