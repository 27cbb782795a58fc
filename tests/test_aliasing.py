import math

import pytest
import torch

from shiftlab.measure import sampling as al


def test_subsample_phases_and_errors():
    x = torch.arange(10.0)
    assert al.subsample_1d(x, 2, 1).tolist() == [1, 3, 5, 7, 9]
    assert al.subsample_1d(x, 3).tolist() == [0, 3, 6, 9]
    with pytest.raises(ValueError):
        al.subsample_1d(x, 2, 2)
    with pytest.raises(ValueError):
        al.subsample_1d(x, 0)


@pytest.mark.parametrize("size", range(1, 8))
def test_lowpass_preserves_sum_and_constants(size):
    x = torch.randn(3, 32, dtype=torch.float64)
    y = al.lowpass_1d(x, size)
    assert torch.allclose(y.sum(-1), x.sum(-1))
    c = torch.full((16,), 2.0, dtype=torch.float64)
    assert torch.allclose(al.lowpass_1d(c, size), c)


def test_lowpass_kernel_by_hand():
    x = torch.zeros(8, dtype=torch.float64)
    x[3] = 1
    assert al.lowpass_1d(x, 3).tolist() == [0, 0, 0.25, 0.5, 0.25, 0, 0, 0]


def test_fourier_shift_integer_is_a_roll():
    y = torch.randn(16, dtype=torch.float64)
    assert torch.allclose(al.fourier_shift_1d(y, 3), torch.roll(y, 3))
    img = torch.randn(8, 8, dtype=torch.float64)
    assert torch.allclose(al.fourier_shift_2d(img, 2, -1), torch.roll(img, (-1, 2), (0, 1)))


def test_band_limited_signal_is_shiftable():
    low = al.two_tone(64, low=3 / 64, high_amp=0.0)  # one tone far below the new Nyquist frequency
    assert al.shiftability_error_1d(low, 2, 1) < 1e-10


def test_aliased_signal_is_not_shiftable_and_blur_helps():
    x = al.two_tone(64, low=3 / 64, high=26 / 64)
    errs = [float(al.shiftability_error_1d(x, 2, s)) for s in (1, 3, 5, 7)]
    assert errs[0] > 0.5
    assert errs == sorted(errs, reverse=True) and errs[-1] < 0.05
    y0, y1 = al.shift_subsample_1d(x, 1, 2, 1)
    assert al.relative_change(y0, y1) > 0.5


def test_phase_sums_constant_with_binomial_filters_only():
    x = torch.relu(al.two_tone(64))
    s1 = al.phase_sums_1d(x, 2, 1)
    assert not torch.isclose(s1[0], s1[1], rtol=1e-3)
    for size in (2, 3, 5):
        s = al.phase_sums_1d(x, 2, size)
        assert torch.isclose(s[0], s[1], rtol=1e-12)


def test_zone_plate():
    z = al.zone_plate(32)
    assert z.shape == (32, 32) and 0 <= float(z.min()) and float(z.max()) <= 1
    assert z[16, 16] == 1.0
    with pytest.raises(ValueError):
        al.zone_plate(2)


def test_two_tone_checks():
    with pytest.raises(ValueError):
        al.two_tone(64, high=0.7)
    assert al.two_tone(8).shape == (8,)
    assert math.isclose(float(al.two_tone(8)[0]), 1.6)


def test_2d_shapes_even_shift_and_blur():
    z = al.zone_plate(32, dtype=torch.float64)
    y0, y1 = al.shift_subsample_2d(z, (2, 0), 2, 1)
    assert y0.shape == (16, 16)
    assert torch.equal(y1, torch.roll(y0, 1, -1))  # an even shift just moves the subsampled image
    batch = torch.stack([z, z.T])[:, None]
    y0, _ = al.shift_subsample_2d(batch, (1, 1), 2, 3)
    assert y0.shape == (2, 1, 16, 16)
    errs = [float(al.shiftability_error_2d(z, (1, 0), 2, s)) for s in (1, 3, 5)]
    assert errs[0] > 0.3 and errs == sorted(errs, reverse=True)
    with pytest.raises(ValueError):
        al.shift_subsample_2d(torch.zeros(1, 1, 1, 4, 4))
