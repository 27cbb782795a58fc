"""Anti-aliased downsampling (Zhang 2019, "Making convolutional networks shift-invariant again").

A stride-2 layer throws away every second sample. If the signal has energy above the new
Nyquist frequency, that energy *aliases*: a one-pixel shift of the input changes the output
completely instead of moving it by half a pixel. Zhang's remedy is the textbook one: low-pass
filter before subsampling. Each strided layer is split into its dense version and a blur:

``MaxPool(k, stride 2)``  ->  ``MaxPool(k, stride 1)`` then ``BlurPool(stride 2)``
``Conv(stride 2) ReLU``   ->  ``Conv(stride 1) ReLU`` then ``BlurPool(stride 2)``
``AvgPool(stride 2)``     ->  ``BlurPool(stride 2)``

``BlurPool`` convolves every channel with a normalised 2-D *binomial* filter (the outer product of
a row of Pascal's triangle with itself) and keeps every ``stride``-th sample:

====  ======================  ==========================
size  row                     name in the paper
====  ======================  ==========================
1     [1]                     no blur (plain subsampling)
2     [1, 1]                  Rect-2
3     [1, 2, 1]               Tri-3
4     [1, 3, 3, 1]            Bin-4
5     [1, 4, 6, 4, 1]         Bin-5
6     [1, 5, 10, 10, 5, 1]
7     [1, 6, 15, 20, 15, 6, 1]
====  ======================  ==========================

Padding as in the paper: ``(size - 1) // 2`` pixels before and ``ceil((size - 1) / 2)`` after,
on both axes, by *reflection* (other modes selectable); size 1 does no padding. Every binomial
filter of size >= 2 is zero at the Nyquist frequency, which makes the global sum of a
blur-subsampled map exactly independent of the sampling phase (see the tests).

This module also holds the anti-aliased variant of the course's model C (:func:`make_blurpool_c`)
and the machinery that trains and evaluates the variants (``BlurPool-C``, ``APS-C``) through the
shiftlab trainer with the same budget as A/B/C (:func:`run_variants`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "PadMode",
    "MAX_FILTER_SIZE",
    "binomial_row",
    "binomial_filter",
    "blur_pad_sizes",
    "blur",
    "blur_subsample",
    "BlurPool2d",
    "AntiAliasedMaxPool2d",
    "AntiAliasedConv2d",
    "make_blurpool_c",
    "VARIANTS",
    "make_variant",
    "VariantRun",
    "VariantResults",
    "shift_consistency",
    "run_variants",
    "load_variant",
    "step_time",
    "VARIANT_CODE_VERSION",
]

PadMode = Literal["reflect", "replicate", "zeros", "circular"]
_PAD_MODES = ("reflect", "replicate", "zeros", "circular")
#: the largest filter the course uses (the paper's table stops at 7)
MAX_FILTER_SIZE = 7


# --------------------------------------------------------------------------- filters
def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise TypeError(f"filter size must be an int, got {type(size).__name__}")
    if not 1 <= int(size) <= MAX_FILTER_SIZE:
        raise ValueError(f"filter size must be between 1 and {MAX_FILTER_SIZE}, got {size}")
    return int(size)


def binomial_row(size: int) -> torch.Tensor:
    """Row ``size - 1`` of Pascal's triangle as float64, **not** normalised (``[1, 2, 1]`` for 3)."""
    n = _check_size(size) - 1
    return torch.tensor([math.comb(n, k) for k in range(n + 1)], dtype=torch.float64)


def binomial_filter(size: int, dtype: torch.dtype = torch.float32, normalize: bool = True) -> torch.Tensor:
    """The 2-D binomial filter ``[size, size]``: outer product of :func:`binomial_row` with itself,
    divided by its sum (``4**(size - 1)``) when ``normalize`` so that it preserves the mean."""
    row = binomial_row(size)
    k = row[:, None] * row[None, :]
    if normalize:
        k = k / k.sum()
    return k.to(dtype)


