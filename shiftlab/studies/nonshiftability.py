"""Chapter 08's probes of real networks: the subsampling factor of every network the course
uses (:func:`architecture_factors`, probed on the meta device, no weights needed) and the
per-layer non-shiftability of an ImageNet model on shifted photos
(:func:`imagenet_nonshiftability`; MobileNetV2, VGG16, ResNet50). Both cached (kinds ``"probe"`` and
``"nonshiftability"``); the probes themselves are in :mod:`shiftlab.measure.probe`.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import torch
import torchvision
from torch import nn

from shiftlab.core.cache import load_or_compute
from shiftlab.core.progress import tqdm
from shiftlab.data.photos import PhotoSet
from shiftlab.measure.probe import (
    Nonshiftability,
    activation_layers,
    guaranteed_fraction,
    nonshiftability,
    probe_strides,
)
from shiftlab.measure.protocols import shift_sequence
from shiftlab.nn.imagenet_models import (
    ImageNetModel,
    apply_tf_same_padding,
    load_imagenet_model,
    offline_weights_path,
)
from shiftlab.nn.mnist_models import make_model, make_variant

__all__ = [
    "FactorRow",
    "architecture_factors",
    "factors_markdown",
    "imagenet_nonshiftability",
]


@dataclass
class FactorRow:
    """One network of :func:`architecture_factors`.

    Attributes:
        model, input_size: which network, probed at which input side.
        factor: its subsampling factor (None when it could not be probed, see ``note``).
        downsampling: ``(layer, cumulative stride)`` where the stride grows.
        note: how the network was built (or why it was not probed).
        strides: the cumulative stride of every spatial layer, in forward order.
    """

    model: str
    input_size: int
    factor: int | None
    downsampling: list[tuple[str, int]]
    note: str
    strides: list[int] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return guaranteed_fraction(self.factor) if self.factor else float("nan")


def architecture_factors(include_offline: bool = True, include_mnist: bool = True,
                         progress: bool = False, use_cache: bool = True) -> list[FactorRow]:
    """Probe the subsampling factor of the course's networks (:func:`probe_strides`, meta device):

    MNIST models A/B/C and the variants BlurPool-C and APS-C; the offline ImageNet MobileNetV2
    (the real model with its TF "SAME" padding hooks when its weights are present, else the same
    architecture, torchvision's ``mobilenet_v2`` with those hooks, on the meta device: the factor
    is the same, and the row's note says which was probed); torchvision's
    VGG16 and ResNet50 architectures built with ``weights=None`` directly on the meta device (the
    factor depends on the architecture only, so no download is needed); timm's
    InceptionResNetV2 when ``timm`` is installed, otherwise a row that says it is not.

    The rows are cached (verified) under a key made of the options and the torch, torchvision and
    timm versions: probing ResNet50 on the meta device takes seconds, not minutes, but it adds up.
    """
    have_timm = importlib.util.find_spec("timm") is not None
    # the offline row: True = the real model (as before), "architecture" = built without its weights
    offline = (_offline_weights_here() or "architecture") if include_offline else False
    meta = {"offline": offline, "mnist": include_mnist, "torch": str(torch.__version__),
            "torchvision": str(torchvision.__version__),
            "timm": importlib.metadata.version("timm") if have_timm else None}

    def compute() -> dict:
        rows = _probe_zoo(include_offline, include_mnist, have_timm, progress)
        return {"rows": [dataclasses.asdict(r) for r in rows]}

    payload, _ = load_or_compute("probe", "factors", meta, compute, use_cache=use_cache)
    return [FactorRow(**{**r, "downsampling": [tuple(d) for d in r["downsampling"]]}) for r in payload["rows"]]


def _probe_zoo(include_offline: bool, include_mnist: bool, have_timm: bool, progress: bool) -> list[FactorRow]:
    jobs: list[tuple[str, int, int, Callable[[], nn.Module], str]] = []
    if include_mnist:
        for n in ("A", "B", "C"):
            jobs.append((f"MNIST {n}", 28, 1, partial(make_model, n), "shiftlab.nn.mnist_models"))
        for v in ("BlurPool-C", "APS-C"):
            jobs.append((f"MNIST {v}", 28, 1, partial(make_variant, v),
                         "shiftlab.nn.mnist_models, pool='blur' / 'aps'"))

    def meta(fn: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
        def build() -> nn.Module:
            with torch.device("meta"):
                return fn()
        return build

    if include_offline and _offline_weights_here():
        def offline() -> nn.Module:
            return load_imagenet_model("mobilenet_v2_offline").model

        jobs.append(("MobileNetV2 (offline weights)", 224, 3, offline,
                     "shiftlab.nn.imagenet_models, TF 'SAME' padding"))
    elif include_offline:
        jobs.append(("MobileNetV2 (offline weights)", 224, 3, meta(_offline_architecture),
                     "its architecture only (the offline weights are not here): torchvision mobilenet_v2, "
                     "weights=None, with TF 'SAME' padding"))

    jobs.append(("VGG16", 224, 3, meta(lambda: torchvision.models.vgg16(weights=None)),
                 "torchvision architecture, weights=None"))
    jobs.append(("ResNet50", 224, 3, meta(lambda: torchvision.models.resnet50(weights=None)),
                 "torchvision architecture, weights=None"))
    if have_timm:
        def irv2() -> nn.Module:
            import timm

            return timm.create_model("inception_resnet_v2", pretrained=False)

        jobs.append(("InceptionResNetV2", 299, 3, meta(irv2), "timm architecture, pretrained=False"))
    rows: list[FactorRow] = []
    for name, size, ch, build, note in tqdm(jobs, desc="probing", disable=not progress):
        p = probe_strides(build(), size, ch)
        changes = [(layer.name, int(layer.stride or 0)) for layer in p.stride_changes]
        rows.append(FactorRow(name, size, p.factor, changes,
                              note, [int(layer.stride) for layer in p.layers if layer.stride is not None]))
    if not have_timm:
        rows.append(FactorRow("InceptionResNetV2", 299, None, [], "not probed: timm is not installed"))
    return rows


def _offline_weights_here() -> bool:
    """True when the offline MobileNetV2's weights file is where :func:`offline_weights_path` looks."""
    try:
        offline_weights_path()
    except FileNotFoundError:
        return False
    return True


def _offline_architecture() -> nn.Module:
    """The offline MobileNetV2 without its weights: torchvision's ``mobilenet_v2`` with TF "SAME"
    padding on its five stride-2 convolutions, as :func:`load_imagenet_model` builds it."""
    model = torchvision.models.mobilenet_v2(weights=None)
    apply_tf_same_padding(model, expected=5)
    return model


def factors_markdown(rows: Sequence[FactorRow], notes: bool = False) -> str:
    """The rows of :func:`architecture_factors` as a Markdown table (five columns; ``notes``
    adds a sixth saying how each network was built). A network that could not be probed says
    why in the stride column."""
    heads = ["network", "input (px)", "s", "1/s²", "where the stride grows (cumulative stride)"]
    if notes:
        heads.append("built from")
    lines = ["| " + " | ".join(heads) + " |", "|---" * len(heads) + "|"]
    for r in rows:
        if r.factor is None:
            cells = [r.model, str(r.input_size), "–", "–", r.note]
        else:
            where = ", ".join(f"`{n}` ({s})" for n, s in r.downsampling) or "none"
            cells = [r.model, str(r.input_size), str(r.factor), f"1/{r.factor ** 2} = {r.fraction:.2g}",
                     where]
        if notes:
            cells.append(r.note)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def imagenet_nonshiftability(im: ImageNetModel, photos: PhotoSet, n_images: int = 10, n_steps: int = 33,
                             protocol: str = "embed", maps_per_layer: int = 16, threshold: float = 0.2,
                             seed: int = 0, use_cache: bool = True, progress: bool = True) -> Nonshiftability:
    """Non-shiftability of every block of ``im.model`` (:func:`activation_layers`: MobileNetV2's 19
    blocks of ``.features`` and VGG16's 13 ReLUs, the last activation of each; ResNet50's stem and
    its 16 residual blocks, the output of each) for the
    first ``n_images`` photos moved along a diagonal 1-pixel shift sequence of ``n_steps`` frames
    (:func:`shiftlab.measure.protocols.shift_sequence`, ``protocol`` "embed" = photo on a black canvas, so
    no new content enters), ``maps_per_layer`` random channels per block. Cached (verified,
    keyed by model, photos and configuration). The cache holds the global sums; the scores
    (:func:`relative_variation`) are computed from them on loading.

    Args:
        im: a :class:`shiftlab.nn.imagenet_models.ImageNetModel`.
        photos: a :class:`shiftlab.data.photos.PhotoSet`.
    """
    model = im.model
    n = min(n_images, len(photos))
    meta = {"model": im.name, "description": im.description,
            "photos": list(photos.files[:n]), "n_steps": n_steps, "protocol": protocol,
            "maps": maps_per_layer, "threshold": threshold, "seed": seed,
            "layers": "last activation per block"}

    def compute() -> dict:
        frames = []
        d = None
        for i in tqdm(range(n), desc="frames", disable=not progress, leave=False):
            f, d = shift_sequence(photos.images[i], protocol, n_steps=n_steps,
                                  out_size=im.input_size)
            frames.append(im.normalize(f))
        x = torch.stack(frames, dim=1)  # [T, N, 3, S, S]
        assert d is not None  # torch.stack raised above if there were no photos
        layers = activation_layers(model)
        res = nonshiftability(model, x, layers, maps_per_layer, threshold, seed, batch=32,
                              shifts=d.numpy(), progress=progress)
        return {"result": res.to_dict()}

    payload, _ = load_or_compute("nonshiftability", im.name, meta, compute, use_cache=use_cache)
    return Nonshiftability.from_dict(payload["result"])
