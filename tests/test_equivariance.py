import pytest
import torch

from shiftlab.core.shifts import translate
from shiftlab.measure.equivariance import (
    defined_region,
    equivariance_error,
    exact_region,
    invariance_error,
    lost_ink,
    make_conv,
)


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


@pytest.mark.parametrize("dx, dy", [(3, 0), (0, -2), (-4, 5), (1, 1)])
def test_defined_region_is_where_the_zero_fill_shift_holds_values(dx, dy):
    mask = defined_region(7, 9, dx, dy)
    assert mask.shape == (7, 9) and mask.dtype == torch.bool
    assert int(mask.sum()) == (7 - abs(dy)) * (9 - abs(dx))
    # a map without zeros, shifted with zero fill, is zero exactly outside the defined region
    moved = translate(torch.ones(1, 1, 7, 9), dx, dy, "zero")[0, 0]
    assert torch.equal(moved != 0, mask)


def test_defined_region_errors():
    with pytest.raises(ValueError, match="smaller than the map"):
        defined_region(5, 5, 5, 0)
    with pytest.raises(ValueError, match="positive size"):
        defined_region(0, 5, 0, 0)


def test_lost_ink_counts_exactly_the_ink_that_leaves():
    x = torch.zeros(3, 1, 8, 8)
    x[0, 0, 3, 3] = 1.0                     # far from the edge: a 2-px shift loses nothing
    x[1, 0, 2, 7] = 1.0                     # in the last column: half of the ink leaves to the right
    x[1, 0, 2, 1] = 1.0
    lost = lost_ink(x, 2, 0)
    assert lost.tolist() == [0.0, 0.5, 0.0]  # the empty third image loses nothing
    assert lost_ink(x, -2, 0).tolist() == [0.0, 0.5, 0.0]
    assert lost_ink(x, 0, 0).tolist() == [0.0, 0.0, 0.0]
    assert float(lost_ink(x, 4, 0)[0]) == 0.0 and float(lost_ink(x, -4, 0)[0]) == 1.0
    with pytest.raises(ValueError, match="non-negative"):
        lost_ink(-x, 1, 0)
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        lost_ink(x[0], 1, 0)


def test_on_the_defined_region_a_zero_padded_conv_errs_only_when_ink_leaves():
    # the bias cancels there, and the padding zeros meet a black background: the error is zero
    # exactly for the pairs that lose no ink, whatever the bias
    gen = torch.Generator().manual_seed(1)
    x = (torch.rand(64, 1, 16, 16, generator=gen) > 0.7).float()
    for i in range(64):                     # an empty frame 0 to 5 px wide: some images lose ink
        m = i % 6
        x[i, :, :m], x[i, :, 16 - m:], x[i, :, :, :m], x[i, :, :, 16 - m:] = 0, 0, 0, 0
    conv = make_conv(1, 4, 5, padding_mode="zeros", seed=3)
    for dx, dy in [(1, 0), (3, -2), (-4, 4), (0, 5)]:
        err = equivariance_error(conv, x, dx, dy, fill="zero").amax(dim=1)
        on_defined = err[:, defined_region(16, 16, dx, dy)].amax(dim=1)
        keeps = lost_ink(x, dx, dy) == 0
        assert keeps.any() and (~keeps).any()
        assert float(on_defined[keeps].max()) == 0.0
        assert bool((on_defined[~keeps] > 1e-4).all())
        # on the whole frame, the fill band meets f of black pixels, at least the smallest |bias|
        assert float(err.flatten(1).amax(dim=1).min()) >= float(conv.bias.abs().min()) - 1e-6
