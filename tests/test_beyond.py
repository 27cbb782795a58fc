"""Unit tests of the "beyond the articles" chapters' package functions (10-12): the position
toy, worst-case accuracy, the three shift protocols, per-layer equivariance, the canvas."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from shiftlab.core.shifts import translate
from shiftlab.data.canvas import place_on_canvas, position_grid
from shiftlab.data.patches import make_position_toy
from shiftlab.measure.layerwise import accumulated_stride, layer_equivariance, map_equivariance_error
from shiftlab.measure.move_protocols import mosaic, protocol_consistency, protocol_views
from shiftlab.measure.worst_shift import average_accuracy, worst_case_accuracy, worst_case_curve, worst_of_random
from shiftlab.nn.aps import APSMaxPool2d
from shiftlab.nn.canvas_models import CanvasNet
from shiftlab.nn.fcn import PositionFCN
from shiftlab.nn.mnist_models import make_variant

GEN = lambda s=0: torch.Generator().manual_seed(s)  # noqa: E731


# ------------------------------------------------------------------ the position toy
def test_toy_is_mirror_pairs_that_are_circular_shifts():
    x, y = make_position_toy(8, size=32, patch=5, distance=3, generator=GEN())
    assert x.shape == (8, 1, 32, 32) and y.tolist() == [0, 1] * 4
    cols = lambda img: sorted(set((img[0] > 0).nonzero()[:, 1].tolist()))  # noqa: E731
    assert cols(x[0]) == [3, 4, 5, 6, 7] and cols(x[1]) == [24, 25, 26, 27, 28]
    assert torch.equal(torch.roll(x[0], 21, dims=-1), x[1])   # same patch, same row, other border


@pytest.mark.parametrize("kw,err", [({"n": 3}, ValueError), ({"n": 4, "distance": 12}, ValueError),
                                    ({"n": 4, "patch": 0}, ValueError), ({"n": 4.0}, TypeError)])
def test_toy_rejects_bad_arguments(kw, err):
    with pytest.raises(err):
        make_position_toy(**kw)


def test_circular_padding_and_global_pooling_cannot_tell_position():
    torch.manual_seed(0)
    x, _ = make_position_toy(20, distance=0, generator=GEN())
    x = x.double()
    circ = PositionFCN("circular").double()
    zero = PositionFCN("zeros").double()
    assert float((circ(x[0::2]) - circ(x[1::2])).abs().max().detach()) < 1e-12   # at any weights
    assert float((circ(x) - circ(torch.roll(x, (5, -7), dims=(2, 3)))).abs().max().detach()) < 1e-12
    assert float((zero(x[0::2]) - zero(x[1::2])).abs().max().detach()) > 1e-6
    assert PositionFCN(depth=3).receptive_field == 7
    assert PositionFCN("valid")(torch.rand(2, 1, 16, 16)).shape == (2, 2)
    with pytest.raises(ValueError, match="padding"):
        PositionFCN("mirror")  # type: ignore[arg-type]


def test_border_study_tiny(monkeypatch, tmp_path):
    from shiftlab.studies.borders_toy import BorderSettings, run_borders
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path))
    s = BorderSettings(paddings=("zeros", "circular"), distances=(0,), seeds=(0,), size=16, patch=3,
                       n_train=200, n_test=100, steps=80)
    r = run_borders(s, progress=False)
    t = r.table()
    assert t["circular"][0][0] == 0.5       # mirror pairs get identical logits: exactly chance
    assert t["zeros"][0][0] > 0.8
    assert "| zeros |" in r.markdown()
    again = run_borders(s, progress=False)  # from the cache
    assert again.acc == r.acc


# ------------------------------------------------------------------ worst case
def test_worst_case_summaries_are_ordered():
    g = GEN(1)
    c = torch.rand(500, 25, generator=g) < 0.9
    avg, worst = average_accuracy(c), worst_case_accuracy(c)
    rnd = worst_of_random(c, 10, GEN(2))
    assert worst <= rnd <= 1 and worst <= avg
    assert worst_case_accuracy(torch.ones(3, 4, dtype=torch.bool)) == 1.0
    assert worst_case_accuracy(torch.tensor([[True, False], [True, True]])) == 0.5
    assert average_accuracy(torch.tensor([[True, False], [True, True]])) == 0.75
    with pytest.raises(ValueError):
        worst_case_accuracy(torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError):
        worst_of_random(c, 0)


def test_worst_case_curve_is_monotone_in_k():
    torch.manual_seed(0)
    model = make_variant("C").eval()
    x = torch.rand(30, 1, 28, 28)
    y = model(x).argmax(1)           # the model is right on every unshifted image
    curve = worst_case_curve(model, x, y, ks=(1, 2, 3))
    worst = [curve[k]["worst"] for k in (1, 2, 3)]
    assert worst == sorted(worst, reverse=True)
    for k in (1, 2, 3):
        assert curve[k]["worst"] <= curve[k]["random"] and curve[k]["worst"] <= curve[k]["average"]
    with pytest.raises(ValueError):
        worst_case_curve(model, x, y, ks=(0,))


# ------------------------------------------------------------------ protocols
def test_protocol_views():
    x = torch.rand(3, 1, 28, 28)
    shifts = torch.tensor([[0, 0], [2, -1]])
    for p in ("roll", "embed"):
        assert torch.equal(protocol_views(x, shifts, p)[0], x)
    assert torch.equal(protocol_views(x, shifts, "roll")[1], torch.roll(x, (-1, 2), dims=(2, 3)))
    assert torch.equal(protocol_views(x, shifts, "embed")[1], translate(x, 2, -1))
    empty = torch.zeros(3, 8, 1, 28, 28)  # with empty neighbours a moved window is a zero-fill shift
    assert torch.equal(protocol_views(x, shifts, "crop", empty)[1], translate(x, 2, -1))
    nb = torch.rand(3, 8, 1, 28, 28)
    big = mosaic(x, nb)
    assert big.shape == (3, 1, 76, 76)
    crop = protocol_views(x, shifts, "crop", nb)
    assert torch.equal(crop[0], big[..., 24:52, 24:52]) and not torch.equal(crop[1], translate(x, 2, -1))
    with pytest.raises(ValueError, match="neighbours"):
        protocol_views(x, shifts, "crop")
    with pytest.raises(ValueError, match="protocol"):
        protocol_views(x, shifts, "wrap")


def test_aps_with_circular_padding_and_a_global_pool_is_exactly_consistent_under_roll():
    torch.manual_seed(0)
    aps = make_variant("APS-C", padding_mode="circular", head="gap").double().eval()
    x = torch.rand(6, 1, 28, 28, dtype=torch.float64)
    views = protocol_views(x, torch.tensor([[dx, dy] for dx in range(-3, 4) for dy in range(-3, 4)]), "roll")
    logits = aps(views.flatten(0, 1)).reshape(49, 6, 10)
    assert float((logits - logits[0]).abs().max().detach()) < 1e-12
    y = torch.zeros(6, dtype=torch.long)
    assert protocol_consistency(aps, x, y, "roll", 3)["consistency"] == 100.0
    zero = make_variant("APS-C", padding_mode="zeros", head="gap").double().eval()
    zl = zero(views.flatten(0, 1)).reshape(49, 6, 10)
    assert float((zl - zl[0]).abs().max().detach()) > 1e-9


# ------------------------------------------------------------------ per-layer equivariance
def test_map_error_basics():
    f = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    assert map_equivariance_error(f, f, 1, 0) == 0.0
    moved = torch.roll(f, 1, dims=-1)
    assert map_equivariance_error(f, moved, 1, 1) < 1e-15            # exact on the overlap
    assert abs(map_equivariance_error(3 * f, 3 * moved + 0.3, 1, 1)
               - map_equivariance_error(f, moved + 0.1, 1, 1)) < 1e-12   # scale invariant
    assert map_equivariance_error(f, moved, 2, 2) < 1e-15    # at stride 2, 2 px are one cell
    assert map_equivariance_error(f, moved, 1, 2) > 0.1      # at stride 1 they are two
    assert accumulated_stride(28, 7) == 4
    with pytest.raises(ValueError):
        accumulated_stride(28, 5)
    with pytest.raises(ValueError):
        map_equivariance_error(f, f[:1], 1, 1)
    with pytest.raises(ValueError):
        map_equivariance_error(f, f, 0, 1)
    with pytest.raises(ValueError):
        map_equivariance_error(f, f, 1, 2, margin=4)


def test_circular_stack_is_exact_where_the_stride_divides_the_shift():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, padding_mode="circular"), nn.ReLU(),
                        nn.Conv2d(4, 4, 3, padding=1, padding_mode="circular", stride=2)).double()
    x = torch.rand(3, 1, 16, 16, dtype=torch.float64)
    layers = [("0", net[0]), ("1", net[1]), ("2", net[2])]
    roll = lambda d: torch.roll(x, d, dims=-1)  # noqa: E731
    one = layer_equivariance(net, x, roll, layers, shift=1)
    assert [e.stride for e in one] == [1, 1, 2]
    assert one[0].error < 1e-12 and one[1].error < 1e-12 and one[2].error > 1e-3
    aligned = layer_equivariance(net, x, roll, layers, aligned=True, batch=2)
    assert all(e.error < 1e-12 for e in aligned) and aligned[2].shift == 2


def test_aps_moves_by_whole_cells():
    torch.manual_seed(0)
    pool = APSMaxPool2d(2, 2)
    x = torch.rand(4, 3, 16, 16, dtype=torch.float64)
    layers = [("aps", pool)]
    roll = lambda d: torch.roll(x, d, dims=-1)  # noqa: E731
    assert layer_equivariance(pool, x, roll, layers, 1, snap=True)[0].error < 1e-12
    assert layer_equivariance(pool, x, roll, layers, 1)[0].error > 1e-2


# ------------------------------------------------------------------ the canvas
def test_place_on_canvas_is_exact():
    digits = torch.rand(3, 1, 28, 28)
    offsets = torch.tensor([[0, 0], [28, 5], [14, 28]])
    c = place_on_canvas(digits, offsets, 56)
    assert c.shape == (3, 1, 56, 56)
    for i, (y, x) in enumerate(offsets.tolist()):
        assert torch.equal(c[i, :, y:y + 28, x:x + 28], digits[i])
        assert float(c[i].sum()) == pytest.approx(float(digits[i].sum()), rel=1e-6)
    assert position_grid(56, 28, 4).shape == (64, 2)
    with pytest.raises(ValueError):
        place_on_canvas(digits, torch.tensor([[0, 0], [29, 0], [0, 0]]), 56)


def test_canvas_gap_head_is_invariant_to_whole_stride_moves_away_from_the_border():
    torch.manual_seed(0)
    net = CanvasNet("gap", channels=(4, 8), batchnorm=False).double().eval()
    fc = CanvasNet("fc", channels=(4, 8), batchnorm=False).double().eval()
    d = torch.rand(2, 1, 28, 28, dtype=torch.float64)
    a = place_on_canvas(d, torch.tensor([[8, 8], [8, 8]]), 56)
    b = place_on_canvas(d, torch.tensor([[12, 16], [12, 16]]), 56)   # moved by (4, 8): whole cells
    assert float((net(a) - net(b)).abs().max().detach()) < 1e-9
    assert float((fc(a) - fc(b)).abs().max().detach()) > 1e-6
    with pytest.raises(ValueError):
        CanvasNet("max")
