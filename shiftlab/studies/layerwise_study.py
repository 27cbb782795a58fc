"""Per-layer equivariance errors of the course's networks (chapter 10).

* :func:`mnist_layer_errors`: A, B, C, BlurPool-C and APS-C (trained, zero padding, no
  augmentation; the cached models of chapters 05 and 08), every seed: every module of
  ``model.features`` for a 1-pixel zero-fill shift of the digits, the same away from the border
  (``margin``), and stride-aligned.
* :func:`imagenet_layer_errors`: the ImageNet model's activation layers
  (:func:`shiftlab.measure.probe.activation_layers`) for photos whose 224-pixel window moves over
  the photo (no fill enters).

Both are cached (kind ``"layerwise"``). Definitions: :mod:`shiftlab.measure.layerwise`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from shiftlab.core.cache import load_or_compute
from shiftlab.core.device import get_device
from shiftlab.core.glue import glue
from shiftlab.core.progress import tqdm
from shiftlab.core.shifts import translate
from shiftlab.data.mnist import load_mnist
from shiftlab.data.photos import PhotoSet
from shiftlab.measure.layerwise import LayerError, layer_equivariance
from shiftlab.measure.probe import activation_layers
from shiftlab.measure.protocols import resize_short
from shiftlab.nn.imagenet_models import ImageNetModel
from shiftlab.studies.mnist_pooling import MnistSettings, grid_subset, load_trained
from shiftlab.studies.mnist_variants import load_variant

__all__ = ["MODES", "LayerCurve", "LayerStudy", "mnist_layer_errors", "imagenet_layer_errors"]

#: the measurements of every layer (:mod:`shiftlab.measure.layerwise`): a 1-px shift against the
#: ideal (a fraction of a cell), the same away from the border, against the nearest whole-cell
#: move, and a shift by the layer's own stride
MODES: tuple[str, ...] = ("shift 1 px", "interior", "nearest cell", "aligned")


@dataclass
class LayerCurve:
    """One network's layers: ``names``, ``strides``, and ``errors[mode]`` = ``[seeds, layers]``."""

    model: str
    names: list[str]
    strides: list[int]
    errors: dict[str, np.ndarray] = field(default_factory=dict)

    def mean(self, mode: str) -> np.ndarray:
        return self.errors[mode].mean(axis=0)

    def std(self, mode: str) -> np.ndarray:
        e = self.errors[mode]
        return e.std(axis=0, ddof=1) if e.shape[0] > 1 else np.zeros(e.shape[1])


