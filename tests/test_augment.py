import pytest
import torch

from shiftlab.core.shifts import translate
from shiftlab.train.augment import random_shift, sample_shifts


def test_shift_range_and_distribution():
    g = torch.Generator().manual_seed(0)
    dx, dy = sample_shifts(20000, 0.1, 28, generator=g)
    assert dx.dtype == torch.long and dx.shape == (20000,)
    assert set(dx.tolist()) == set(range(-3, 4)) == set(dy.tolist())
    # round(U[-2.8, 2.8]): P(+-3) = 0.3/5.6 each, P(k) = 1/5.6 for |k| <= 2
    p3 = (dx.abs() == 3).float().mean().item()
    p0 = (dx == 0).float().mean().item()
    assert abs(p3 - 0.6 / 5.6) < 0.01 and abs(p0 - 1 / 5.6) < 0.01
    # the axes are drawn independently
    assert abs(torch.corrcoef(torch.stack([dx.float(), dy.float()]))[0, 1].item()) < 0.03


def test_zero_fraction_means_no_shift():
    dx, dy = sample_shifts(100, 0.0, 28)
    assert (dx == 0).all() and (dy == 0).all()
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(random_shift(x, 0.0), x)


def test_random_shift_is_batched_translate():
    x = torch.rand(64, 1, 28, 28)
    out = random_shift(x, 0.1, generator=torch.Generator().manual_seed(3))
    dx, dy = sample_shifts(64, 0.1, 28, generator=torch.Generator().manual_seed(3))
    assert torch.equal(out, translate(x, dx, dy, "zero"))
    # each image really moved by its own shift (not one shift for the batch)
    assert len(set(zip(dx.tolist(), dy.tolist()))) > 10
    i = int(torch.nonzero((dx == 2) & (dy == -1))[0]) if ((dx == 2) & (dy == -1)).any() else 0
    assert torch.equal(out[i], translate(x[i], int(dx[i]), int(dy[i])))


def test_reproducible_and_seed_dependent():
    x = torch.rand(32, 1, 28, 28)
    a = random_shift(x, generator=torch.Generator().manual_seed(1))
    b = random_shift(x, generator=torch.Generator().manual_seed(1))
    c = random_shift(x, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_mass_is_kept_when_content_stays_inside():
    x = torch.zeros(16, 1, 28, 28)
    x[..., 8:20, 8:20] = 1.0
    out = random_shift(x, 0.1, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(out.sum((1, 2, 3)), x.sum((1, 2, 3)))


def test_errors():
    with pytest.raises(ValueError):
        sample_shifts(-1, 0.1, 28)
    with pytest.raises(ValueError):
        sample_shifts(4, 1.5, 28)
    with pytest.raises(ValueError):
        random_shift(torch.rand(28, 28))
