"""Real ImageNet classifiers for the shift experiments, online or offline, with their own
preprocessing and a sentence that says which model was chosen, why, and where its weights came from.

Models (``name`` argument of :func:`load_imagenet_model`):

``"mobilenet_v2_offline"``
    The ImageNet MobileNetV2 in ``$SHIFTLAB_DATA/weights`` (TF-slim weights, quantisation-aware
    trained, dequantised into torchvision's ``mobilenet_v2``). Two details matter and both are
    applied here: pixels are scaled as ``(p - 128) / 128`` (not the torchvision mean/std), and
    the five stride-2 convolutions use TensorFlow ``"SAME"`` padding (for even input sizes
    0 pixels top/left, 1 bottom/right) through forward pre-hooks. About 71 % top-1 on 1000
    validation images (README of the weights); 0.30 G multiply-adds (0.6 GFLOP) per 224 px image.
``"resnet50"``, ``"vgg16"``
    torchvision's pretrained ``IMAGENET1K_V1`` weights (the models Azulay & Weiss and Zhang used),
    with the usual mean/std normalisation, loaded by torchvision itself (torch hub: the cache
    ``<torch hub dir>/checkpoints``, else a hash-checked download from download.pytorch.org).
    4.1 and 15.5 G multiply-adds per 224 px image (torchvision's ``_ops`` metadata).
``"inception_resnet_v2"``, ``"resnet50_bt"``, ``"resnetblur50"`` (only when ``timm`` is installed)
    timm's InceptionResNetV2 (299 px; Azulay & Weiss's third network), and a matched pair for
    anti-aliasing: timm's ``resnetblur50.bt_in1k`` (ResNet50 with BlurPool, Zhang 2019) and
    ``resnet50.bt_in1k`` (the same training recipe without blur). Preprocessing from each
    model's ``pretrained_cfg``. Never required; weights come from the Hugging Face hub.
``"auto"``
    Picks what is available and says why (no silent fallbacks): torchvision's ResNet50 whenever
    its weights are cached or downloadable, on a GPU or a CPU (on a CPU the ``reason`` says what it
    costs there, ~13.6x the MobileNetV2, and how to choose the MobileNetV2 instead); otherwise
    the offline MobileNetV2. With neither: a :class:`FileNotFoundError` that says what to do.

Every model works on RGB float images in ``[0, 1]`` of shape ``[N, 3, S, S]`` with
``S = input_size``; :attr:`ImageNetModel.normalize` maps them to the network's input scale.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import socket
import sys
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import torch
import torch.nn.functional as F
from torch import nn

from shiftlab.core.config import SetupError, data_root, short_path
from shiftlab.core.device import get_device

__all__ = [
    "MODEL_NAMES",
    "TORCHVISION_MODELS",
    "TIMM_MODELS",
    "OFFLINE_WEIGHTS",
    "OFFLINE_SHA256",
    "ImageNetModel",
    "tf_same_pads",
    "apply_tf_same_padding",
    "offline_weights_path",
    "load_offline_mobilenet_v2",
    "load_imagenet_model",
]

MODEL_NAMES = ("auto", "mobilenet_v2_offline", "vgg16", "resnet50", "inception_resnet_v2", "resnet50_bt",
               "resnetblur50")
OFFLINE_WEIGHTS = "mobilenet_v2_tfslim_quant-94370ef0.pth"
OFFLINE_SHA256 = "94370ef0d32b0bba8a4ade06bb4f0e88f72520ea371257ba0fa126bd563c9ea9"
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class ImageNetModel:
    """A ready-to-use ImageNet classifier (eval mode) and everything needed to feed it.

    Attributes:
        name: which model (e.g. ``"mobilenet_v2_offline"``, ``"resnet50"``).
        model: the ``nn.Module`` (eval mode) mapping normalised ``[N, 3, S, S]`` to 1000 logits.
        normalize: maps RGB ``[0, 1]`` images to the network's input scale.
        reason: one sentence saying why this model was returned (print it).
        source: ``"offline"``, ``"torchvision"`` or ``"timm"``.
        input_size: ``S``, the side of the square input (224, or 299 for InceptionResNetV2).
        resize_size: the short side the standard evaluation resizes to before the centre crop.
        description: a longer human-readable description (architecture, weights, preprocessing).
        device: where the model lives.
    """

    name: str
    model: nn.Module
    normalize: Callable[[torch.Tensor], torch.Tensor]
    reason: str
    source: str
    input_size: int = 224
    resize_size: int = 256
    description: str = ""
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def identity(self) -> str:
        """Name, description and input size: the identity of this model in cache keys."""
        return f"{self.name}|{self.description}|{self.input_size}"

    @torch.inference_mode()
    def predict(self, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        """Softmax probabilities ``[N, 1000]`` (float32, CPU) for RGB ``[0, 1]`` images ``[N, 3, S, S]``.

        All images go through in batches of ``batch_size`` (one forward pass when ``N`` is smaller).
        """
        if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise ValueError(f"images must be a [N, 3, H, W] tensor of RGB values in [0, 1], got {got}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        out = []
        for start in range(0, images.shape[0], batch_size):
            x = images[start : start + batch_size].to(self.device, torch.float32)
            out.append(torch.softmax(self.model(self.normalize(x)).float(), dim=1).cpu())
        return torch.cat(out) if out else torch.empty(0, 1000)

    def summary(self) -> str:
        """``name (source): reason``: what to print under a figure."""
        return f"{self.name} ({self.source}, {self.input_size} px input): {self.reason}"


# --------------------------------------------------------------------------- TF "SAME" padding


def tf_same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow ``"SAME"`` padding ``(before, after)`` along one axis of length ``size``.

    ``out = ceil(size / stride)``; the total padding is ``max((out - 1) * stride + eff_k - size, 0)``
    with ``eff_k = (kernel - 1) * dilation + 1``; TensorFlow puts the smaller half *before*.
    E.g. 224 px, 3x3, stride 2: ``(0, 1)``; 225 px: ``(1, 1)``.
    """
    if size < 1 or kernel < 1 or stride < 1 or dilation < 1:
        raise ValueError(f"size, kernel, stride and dilation must be positive, got {size, kernel, stride, dilation}")
    eff = (kernel - 1) * dilation + 1
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2


