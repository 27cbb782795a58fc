"""Chapter 08's ImageNet probes work for every network ``load_imagenet_model`` returns, not only
the offline MobileNetV2: which layers :func:`activation_layers` watches in MobileNetV2, VGG16
and ResNet50 (and why those), :func:`imagenet_nonshiftability` on random-weight VGG16 and
ResNet50, and :func:`architecture_factors` without the offline weights (Colab: no SHIFTLAB_DATA)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from shiftlab.data.photos import PhotoSet
from shiftlab.measure.probe import activation_layers, capture_maps
from shiftlab.nn.imagenet_models import ImageNetModel
from shiftlab.studies import nonshiftability as ns

#: builder -> (watched layers, first names, last name)
EXPECTED = {
    "mobilenet_v2": (19, ["features.0.2", "features.1.conv.0.2"], "features.18.2"),
    "vgg16": (13, ["features.1", "features.3", "features.6"], "features.29"),
    "resnet50": (17, ["relu", "layer1.0", "layer1.1"], "layer4.2"),
    "resnet18": (9, ["relu", "layer1.0", "layer1.1"], "layer4.1"),
}


def _build(name: str, device: str = "meta") -> nn.Module:
    torch.manual_seed(0)
    with torch.device(device):
        return getattr(torchvision.models, name)(weights=None).eval()


@pytest.mark.parametrize("name", list(EXPECTED))
def test_activation_layers_of_the_course_networks(name):
    n, first, last = EXPECTED[name]
    layers = activation_layers(_build(name))
    names = [k for k, _ in layers]
    assert len(layers) == n and names[: len(first)] == first and names[-1] == last
    assert len(set(names)) == n
    if name.startswith("resnet"):  # the residual blocks themselves, after the stem's ReLU
        assert all(type(m).__name__ in ("Bottleneck", "BasicBlock") for _, m in layers[1:])
        assert isinstance(layers[0][1], nn.ReLU)
    else:
        assert all(isinstance(m, (nn.ReLU, nn.ReLU6)) for _, m in layers)


@pytest.mark.parametrize("name", ["resnet50", "vgg16", "mobilenet_v2"])
def test_watched_maps_are_non_negative_and_each_module_runs_once(name):
    """A hook keeps a module's first call: each watched module must run once per forward pass
    (a ResNet block's own ReLU runs three times, which is why the block is watched), and its
    output must be a non-negative map (post-activation) that shrinks with depth."""
    model = _build(name, "cpu")
    layers = activation_layers(model)
    calls: Counter[str] = Counter()
    hooks = [m.register_forward_hook(lambda *_a, k=k: calls.update([k])) for k, m in layers]
    x = torch.rand(2, 3, 64, 64)
    try:
        maps = capture_maps(model, x, layers)
    finally:
        for h in hooks:
            h.remove()
    assert calls == Counter({k: 1 for k, _ in layers})
    for k, m in maps.items():
        assert m.ndim == 4 and m.shape[0] == 2 and float(m.min()) >= 0, k
    sides = [maps[k].shape[-1] for k, _ in layers]
    assert sides[0] in (32, 64) and sides[-1] in (2, 4) and sides == sorted(sides, reverse=True)


class _NoBlocks(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def test_activation_layers_errors_say_what_is_supported():
    with pytest.raises(TypeError, match=r"\.features container \(MobileNetV2, VGG16\) and ResNets.*_NoBlocks"):
        activation_layers(_NoBlocks())
    names = [k for k, _ in activation_layers(_NoBlocks(), container="body")]
    assert names == ["body.1"]
    with pytest.raises(TypeError, match=r"no \.trunk module"):
        activation_layers(_NoBlocks(), container="trunk")
    with pytest.raises(ValueError, match="no activation"):
        activation_layers(_NoBlocks(), container="body", kinds=(nn.GELU,))
    resnet = _build("resnet18")
    resnet.relu = nn.Identity()  # a stem without an activation
    with pytest.raises(ValueError, match="stem"):
        activation_layers(resnet)


def _photos(n: int = 2) -> PhotoSet:
    gen = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (3, 80 + 8 * i, 96), generator=gen, dtype=torch.uint8) for i in range(n)]
    return PhotoSet(images, torch.arange(n), [f"p{i}.JPEG" for i in range(n)], Path("."), ["class"] * 1000)


@pytest.mark.parametrize("name, size, protocol, n_images", [("resnet50", 224, "embed", 1), ("vgg16", 64, "crop", 2)])
def test_imagenet_nonshiftability_on_resnet50_and_vgg16(name, size, protocol, n_images, tmp_path, monkeypatch):
    """Random weights (torchvision's initialisation): every block is scored. ResNet50 as chapter
    08 runs it (224 px, the embed protocol), VGG16 on small crops (it costs 15 G multiply-adds
    per 224 px image)."""
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path))
    model = _build(name, "cpu")
    im = ImageNetModel(name, model, lambda x: x - 0.5, "test", "torchvision", input_size=size,
                       resize_size=size + size // 7)
    res = ns.imagenet_nonshiftability(im, _photos(n_images), n_images=n_images, n_steps=3, protocol=protocol,
                                      maps_per_layer=4, use_cache=False, progress=False)
    n = EXPECTED[name][0]
    assert res.layers == [k for k, _ in activation_layers(model)]
    assert res.sums.shape == (n, 3, n_images, 4) and res.fraction.shape == (n,)
    live = ~np.isnan(res.fraction)
    assert live.sum() >= n - 2 and np.all((res.fraction[live] >= 0) & (res.fraction[live] <= 1))
    assert np.all(np.nan_to_num(res.sums) >= 0)  # post-activation maps: non-negative global sums


def test_architecture_factors_without_the_offline_weights(tmp_path, monkeypatch):
    """On Colab there is no SHIFTLAB_DATA: the offline MobileNetV2's row is probed from its
    architecture (torchvision's, with TF "SAME" padding on its five stride-2 convolutions, on
    the meta device: the same factor), says so, and is cached apart from the table without it.
    (VGG16 and ResNet50 are probed by a stand-in here, to save time; tests/test_probe.py probes
    torchvision's ResNets for real.)"""
    real_probe = ns.probe_strides
    probed: list[str] = []

    def probe(model: nn.Module, size: int, channels: int):  # the real probe, for MobileNetV2 only
        probed.append(type(model).__name__)
        if isinstance(model, torchvision.models.MobileNetV2):
            assert size == 224 and {p.device.type for p in model.parameters()} == {"meta"}  # no weights
            assert sum(getattr(m, "_shiftlab_tf_same", False) for m in model.modules()) == 5
            # on the CPU at 96 px: the same staircase, faster than the meta device's ReLU6
            model = model.to_empty(device="cpu")
            with torch.no_grad():
                for t in [*model.parameters(), *model.buffers()]:
                    t.fill_(1)  # not the uninitialised memory of to_empty: denormals are slow
            return real_probe(model, 96, channels, device="cpu")
        return real_probe(nn.Sequential(nn.Conv2d(channels, 1, 1, stride=4)), size, channels, span=12)

    monkeypatch.setattr(ns, "probe_strides", probe)
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SHIFTLAB_DATA", str(tmp_path))  # a data folder without weights/
    rows = {r.model: r for r in ns.architecture_factors(include_mnist=False)}
    assert probed == ["MobileNetV2", "VGG", "ResNet"]
    mobile = rows["MobileNetV2 (offline weights)"]
    assert mobile.factor == 32 and [s for _, s in mobile.downsampling] == [2, 4, 8, 16, 32]
    assert "architecture only" in mobile.note and "TF 'SAME' padding" in mobile.note
    assert [r.model for r in ns.architecture_factors(include_mnist=False)] == list(rows)  # from the cache
    assert len(probed) == 3
    without = [r.model for r in ns.architecture_factors(include_offline=False, include_mnist=False)]
    assert "MobileNetV2 (offline weights)" not in without and "ResNet50" in without
