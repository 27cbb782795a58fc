"""The shiftlab trainer and its load-or-train cache.

The trainer keeps the **whole training set on the device as one tensor**: each epoch draws one
random permutation, every batch is an index slice of it, and augmentation
(:func:`shiftlab.train.augment.random_shift`) shifts the whole batch in one gather. There is no
DataLoader and no per-sample Python work, which is why it is many times faster than the
textbook loop (see ``python -m shiftlab bench train``).

Reproducibility: the weights come from ``torch.manual_seed(seed)``; the batch order and the
augmentation shifts come from a ``torch.Generator`` on the device seeded with ``seed``. Same
seed, same device, same software: the same numbers.

Cache: a trained model is stored through :func:`shiftlab.core.cache.load_or_compute` (kind
``"mnist_models"``), in a file named by a SHA-256 key of the full :class:`TrainConfig` plus the
kind's code version (``CODE_VERSIONS["mnist_models"]``, bumped whenever the training code
changes what it computes). Files are written atomically with a SHA-256 header; on load the
digest and the stored configuration are checked, and a file that fails either check is
reported with a warning and recomputed, never used.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from shiftlab.core.cache import CODE_VERSIONS, cache_path, config_key, load_or_compute
from shiftlab.core.device import get_device
from shiftlab.core.progress import tqdm
from shiftlab.data.mnist import MnistSplit, load_mnist
from shiftlab.nn.mnist_models import MODEL_NAMES, make_model
from shiftlab.train.augment import random_shift

__all__ = [
    "TrainConfig",
    "History",
    "TrainedModel",
    "model_cache_path",
    "train_model",
    "evaluate_accuracy",
    "load_or_train",
]



# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model (and hence its cache key).

    Attributes:
        model: ``"A"``, ``"B"`` or ``"C"`` (see :mod:`shiftlab.nn.mnist_models`).
        augment: train with random shifts of up to ``shift_fraction`` of the side.
        epochs, batch_size, lr: Adam with these settings (the article: 128, 5 epochs).
        seed: weights, batch order and augmentation all follow from it.
        train_size: the first ``train_size`` training digits are used (60,000 = all).
        shift_fraction: largest augmentation shift as a fraction of the side (0.1 = 10 %).
        channels, hidden: model widths.
    """

    model: str = "C"
    augment: bool = False
    epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    train_size: int = 60000
    shift_fraction: float = 0.1
    channels: tuple[int, int] = (4, 8)
    hidden: int = 64

    def __post_init__(self) -> None:
        if self.model not in MODEL_NAMES:
            raise ValueError(f"model must be one of {MODEL_NAMES}, got {self.model!r}")
        for name in ("epochs", "batch_size", "train_size", "hidden"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {self.seed!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        if not 0 <= self.shift_fraction < 1:
            raise ValueError(f"shift_fraction must be in [0, 1), got {self.shift_fraction!r}")
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["channels"] = list(self.channels)
        return d

    @property
    def label(self) -> str:
        """Short name, e.g. ``"C+aug s0"``."""
        return f"{self.model}{'+aug' if self.augment else ''} s{self.seed}"

    def key(self) -> str:
        """SHA-256 (hex, 24 chars) of the configuration and its code version (the key of its
        cache file, see :func:`model_cache_path`)."""
        return config_key({"train": self.as_dict(), "code": CODE_VERSIONS["mnist_models"]})

    def cache_stem(self) -> str:
        """The readable part of the cache file name, e.g. ``"C_aug_s0"``."""
        return f"{self.model}{'_aug' if self.augment else ''}_s{self.seed}"


@dataclass
class History:
    """What happened during training, for plots.

    ``step_*`` have one entry per batch; ``epoch_*`` one per epoch (``epoch_test_acc`` holds
    the accuracy on the test split given to :func:`train_model`, NaN without one).
    """

    step_loss: list[float] = field(default_factory=list)
    step_acc: list[float] = field(default_factory=list)
    epoch_loss: list[float] = field(default_factory=list)
    epoch_acc: list[float] = field(default_factory=list)
    epoch_test_acc: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[float]]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        return cls(**{f.name: [float(v) for v in d.get(f.name, [])] for f in dataclasses.fields(cls)})


@dataclass
class TrainedModel:
    """A trained model with its configuration, history and whether it came from the cache."""

    model: nn.Module
    config: TrainConfig
    history: History
    from_cache: bool = False


# --------------------------------------------------------------------------- training
@torch.no_grad()
def evaluate_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 2048) -> float:
    """Plain accuracy of ``model`` on a split that already lives on the model's device."""
    if images.shape[0] != labels.shape[0] or images.shape[0] == 0:
        raise ValueError("images and labels must be non-empty and of the same length")
    was_training = model.training
    model.eval()
    correct = 0
    for i in range(0, images.shape[0], batch_size):
        correct += int((model(images[i : i + batch_size]).argmax(1) == labels[i : i + batch_size]).sum())
    model.train(was_training)
    return correct / images.shape[0]