def _same_pad_hook(module: nn.Conv2d, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor]:
    (x,) = args
    kh, kw = module.kernel_size
    sh, sw = module.stride
    dh, dw = module.dilation
    top, bottom = tf_same_pads(x.shape[-2], kh, sh, dh)
    left, right = tf_same_pads(x.shape[-1], kw, sw, dw)
    return (F.pad(x, (left, right, top, bottom)),)


def apply_tf_same_padding(model: nn.Module, expected: int | None = None) -> list[str]:
    """Give every strided ``Conv2d`` of ``model`` TensorFlow ``"SAME"`` padding, in place.

    Sets ``padding=0`` on each convolution with a stride > 1 and registers a forward pre-hook
    that pads its input as TensorFlow would (asymmetric for even sizes). Stride-1 convolutions
    with symmetric padding are the same in both conventions and are left alone.

    Args:
        model: the network to patch.
        expected: if given, the number of strided convolutions there must be (a check that the
            architecture is the one the weights were made for).

    Returns:
        The names of the patched convolutions.
    """
    names = []
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Conv2d) and max(mod.stride) > 1:
            if getattr(mod, "_shiftlab_tf_same", False):
                raise ValueError(f"{name} already has TF 'SAME' padding applied")
            mod.padding = (0, 0)
            mod.register_forward_pre_hook(_same_pad_hook)
            mod._shiftlab_tf_same = True  # type: ignore[assignment]  # a flag; stub wants Tensor | Module
            names.append(name)
    if expected is not None and len(names) != expected:
        raise ValueError(f"expected {expected} strided convolutions, found {len(names)}: {names}")
    return names


# --------------------------------------------------------------------------- offline MobileNetV2


