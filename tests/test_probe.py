import numpy as np
import pytest
import torch
from torch import nn

from shiftlab.measure import probe
from shiftlab.nn.mnist_models import make_model


@pytest.mark.parametrize("name,factor", [("A", 1), ("B", 2), ("C", 4)])
def test_mnist_models(name, factor):
    p = probe.probe_strides(make_model(name), 28, 1, span=20)
    assert p.factor == factor
    assert [layer.stride for layer in p.stride_changes] == [s for s in (2, 4) if s <= factor]


def test_meta_and_real_devices_agree():
    m = make_model("C")
    a = probe.probe_strides(m, 28, 1, span=12)
    b = probe.probe_strides(m, 28, 1, span=12, device="cpu")
    assert [(x.name, x.stride, x.out_size) for x in a.layers] == [(x.name, x.stride, x.out_size) for x in b.layers]
    assert next(m.parameters()).device.type == "cpu"  # the probe worked on a copy


class _Branches(nn.Module):
    """A residual-style block with a stride in both branches, then a stride-3 conv."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(1, 2, 3, stride=2, padding=1)
        self.b = nn.Conv2d(1, 2, 1, stride=2)
        self.c = nn.Conv2d(2, 2, 5, stride=3, padding=0)
        self.p = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.gap(self.p(self.c(self.a(x) + self.b(x))))


def test_branches_odd_strides_ceil_mode_and_adaptive_pooling():
    p = probe.probe_strides(_Branches(), 40, 1, span=40)
    strides = {layer.name: layer.stride for layer in p.layers}
    assert strides == {"a": 2, "b": 2, "c": 6, "p": 12, "gap": None}
    assert p.factor == 12


def test_torchvision_resnet18_is_32():
    import torchvision

    with torch.device("meta"):
        net = torchvision.models.resnet18(weights=None)
    assert probe.subsampling_factor(net, 64, 3) == 32


def test_span_too_small_is_an_error():
    assert probe.probe_strides(nn.Sequential(nn.Conv2d(1, 1, 1, stride=8)), 32, 1, span=10).factor == 8
    with pytest.raises(ValueError, match="span"):  # one step of the staircase seen
        probe.probe_strides(nn.Sequential(nn.Conv2d(1, 1, 1, stride=16)), 32, 1, span=10)
    with pytest.raises(ValueError, match="span"):  # no step seen, but the size changes further out
        probe.probe_strides(nn.Sequential(nn.Conv2d(1, 1, 1, stride=64)), 32, 1, span=10)


def test_input_checks():
    with pytest.raises(TypeError):
        probe.probe_strides(lambda x: x, 8, 1)
    with pytest.raises(ValueError):
        probe.probe_strides(make_model("A"), 28, 1, span=2)


def test_guaranteed_fraction():
    assert probe.guaranteed_fraction(32) == 1 / 1024
    assert probe.guaranteed_fraction(1) == 1.0
    with pytest.raises(ValueError):
        probe.guaranteed_fraction(0)


def _frames(x, t, fill="circular"):
    from shiftlab.core.shifts import translate

    return torch.stack([translate(x, 0, k, fill) for k in range(t)])


class _Net(nn.Module):
    def __init__(self, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1, padding_mode="circular")
        self.relu = nn.ReLU()
        self.sub = nn.MaxPool2d(1, stride=stride)  # plain subsampling

    def forward(self, x):
        return self.sub(self.relu(self.conv(x)))


def test_nonshiftability_zero_without_stride_and_positive_with():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 16, 16, dtype=torch.float64)
    frames = _frames(x, 4)
    dense = _Net(1).double()
    res = probe.nonshiftability(dense, frames, [("relu", dense.relu), ("sub", dense.sub)], maps_per_layer=None)
    assert res.fraction.tolist() == [0.0, 0.0]
    assert res.change.shape == (2, 4, 8) and res.sums.shape == (2, 4, 4, 8)
    torch.manual_seed(0)
    strided = _Net(4).double()
    res = probe.nonshiftability(strided, frames, [("relu", strided.relu), ("sub", strided.sub)], maps_per_layer=5,
                                threshold=0.05)
    assert res.fraction[0] == 0.0 and res.fraction[1] > 0.3
    assert res.change.shape == (2, 4, 5) and len(res.channels[1]) == 5
    back = probe.Nonshiftability.from_dict(res.to_dict())
    assert np.allclose(back.fraction, res.fraction)


def test_dead_maps_are_excluded():
    net = _Net(1)
    with torch.no_grad():
        net.conv.weight.zero_()
        net.conv.bias.fill_(-1.0)
    res = probe.nonshiftability(net, _frames(torch.rand(2, 1, 8, 8), 3), [("relu", net.relu)], maps_per_layer=None)
    assert np.isnan(res.fraction[0]) and res.dead_fraction[0] == 1.0


def test_capture_maps_errors():
    net = _Net(1)
    with pytest.raises(ValueError, match="not called"):
        probe.capture_maps(net, torch.rand(1, 1, 8, 8), [("x", nn.ReLU())])
    with pytest.raises(ValueError):
        probe.nonshiftability(net, torch.rand(1, 1, 8, 8), [("relu", net.relu)])


@pytest.mark.parametrize("variant", ["BlurPool-C", "APS-C"])
def test_variants_keep_factor_4_even_when_only_some_sizes_work(variant):
    """APS accepts only sizes divisible by its stride; the probe fits the sizes it accepts."""
    from shiftlab.nn.mnist_models import make_variant

    p = probe.probe_strides(make_variant(variant), 28, 1, span=20)
    assert p.factor == 4 and [s.stride for s in p.stride_changes] == [2, 4]


def test_fit_stride_on_subsets():
    hs = np.arange(28, 60, 4)
    assert probe._fit_stride(hs, hs // 4) == 4
    assert probe._fit_stride(np.arange(10, 30), (np.arange(10, 30) + 2) // 3 + 5) == 3


def test_relative_variation_uses_the_channel_scale():
    # channel 0: image 0 varies 10 -> 12, image 1 barely fires (0 -> 1e-3): its own mean is tiny
    g = np.zeros((2, 2, 3))
    g[:, 0, 0] = [10.0, 12.0]
    g[:, 1, 0] = [0.0, 1e-3]
    g[:, :, 1] = 5.0            # constant: perfectly shiftable
    g[:, :, 2] = np.nan         # padding
    rel, dead = probe.relative_variation(g)
    assert rel.shape == (2, 3) and dead.tolist() == [False, False, False]
    scale = np.abs(g[:, :, 0]).mean()
    assert np.isclose(rel[0, 0], 2.0 / scale) and np.isclose(rel[1, 0], 1e-3 / scale)
    assert rel[1, 0] < 0.2  # finite and small, although 1e-3 / its own mean 5e-4 would be 2
    assert np.all(rel[:, 1] == 0) and np.all(np.isnan(rel[:, 2]))


def test_relative_variation_dead_channels_and_errors():
    g = np.zeros((3, 2, 2))
    g[:, :, 1] = [[1.0, 2.0], [1.5, 2.0], [1.0, 2.0]]
    rel, dead = probe.relative_variation(g)
    assert dead.tolist() == [True, False] and np.all(np.isnan(rel[:, 0]))
    assert np.all(np.isfinite(rel[:, 1]))
    with pytest.raises(ValueError, match="shape"):
        probe.relative_variation(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="two shifts"):
        probe.relative_variation(np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match="dead_tol"):
        probe.relative_variation(g, dead_tol=-1.0)


def test_from_sums_counts_dead_channels_and_keeps_the_per_map_reading():
    g = np.zeros((1, 2, 2, 3))          # [L, T, N, K]
    g[0, :, 0, 0] = [4.0, 4.1]          # shiftable
    g[0, :, 1, 0] = [0.0, 0.01]         # sparse: own mean 0.005, spread 0.01
    g[0, :, :, 2] = [[1.0, 1.0], [1.0, 1.0]]
    res = probe.Nonshiftability.from_sums(["x"], g, threshold=0.2)
    assert res.dead_channels.tolist() == [1] and res.sampled_channels.tolist() == [3]
    assert np.isclose(res.dead_fraction[0], 1 / 3)
    assert res.fraction[0] == 0.0                 # channel scale: nothing moves by 20 %
    assert np.isclose(res.per_map_fraction()[0], 1 / 4)  # own mean: the sparse pair counts
    assert np.isclose(res.low_mean_fraction(0.1)[0], 1 / 4)
    back = probe.Nonshiftability.from_dict(res.to_dict())
    assert np.allclose(back.fraction, res.fraction) and back.dead_channels.tolist() == [1]
    with pytest.raises(ValueError, match="shape"):
        probe.Nonshiftability.from_sums(["x", "y"], g)
    with pytest.raises(ValueError, match="level"):
        res.low_mean_fraction(0.0)