@dataclass
class LayerStudy:
    """Curves of several networks, with the margin used for ``interior``."""

    curves: dict[str, LayerCurve]
    margin: int

    def markdown(self, model: str) -> str:
        c = self.curves[model]
        lines = ["| depth | layer | stride | " + " | ".join(MODES) + " |", "|---" * (3 + len(MODES)) + "|"]
        for i, (n, s) in enumerate(zip(c.names, c.strides)):
            cells = [f"{c.mean(m)[i]:.3f}" for m in MODES]
            lines.append(f"| {i + 1} | {n} | {s} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def glue(self, prefix: str = "le") -> None:
        """For every network: the error of its first and last layer in each mode
        (``{prefix}_{model}_{first|last}_{shift|interior|aligned}``), and the largest."""
        short = {"shift 1 px": "shift", "interior": "interior", "nearest cell": "cell", "aligned": "aligned"}
        for name, c in self.curves.items():
            key = name.replace("-", "").replace(" ", "")
            for m in MODES:
                mu = c.mean(m)
                glue(f"{prefix}_{key}_first_{short[m]}", float(mu[0]), kind="nonneg")
                glue(f"{prefix}_{key}_last_{short[m]}", float(mu[-1]), kind="nonneg")
                glue(f"{prefix}_{key}_max_{short[m]}", float(mu.max()), kind="nonneg")


def _errors(model: nn.Module, x: torch.Tensor, shifted: Any, layers: Sequence[tuple[str, nn.Module]],
            margin: int, batch: int = 64) -> dict[str, list[LayerError]]:
    return {"shift 1 px": layer_equivariance(model, x, shifted, layers, 1, batch=batch),
            "interior": layer_equivariance(model, x, shifted, layers, 1, margin=margin, batch=batch),
            "nearest cell": layer_equivariance(model, x, shifted, layers, 1, snap=True, batch=batch),
            "aligned": layer_equivariance(model, x, shifted, layers, aligned=True, batch=batch)}


def _as_payload(errs: dict[str, list[LayerError]]) -> dict[str, Any]:
    first = next(iter(errs.values()))
    return {"names": [e.name for e in first], "strides": [e.stride for e in first],
            "errors": {m: [e.error for e in v] for m, v in errs.items()}}


def _curve(model: str, payloads: list[dict[str, Any]]) -> LayerCurve:
    p0 = payloads[0]
    return LayerCurve(model, list(p0["names"]), [int(s) for s in p0["strides"]],
                      {m: np.array([p["errors"][m] for p in payloads], dtype=np.float64) for m in MODES})


def mnist_layer_errors(settings: MnistSettings | None = None,
                       models: Sequence[str] = ("A", "B", "C", "BlurPool-C", "APS-C"), n_images: int = 500,
                       margin: int = 6, device: torch.device | str | None = None, progress: bool = True,
                       use_cache: bool = True) -> LayerStudy:
    """Per-layer errors of the MNIST networks for the first ``n_images`` digits of the course's
    grid subset, every seed of ``settings`` (default: quick/full default)."""
    s = settings or MnistSettings.default()
    dev = get_device(device)
    te = load_mnist("test", device=dev)
    x = te.images[grid_subset(s, te.images.shape[0]).to(dev)][:n_images]

    def shifted(d: int) -> torch.Tensor:
        return translate(x, d, 0)

    curves = {}
    for name in tqdm(models, desc="layers", disable=not progress):
        payloads = []
        for seed in s.seeds:
            meta = {"settings": s.as_dict(), "model": name, "seed": seed, "n": int(x.shape[0]), "margin": margin}

            def compute(name: str = name, seed: int = seed) -> dict[str, Any]:
                model = (load_trained(s, name, False, seed, device=dev).model if name in ("A", "B", "C")
                         else load_variant(name, s, seed, device=dev))
                feats = model.features
                if not isinstance(feats, nn.Sequential):
                    raise TypeError(f"model {name} has no .features Sequential")
                layers = [(f"features.{i}", m) for i, m in enumerate(feats)]
                return _as_payload(_errors(model, x, shifted, layers, margin))

            p, _ = load_or_compute("layerwise", f"mnist_{name}_s{seed}", meta, compute, use_cache=use_cache)
            payloads.append(p)
        curves[name] = _curve(name, payloads)
    return LayerStudy(curves, margin)


def imagenet_layer_errors(net: ImageNetModel, photos: PhotoSet, margin: int = 32, progress: bool = True,
                          use_cache: bool = True) -> LayerStudy:
    """Per-layer errors of an ImageNet network for ``photos``: each photo's short side is
    resized to 256 and a 224-pixel window at (16, 32) is moved left by ``d`` (the content moves
    right), so real pixels enter, not a fill. One "seed": the photo set."""
    size = net.input_size
    views = []
    for img in tqdm(photos.images, desc="photos", disable=not progress, leave=False):
        big = resize_short(img, size + 32)
        views.append(big[:, 16:16 + size, : size + 32])
    src = torch.stack(views).to(net.device)  # [N, 3, size, size + 32]

    def shifted(d: int) -> torch.Tensor:
        return net.normalize(src[..., 32 - d: 32 - d + size])

    meta = {"model": net.identity, "photos": photos.fingerprint(), "margin": margin}

    def compute() -> dict[str, Any]:
        layers = activation_layers(net.model)
        return _as_payload(_errors(net.model, shifted(0), shifted, layers, margin, batch=10))

    p, _ = load_or_compute("layerwise", f"imagenet_{net.name}", meta, compute, use_cache=use_cache)
    return LayerStudy({net.name: _curve(net.name, [p])}, margin)
