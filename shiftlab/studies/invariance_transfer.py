"""Does learned invariance carry over to new classes? Biscione & Bowers' sequential protocol.

Chapter 11's ``transfer`` condition trains digits 0-4 everywhere and 5-9 at the centre *jointly*,
which lets a network learn a shortcut ("off-centre means 0-4"). Biscione & Bowers (JMLR 2021)
ask the question in two steps, which this module runs on the same 56 x 56 canvas and the same
:class:`~shiftlab.nn.canvas_models.CanvasNet`:

1. **Pretrain** on digits 0-4 at *every* position (offsets ``0..28`` on both axes) until they are
   learned (held-out training digits 0-4 at random positions reach ``target``), recording the
   learning curve (that held-out accuracy after every epoch).
2. **Learn new classes at one place**: digits 5-9 at the centre only (offsets ``12..16``), read
   out by a *new* five-way layer in place of the pretrained one, until held-out digits 5-9 at
   the centre reach ``target`` (or ``epochs`` are done), in three ways:

   ``frozen``      everything but the new layer is the pretrained network, frozen (batch-norm
                   statistics included): only the readout learns;
   ``fine-tuned``  the pretrained network with the new layer, all of it trained;
   ``scratch``     the same architecture from random weights (the baseline: no pretraining).

``TransferSettings(pretrain_region=CENTRE)`` is the control for step 1: pretraining on digits 0-4
at the centre only, so that only the positions seen in pretraining differ.

Then the digits 5-9 of the test set are placed at every test position and classified among
the five new classes (chance: 20 %). If pretraining taught an invariance that is not tied to the
classes it was learned on, ``frozen`` and ``fine-tuned`` recognise the new digits far from the
centre, where ``scratch`` cannot. Every run is seeded and cached (kind ``"canvas_transfer"``).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from shiftlab.core.cache import load_or_compute
from shiftlab.core.config import quick_or_full
from shiftlab.core.glue import glue
from shiftlab.core.progress import tqdm
from shiftlab.data.canvas import Region, check_region, place_on_canvas, position_grid
from shiftlab.data.mnist import MnistSplit
from shiftlab.nn.canvas_models import CANVAS_HEADS, CanvasNet
from shiftlab.studies.learned_invariance import (
    CANVAS,
    CENTRE,
    DIGIT,
    EVERYWHERE,
    FAR,
    HIGH,
    LOW,
    chebyshev_distance,
    fit_canvas,
    lazy_splits,
    mean_std,
    validation_set,
)

__all__ = ["MODES", "TransferSettings", "TransferResults", "run_transfer", "evaluate_new_classes"]

#: how the new classes are learned (see the module docstring)
MODES: tuple[str, ...] = ("frozen", "fine-tuned", "scratch")


@dataclass(frozen=True)
class TransferSettings:
    """What :func:`run_transfer` trains and tests.

    Attributes:
        seeds: one pretrained network (and its three new-class runs) per seed and head.
        heads: which :class:`CanvasNet` heads (``"fc"``, ``"gap"``).
        pretrain_epochs: the most epochs over the training digits 0-4 (about 30,000), each at a
            fresh random position of the whole canvas every batch.
        epochs: the most epochs over the training digits 5-9 (about 29,000) at the centre, per mode.
        target: training stops as soon as the held-out digits of the half being learned, at
            positions of its training region, reach this accuracy (None: never early).
        lr_decay: the learning rate is multiplied by it after every epoch.
        train_limit: use only the first ``train_limit`` training digits (None: all but the
            held-out ones); the last ``val_size`` training digits are held out.
        test_size: test digits (a fixed random subset, ``subset_seed``) of each half, placed at
            every test position.
        step: spacing of the test grid (offsets ``0, step, ..., 28``).
        pretrain_region: where the digits 0-4 are placed during pretraining (default the whole
            canvas, the protocol; :data:`~shiftlab.studies.learned_invariance.CENTRE` is the
            control that asks whether the *positions* seen in pretraining matter, or pretraining
            as such).
    """

    seeds: tuple[int, ...] = (0, 1, 2)
    heads: tuple[str, ...] = CANVAS_HEADS
    pretrain_epochs: int = 10
    epochs: int = 5
    target: float | None = 0.98
    lr_decay: float = 0.8
    train_limit: int | None = None
    val_size: int = 1000
    batch_size: int = 128
    lr: float = 2e-3
    test_size: int = 500
    step: int = 4
    channels: tuple[int, ...] = (16, 32, 64)
    hidden: int = 64
    subset_seed: int = 1234
    pretrain_region: Region = EVERYWHERE

    def __post_init__(self) -> None:
        object.__setattr__(self, "pretrain_region", check_region(self.pretrain_region, CANVAS, DIGIT))
        object.__setattr__(self, "seeds", tuple(self.seeds))
        object.__setattr__(self, "heads", tuple(self.heads))
        object.__setattr__(self, "channels", tuple(self.channels))
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or any(
                isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in self.seeds):
            raise ValueError(f"seeds must be distinct non-negative ints (at least one), got {self.seeds}")
        if not self.heads or any(h not in CANVAS_HEADS for h in self.heads):
            raise ValueError(f"heads must be a non-empty subset of {CANVAS_HEADS}, got {self.heads}")
        for name in ("pretrain_epochs", "epochs", "batch_size", "test_size", "val_size", "step"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if self.train_limit is not None and not 10 <= self.train_limit <= 60000 - self.val_size:
            raise ValueError(f"train_limit must be None or 10..{60000 - self.val_size} (60,000 minus "
                             f"val_size), got {self.train_limit!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        if not 0 < self.lr_decay <= 1 or (self.target is not None and not 0 < self.target <= 1):
            raise ValueError(f"lr_decay must be in (0, 1] and target None or in (0, 1], got "
                             f"{self.lr_decay!r}, {self.target!r}")

    @classmethod
    def default(cls) -> TransferSettings:
        """Quick mode: 1 seed, 2,000 training digits, 1 epoch each, 48 test digits, narrow
        network (seconds). Full mode: the defaults (3 seeds, both heads, pretraining until 98 % of
        the held-out digits 0-4 anywhere, at most 10 epochs; the new classes until 98 % at the
        centre, at most 5 epochs; 500 test digits of each half at 64 positions)."""
        return quick_or_full(cls(seeds=(0,), pretrain_epochs=1, epochs=1, train_limit=2000, test_size=48,
                                 val_size=200, channels=(4, 8)), cls())

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k in ("seeds", "heads", "channels", "pretrain_region"):
            d[k] = list(d[k])
        return d

    def _meta(self, **extra: Any) -> dict[str, Any]:
        # the default pretraining region adds nothing to the key: runs cached before the field
        # existed (all pretrained everywhere) stay valid
        skip = ("seeds", "heads") + (("pretrain_region",) if self.pretrain_region == EVERYWHERE else ())
        d = {k: v for k, v in self.as_dict().items() if k not in skip}
        return {**d, "canvas": CANVAS, "centre": list(CENTRE), "everywhere": list(EVERYWHERE), **extra}


def _half(split: MnistSplit, classes: tuple[int, ...], limit: int | None,
          start: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The digits of ``classes`` among ``split``'s digits ``start .. limit - 1``, labels as 0..4."""
    x, y = split.images[start:limit], split.labels[start:limit]
    keep = (y >= classes[0]) & (y <= classes[-1])
    return x[keep], y[keep] - classes[0]