def train_model(config: TrainConfig, train: MnistSplit, test: MnistSplit | None = None,
                device: torch.device | str | None = None, progress: bool = True,
                model_factory: Callable[[TrainConfig], nn.Module] | None = None) -> TrainedModel:
    """Train one model with the shiftlab trainer (see the module docstring).

    Args:
        config: what to train.
        train: the training split (moved to ``device`` once if it is not there yet); its first
            ``config.train_size`` digits are used.
        test: optional split whose accuracy is recorded after every epoch.
        device: ``None`` picks :func:`shiftlab.get_device`.
        progress: show a tqdm.auto bar with the running loss and accuracy.
        model_factory: build the network from the config instead of ``make_model(config.model)``
            (e.g. an anti-aliased variant of model C); it is called right after seeding, so the
            initialisation is reproducible too. Such models must not go into the A/B/C cache of
            :func:`load_or_train`.
    """

    dev = get_device(device)
    n = min(config.train_size, train.images.shape[0])
    if n < config.train_size:
        raise ValueError(f"config.train_size={config.train_size} but the split has only {train.images.shape[0]} digits")
    x_all, y_all = train.images[:n].to(dev), train.labels[:n].to(dev)
    test_xy = None if test is None else (test.images.to(dev), test.labels.to(dev))
    torch.manual_seed(config.seed)
    model: nn.Module
    if model_factory is None:
        model = make_model(config.model, channels=config.channels, hidden=config.hidden).to(dev)
    else:
        model = model_factory(config).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    gen = torch.Generator(device=dev)
    gen.manual_seed(config.seed)
    hist = History()
    steps = -(-n // config.batch_size)
    bar = tqdm(total=steps * config.epochs, desc=f"train {config.label}", disable=not progress, leave=False)
    model.train()
    for _ in range(config.epochs):
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen, device=dev)
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev, dtype=torch.long)
        for i in range(steps):
            idx = order[i * config.batch_size : (i + 1) * config.batch_size]
            xb, yb = x_all[idx], y_all[idx]
            if config.augment:
                xb = random_shift(xb, config.shift_fraction, generator=gen)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            hit = (logits.detach().argmax(1) == yb).sum()
            loss_sum += loss.detach() * yb.shape[0]
            correct += hit
            if i % 20 == 0 or i == steps - 1:  # syncing every step would cost time on a GPU
                hist.step_loss.append(float(loss.detach()))
                hist.step_acc.append(float(hit) / yb.shape[0])
                bar.set_postfix(loss=f"{hist.step_loss[-1]:.3f}", acc=f"{hist.step_acc[-1]:.3f}")
            bar.update(1)
        hist.epoch_loss.append(float(loss_sum) / n)
        hist.epoch_acc.append(float(correct) / n)
        hist.epoch_seconds.append(time.perf_counter() - t0)
        hist.epoch_test_acc.append(evaluate_accuracy(model, *test_xy) if test_xy else float("nan"))
        model.train()
    bar.close()
    model.eval()
    return TrainedModel(model, config, hist, from_cache=False)


def model_cache_path(config: TrainConfig) -> Path:
    """Where the cached weights of ``config`` live."""
    return cache_path("mnist_models", config.cache_stem(), {"train": config.as_dict()})


def load_or_train(config: TrainConfig, device: torch.device | str | None = None, progress: bool = True,
                  use_cache: bool = True, train: MnistSplit | None = None,
                  test: MnistSplit | None = None) -> TrainedModel:
    """The cached model for ``config`` if a verified one exists, else train it (and cache it).

    Args:
        use_cache: ``False`` trains without reading or writing the cache (it need not be usable).
        train, test: the splits (loaded with :func:`shiftlab.load_mnist` when ``None``; the
            test split only feeds the per-epoch test accuracy of the history).
    """
    dev = get_device(device)
    result: dict[str, TrainedModel] = {}

    def compute() -> dict[str, Any]:
        tr = train if train is not None else load_mnist("train", device=dev, limit=config.train_size)
        te = test if test is not None else load_mnist("test", device=dev)
        tm = train_model(config, tr, te, device=dev, progress=progress)
        result["tm"] = tm
        return {"state_dict": {k: v.detach().cpu() for k, v in tm.model.state_dict().items()},
                "history": tm.history.as_dict()}

    payload, hit = load_or_compute("mnist_models", config.cache_stem(), {"train": config.as_dict()},
                                   compute, use_cache=use_cache)
    if not hit:
        return result["tm"]
    model = make_model(config.model, channels=config.channels, hidden=config.hidden)
    model.load_state_dict(payload["state_dict"])
    model.to(dev).eval()
    return TrainedModel(model, config, History.from_dict(payload["history"]), from_cache=True)
