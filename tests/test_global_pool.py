import pytest
import torch
import torch.nn.functional as F

from shiftlab.core.shifts import shift_grid
from shiftlab.measure.equivariance import invariance_error, make_conv
from shiftlab.measure.global_pool import global_sum, relative_sum_change, tiny_classifier


def test_global_sum_is_exactly_invariant_for_unstrided_circular_conv():
    conv = make_conv(1, 8, 5, "circular")
    x = torch.rand(3, 1, 16, 16)
    res = relative_sum_change(lambda t: F.relu(conv(t)), x, shift_grid(3), "circular")
    assert res.change.shape == (49, 3, int(res.live.sum()))
    assert res.change.max() < 1e-5


def test_stride_breaks_global_sum_invariance_for_odd_shifts_only():
    conv = make_conv(1, 8, 5, "circular", stride=2)
    x = torch.rand(3, 1, 16, 16)
    shifts = torch.tensor([[2, 0], [0, 2], [1, 0], [0, 1]])
    res = relative_sum_change(lambda t: F.relu(conv(t)), x, shifts, "circular")
    change = res.change.amax(dim=(1, 2))
    assert change[:2].max() < 1e-5
    assert change[2:].min() > 1e-3


def test_relative_change_is_finite_with_a_silent_image_and_skips_dead_channels():
    # channel 0 is the image, channel 1 is dead everywhere; image 0 is all black, so its own
    # sum is zero: the old per-image ratio exploded there, the per-channel scale does not
    f = lambda t: torch.cat([t, torch.zeros_like(t)], dim=1)  # noqa: E731
    x = torch.zeros(2, 1, 6, 6)
    x[1, 0, 1:3, 1:3] = 1.0
    x[0, 0, 0, 0] = 0.0
    res = relative_sum_change(f, x, torch.tensor([[1, 0]]), "zero")
    assert res.live.tolist() == [True, False] and res.n_dead == 1
    assert res.scale.tolist() == [2.0]  # mean |sum| over the two images: (0 + 4) / 2
    assert torch.isfinite(res.change).all() and res.change.shape == (1, 2, 1)
    with pytest.raises(ValueError, match="dead"):
        relative_sum_change(lambda t: torch.zeros_like(t), x, torch.tensor([[1, 0]]))


def test_global_sum_shape_and_error():
    assert global_sum(torch.ones(2, 3, 4, 5)).tolist() == [[20.0] * 3] * 2
    with pytest.raises(ValueError):
        global_sum(torch.ones(3, 4, 5))
    with pytest.raises(ValueError):
        relative_sum_change(lambda t: t, torch.ones(1, 1, 4, 4), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError):
        relative_sum_change(lambda t: t, torch.ones(1, 1, 4, 4), torch.zeros(0, 2, dtype=torch.long))
    with pytest.raises(ValueError):
        relative_sum_change(lambda t: t, torch.ones(0, 1, 4, 4), torch.zeros(1, 2, dtype=torch.long))


def test_gap_head_is_invariant_fc_head_is_not():
    x = torch.rand(4, 1, 28, 28)
    gap = tiny_classifier("gap")
    fc = tiny_classifier("fc")
    assert gap(x).shape == fc(x).shape == (4, 10)
    assert invariance_error(gap, x, 5, -3, "circular").max() < 1e-5
    assert invariance_error(fc, x, 5, -3, "circular").max() > 1e-3
    strided = tiny_classifier("gap", stride=2)
    assert invariance_error(strided, x, 2, 0, "circular").max() < 1e-5
    assert invariance_error(strided, x, 1, 0, "circular").max() > 1e-4
    with pytest.raises(ValueError):
        tiny_classifier("attention")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        tiny_classifier(stride=0)