def _subset(x: torch.Tensor, y: torch.Tensor, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    idx = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx], y[idx]


def _five_way(head: str, settings: TransferSettings) -> CanvasNet:
    """A :class:`CanvasNet` whose readout has five outputs (one half of the digits)."""
    net = CanvasNet(head, settings.channels, settings.hidden, CANVAS)
    net.head[-1] = nn.Linear(settings.hidden, 5)
    return net


@torch.no_grad()
def evaluate_new_classes(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                         positions: torch.Tensor, batch_size: int = 1024) -> np.ndarray:
    """Accuracy of a five-way ``model`` at each top-left offset of ``positions`` ``[P, 2]``
    (``images`` ``[N, 1, 28, 28]`` placed on the canvas, ``labels`` in ``0..4``): ``[P]``."""
    if images.shape[0] != labels.shape[0] or images.shape[0] == 0:
        raise ValueError("images and labels must be non-empty and of the same length")
    was_training = model.training
    model.eval()
    out = np.zeros(positions.shape[0])
    for p in range(positions.shape[0]):
        hits = 0
        for i in range(0, images.shape[0], batch_size):
            xb = images[i:i + batch_size]
            canvas = place_on_canvas(xb, positions[p].expand(xb.shape[0], 2), CANVAS)
            hits += int((model(canvas).argmax(1) == labels[i:i + batch_size]).sum())
        out[p] = hits / images.shape[0]
    model.train(was_training)
    return out


