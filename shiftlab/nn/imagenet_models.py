"""Real ImageNet classifiers for the shift experiments, online or offline, with their own
preprocessing and a sentence that says which model was chosen and why.

Models (``name`` argument of :func:`load_imagenet_model`):

``"mobilenet_v2_offline"``
    The ImageNet MobileNetV2 in ``$SHIFTLAB_DATA/weights`` (TF-slim weights, quantisation-aware
    trained, dequantised into torchvision's ``mobilenet_v2``). Two details matter and both are
    applied here: pixels are scaled as ``(p - 128) / 128`` (not the torchvision mean/std), and
    the five stride-2 convolutions use TensorFlow ``"SAME"`` padding (for even input sizes
    0 pixels top/left, 1 bottom/right) through forward pre-hooks. About 71 % top-1 on 1000
    validation images (README of the weights); ~0.3 GFLOP per 224 px image.
``"vgg16"``, ``"resnet50"``
    torchvision's pretrained ``IMAGENET1K_V1`` weights (the models Azulay & Weiss used), with
    the usual mean/std normalisation. Need internet once (then torch's hub cache).
``"inception_resnet_v2"``
    timm's InceptionResNetV2 (299 px), only when ``timm`` is installed; never required.
``"auto"``
    Picks what is available and says why (no silent fallbacks): on a GPU the paper's ResNet50
    when its weights are cached or downloadable; on a CPU the offline MobileNetV2 when its
    weights are present (13x cheaper than ResNet50); otherwise whichever of the two exists.
    Offline with nothing local: a :class:`FileNotFoundError` that says what to do.

Every model works on RGB float images in ``[0, 1]`` of shape ``[N, 3, S, S]`` with
``S = input_size``; :attr:`ImageNetModel.normalize` maps them to the network's input scale.
"""

from __future__ import annotations

import hashlib
import math
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from shiftlab.core.config import SetupError, data_root
from shiftlab.core.device import get_device

__all__ = [
    "MODEL_NAMES",
    "OFFLINE_WEIGHTS",
    "OFFLINE_SHA256",
    "ImageNetModel",
    "tf_same_pads",
    "apply_tf_same_padding",
    "offline_weights_path",
    "load_offline_mobilenet_v2",
    "load_imagenet_model",
]

MODEL_NAMES = ("auto", "mobilenet_v2_offline", "vgg16", "resnet50", "inception_resnet_v2")
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


def _internet_available(host: str = "download.pytorch.org", timeout: float = 3.0) -> bool:
    """True when a TCP connection to ``host:443`` opens within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _torchvision_weights(name: str):  # -> torchvision.models.WeightsEnum
    import torchvision

    table = {"vgg16": torchvision.models.VGG16_Weights.IMAGENET1K_V1,
             "resnet50": torchvision.models.ResNet50_Weights.IMAGENET1K_V1}
    return table[name]


def _torchvision_weights_cached(name: str) -> bool:
    """True when torch's hub cache already holds the checkpoint of ``name`` (no download needed)."""
    url = _torchvision_weights(name).url
    return (Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]).is_file()


def _timm_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("timm") is not None


