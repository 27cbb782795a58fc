import pytest
import torch

from shiftlab.measure.equivariance import equivariance_error, exact_region, invariance_error, make_conv


def test_circular_conv_is_exactly_equivariant_to_circular_shifts():
    conv = make_conv(1, 6, 5, "circular")
    x = torch.rand(4, 1, 20, 20)
    for dx, dy in [(1, 0), (0, 3), (-5, 7), (9, -9)]:
        assert equivariance_error(conv, x, dx, dy, "circular").max() < 1e-5


@pytest.mark.parametrize("k,dx,dy", [(5, 3, 2), (7, 4, 0), (3, -2, 5), (5, 0, -3)])
def test_zero_padded_conv_error_is_exactly_outside_the_exact_region(k, dx, dy):
    conv = make_conv(1, 6, k, "zeros")
    x = torch.rand(4, 1, 24, 24)  # content up to the edges: the border matters
    err = equivariance_error(conv, x, dx, dy, "zero").amax(dim=(0, 1))
    region = exact_region(24, 24, dx, dy, k // 2)
    assert err[region].max() < 1e-5
    assert err[~region].min() > 1e-4  # every pixel outside it really is wrong


def test_exact_region_shape_and_errors():
    r = exact_region(10, 12, 3, 0, 2)
    assert r.shape == (10, 12) and r[:, :3].sum() == 0 and r[:, -2:].sum() == 0 and r[:, 3:10].all()
    with pytest.raises(ValueError):
        exact_region(10, 10, 10, 0, 1)
    with pytest.raises(ValueError):
        exact_region(10, 10, 1, 0, -1)


def test_invariance_error_of_identity_is_shift_size():
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 1.0
    err = invariance_error(lambda t: t, x, 1, 0)
    assert err.sum() == 2.0


def test_errors_on_bad_input():
    conv = make_conv()
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        equivariance_error(conv, torch.zeros(1, 8, 8), 1, 0)
    with pytest.raises(ValueError, match="spatial size"):
        equivariance_error(make_conv(stride=2), torch.zeros(1, 1, 8, 8), 1, 0)
    with pytest.raises(ValueError):
        invariance_error(conv, torch.zeros(8, 8), 1, 0)
    with pytest.raises(ValueError, match="odd"):
        make_conv(kernel_size=4)
    with pytest.raises(ValueError, match="padding_mode"):
        make_conv(padding_mode="mirror")


def test_make_conv_is_seeded():
    a, b, c = make_conv(seed=1), make_conv(seed=1), make_conv(seed=2)
    assert torch.equal(a.weight, b.weight) and not torch.equal(a.weight, c.weight)