def _train(model: nn.Module, params: Sequence[nn.Parameter], x: torch.Tensor, y: torch.Tensor, region: Region,
           epochs: int, settings: TransferSettings, seed: int, frozen_body: bool, desc: str, progress: bool,
           val: tuple[torch.Tensor, torch.Tensor]) -> dict[str, Any]:
    """:func:`~shiftlab.studies.learned_invariance.fit_canvas` on one half (labels 0..4, all in
    ``region``) until the held-out digits ``val`` at fixed offsets of ``region`` reach the target."""
    return fit_canvas(model, params, x, y, (region, region), epochs=epochs, batch_size=settings.batch_size,
                      lr=settings.lr, lr_decay=settings.lr_decay, seed=seed,
                      val=validation_set(*val, (region, region), seed), target=settings.target,
                      frozen_body=frozen_body, desc=desc, progress=progress)


@dataclass
class TransferResults:
    """Accuracy maps of the new classes (``maps[(mode, head)]``: ``[seeds, P]``), of the pretrained
    classes after pretraining (``pretrained[head]``), and the training histories."""

    settings: TransferSettings
    positions: np.ndarray
    maps: dict[tuple[str, str], np.ndarray]
    pretrained: dict[str, np.ndarray]
    histories: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    seconds: float = float("nan")

    def _masks(self, region: Region) -> dict[str, np.ndarray]:
        d = chebyshev_distance(self.positions, region)
        return {"trained": d == 0, "far": d >= FAR, "all": np.ones_like(d, bool)}

    def summary(self, mode: str, head: str) -> dict[str, tuple[float, float]]:
        """New classes: ``{"trained", "far", "all": (mean, std over seeds)}`` at the centre
        positions, at least :data:`FAR` px from them, and over the whole grid."""
        acc = self.maps[(mode, head)]
        return {k: mean_std(acc[:, m].mean(axis=1)) for k, m in self._masks(CENTRE).items()}

    def pretrained_summary(self, head: str) -> tuple[float, float]:
        """Pretrained classes 0-4, mean accuracy over the whole grid (mean, std over seeds)."""
        return mean_std(self.pretrained[head].mean(axis=1))

    def curves(self, head: str, mode: str = "pretrain") -> list[list[float]]:
        """Learning curves per seed: held-out accuracy after every epoch, of the pretraining
        (digits 0-4 anywhere) or of ``mode`` (digits 5-9 at the centre). Runs that met the
        target early are shorter."""
        return [list(h["val_acc"]) for h in self.histories[(mode, head)]]

    def markdown(self) -> str:
        one = len(self.settings.seeds) == 1

        def fmt(ms: tuple[float, float]) -> str:
            return "–" if math.isnan(ms[0]) else (f"{ms[0]:.3f}" if one else f"{ms[0]:.3f} ± {ms[1]:.3f}")

        lines = ["| head | how digits 5-9 were learned | at the centre | ≥ 8 px away | whole grid |",
                 "|---|---|---|---|---|"]
        for head in self.settings.heads:
            for mode in MODES:
                s = self.summary(mode, head)
                lines.append(f"| {head} | {mode} | {fmt(s['trained'])} | {fmt(s['far'])} | {fmt(s['all'])} |")
        return "\n".join(lines)

    def glue(self, prefix: str = "tr") -> None:
        """Glue ``{prefix}_{mode}_{head}_{trained|far|all}`` (mode ``finetuned`` without the dash),
        ``{prefix}_pre_{head}`` (digits 0-4 over the grid after pretraining), the gains
        ``{prefix}_gain_{frozen|finetuned}_{head}`` (far accuracy minus scratch's), the
        pretraining's ``{prefix}_pre_epochs_{head}`` (most epochs a seed needed) and
        ``{prefix}_pre_val_{head}`` (final held-out accuracy), and the settings
        (``{prefix}_seeds``, ``{prefix}_pretrain_epochs``, ``{prefix}_epochs``)."""
        for head in self.settings.heads:
            for mode in MODES:
                key = mode.replace("-", "")
                for stat, (m, _) in self.summary(mode, head).items():
                    glue(f"{prefix}_{key}_{head}_{stat}", m, kind="accuracy")
            glue(f"{prefix}_pre_{head}", self.pretrained_summary(head)[0], kind="accuracy")
            base = self.summary("scratch", head)["far"][0]
            for mode in ("frozen", "fine-tuned"):
                glue(f"{prefix}_gain_{mode.replace('-', '')}_{head}", self.summary(mode, head)["far"][0] - base,
                     kind="signed")
            curves = self.curves(head)
            glue(f"{prefix}_pre_epochs_{head}", max(len(c) for c in curves), kind="count")
            glue(f"{prefix}_pre_val_{head}", float(np.mean([c[-1] for c in curves])), kind="accuracy")
        glue(f"{prefix}_seeds", len(self.settings.seeds), kind="count")
        glue(f"{prefix}_pretrain_epochs", self.settings.pretrain_epochs, kind="count")
        glue(f"{prefix}_epochs", self.settings.epochs, kind="count")