def _torchvision_normalize(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(_IMAGENET_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(_IMAGENET_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


def _load_torchvision(name: str, device: torch.device, reason: str) -> ImageNetModel:
    import torchvision

    weights = _torchvision_weights(name)
    if not _torchvision_weights_cached(name) and not _internet_available():
        raise FileNotFoundError(
            f"torchvision's pretrained {name} is neither in torch's hub cache ({torch.hub.get_dir()}/checkpoints) "
            "nor downloadable (no internet). Connect once, copy the checkpoint there, or use "
            "name='mobilenet_v2_offline' with SHIFTLAB_DATA set"
        )
    builder = {"vgg16": torchvision.models.vgg16, "resnet50": torchvision.models.resnet50}[name]
    model = builder(weights=weights).eval().to(device)
    for p in model.parameters():
        p.requires_grad_(False)
    return ImageNetModel(
        name=name, model=model, normalize=_torchvision_normalize, reason=reason, source="torchvision",
        input_size=224, resize_size=256, device=device,
        description=f"torchvision {name} {weights} ({weights.meta.get('_metrics', {}).get('ImageNet-1K', {})}); "
                    "input (x - mean) / std with ImageNet mean/std",
    )


def _load_timm_inception(device: torch.device, reason: str) -> ImageNetModel:
    if not _timm_available():
        raise ImportError("inception_resnet_v2 needs the optional package timm (pip install timm); "
                          "use 'resnet50', 'vgg16' or 'mobilenet_v2_offline' instead")
    import timm

    try:
        model = timm.create_model("inception_resnet_v2", pretrained=True)
    except Exception as exc:  # network or hub errors differ between timm versions
        raise FileNotFoundError(f"timm could not load pretrained inception_resnet_v2 ({exc}); it needs internet "
                                "once (Hugging Face hub) or a filled hub cache") from exc
    model = model.eval().to(device)
    cfg = model.pretrained_cfg if hasattr(model, "pretrained_cfg") else {}
    mean, std = tuple(cfg.get("mean", (0.5, 0.5, 0.5))), tuple(cfg.get("std", (0.5, 0.5, 0.5)))
    size = int(cfg.get("input_size", (3, 299, 299))[-1])
    crop_pct = float(cfg.get("crop_pct", 0.8975))

    def normalize(x: torch.Tensor) -> torch.Tensor:
        m = torch.tensor(mean, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        s = torch.tensor(std, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        return (x - m) / s

    return ImageNetModel(name="inception_resnet_v2", model=model, normalize=normalize, reason=reason,
                         source="timm", input_size=size, resize_size=math.floor(size / crop_pct),
                         device=device, description=f"timm inception_resnet_v2, mean {mean}, std {std}")


def load_imagenet_model(name: str = "auto", device: torch.device | str | None = "cpu") -> ImageNetModel:
    """Load an ImageNet classifier and say which one and why (see the module docstring).

    Args:
        name: one of :data:`MODEL_NAMES`.
        device: where to run it (default CPU, ``None`` = best available). ``"auto"`` prefers the
            paper's ResNet50 on a GPU and the cheap offline MobileNetV2 on a CPU.

    Returns:
        An :class:`ImageNetModel`; its ``reason`` says why this model was chosen.

    Raises:
        ValueError: unknown name. ImportError: timm missing for ``inception_resnet_v2``.
        FileNotFoundError: the requested (or, for ``"auto"``, every) model is unavailable here;
            the message says what to install, connect or set.
    """
    if not isinstance(name, str) or name not in MODEL_NAMES:
        raise ValueError(f"unknown ImageNet model {name!r}; choose one of {MODEL_NAMES}")
    dev = get_device(device)
    if name == "mobilenet_v2_offline":
        return load_offline_mobilenet_v2(device=dev, reason="requested by name")
    if name in ("vgg16", "resnet50"):
        return _load_torchvision(name, dev, reason="requested by name")
    if name == "inception_resnet_v2":
        return _load_timm_inception(dev, reason="requested by name")

    # name == "auto": look at what is here, then choose, and say why.
    try:
        offline: Path | None = offline_weights_path()
        offline_why = ""
    except FileNotFoundError as exc:
        offline, offline_why = None, str(exc)
    cached = _torchvision_weights_cached("resnet50")
    online = cached or _internet_available()
    if dev.type != "cpu" and online:
        how = "its weights are in torch's hub cache" if cached else "the internet is reachable"
        return _load_torchvision("resnet50", dev, reason=(
            f"auto: torchvision ResNet50 (the model of Azulay & Weiss and Zhang) because a {dev.type} "
            f"device is available and {how}"))
    if offline is not None:
        why = ("auto: the offline MobileNetV2 from SHIFTLAB_DATA/weights because this run is on the CPU, where "
               "it is ~13x cheaper than ResNet50 (0.3 vs 4.1 GFLOP per image)" if online else
               "auto: the offline MobileNetV2 from SHIFTLAB_DATA/weights because torchvision's weights are "
               "neither cached nor downloadable (no internet)")
        return load_offline_mobilenet_v2(offline, device=dev, reason=why)
    if online:
        how = "its weights are in torch's hub cache" if cached else "the internet is reachable"
        return _load_torchvision("resnet50", dev, reason=(
            f"auto: torchvision ResNet50 because the offline MobileNetV2 is missing ({offline_why}) and {how}"))
    raise FileNotFoundError(
        "no ImageNet model is available: torchvision's ResNet50 weights are not cached and there is no "
        f"internet, and the offline MobileNetV2 is missing ({offline_why}). Either connect to the internet "
        "once (the weights are cached afterwards) or set SHIFTLAB_DATA to the course's data folder "
        f"with weights/{OFFLINE_WEIGHTS}"
    )