def blur_pad_sizes(size: int) -> tuple[int, int, int, int]:
    """``(left, right, top, bottom)`` padding of a ``size`` filter: ``(size-1)//2`` before and
    ``ceil((size-1)/2)`` after on each axis (the paper's convention; even sizes pad more after)."""
    size = _check_size(size)
    before, after = (size - 1) // 2, size // 2
    return before, after, before, after


def _check_mode(pad_mode: str) -> str:
    if pad_mode not in _PAD_MODES:
        raise ValueError(f"pad_mode must be one of {_PAD_MODES}, got {pad_mode!r}")
    return pad_mode


def _check_maps(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"expected feature maps [N, C, H, W], got shape {tuple(x.shape)}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"expected floating-point maps, got {x.dtype}")


def _pad(x: torch.Tensor, pads: tuple[int, int, int, int], pad_mode: str) -> torch.Tensor:
    if not any(pads):
        return x
    if pad_mode == "zeros":
        return F.pad(x, pads)
    if pad_mode == "reflect" and (max(pads[:2]) >= x.shape[-1] or max(pads[2:]) >= x.shape[-2]):
        raise ValueError(f"reflect padding {pads} needs maps larger than the padding, got {tuple(x.shape[-2:])}")
    return F.pad(x, pads, mode=pad_mode)


def _depthwise(x: torch.Tensor, kernel: torch.Tensor, stride: int) -> torch.Tensor:
    c = x.shape[1]
    w = kernel.to(dtype=x.dtype, device=x.device).expand(c, 1, *kernel.shape[-2:])
    return F.conv2d(x, w, stride=stride, groups=c)


def blur(x: torch.Tensor, size: int = 3, pad_mode: PadMode = "reflect") -> torch.Tensor:
    """Each channel of ``x [N, C, H, W]`` convolved with the normalised binomial filter; same size
    out (for odd ``size``; even sizes pad one more pixel after, so the size is also kept)."""
    return blur_subsample(x, size, stride=1, pad_mode=pad_mode)


def blur_subsample(x: torch.Tensor, size: int = 3, stride: int = 2, pad_mode: PadMode = "reflect") -> torch.Tensor:
    """Zhang's BlurPool as a function: pad, blur each channel with the binomial filter of ``size``,
    keep every ``stride``-th sample starting at 0. ``size = 1`` is plain subsampling
    ``x[..., ::stride, ::stride]``. Output side: ``ceil(H / stride)``."""
    _check_maps(x)
    size = _check_size(size)
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be a positive int, got {stride!r}")
    _check_mode(pad_mode)
    if size == 1:
        return x[..., ::stride, ::stride]
    xp = _pad(x, blur_pad_sizes(size), pad_mode)
    return _depthwise(xp, binomial_filter(size, dtype=torch.float64)[None, None], stride)


class BlurPool2d(nn.Module):
    """Blur with a binomial filter, then subsample (see :func:`blur_subsample`).

    Works for any number of channels (the filter is shared by all channels and has no trainable
    parameters; it is a buffer, so it follows ``.to(device)`` and lands in ``state_dict``).

    Args:
        filter_size: 1..7 (1 = no blur).
        stride: subsampling factor.
        pad_mode: ``"reflect"`` (the paper), ``"replicate"``, ``"zeros"`` or ``"circular"``.
    """

    def __init__(self, filter_size: int = 3, stride: int = 2, pad_mode: PadMode = "reflect") -> None:
        super().__init__()
        self.filter_size = _check_size(filter_size)
        if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
            raise ValueError(f"stride must be a positive int, got {stride!r}")
        self.stride = stride
        self.pad_mode = _check_mode(pad_mode)
        self.pads = blur_pad_sizes(self.filter_size)
        self.register_buffer("kernel", binomial_filter(self.filter_size)[None, None], persistent=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_maps(x)
        if self.filter_size == 1:
            return x[..., :: self.stride, :: self.stride]
        return _depthwise(_pad(x, self.pads, self.pad_mode), self.kernel, self.stride)

    def extra_repr(self) -> str:
        return f"filter_size={self.filter_size}, stride={self.stride}, pad_mode={self.pad_mode!r}"


class AntiAliasedMaxPool2d(nn.Module):
    """``MaxPool2d(kernel_size, stride=1)`` (no padding, as in the paper) then :class:`BlurPool2d`.

    Replaces ``nn.MaxPool2d(kernel_size, stride)``; for ``kernel_size = stride = 2`` and an even side
    ``H`` the output side is ``H / 2`` like the plain pool's.
    """

    def __init__(self, kernel_size: int = 2, stride: int = 2, filter_size: int = 3,
                 pad_mode: PadMode = "reflect") -> None:
        super().__init__()
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
            raise ValueError(f"kernel_size must be a positive int, got {kernel_size!r}")
        self.max = nn.MaxPool2d(kernel_size, stride=1)
        self.blurpool = BlurPool2d(filter_size, stride, pad_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blurpool(self.max(x))


class AntiAliasedConv2d(nn.Module):
    """A strided convolution block made anti-aliased: ``Conv2d(stride=1)`` -> activation ->
    :class:`BlurPool2d(stride)`. Replaces ``Conv2d(stride=s)`` -> activation.

    Args:
        in_channels, out_channels, kernel_size, padding: as for ``nn.Conv2d``.
        stride: the stride the original convolution had (moved into the blur-subsample).
        filter_size, pad_mode: of the blur.
        activation: the nonlinearity between the convolution and the blur: ``"relu"`` (the
            default, a new ``nn.ReLU()``), any module, or ``None`` for a linear block (an
            ``nn.Identity``), where conv and blur commute.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 2,
                 padding: int = 1, filter_size: int = 3, pad_mode: PadMode = "reflect",
                 activation: nn.Module | Literal["relu"] | None = "relu", bias: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=padding, bias=bias)
        if activation == "relu":
            self.act: nn.Module = nn.ReLU()
        elif activation is None:
            self.act = nn.Identity()
        elif isinstance(activation, nn.Module):
            self.act = activation
        else:
            raise TypeError(f"activation must be 'relu', an nn.Module or None, got {activation!r}")
        self.blurpool = BlurPool2d(filter_size, stride, pad_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blurpool(self.act(self.conv(x)))


# --------------------------------------------------------------------------- model C variants
def _replace_pools(model: nn.Module, factory: Callable[[nn.MaxPool2d], nn.Module]) -> int:
    feats = getattr(model, "features", None)
    if not isinstance(feats, nn.Sequential):
        raise TypeError("expected a model with a .features nn.Sequential (see shiftlab.models)")
    n = 0
    for i, layer in enumerate(list(feats)):
        if isinstance(layer, nn.MaxPool2d):
            feats[i] = factory(layer)
            n += 1
    return n


def make_blurpool_c(filter_size: int = 3, channels: tuple[int, int] = (4, 8), hidden: int = 64,
                    pad_mode: PadMode = "reflect") -> nn.Module:
    """Model C with both ``MaxPool2d(2)`` replaced by :class:`AntiAliasedMaxPool2d` (max stride 1,
    blur, subsample 2). Everything else (convolutions, head, parameter creation order, hence the
    initial weights for a given seed) is exactly model C's."""
    from .models import make_model

    model = make_model("C", channels=channels, hidden=hidden)
    n = _replace_pools(model, lambda p: AntiAliasedMaxPool2d(2, 2, filter_size, pad_mode))
    if n != 2:  # pragma: no cover - guards against a change of models.py
        raise RuntimeError(f"expected 2 max pools in model C, found {n}")
    model.name = f"C-blur{filter_size}"
    return model


#: the variants of model C trained in the sampling-theorem chapter
VARIANTS: tuple[str, ...] = ("BlurPool-C", "APS-C")


def make_variant(name: str, channels: tuple[int, int] = (4, 8), hidden: int = 64) -> nn.Module:
    """``"BlurPool-C"`` (:func:`make_blurpool_c`, Tri-3 filter, reflect padding) or ``"APS-C"``
    (:func:`shiftlab.aps.make_aps_c`), or ``"C"`` itself (the reference)."""
    if name == "BlurPool-C":
        return make_blurpool_c(3, channels, hidden)
    if name == "APS-C":
        from .aps import make_aps_c

        return make_aps_c(channels, hidden)
    if name == "C":
        from .models import make_model

        return make_model("C", channels=channels, hidden=hidden)
    raise ValueError(f"variant must be one of {VARIANTS + ('C',)}, got {name!r}")


# --------------------------------------------------------------------------- consistency
def shift_consistency(model: nn.Module, images: torch.Tensor, max_shift: int = 3, fill: str = "zero") -> float:
    """Zhang's consistency for MNIST, in %: over every digit and every *pair* of shifts of
    ``[-max_shift, max_shift]^2`` (all pairs, each digit weighing the same), how often the two
    shifted copies get the same top-1 class. This is the expectation of Zhang's random-pair
    metric under uniformly drawn shifts, computed exactly instead of sampled."""
    from .evaluate import shift_predictions
    from .shift_metrics import consistency
    from .shifts import shift_grid

    top1 = shift_predictions(model, images, shift_grid(max_shift), fill=fill)
    return consistency(top1.numpy())


# --------------------------------------------------------------------------- training the variants
VARIANT_CODE_VERSION = "variants-1"


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
    grid: Any = None  # shiftlab.evaluate.GridResult

    @property
    def seconds_per_epoch(self) -> float:
        return float(np.mean(self.epoch_seconds)) if self.epoch_seconds else float("nan")


@dataclass
class VariantResults:
    """Runs of the variants (and of the cached references A/B/C) with a summary table."""

    runs: list[VariantRun]
    settings: Any  # shiftlab.experiments.MnistSettings
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

    #: the glue kind of each metric (see :func:`shiftlab.book.glue`)
    GLUE_KINDS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("default", "accuracy"), ("shift_min", "accuracy"), ("shift", "accuracy"),
        ("consistency", "percent"), ("seconds_per_epoch", "nonneg"))

    def glue_table(self, prefix: str = "var") -> None:
        """Glue ``{prefix}_{variant}_{metric}`` (mean) and ``..._std`` for the prose; variant names
        lose their dash (``BlurPoolC``). Means carry their kind (accuracy, percent, nonneg),
        standard deviations and step times are ``nonneg``."""
        from .book import glue

        kinds = dict(self.GLUE_KINDS)
        for v, cols in self.table().items():
            for m, (mu, sd) in cols.items():
                glue(f"{prefix}_{v.replace('-', '')}_{m}", mu, kind=kinds.get(m, "nonneg"))
                glue(f"{prefix}_{v.replace('-', '')}_{m}_std", sd, kind="nonneg")
        for v, ms in self.step_ms.items():
            glue(f"{prefix}_{v.replace('-', '')}_step_ms", ms, kind="nonneg")


def _variant_payload(variant: str, settings: Any, seed: int, device: torch.device, train_split: Any,
                     test_split: Any, subset: torch.Tensor, use_cache: bool, progress: bool) -> dict[str, Any]:
    from .config import cache_dir
    from .evaluate import article_columns, evaluate_shift_grid
    from .cache import config_key
    from .train import TRAIN_CODE_VERSION, evaluate_accuracy, load_or_compute, train_model

    cfg = settings.train_config("C", False, seed)
    meta = {"variant": variant, "train": cfg.as_dict(), "train_code": TRAIN_CODE_VERSION,
            "eval": {"test_size": settings.test_size, "grid_size": settings.grid_size,
                     "max_shift": settings.max_shift, "subset_seed": settings.subset_seed,
                     "consistency_shift": 3},
            "code": VARIANT_CODE_VERSION}

    def compute() -> dict[str, Any]:
        tm = train_model(cfg, train_split, None, device=device, progress=progress,
                         model_factory=lambda c: make_variant(variant, c.channels, c.hidden))
        model = tm.model
        default = evaluate_accuracy(model, test_split.images[: settings.test_size],
                                    test_split.labels[: settings.test_size])
        gx, gy = test_split.images[subset], test_split.labels[subset]
        grid = evaluate_shift_grid(model, gx, gy, settings.max_shift)
        cols = article_columns(grid, default)
        return {"state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "history": tm.history.as_dict(), "default": default, "grid": grid.to_dict(),
                "shift_min": cols["shift min"], "shift": cols["shift"],
                "consistency": shift_consistency(model, gx, 3)}

    path = cache_dir() / "mnist_variants" / f"{variant}_s{seed}_{config_key(meta)}.pt" if use_cache else None
    payload, _ = load_or_compute(path, meta, compute)
    return payload


def load_variant(variant: str, settings: Any, seed: int, device: torch.device | str | None = None,
                 use_cache: bool = True, progress: bool = False) -> nn.Module:
    """The trained variant for ``settings`` and ``seed`` (trained and cached when missing)."""
    from .data import load_mnist
    from .device import get_device
    from .experiments import grid_subset

    dev = get_device(device)
    tr = load_mnist("train", device=dev, limit=settings.train_size)
    te = load_mnist("test", device=dev)
    payload = _variant_payload(variant, settings, seed, dev, tr, te, grid_subset(settings).to(dev), use_cache,
                               progress)
    model = make_variant(variant, settings.channels, settings.hidden)
    model.load_state_dict(payload["state_dict"])
    return model.to(dev).eval()


def run_variants(settings: Any = None, variants: Sequence[str] = VARIANTS, references: Sequence[str] = ("A", "B", "C"),
                 device: torch.device | str | None = None, progress: bool = True, use_cache: bool = True,
                 time_steps: int = 20) -> VariantResults:
    """Train (or load) the variants of model C for every seed of ``settings`` with the shiftlab
    trainer and the A/B/C budget, evaluate them with the A/B/C protocol
    (:mod:`shiftlab.evaluate`), and put them beside the cached references (no augmentation).

    Args:
        settings: a :class:`shiftlab.experiments.MnistSettings` (default: its quick/full default).
        variants: which variants to train (see :data:`VARIANTS`).
        references: A/B/C models loaded from the course's cache (trained there if missing, by
            :func:`shiftlab.experiments.run_mnist`'s own code, so they are shared with its chapter).
        time_steps: training steps timed per model in one process, interleaved, for a fair cost
            comparison (``step_ms``); 0 to skip.
    """
    from tqdm.auto import tqdm

    from .data import load_mnist
    from .device import get_device
    from .experiments import MnistSettings, grid_subset, load_trained, run_mnist

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
    from .evaluate import GridResult
    from .train import History

    jobs = [(s, v) for s in settings.seeds for v in variants]
    for seed, v in tqdm(jobs, desc="variants", disable=not progress):
        p = _variant_payload(v, settings, seed, dev, tr, te, subset, use_cache, progress)
        runs.append(VariantRun(v, seed, float(p["default"]), float(p["shift_min"]), float(p["shift"]),
                               float(p["consistency"]), History.from_dict(p["history"]).epoch_seconds,
                               GridResult.from_dict(p["grid"])))
    step = {}
    if time_steps > 0:
        names = list(dict.fromkeys([*references, *variants]))
        step = step_time({n: (lambda n=n: _ref_model(n, settings)) for n in names}, tr, steps=time_steps,
                         device=dev)
    return VariantResults(runs, settings, step)


def _ref_model(name: str, settings: Any) -> nn.Module:
    from .models import MODEL_NAMES, make_model

    if name in MODEL_NAMES:
        return make_model(name, channels=settings.channels, hidden=settings.hidden)
    return make_variant(name, settings.channels, settings.hidden)


def step_time(factories: dict[str, Callable[[], nn.Module]], train_split: Any, steps: int = 30,
              batch_size: int = 128, rounds: int = 3, device: torch.device | str | None = None) -> dict[str, float]:
    """Median milliseconds per Adam training step (forward, backward, update) of each model over
    ``steps * rounds`` steps, measured in the same process with the models interleaved step by
    step (rotating order), so that a busy machine slows them all alike. Multiply by the number of
    steps per epoch (469 for 60,000 digits in batches of 128) for a time per epoch."""
    from .device import get_device

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