def run_transfer(settings: TransferSettings | None = None, progress: bool = True,
                 use_cache: bool = True) -> TransferResults:
    """Pretrain (digits 0-4 everywhere) and learn digits 5-9 at the centre in every mode, for
    every head and seed; test the new digits at every grid position (see the module docstring).
    Everything runs on the CPU tensors of the MNIST splits; each run is cached."""

    s = settings if settings is not None else TransferSettings.default()
    t0 = time.perf_counter()
    positions = position_grid(CANVAS, DIGIT, s.step)
    split = lazy_splits()

    def test_half(classes: tuple[int, ...], n: int) -> tuple[torch.Tensor, torch.Tensor]:
        return _subset(*_half(split("test"), classes, None), n, s.subset_seed)

    def train_half(classes: tuple[int, ...]) -> tuple[tuple[torch.Tensor, torch.Tensor],
                                                       tuple[torch.Tensor, torch.Tensor]]:
        held_out = 60000 - s.val_size
        return (_half(split("train"), classes, held_out if s.train_limit is None else s.train_limit),
                _half(split("train"), classes, None, start=held_out))

    maps: dict[tuple[str, str], list[np.ndarray]] = {}
    pretrained: dict[str, list[np.ndarray]] = {}
    histories: dict[tuple[str, str], list[dict[str, Any]]] = {}
    jobs = [(head, seed) for head in s.heads for seed in s.seeds]
    for head, seed in tqdm(jobs, desc="transfer protocol", disable=not progress):
        def pretrain(head: str = head, seed: int = seed) -> dict[str, Any]:
            torch.manual_seed(seed)
            net = _five_way(head, s)
            (x, y), val = train_half(LOW)
            hist = _train(net, list(net.parameters()), x, y, s.pretrain_region, s.pretrain_epochs, s, seed,
                          False, f"pretrain 0-4 in {s.pretrain_region}/{head}/seed {seed}", progress, val)
            tx, ty = test_half(LOW, s.test_size)
            return {"state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()}, "history": hist,
                    "accuracy": evaluate_new_classes(net, tx, ty, positions).tolist()}

        pre, _ = load_or_compute("canvas_transfer", f"pre_{head}_s{seed}", s._meta(head=head, seed=seed,
                                 what="pretrain"), pretrain, use_cache=use_cache)
        pretrained.setdefault(head, []).append(np.asarray(pre["accuracy"]))
        histories.setdefault(("pretrain", head), []).append(dict(pre["history"]))
        for mode in MODES:
            def learn(head: str = head, seed: int = seed, mode: str = mode, pre: dict = pre) -> dict[str, Any]:
                torch.manual_seed(1000 + seed)
                net = _five_way(head, s)
                if mode != "scratch":
                    net.load_state_dict(pre["state_dict"])
                    net.head[-1] = nn.Linear(s.hidden, 5)  # a new readout for the new classes
                if mode == "frozen":
                    for p in net.parameters():
                        p.requires_grad_(False)
                    for p in net.head[-1].parameters():
                        p.requires_grad_(True)
                params = [p for p in net.parameters() if p.requires_grad]
                (x, y), val = train_half(HIGH)
                hist = _train(net, params, x, y, CENTRE, s.epochs, s, 1000 + seed, mode == "frozen",
                              f"5-9 at the centre, {mode}/{head}/seed {seed}", progress, val)
                tx, ty = test_half(HIGH, s.test_size)
                return {"accuracy": evaluate_new_classes(net, tx, ty, positions).tolist(), "history": hist}

            run, _ = load_or_compute("canvas_transfer", f"{mode}_{head}_s{seed}",
                                     s._meta(head=head, seed=seed, what=mode), learn, use_cache=use_cache)
            maps.setdefault((mode, head), []).append(np.asarray(run["accuracy"]))
            histories.setdefault((mode, head), []).append(dict(run["history"]))
    return TransferResults(s, positions.numpy(), {k: np.stack(v) for k, v in maps.items()},
                           {k: np.stack(v) for k, v in pretrained.items()}, histories, time.perf_counter() - t0)
