import pytest
import torch

from shiftlab.measure.pooling import fig98_example, l_shape_example, max_pool_1d, pooled_unchanged_fraction
from shiftlab.nn.edge_filters import FILTER_NAMES, edge_features, edge_filter_bank


def test_fig98_every_detector_value_changes_half_the_pooled_do():
    f = fig98_example()
    assert f.detector.tolist() == pytest.approx([0.1, 1.0, 0.2, 0.1])
    assert f.pooled.tolist() == pytest.approx([1.0, 1.0, 1.0, 0.2])
    assert f.pooled_shifted.tolist() == pytest.approx([0.3, 1.0, 1.0, 1.0])
    assert f.detector_changed == 4 and f.pooled_changed == 2


def test_max_pool_1d():
    v = torch.tensor([1.0, 3.0, 2.0, 0.0, 5.0])
    assert max_pool_1d(v, 3, 1).tolist() == [3, 3, 3, 5, 5]
    assert max_pool_1d(v, 3, 2).tolist() == [3, 3, 5]
    assert max_pool_1d(v, 1, 1).tolist() == v.tolist()
    for args in [(v, 2, 1), (v, 3, 0), (v[None], 3, 1)]:
        with pytest.raises(ValueError):
            max_pool_1d(*args)


def test_l_shape_one_pixel_shift_keeps_pooled_output_two_pixels_do_not():
    ex = l_shape_example(0, 1)
    assert not torch.equal(ex.detector, ex.detector_shifted)
    assert torch.equal(ex.pooled, ex.pooled_shifted)
    assert ex.detector.max() == 1 and ex.detector.sum() == 1  # a single full match
    ex2 = l_shape_example(0, 2)
    assert not torch.equal(ex2.pooled, ex2.pooled_shifted)
    with pytest.raises(ValueError):
        l_shape_example(size=4)


def test_edge_features():
    assert edge_filter_bank().shape == (len(FILTER_NAMES), 1, 3, 3)
    assert torch.allclose(edge_filter_bank().sum(dim=(1, 2, 3)), torch.zeros(5))  # no response to flat
    x = torch.rand(2, 1, 12, 12)
    f = edge_features(x)
    assert f.shape == (2, 5, 12, 12) and f.min() >= 0
    with pytest.raises(ValueError):
        edge_features(torch.rand(2, 3, 12, 12))


def test_pooled_unchanged_fraction_exact_cases():
    torch.manual_seed(0)
    f = torch.zeros(3, 2, 24, 24)
    f[..., 6:18, 6:18] = torch.rand(3, 2, 12, 12)  # content away from the border
    r0 = pooled_unchanged_fraction(f, 0, 2, 2)
    assert r0 == {"same_position": 1.0, "aligned": 1.0}
    r2 = pooled_unchanged_fraction(f, 2, 2, 2)  # a shift by the stride: exact equivariance
    assert r2["aligned"] == 1.0 and r2["same_position"] < 0.5
    r1 = pooled_unchanged_fraction(f, 1, 2, 2)  # odd shift: the phase changes
    assert r1["aligned"] < 1.0
    ry = pooled_unchanged_fraction(f, 2, 2, 2, axis="y")
    assert ry["aligned"] == 1.0


def test_pooled_unchanged_fraction_errors():
    with pytest.raises(ValueError):
        pooled_unchanged_fraction(torch.zeros(2, 8, 8), 1, 2, 2)
    with pytest.raises(ValueError):
        pooled_unchanged_fraction(torch.zeros(1, 1, 8, 8), 1, 0, 2)
    with pytest.raises(ValueError):
        pooled_unchanged_fraction(torch.zeros(1, 1, 8, 8), 1, 2, 2, axis="z")


def test_unchanged_sweep_rows():
    from shiftlab.measure.pooling import unchanged_sweep

    f = torch.zeros(2, 1, 16, 16)
    f[..., 4:12, 4:12] = torch.rand(2, 1, 8, 8)
    rows = unchanged_sweep(f, [0, 1, 2], [(2, 2), (3, 1)])
    assert len(rows) == 6 and rows[0]["shift"] == 0 and rows[0]["same_position"] == 1.0
    assert {r["pool"] for r in rows} == {2, 3}
    stride1 = [r for r in rows if r["stride"] == 1]
    assert all(r["aligned"] == 1.0 for r in stride1)  # stride 1: pooling is equivariant
    with pytest.raises(ValueError):
        unchanged_sweep(f, [], [(2, 2)])
