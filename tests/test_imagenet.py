"""ImageNet model loading: TF 'SAME' padding, the offline MobileNetV2's preprocessing and accuracy
on the 100 real photos, and the choice/error logic of the online loaders (no internet needed)."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from shiftlab.nn import imagenet_models as I

DATA = Path("/work/shared/data")


def _data_root() -> Path | None:
    import os

    raw = os.environ.get("SHIFTLAB_DATA")
    for cand in ([Path(raw)] if raw else []) + [DATA]:
        if (cand / "weights" / I.OFFLINE_WEIGHTS).is_file():
            return cand
    return None


ROOT = _data_root()
needs_weights = pytest.mark.skipif(ROOT is None, reason="SHIFTLAB_DATA has no weights/ with the offline MobileNetV2")


def test_tf_same_pads():
    assert I.tf_same_pads(224, 3, 2) == (0, 1)
    assert I.tf_same_pads(225, 3, 2) == (1, 1)
    assert I.tf_same_pads(112, 3, 1) == (1, 1)
    assert I.tf_same_pads(7, 1, 2) == (0, 0)
    assert I.tf_same_pads(8, 3, 1, dilation=2) == (2, 2)
    with pytest.raises(ValueError):
        I.tf_same_pads(0, 3, 2)


def test_apply_tf_same_padding_matches_explicit_pad():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.Conv2d(4, 4, 3, stride=1, padding=1))
    ref_w = net[0].weight.detach().clone()
    names = I.apply_tf_same_padding(net, expected=1)
    assert names == ["0"] and net[0].padding == (0, 0) and net[1].padding == (1, 1)
    for size in (8, 9):  # even: pad (0, 1); odd: pad (1, 1)
        x = torch.randn(1, 2, size, size)
        t, b = I.tf_same_pads(size, 3, 2)
        want = F.conv2d(F.pad(x, (t, b, t, b)), ref_w, net[0].bias, stride=2)
        assert torch.allclose(net[0](x), want, atol=1e-6)
        assert net[0](x).shape[-1] == -(-size // 2)  # ceil(size / 2), as in TensorFlow
    with pytest.raises(ValueError):
        I.apply_tf_same_padding(net)  # twice
    with pytest.raises(ValueError):
        I.apply_tf_same_padding(nn.Sequential(nn.Conv2d(1, 1, 3, stride=2)), expected=5)


def test_mobilenet_input_scaling():
    pixels = torch.tensor([0.0, 128.0, 255.0]).view(1, 3, 1, 1)
    out = I._mobilenet_normalize(pixels / 255)
    assert torch.allclose(out.flatten(), torch.tensor([-1.0, 0.0, 127 / 128]), atol=1e-6)


def test_offline_weights_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("SHIFTLAB_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="SHIFTLAB_DATA"):
        I.offline_weights_path()
    with pytest.raises(FileNotFoundError, match=I.OFFLINE_WEIGHTS):
        I.offline_weights_path(tmp_path)
    fake = tmp_path / "weights" / I.OFFLINE_WEIGHTS
    fake.parent.mkdir()
    fake.write_bytes(b"not a checkpoint")
    assert I.offline_weights_path(tmp_path) == fake
    with pytest.raises(ValueError, match="sha256"):
        I.load_offline_mobilenet_v2(fake)


@pytest.fixture
def offline_world(monkeypatch):
    """No internet and an empty torch hub cache, whatever the machine really has."""
    monkeypatch.setattr(I, "_internet_available", lambda *a, **k: False)
    monkeypatch.setattr(I, "_torchvision_weights_cached", lambda name: False)
    return monkeypatch


def test_auto_offline_without_anything_is_a_clear_error(offline_world, tmp_path):
    offline_world.setenv("SHIFTLAB_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no ImageNet model is available") as err:
        I.load_imagenet_model("auto")
    assert "SHIFTLAB_DATA" in str(err.value) and "internet" in str(err.value)
    for name in ("vgg16", "resnet50"):
        with pytest.raises(FileNotFoundError, match="no internet"):
            I.load_imagenet_model(name)


def test_unknown_name_and_missing_timm(monkeypatch):
    with pytest.raises(ValueError, match="unknown ImageNet model"):
        I.load_imagenet_model("alexnet")
    monkeypatch.setattr(I, "_timm_available", lambda: False)
    with pytest.raises(ImportError, match="timm"):
        I.load_imagenet_model("inception_resnet_v2")


def _fake_torchvision(calls):
    def fake(name, device, reason):
        calls.append((name, device, reason))
        return "torchvision-" + name

    return fake


def test_auto_prefers_resnet50_on_gpu_and_offline_model_on_cpu(offline_world, tmp_path):
    calls = []
    offline_world.setattr(I, "_load_torchvision", _fake_torchvision(calls))
    offline_world.setattr(I, "_internet_available", lambda *a, **k: True)
    offline_world.setattr(I, "get_device", lambda d=None: torch.device("cuda"))
    assert I.load_imagenet_model("auto") == "torchvision-resnet50"
    assert "cuda" in calls[-1][2] and "internet" in calls[-1][2]
    # CPU, online, but no local weights: ResNet50, and the reason says the offline model is missing
    offline_world.setattr(I, "get_device", lambda d=None: torch.device("cpu"))
    offline_world.setenv("SHIFTLAB_DATA", str(tmp_path))
    assert I.load_imagenet_model("auto") == "torchvision-resnet50"
    assert "missing" in calls[-1][2]


@needs_weights
def test_auto_picks_offline_model_and_says_why(offline_world):
    offline_world.setenv("SHIFTLAB_DATA", str(ROOT))
    m = I.load_imagenet_model("auto")
    assert m.name == "mobilenet_v2_offline" and m.source == "offline"
    assert "no internet" in m.reason and m.reason in m.summary()
    offline_world.setattr(I, "_internet_available", lambda *a, **k: True)
    m = I.load_imagenet_model("auto", device="cpu")
    assert m.name == "mobilenet_v2_offline" and "CPU" in m.reason


@needs_weights
def test_offline_model_structure_and_first_conv(monkeypatch):
    monkeypatch.setenv("SHIFTLAB_DATA", str(ROOT))
    m = I.load_imagenet_model("mobilenet_v2_offline")
    strided = [n for n, mod in m.model.named_modules() if isinstance(mod, nn.Conv2d) and max(mod.stride) > 1]
    assert strided == ["features.0.0", "features.2.conv.1.0", "features.4.conv.1.0", "features.7.conv.1.0",
                       "features.14.conv.1.0"]
    n_params = sum(p.numel() for p in m.model.parameters())
    assert not m.model.training and n_params == 3_504_872  # as torchvision's mobilenet_v2
    x = torch.rand(1, 3, 32, 32)
    conv = m.model.features[0][0]
    want = F.conv2d(F.pad(m.normalize(x), (0, 1, 0, 1)), conv.weight, conv.bias, stride=2)
    assert torch.allclose(conv(m.normalize(x)), want, atol=1e-5)
    with pytest.raises(ValueError):
        m.predict(torch.rand(3, 224, 224))


@needs_weights
def test_offline_model_is_accurate_on_the_100_photos(monkeypatch):
    """README: 71.4 % top-1 on 1000 validation images; chance is 0.1 %."""
    from shiftlab.data.photos import load_photos
    from shiftlab.measure.protocols import standard_view

    monkeypatch.setenv("SHIFTLAB_DATA", str(ROOT))
    photos = load_photos()
    assert len(photos) == 100
    m = I.load_imagenet_model("mobilenet_v2_offline")
    x = torch.stack([standard_view(img) for img in photos.images])
    top5 = m.predict(x, batch_size=50).topk(5, 1).indices
    top1 = (top5[:, 0] == photos.labels).float().mean().item()
    in5 = (top5 == photos.labels[:, None]).any(1).float().mean().item()
    assert top1 >= 0.60 and in5 >= 0.85, (top1, in5)


def test_run_benchmark_on_a_toy_model():
    from shiftlab.data.photos import PhotoSet
    from shiftlab.tools.imagenet_bench import run_benchmark

    net = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 1000))
    model = I.ImageNetModel("toy", net.eval(), lambda x: x, "test", "test", input_size=32, resize_size=36)
    imgs = [torch.randint(0, 256, (3, 40, 48), dtype=torch.uint8) for _ in range(2)]
    photos = PhotoSet(imgs, torch.tensor([0, 1]), ["a", "b"], Path("."), [str(i) for i in range(1000)])
    res = run_benchmark(model=model, photos=photos, n_steps=5, max_shift=2, embed_size=24, repeats=1)
    assert res["images_x_shifts"] == 10 and res["batched_per_s"] > 0 and res["looped_per_s"] > 0
    assert res["speedup"] == pytest.approx(res["batched_per_s"] / res["looped_per_s"])
    assert res["max_abs_prob_diff"] < 1e-4  # both ways compute the same probabilities
