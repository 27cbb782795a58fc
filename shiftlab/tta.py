"""Buying invariance with copies: test-time augmentation (TTA) and what augmentation costs.

*Test-time augmentation* replaces the prediction ``softmax(f(x))`` by the average over a set
``T`` of shifted copies, ``p(x) = mean_{t in T} softmax(f(S_t x))``. All copies of all images
go through the network as one batch (:func:`tta_predict`); the price is ``|T|`` forward
passes per prediction. If ``f`` is invariant to shifts by multiples of ``s`` and the copies
are circular shifts over one full period ``{0..s-1}^2``, the average is *exactly* invariant to
every circular shift (it averages over a whole coset): ``s^2`` copies, the same number that
:func:`augmentation_copies` gives for training-time augmentation.

Two studies, both cached (load-or-compute, verified files):

:func:`mnist_tta_study`
    the trained A/B/C models on test digits moved by a random shift on each Chebyshev ring
    ``max(|dx|, |dy|) = r`` (zero fill); accuracy with no TTA, with each TTA set, and after
    re-centring by centre of mass (:func:`shiftlab.mnist_bias.recenter`).
:func:`imagenet_tta_study`
    an ImageNet model on photos under the **crop protocol** (:mod:`shiftlab.protocols`): a
    224 px window moved diagonally in 1-pixel steps over the "resize to 256, centre crop 256"
    source; a TTA copy is the window moved by ``t`` more (real image content, no fill).
    Every distinct window of a photo is evaluated once and reused by all frames and TTA sets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .config import cache_dir, is_quick
from .shifts import shift_grid, translate, translate_grid

__all__ = [
    "TTAResult",
    "tta_predict",
    "tta_shifts",
    "augmentation_copies",
    "ring_shifts",
    "MnistTTAConfig",
    "MnistTTAStudy",
    "mnist_tta_study",
    "ImageNetTTAConfig",
    "ImageNetTTAStudy",
    "imagenet_tta_study",
    "HEADS",
    "guaranteed_copies",
    "plot_mnist_tta",
    "plot_imagenet_tta",
]

CODE_VERSION = "tta-1"


# --------------------------------------------------------------------------- the operation


@dataclass
class TTAResult:
    """Averaged probabilities and what they cost.

    Attributes:
        probs: ``[N, K]`` mean softmax over the copies.
        copies: ``|T|``, copies per image.
        forward_passes: images that went through the network, ``N * |T|``.
        calls: how many times the model was called (1 when everything fit in one batch).
    """

    probs: torch.Tensor
    copies: int
    forward_passes: int
    calls: int


def tta_shifts(max_shift: int, step: int = 1) -> torch.Tensor:
    """The TTA set ``{-m, ..., m}^2`` with a step (``[S, 2]`` ``(dx, dy)``; see :func:`shift_grid`)."""
    return shift_grid(max_shift, step)


@torch.no_grad()
def tta_predict(model: nn.Module | Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor,
                shifts: torch.Tensor, fill: str = "zero", batch_size: int | None = None) -> TTAResult:
    """Test-time augmentation over integer shifts: average the softmax over shifted copies.

    Args:
        model: maps ``[B, C, H, W]`` to logits ``[B, K]`` (an ``nn.Module`` is put in eval mode
            for the call and restored afterwards).
        images: ``[N, C, H, W]``.
        shifts: ``[S, 2]`` integer ``(dx, dy)``; ``(0, 0)`` alone gives the plain prediction.
        fill: ``"zero"`` or ``"circular"`` (:func:`shiftlab.translate`).
        batch_size: at most this many copies per call; ``None`` puts all ``N * S`` copies
            through the model in **one** forward pass. Whole images are kept together, so a
            call holds ``S * max(1, batch_size // S)`` copies.

    Returns:
        A :class:`TTAResult` (probabilities on the device of ``images``).
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(f"images must be a non-empty [N, C, H, W] tensor, got "
                         f"{tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__}")
    if not isinstance(shifts, torch.Tensor) or shifts.ndim != 2 or shifts.shape[1] != 2 or shifts.shape[0] == 0:
        raise ValueError("shifts must be a non-empty [S, 2] integer tensor of (dx, dy)")
    if shifts.dtype.is_floating_point:
        raise TypeError("shifts must be integers")
    if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
    n, s = images.shape[0], shifts.shape[0]
    per_call = n if batch_size is None else max(1, batch_size // s)
    was_training = isinstance(model, nn.Module) and model.training
    if isinstance(model, nn.Module):
        model.eval()
    out, calls = [], 0
    try:
        for i in range(0, n, per_call):
            x = images[i : i + per_call]
            b = x.shape[0]
            copies = translate_grid(x, shifts, fill=fill).reshape(s * b, *x.shape[1:])
            logits = model(copies)
            calls += 1
            if logits.ndim != 2 or logits.shape[0] != s * b:
                raise ValueError(f"the model must return logits [B, K], got {tuple(logits.shape)}")
            out.append(torch.softmax(logits.double(), dim=1).reshape(s, b, -1).mean(0).to(logits.dtype))
    finally:
        if was_training:
            model.train()
    return TTAResult(torch.cat(out), s, n * s, calls)


def augmentation_copies(subsampling: int, n_rotations: int = 1, n_scales: int = 1) -> int:
    """Copies per image needed to show a network every phase of its subsampling grid (``s^2``),
    times every rotation and every scale one wants to cover: ``s^2 * n_rotations * n_scales``.

    The argument of Azulay & Weiss: a network with subsampling factor ``s`` (measure it with
    :func:`shiftlab.probe.subsampling_factor`) is at best invariant to shifts by multiples of
    ``s``; the ``s^2`` sub-grid phases look different to it and each has to be learned, for
    every rotation and scale as well.
    """
    for name, v in (("subsampling", subsampling), ("n_rotations", n_rotations), ("n_scales", n_scales)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    return int(subsampling) ** 2 * int(n_rotations) * int(n_scales)


HEADS: tuple[str, ...] = ("global_pool", "fc")


def guaranteed_copies(subsampling: int, head: str, n_rotations: int = 1,
                      n_scales: int = 1) -> int | None:
    """Copies per image that cover every shift **given what the architecture guarantees**.

    A network with total subsampling ``s`` whose head pools globally (``head="global_pool"``)
    and whose layers wrap around at the border (circular boundary) is exactly invariant to
    circular shifts by multiples of ``s``; its ``s^2`` phases then cover every shift, so the
    count is :func:`augmentation_copies`. A fully connected head (``head="fc"``) reads each
    position with its own weights: the architecture guarantees no shift at all, so no number
    of copies is guaranteed to suffice and the function returns ``None``. (With zero padding
    the global-pool guarantee is only approximate, near the border.)
    """
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    copies = augmentation_copies(subsampling, n_rotations, n_scales)  # validates the ints
    return copies if head == "global_pool" else None


def ring_shifts(n: int, radius: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` shifts drawn uniformly from the ``8 r`` integer shifts with ``max(|dx|, |dy|) = r``
    (``r = 0``: all zero). Returns ``(dx, dy)`` long tensors ``[n]``."""
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        raise ValueError(f"radius must be a non-negative int, got {radius!r}")
    if n < 0:
        raise ValueError("n must be non-negative")
    if radius == 0:
        z = torch.zeros(n, dtype=torch.long)
        return z, z.clone()
    grid = shift_grid(int(radius))
    ring = grid[grid.abs().max(1).values == radius]
    pick = torch.randint(0, ring.shape[0], (n,), generator=generator)
    return ring[pick, 0].clone(), ring[pick, 1].clone()


# --------------------------------------------------------------------------- MNIST study


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
    from .mnist_bias import recenter

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


def mnist_tta_study(settings: Any = None, config: MnistTTAConfig | None = None, models: Sequence[str] = ("A", "B", "C"),
                    device: torch.device | str | None = "cpu", use_cache: bool = True,
                    progress: bool = True) -> MnistTTAStudy:
    """TTA and re-centring on shifted MNIST digits for the trained A/B/C models of
    :func:`shiftlab.experiments.run_mnist` (loaded from its cache, trained if missing).

    Args:
        settings: :class:`shiftlab.experiments.MnistSettings` (default: its ``default()``);
            every seed of it is measured.
        config: :class:`MnistTTAConfig` (default: its ``default()``).
        models: which of A, B, C.
        device: where to evaluate (default CPU).
        use_cache: read and write the per-model cache (keyed by the trained model's
            configuration, the study configuration and :data:`CODE_VERSION`).
    """
    from tqdm.auto import tqdm

    from .data import load_mnist
    from .experiments import MnistSettings, load_trained
    from .mnist_bias import centre_of_mass
    from .cache import config_key
    from .train import load_or_compute

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
        meta = {"train_key": train_cfg.key(), "study": cfg.as_dict(), "target": list(target), "code": CODE_VERSION}
        path = (cache_dir() / "mnist_tta" / f"{name}{'_aug' if aug else ''}_s{seed}_{config_key(meta)}.pt"
                if use_cache else None)

        def compute(train_cfg=train_cfg, name=name, aug=aug, seed=seed) -> dict[str, Any]:
            tm = load_trained(settings, name, aug, seed, device=device)
            dev = next(tm.model.parameters()).device
            return _mnist_one(tm.model, test.images.to(dev), test.labels.to(dev), cfg, target)

        payload, _ = load_or_compute(path, meta, compute)
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
        from .shift_metrics import mean_absolute_change, p_top1_change

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


def _imagenet_one(model: Any, img: torch.Tensor, label: int, cfg: ImageNetTTAConfig) -> tuple[dict[str, dict], int]:
    from .protocols import crop_windows, protocol_source, sequence_shifts
    from .shift_metrics import sequence_statistics

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


def imagenet_tta_study(model: Any, photos: Any, config: ImageNetTTAConfig | None = None, use_cache: bool = True,
                       progress: bool = True) -> ImageNetTTAStudy:
    """TTA on an ImageNet model under the crop protocol (see the module docstring), cached.

    Args:
        model: an :class:`shiftlab.imagenet.ImageNetModel`.
        photos: a :class:`shiftlab.photos.PhotoSet`.
        config: :class:`ImageNetTTAConfig` (default: its ``default()``).
    """
    from tqdm.auto import tqdm

    from .shift_metrics import load_or_compute_arrays

    cfg = config or ImageNetTTAConfig.default()
    if not hasattr(model, "predict") or not hasattr(model, "input_size"):
        raise TypeError("model must be an ImageNetModel (see shiftlab.imagenet.load_imagenet_model)")
    if len(photos) == 0:
        raise ValueError("photos must not be empty")
    if cfg.n_steps < 2:
        raise ValueError("n_steps must be at least 2 (pairs of neighbouring frames)")
    start = time.perf_counter()
    conf = {"model": model.identity, "photos": photos.fingerprint(),
            "study": cfg.as_dict(), "tta_code": CODE_VERSION}

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


# --------------------------------------------------------------------------- figures


def plot_mnist_tta(study: MnistTTAStudy, models: Sequence[str] = ("A", "B", "C"),
                   width: float = 8.0):
    """Accuracy per shift ring for every method, one panel per model (plain models), with the
    augmented model's plain accuracy dashed for comparison; 2 panels per row, ``width``
    inches wide, the legend in a panel of its own. Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    radii = np.asarray(study.config.radii)
    n = len(models) + 1  # the last panel holds the legend
    nrows = -(-n // 2)
    fig, axes = plt.subplots(nrows, 2, figsize=(width, 0.36 * width * nrows + 0.4),
                             sharey=True, squeeze=False, layout="constrained")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    flat = axes.ravel()
    for ax, m in zip(flat, models):
        for i, meth in enumerate(study.config.methods):
            mean, std = study.curve(m, meth, False)
            c = study.config.copies(meth)
            label = f"{meth} ({c} pass{'es' if c > 1 else ''})"
            ax.errorbar(radii, mean, yerr=std, marker="o", ms=3, capsize=2,
                        color=colours[i % len(colours)], label=label)
        if (m, True, "no TTA") in study.accuracy:
            mean, _ = study.curve(m, "no TTA", True)
            ax.plot(radii, mean, "k--", lw=1.2, label="trained with augmentation, no TTA")
        ax.axvspan(-0.5, 0.5, color="0.9", zorder=0, label="training centres (ring 0)")
        ax.set(title=f"model {m}, trained without augmentation", ylim=(0, 1.01),
               xlim=(radii.min() - 0.5, radii.max() + 0.5),
               xlabel="shift ring max(|dx|, |dy|) (px)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("test accuracy")
    handles, labels = flat[0].get_legend_handles_labels()
    for ax in flat[len(models):]:
        ax.axis("off")
    flat[len(models)].legend(handles, labels, loc="center", fontsize=9, frameon=False)
    fig.suptitle(f"TTA and re-centring on shifted MNIST digits "
                 f"({len(study.seeds)} seed{'s' if len(study.seeds) > 1 else ''}, mean +- sd)")
    return fig


def plot_imagenet_tta(study: ImageNetTTAStudy, width: float = 8.0):
    """Bars per method (axes from zero): top-1 accuracy, P(top-1 change), MAC and forward
    passes, 2 x 2 panels ``width`` inches wide. Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    nums = study.numbers()
    meths = list(nums)
    short = [m.replace("TTA 3x3, ", "TTA ") for m in meths]
    panels = [("top1", "top-1 accuracy, all frames", "accuracy", "%.3f"),
              ("p_change", "P(top-1 change), 1-px pairs", "fraction of pairs", "%.3f"),
              ("mac", "mean absolute change (MAC)", "top-1 probability", "%.3f"),
              ("copies", "cost", "forward passes / prediction", "%.0f")]
    fig, axes = plt.subplots(2, 2, figsize=(width, 0.7 * width), layout="constrained")
    colours = ["0.5", "tab:blue", "tab:orange", "tab:green"]
    for ax, (key, title, ylabel, fmt) in zip(axes.ravel(), panels):
        vals = [nums[m][key] for m in meths]
        bars = ax.bar(range(len(meths)), vals, color=colours[: len(meths)])
        ax.bar_label(bars, fmt=fmt, fontsize=9)
        ax.set_xticks(range(len(meths)), short)
        ax.set(title=title, ylabel=ylabel, ylim=(0, max(vals) * 1.2 if max(vals) > 0 else 1))
        if key == "copies":
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"TTA on {study.n_photos} ImageNet photos, {study.config.n_steps} frames each "
                 f"({study.model_summary.split(':')[0].split(' (')[0]})")
    return fig
