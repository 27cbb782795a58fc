"""ImageNet model loading: TF 'SAME' padding, the offline MobileNetV2's preprocessing and accuracy
on the 100 real photos, the "auto" choice matrix, torchvision's real download path (served from
127.0.0.1) and the timm models (through a stand-in timm; the real one is optional)."""

import hashlib
import socket
import sys
import types
from pathlib import Path
from urllib.parse import urlparse

import pytest
import torch
import torch.nn.functional as F
import torchvision
from local_server import serve_folder
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
    for name in ("inception_resnet_v2", "resnetblur50", "resnet50_bt"):
        with pytest.raises(ImportError, match="timm"):
            I.load_imagenet_model(name)
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "timm", None)  # makes `import timm` fail, as without the package
    assert not I._timm_available()
    assert set(I.MODEL_NAMES) == {"auto", "mobilenet_v2_offline", *I.TORCHVISION_MODELS, *I.TIMM_MODELS}


def test_flop_numbers_are_torchvisions_and_honest():
    """The cost in the CPU reason: torchvision's ``_ops`` metadata (multiply-adds), checked against a
    FLOP count of the architectures (2 FLOPs per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    for name in ("resnet50", "mobilenet_v2"):
        net = getattr(torchvision.models, name)().eval()
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            net(torch.zeros(1, 3, 224, 224))
        assert counter.get_total_flops() / 2e9 == pytest.approx(I._gmacs(name), rel=0.01)
    cost = I._cpu_cost("resnet50")
    assert "4.1 G multiply-adds (8.2 GFLOP)" in cost and "13.6x" in cost and "0.30 G (0.6 GFLOP)" in cost


# --------------------------------------------------------------------------- the "auto" choice matrix


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("offline", [True, False], ids=["offline-weights", "no-offline-weights"])
@pytest.mark.parametrize("online", [True, False], ids=["internet", "no-internet"])
@pytest.mark.parametrize("cached", [True, False], ids=["cached", "not-cached"])
def test_auto_choice_matrix(cached, online, offline, device, tmp_path, monkeypatch):
    """Every combination of (hub cache, internet, offline weights, device): ResNet50 whenever its
    weights can be had, with a reason that says why (and, on the CPU, what it costs and how to
    choose the MobileNetV2); else the offline MobileNetV2; else a clear error."""
    calls = []
    monkeypatch.setattr(I, "_torchvision_weights_cached", lambda name: cached)
    monkeypatch.setattr(I, "_internet_available", lambda *a, **k: online)
    monkeypatch.setattr(I, "get_device", lambda d=None: torch.device(device))
    monkeypatch.setattr(I, "_load_torchvision", lambda name, dev, reason: calls.append((name, reason)) or name)
    monkeypatch.setattr(I, "load_offline_mobilenet_v2",
                        lambda path, device, reason: calls.append(("mobilenet_v2_offline", reason)) or "offline")
    monkeypatch.setenv("SHIFTLAB_DATA", str(tmp_path))
    if offline:
        (tmp_path / "weights").mkdir()
        (tmp_path / "weights" / I.OFFLINE_WEIGHTS).write_bytes(b"stand-in")
    if not (cached or online or offline):
        with pytest.raises(FileNotFoundError, match="no ImageNet model is available") as err:
            I.load_imagenet_model("auto")
        assert "connect to the internet" in str(err.value) and "SHIFTLAB_DATA" in str(err.value)
        assert calls == []
        return
    got = I.load_imagenet_model("auto")
    (name, reason), = calls
    assert reason.startswith("auto: ")
    if cached or online:
        assert got == name == "resnet50"
        assert "ResNet50" in reason and ("hub cache" if cached else "downloaded") in reason
        if device == "cuda":
            assert "cuda device is available" in reason and "multiply-adds" not in reason
        else:
            assert "on the CPU" in reason and "4.1 G multiply-adds" in reason and "13.6x" in reason
            assert "name='mobilenet_v2_offline'" in reason
            assert ("weights are here" if offline else "needs SHIFTLAB_DATA") in reason
    else:
        assert got == "offline" and name == "mobilenet_v2_offline"
        assert "no internet" in reason and "$SHIFTLAB_DATA/weights/" in reason  # no machine path


@needs_weights
def test_auto_picks_offline_model_and_says_why(offline_world):
    offline_world.setenv("SHIFTLAB_DATA", str(ROOT))
    m = I.load_imagenet_model("auto")
    assert m.name == "mobilenet_v2_offline" and m.source == "offline"
    assert "no internet" in m.reason and m.reason in m.summary() and I.OFFLINE_WEIGHTS in m.reason
    m = I.load_imagenet_model("mobilenet_v2_offline")
    assert m.reason.startswith("requested by name") and I.OFFLINE_WEIGHTS in m.reason


# --------------------------------------------------------------------------- real torchvision download


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty TORCH_HOME: torch hub's cache and downloads go there."""
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)  # in case something called torch.hub.set_dir
    assert Path(torch.hub.get_dir()) == home / "hub"
    return home