def _mobilenet_normalize(x: torch.Tensor) -> torch.Tensor:
    """``(p - 128) / 128`` for pixel values ``p = 255 x``."""
    return x * (255.0 / 128.0) - 1.0


def offline_weights_path(root: Path | str | None = None) -> Path:
    """Where the offline MobileNetV2 weights are: ``<root or $SHIFTLAB_DATA>/weights/<file>``.

    Raises:
        FileNotFoundError: when the data folder is not set or the file is missing.
    """
    base = Path(root) if root is not None else data_root()
    if base is None:
        raise FileNotFoundError(
            f"the offline ImageNet model needs {OFFLINE_WEIGHTS}: set SHIFTLAB_DATA to the course's data "
            "folder (the one with weights/), e.g. export SHIFTLAB_DATA=/path/to/shared/data"
        )
    path = base / "weights" / OFFLINE_WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: put {OFFLINE_WEIGHTS} (sha256 {OFFLINE_SHA256[:12]}...) into "
            f"{base / 'weights'} or point SHIFTLAB_DATA at a folder that has it"
        )
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_offline_mobilenet_v2(path: Path | str | None = None, device: torch.device | str | None = "cpu",
                              tf_padding: bool = True, reason: str = "requested by name") -> ImageNetModel:
    """The offline ImageNet MobileNetV2 with its proper preprocessing.

    Args:
        path: the ``.pth`` file (default: :func:`offline_weights_path`).
        device: where to put it (default CPU; ``None`` = best available).
        tf_padding: apply TensorFlow ``"SAME"`` padding to the five stride-2 convolutions (the
            weights were trained with it; without it top-1 drops by ~5 points).
        reason: the sentence stored in :attr:`ImageNetModel.reason`.

    Raises:
        FileNotFoundError: missing weights. SetupError (a ValueError): the file's SHA-256 does not match.
    """
    import torchvision

    path = Path(path) if path is not None else offline_weights_path()
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    digest = _sha256(path)
    if digest != OFFLINE_SHA256:
        raise SetupError(f"{path} has sha256 {digest[:12]}..., expected {OFFLINE_SHA256[:12]}...: the file is "
                         "damaged or a different checkpoint; copy it again from the course's data folder")
    dev = get_device(device)
    model = torchvision.models.mobilenet_v2()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    if tf_padding:
        apply_tf_same_padding(model, expected=5)
    model.eval().to(dev)
    for p in model.parameters():
        p.requires_grad_(False)
    pad = "TF 'SAME' padding on its 5 stride-2 convolutions" if tf_padding else "torchvision's symmetric padding"
    return ImageNetModel(
        name="mobilenet_v2_offline", model=model, normalize=_mobilenet_normalize, reason=reason,
        source="offline", input_size=224, resize_size=256, device=dev,
        description=("MobileNetV2 1.0/224 (TF-slim, quantisation-aware trained, dequantised to float32; "
                     f"{path.name}); input (p - 128) / 128, {pad}"),
    )


# --------------------------------------------------------------------------- online models

#: The torchvision models and the ``(builder, weights)`` names they are made from.
TORCHVISION_MODELS: dict[str, tuple[str, str]] = {
    "resnet50": ("resnet50", "ResNet50_Weights"),
    "vgg16": ("vgg16", "VGG16_Weights"),
}
#: The timm models: our name -> timm's ``architecture[.tag]`` (no tag: timm's default weights).
TIMM_MODELS: dict[str, str] = {
    "inception_resnet_v2": "inception_resnet_v2",
    "resnet50_bt": "resnet50.bt_in1k",
    "resnetblur50": "resnetblur50.bt_in1k",
}
#: Multiply-adds (G) per 224 px image, used when torchvision's weights lack the ``_ops`` field
#: (it is there since torchvision 0.15); twice as many floating-point operations.
_GMACS_FALLBACK = {"resnet50": 4.089, "vgg16": 15.47, "mobilenet_v2": 0.301}
_TIMM_NOTES = {
    "inception_resnet_v2": "InceptionResNetV2 (Szegedy et al. 2017; Azulay & Weiss's third network), "
                           "weights ported from TensorFlow by timm",
    "resnet50_bt": "ResNet50 without anti-aliasing, trained by timm with the bag-of-tricks recipe "
                   "(bt_in1k): the baseline for 'resnetblur50'",
    "resnetblur50": "ResNet50 with BlurPool anti-aliasing (Zhang 2019: a 3-tap [1, 2, 1] binomial blur before "
                    "every stride-2 subsampling of the stem max-pool and of the 3x3 convolutions; timm leaves the "
                    "1x1 shortcut convolutions strided without blur), trained by timm with the bag-of-tricks "
                    "recipe (bt_in1k), not Zhang's released weights; the same recipe without blur is 'resnet50_bt'",
}


