import pytest
import torch
from torch import nn

from shiftlab.nn import aps
from shiftlab.nn.mnist_models import make_model


def test_polyphase_components_layout():
    x = torch.randn(2, 3, 6, 8)
    comps = aps.polyphase_components(x, 2)
    assert comps.shape == (2, 4, 3, 3, 4)
    for i in range(2):
        for j in range(2):
            assert torch.equal(comps[:, i * 2 + j], x[..., i::2, j::2])
    assert torch.equal(aps.polyphase_components(x[..., :6], 3)[:, 5], x[..., 1::3, 2:6:3])


def test_odd_sizes_are_refused():
    with pytest.raises(ValueError, match="divisible"):
        aps.polyphase_components(torch.randn(1, 1, 7, 8))
    with pytest.raises(ValueError):
        aps.APSDownsample(0)
    with pytest.raises(ValueError):
        aps.CircularNet("avg")
    with pytest.raises(ValueError):
        aps.APSMaxPool2d(2, 2, pad_mode="reflect")


def test_aps_keeps_the_component_of_largest_norm():
    x = torch.zeros(3, 2, 4, 4)
    x[0, :, 1::2, 1::2] = 1.0  # component 3 has all the energy
    x[1, :, 0::2, 1::2] = 2.0  # component 1
    x[2] = torch.randn(2, 4, 4)
    y, k = aps.aps_downsample(x)
    assert k[:2].tolist() == [3, 1]
    assert torch.equal(y[0], x[0, :, 1::2, 1::2]) and torch.equal(y[1], x[1, :, 0::2, 1::2])
    norms = aps.polyphase_components(x[2:]).flatten(2).norm(dim=2)[0]
    assert k[2] == norms.argmax()
    assert torch.equal(aps.aps_index(x), k)


@pytest.mark.parametrize("dx,dy", [(1, 0), (0, 1), (1, 1), (3, 2), (5, 7)])
def test_aps_output_is_a_circular_shift_of_the_unshifted_output(dx, dy):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 16, 16, dtype=torch.float64)
    y0, _ = aps.aps_downsample(x)
    y1, _ = aps.aps_downsample(torch.roll(x, (dy, dx), (-2, -1)))
    for n in range(2):
        hits = [(a, b) for a in range(8) for b in range(8) if torch.equal(torch.roll(y0[n], (a, b), (-2, -1)), y1[n])]
        assert hits, "APS output must be an exact circular shift of the unshifted one"
    # plain subsampling is not: for an odd shift the kept samples are different ones
    p0, p1 = x[..., ::2, ::2], torch.roll(x, (dy, dx), (-2, -1))[..., ::2, ::2]
    if dx % 2 or dy % 2:
        assert not any(torch.equal(torch.roll(p0, (a, b), (-2, -1)), p1) for a in range(8) for b in range(8))


def _all_shifts(side):
    g = torch.arange(side)
    return torch.stack(torch.meshgrid(g, g, indexing="xy"), -1).reshape(-1, 2)


@pytest.mark.parametrize("seed", [0, 1])
def test_aps_network_is_exactly_invariant_to_every_circular_shift(seed):
    """Circular padding + circular shifts + APS + global pooling: identical outputs for all
    16 x 16 shifts, at random initialisation (no training), hence 100 % consistency."""
    torch.manual_seed(seed)
    net = aps.CircularNet("aps", channels=(6, 8), classes=10).double().eval()
    x = torch.randn(3, 1, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        out = aps.circular_shift_outputs(net, x, _all_shifts(16))
    assert out.shape == (256, 3, 10)
    assert (out - out[0]).abs().max() < 1e-12
    assert (out.argmax(-1) == out[0].argmax(-1)).all()


@pytest.mark.parametrize("pool", ["max", "blur"])
def test_strided_and_blurred_networks_are_not_exactly_invariant(pool):
    torch.manual_seed(0)
    net = aps.CircularNet(pool, channels=(6, 8)).double().eval()
    x = torch.randn(3, 1, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        out = aps.circular_shift_outputs(net, x, _all_shifts(16))
    assert (out - out[0]).abs().max() > 1e-6
    # ... but shifts by multiples of the total stride (4) are exact for them too
    even = (_all_shifts(16) % 4 == 0).all(1)
    assert (out[even] - out[0]).abs().max() < 1e-12


def test_aps_maxpool_and_aps_c_shapes():
    x = torch.randn(2, 4, 28, 28)
    assert aps.APSMaxPool2d()(x).shape == (2, 4, 14, 14)
    assert aps.APSMaxPool2d(filter_size=3)(x).shape == (2, 4, 14, 14)
    assert aps.APSMaxPool2d(pad_mode="zeros")(x).shape == (2, 4, 14, 14)
    torch.manual_seed(5)
    c = make_model("C")
    torch.manual_seed(5)
    m = make_model("C", pool="aps")
    assert m(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    sc, sm = c.state_dict(), m.state_dict()
    assert sc.keys() == sm.keys() and all(torch.equal(sc[k], sm[k]) for k in sc)
    assert sum(isinstance(mod, aps.APSDownsample) for mod in m.modules()) == 2
    assert not any(isinstance(mod, nn.MaxPool2d) and mod.stride == 2 for mod in m.modules())


def test_circular_shift_outputs_checks_shapes():
    with pytest.raises(ValueError):
        aps.circular_shift_outputs(aps.CircularNet(), torch.randn(1, 1, 8, 8), torch.zeros(3))


def test_circular_shift_outputs_rejects_empty_inputs():
    net = aps.CircularNet()
    with pytest.raises(ValueError, match="empty"):
        aps.circular_shift_outputs(net, torch.randn(1, 1, 8, 8), torch.zeros(0, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="empty"):
        aps.circular_shift_outputs(net, torch.randn(0, 1, 8, 8), torch.zeros(1, 2, dtype=torch.long))


@pytest.mark.parametrize("filter_size", [0, -1, 8])
def test_aps_maxpool_rejects_filter_sizes_out_of_range(filter_size):
    with pytest.raises(ValueError, match="filter size"):
        aps.APSMaxPool2d(filter_size=filter_size)


@pytest.mark.parametrize("p", [0, -1.0, float("nan")])
def test_aps_rejects_non_positive_norm_orders(p):
    x = torch.randn(2, 3, 8, 8)
    with pytest.raises(ValueError, match="p must be a positive"):
        aps.aps_downsample(x, p=p)
    with pytest.raises(ValueError, match="p must be a positive"):
        aps.aps_index(x, p=p)
    with pytest.raises(ValueError, match="p must be a positive"):
        aps.APSDownsample(p=p)