def _resnet50_checkpoint(folder: Path) -> tuple[str, nn.Module]:
    """A ResNet50 state_dict saved as torchvision saves its checkpoints, named like them:
    ``resnet50-<first 8 hex digits of its SHA-256>.pth`` (torch hub checks that prefix)."""
    torch.manual_seed(0)
    ref = torchvision.models.resnet50(weights=None).eval()
    path = folder / "resnet50.pth"
    torch.save(ref.state_dict(), path)
    name = f"resnet50-{hashlib.sha256(path.read_bytes()).hexdigest()[:8]}.pth"
    path.rename(folder / name)
    return name, ref


def test_resnet50_is_downloaded_by_torchvision_from_the_weights_url(torch_home, tmp_path, monkeypatch):
    """The real path: torchvision's resnet50 builder -> WeightsEnum.get_state_dict ->
    torch.hub.load_state_dict_from_url(check_hash=True) -> download_url_to_file, from a local
    server that the weights' URL points at; then the cache serves it, also to "auto" on the CPU."""
    www = tmp_path / "www"
    www.mkdir()
    name, ref = _resnet50_checkpoint(www)
    weights = I._torchvision_weights("resnet50")
    assert weights.url.startswith("https://download.pytorch.org/models/resnet50-")
    assert weights.meta["_ops"] == pytest.approx(4.089)  # what the CPU reason quotes
    with serve_folder(www) as server:
        monkeypatch.setattr(weights.value, "url", server.url + name)
        assert not I._torchvision_weights_cached("resnet50") and I._torchvision_online("resnet50")
        m = I.load_imagenet_model("resnet50", device="cpu")
        assert server.requests == ["/" + name]
        assert (torch_home / "hub" / "checkpoints" / name).is_file()
        assert m.name == "resnet50" and m.source == "torchvision" and m.input_size == 224
        assert m.reason.startswith("requested by name; on the CPU it costs ~4.1 G multiply-adds")
        assert f"downloaded from {server.url}{name}" in m.reason and "IMAGENET1K_V1" in m.description
        x = torch.rand(1, 3, 224, 224)
        logits = m.model(m.normalize(x))
        assert logits.shape == (1, 1000)
        assert torch.allclose(logits, ref(m.normalize(x)), atol=1e-4)  # the served weights, not others
        probs = m.predict(x)
        assert probs.shape == (1, 1000) and probs.sum().item() == pytest.approx(1.0, abs=1e-5)
        # "auto" on the CPU without the offline model: ResNet50 from the cache, no second download
        monkeypatch.setenv("SHIFTLAB_DATA", str(tmp_path))
        auto = I.load_imagenet_model("auto", device="cpu")
        assert auto.name == "resnet50" and server.requests == ["/" + name]
        assert "hub cache" in auto.reason and "on the CPU" in auto.reason and "needs SHIFTLAB_DATA" in auto.reason