def _internet_available(url: str = "https://download.pytorch.org/", timeout: float = 3.0) -> bool:
    """True when a TCP connection to the host of ``url`` (port 443 for https, 80 for http, or
    the port in the URL) opens within ``timeout`` seconds."""
    parts = urlparse(url)
    if not parts.hostname:
        raise ValueError(f"not a URL with a host: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def _torchvision_weights(name: str):  # -> torchvision.models.WeightsEnum
    """torchvision's ``IMAGENET1K_V1`` weights enum member of ``name`` (``"resnet50"`` or ``"vgg16"``)."""
    import torchvision

    if name not in TORCHVISION_MODELS:
        raise ValueError(f"{name!r} is not a torchvision model here; choose one of {tuple(TORCHVISION_MODELS)}")
    return getattr(torchvision.models, TORCHVISION_MODELS[name][1]).IMAGENET1K_V1


def _torchvision_checkpoint(name: str) -> Path:
    """Where torch's hub cache keeps the checkpoint of ``name`` (it may not exist yet)."""
    url = _torchvision_weights(name).url
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name


def _torchvision_weights_cached(name: str) -> bool:
    """True when torch's hub cache already holds the checkpoint of ``name`` (no download needed)."""
    return _torchvision_checkpoint(name).is_file()


def _torchvision_online(name: str) -> bool:
    """True when the server of ``name``'s checkpoint accepts connections (a download can start)."""
    return _internet_available(_torchvision_weights(name).url)


def _gmacs(name: str) -> float:
    """Multiply-adds (G) per 224 px image of torchvision's ``name`` (``"resnet50"``, ``"vgg16"`` or
    ``"mobilenet_v2"``): the ``_ops`` field of torchvision's weights metadata where it exists."""
    import torchvision

    enum = {"resnet50": "ResNet50_Weights", "vgg16": "VGG16_Weights", "mobilenet_v2": "MobileNet_V2_Weights"}[name]
    weights = getattr(torchvision.models, enum).IMAGENET1K_V1
    return float(weights.meta.get("_ops", _GMACS_FALLBACK[name]))


def _cpu_cost(name: str) -> str:
    """What a forward pass of torchvision's ``name`` costs, next to the offline MobileNetV2's."""
    big, small = _gmacs(name), _gmacs("mobilenet_v2")
    return (f"~{big:.1f} G multiply-adds ({2 * big:.1f} GFLOP) per 224 px image, about {big / small:.1f}x the "
            f"offline MobileNetV2's {small:.2f} G ({2 * small:.1f} GFLOP)")


def _offline_hint(offline: Path | None) -> str:
    """How to choose the cheaper offline model instead, and whether it is there."""
    how = "pass name='mobilenet_v2_offline' for the cheaper offline MobileNetV2"
    if offline is not None:
        return f"{how} (its weights are here: {offline})"
    return f"{how} (it needs SHIFTLAB_DATA pointing at the course's data folder with weights/{OFFLINE_WEIGHTS})"


def _torchvision_normalize(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(_IMAGENET_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(_IMAGENET_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


def _load_torchvision(name: str, device: torch.device, reason: str) -> ImageNetModel:
    """torchvision's pretrained ``name`` through torchvision's own loader (torch hub: the cache
    ``<torch hub dir>/checkpoints`` or a download from the weights' URL, hash-checked)."""
    import torchvision

    weights = _torchvision_weights(name)
    ckpt = _torchvision_checkpoint(name)
    cached = _torchvision_weights_cached(name)
    if not cached and not _torchvision_online(name):
        raise FileNotFoundError(
            f"torchvision's pretrained {name} is neither in torch's hub cache ({ckpt}) nor downloadable "
            f"from {weights.url} (no internet). Connect once (the checkpoint is cached afterwards), copy "
            f"{ckpt.name} into {ckpt.parent}, or use name='mobilenet_v2_offline' with SHIFTLAB_DATA set"
        )
    builder = getattr(torchvision.models, TORCHVISION_MODELS[name][0])
    try:
        model = builder(weights=weights)
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        raise FileNotFoundError(f"downloading torchvision's {name} from {weights.url} failed ({exc}); "
                                f"try again, or copy {ckpt.name} into {ckpt.parent}") from exc
    except RuntimeError as exc:
        if "invalid hash" not in str(exc):
            raise
        raise SetupError(f"the checkpoint downloaded from {weights.url} does not match the hash in its name "
                         f"({exc}); nothing was cached: try again, or copy the right {ckpt.name} into "
                         f"{ckpt.parent}") from exc
    model = model.eval().to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    where = (f"weights from {short_path(ckpt)} (torch's hub cache)" if cached else
             f"weights downloaded from {weights.url} to {short_path(ckpt)}")
    return ImageNetModel(
        name=name, model=model, normalize=_torchvision_normalize, reason=f"{reason}; {where}",
        source="torchvision", input_size=224, resize_size=256, device=device,
        description=f"torchvision {name} {weights} ({weights.meta.get('_metrics', {}).get('ImageNet-1K', {})}); "
                    "input (x - mean) / std with ImageNet mean/std",
    )


def _timm_available() -> bool:
    """True when the optional package ``timm`` can be imported."""
    if sys.modules.get("timm") is not None:
        return True
    return importlib.util.find_spec("timm") is not None


def _load_timm(name: str, device: torch.device, reason: str) -> ImageNetModel:
    """timm's pretrained ``name`` (see :data:`TIMM_MODELS`) with the normalisation of its ``pretrained_cfg``."""
    if not _timm_available():
        raise ImportError(f"{name} needs the optional package timm (pip install timm, >= 0.9; Colab has it); "
                          "use 'resnet50', 'vgg16' or 'mobilenet_v2_offline' instead")
    import timm

    arch = TIMM_MODELS[name]
    try:
        model = timm.create_model(arch, pretrained=True)
    except (OSError, RuntimeError, ValueError) as exc:  # network, hub and version errors differ between timm versions
        raise FileNotFoundError(f"timm could not load pretrained {arch} ({type(exc).__name__}: {exc}); it needs "
                                "internet once (the Hugging Face hub, then its cache) and timm >= 0.9 for "
                                "tagged names such as resnetblur50.bt_in1k") from exc
    cfg = dict(getattr(model, "pretrained_cfg", None) or {})
    missing = [k for k in ("mean", "std", "input_size") if k not in cfg]
    if missing:
        raise SetupError(f"timm's {arch} has no {missing} in its pretrained_cfg, so its preprocessing is unknown; "
                         "update timm (pip install -U timm)")
    model = model.eval().to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    mean, std = tuple(float(v) for v in cfg["mean"]), tuple(float(v) for v in cfg["std"])
    size = int(cfg["input_size"][-1])
    crop_pct = float(cfg.get("crop_pct", 0.875))
    hub = str(cfg.get("hf_hub_id") or "")
    hub = hub + arch if hub.endswith("/") else hub  # timm's configs may hold just "timm/"
    where = f"the Hugging Face hub ({hub})" if hub else str(cfg.get("url") or "timm's default source")
    tag = cfg.get("tag")

    def normalize(x: torch.Tensor) -> torch.Tensor:
        m = torch.tensor(mean, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        s = torch.tensor(std, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return (x - m) / s

    return ImageNetModel(
        name=name, model=model, normalize=normalize, reason=f"{reason}; timm {arch}, weights from {where}",
        source="timm", input_size=size, resize_size=math.floor(size / crop_pct), device=device,
        description=(f"timm {arch}{f' (tag {tag})' if tag and tag not in arch else ''}: {_TIMM_NOTES[name]}; "
                     f"weights from {where}; input (x - mean) / std with mean {mean}, std {std}; timm evaluates "
                     f"{size} px crops (crop_pct {crop_pct}, {cfg.get('interpolation', 'bilinear')} resize)"),
    )


def load_imagenet_model(name: str = "auto", device: torch.device | str | None = "cpu") -> ImageNetModel:
    """Load an ImageNet classifier and say which one and why (see the module docstring).

    Args:
        name: one of :data:`MODEL_NAMES`.
        device: where to run it (default CPU, ``None`` = best available). ``"auto"`` returns the
            paper's ResNet50 whenever its weights can be had (cached or downloadable), on a CPU
            too (its ``reason`` then says what it costs there and how to choose the offline
            MobileNetV2), and the offline MobileNetV2 otherwise.

    Returns:
        An :class:`ImageNetModel`; its ``reason`` says why this model was chosen and where its
        weights came from.

    Raises:
        ValueError: unknown name. ImportError: timm missing for a timm model.
        FileNotFoundError: the requested (or, for ``"auto"``, every) model is unavailable here;
            the message says what to install, connect or set.
        SetupError: a damaged or mismatched checkpoint.
    """
    if not isinstance(name, str) or name not in MODEL_NAMES:
        raise ValueError(f"unknown ImageNet model {name!r}; choose one of {MODEL_NAMES}")
    dev = get_device(device)
    if name == "mobilenet_v2_offline":
        path = offline_weights_path()
        return load_offline_mobilenet_v2(path, device=dev,
                                         reason=f"requested by name (weights from {short_path(path)})")
    if name in TORCHVISION_MODELS:
        cost = f"; on the CPU it costs {_cpu_cost(name)}" if dev.type == "cpu" else ""
        return _load_torchvision(name, dev, reason=f"requested by name{cost}")
    if name in TIMM_MODELS:
        return _load_timm(name, dev, reason="requested by name")

    # name == "auto": look at what is here, then choose, and say why.
    try:
        offline: Path | None = offline_weights_path()
        offline_why = ""
    except FileNotFoundError as exc:
        offline, offline_why = None, str(exc)
    cached = _torchvision_weights_cached("resnet50")
    online = cached or _torchvision_online("resnet50")
    paper = "torchvision's pretrained ResNet50 (IMAGENET1K_V1, the network of Azulay & Weiss and Zhang)"
    if online:
        size = float(_torchvision_weights("resnet50").meta.get("_file_size", 98.0))
        how = ("its weights are in torch's hub cache" if cached else
               f"its weights can be downloaded (once, ~{size:.0f} MB, then cached)")
        if dev.type != "cpu":
            why = f"auto: {paper} because a {dev.type} device is available and {how}"
        else:
            why = (f"auto: {paper} because {how}; this run is on the CPU, where it costs {_cpu_cost('resnet50')}: "
                   f"{_offline_hint(offline)}")
        return _load_torchvision("resnet50", dev, reason=why)
    if offline is not None:
        why = (f"auto: the offline MobileNetV2 (weights from {short_path(offline)}) because torchvision's ResNet50 "
               f"weights are neither in torch's hub cache ({short_path(_torchvision_checkpoint('resnet50').parent)}) "
               "nor downloadable "
               "(no internet)")
        return load_offline_mobilenet_v2(offline, device=dev, reason=why)
    raise FileNotFoundError(
        "no ImageNet model is available: torchvision's ResNet50 weights are not cached "
        f"({_torchvision_checkpoint('resnet50')}) and there is no internet, and the offline MobileNetV2 is "
        f"missing ({offline_why}). Either connect to the internet once (the weights are cached afterwards) or "
        f"set SHIFTLAB_DATA to the course's data folder with weights/{OFFLINE_WEIGHTS}"
    )
