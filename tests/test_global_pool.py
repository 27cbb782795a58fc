import pytest
import torch
import torch.nn.functional as F

from shiftlab.equivariance import invariance_error, make_conv
from shiftlab.global_pool import global_sum, relative_sum_change, tiny_classifier
from shiftlab.shifts import shift_grid


def test_global_sum_is_exactly_invariant_for_unstrided_circular_conv():
    conv = make_conv(1, 8, 5, "circular")
    x = torch.rand(3, 1, 16, 16)
    change = relative_sum_change(lambda t: F.relu(conv(t)), x, shift_grid(3), "circular")
    assert change.shape == (49, 3, 8)
    assert change.max() < 1e-5


def test_stride_breaks_global_sum_invariance_for_odd_shifts_only():
    conv = make_conv(1, 8, 5, "circular", stride=2)
    x = torch.rand(3, 1, 16, 16)
    shifts = torch.tensor([[2, 0], [0, 2], [1, 0], [0, 1]])
    change = relative_sum_change(lambda t: F.relu(conv(t)), x, shifts, "circular").amax(dim=(1, 2))
    assert change[:2].max() < 1e-5
    assert change[2:].min() > 1e-3


def test_global_sum_shape_and_error():
    assert global_sum(torch.ones(2, 3, 4, 5)).tolist() == [[20.0] * 3] * 2
    with pytest.raises(ValueError):
        global_sum(torch.ones(3, 4, 5))
    with pytest.raises(ValueError):
        relative_sum_change(lambda t: t, torch.ones(1, 1, 4, 4), torch.zeros(3, dtype=torch.long))


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