def test_resnet50_download_failures_are_clear(torch_home, tmp_path, monkeypatch):
    www = tmp_path / "www"
    www.mkdir()
    weights = I._torchvision_weights("resnet50")
    real_name = Path(urlparse(weights.url).path).name  # resnet50-<hash prefix>.pth
    torch.save({"not": torch.zeros(1)}, www / real_name)  # a file whose SHA-256 does not match its name
    with serve_folder(www) as server:
        monkeypatch.setattr(weights.value, "url", server.url + real_name)
        with pytest.raises(I.SetupError, match="does not match the hash"):
            I.load_imagenet_model("resnet50")
        monkeypatch.setattr(weights.value, "url", server.url + "missing-0123abcd.pth")
        with pytest.raises(FileNotFoundError, match="failed"):
            I.load_imagenet_model("resnet50")
        assert server.requests == ["/" + real_name, "/missing-0123abcd.pth"]
    assert not list((torch_home / "hub" / "checkpoints").glob("*.pth"))  # nothing half-downloaded is kept
    with socket.socket() as sock:  # a port where nothing listens: the reachability check itself says no
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(weights.value, "url", f"http://127.0.0.1:{port}/{real_name}")
    with pytest.raises(FileNotFoundError, match="no internet"):
        I.load_imagenet_model("resnet50")


# --------------------------------------------------------------------------- timm models (a stand-in timm)


def _fake_timm(monkeypatch, error: Exception | None = None, cfg: dict | None = None) -> list[str]:
    """Put a small stand-in ``timm`` into sys.modules (the real one is optional and not installed
    here): ``create_model`` returns a tiny network with a ``pretrained_cfg`` like timm's."""
    calls: list[str] = []
    cfgs = {
        "resnetblur50.bt_in1k": {"architecture": "resnetblur50", "tag": "bt_in1k",
                                 "hf_hub_id": "timm/resnetblur50.bt_in1k",
                                 "input_size": (3, 224, 224), "crop_pct": 0.875, "interpolation": "bicubic",
                                 "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)},
        "inception_resnet_v2": {"architecture": "inception_resnet_v2", "tag": "tf_in1k", "hf_hub_id": "timm/",
                                "input_size": (3, 299, 299), "crop_pct": 0.8975, "interpolation": "bicubic",
                                "mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)},
    }

    def create_model(arch: str, pretrained: bool = False) -> nn.Module:
        calls.append(arch)
        assert pretrained
        if error is not None:
            raise error
        net = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 1000))
        net.pretrained_cfg = cfg if cfg is not None else cfgs.get(arch, cfgs["resnetblur50.bt_in1k"])
        return net

    fake = types.ModuleType("timm")
    fake.__version__ = "1.0.0"
    fake.create_model = create_model
    monkeypatch.setitem(sys.modules, "timm", fake)
    return calls


def test_timm_models_take_their_preprocessing_from_pretrained_cfg(monkeypatch):
    calls = _fake_timm(monkeypatch)
    assert I._timm_available()
    blur = I.load_imagenet_model("resnetblur50")
    assert calls == ["resnetblur50.bt_in1k"]
    assert blur.source == "timm" and blur.input_size == 224 and blur.resize_size == 256
    assert "BlurPool" in blur.description and "resnet50_bt" in blur.description and "bicubic" in blur.description
    assert blur.reason == ("requested by name; timm resnetblur50.bt_in1k, weights from the Hugging Face hub "
                           "(timm/resnetblur50.bt_in1k)")
    x = torch.full((1, 3, 8, 8), 0.5)
    want = (0.5 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    assert torch.allclose(blur.normalize(x)[0, :, 0, 0], want)
    assert blur.predict(torch.rand(2, 3, 224, 224)).shape == (2, 1000)
    base = I.load_imagenet_model("resnet50_bt")
    assert calls[-1] == "resnet50.bt_in1k" and "without anti-aliasing" in base.description
    assert base.identity != blur.identity
    inc = I.load_imagenet_model("inception_resnet_v2")
    assert calls[-1] == "inception_resnet_v2" and inc.input_size == 299 and inc.resize_size == 333
    assert "tag tf_in1k" in inc.description and "(timm/inception_resnet_v2)" in inc.reason
    assert torch.allclose(inc.normalize(x), torch.zeros_like(x))


def test_timm_failures_are_clear(monkeypatch):
    _fake_timm(monkeypatch, error=OSError("We couldn't connect to 'https://huggingface.co'"))
    with pytest.raises(FileNotFoundError, match="internet once") as err:
        I.load_imagenet_model("resnetblur50")
    assert "huggingface.co" in str(err.value)
    _fake_timm(monkeypatch, cfg={})
    with pytest.raises(I.SetupError, match="pretrained_cfg"):
        I.load_imagenet_model("resnetblur50")


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
