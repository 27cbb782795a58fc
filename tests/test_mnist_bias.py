"""Centres of mass and re-centring."""

import numpy as np
import pytest
import torch

import shiftlab
from shiftlab.measure import centring as mb
from shiftlab.viz import bias_plots


def _dot(x: int, y: int, size: int = 28) -> torch.Tensor:
    img = torch.zeros(1, 1, size, size)
    img[0, 0, y, x] = 1.0
    return img


def test_centre_of_mass_of_simple_images():
    assert mb.centre_of_mass(_dot(5, 7)).tolist() == [[5.0, 7.0]]
    two = _dot(2, 3) + 3 * _dot(6, 3)  # weights 1 and 3 -> x = (2 + 18) / 4 = 5
    assert mb.centre_of_mass(two)[0].tolist() == [5.0, 3.0]
    assert mb.centre_offsets(torch.ones(2, 1, 28, 28)).abs().max() < 1e-12  # symmetric: the field centre


def test_shift_moves_the_centre_by_exactly_the_shift():
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(16, 1, 28, 28)
    x[:, :, 9:19, 9:19] = torch.rand(16, 1, 10, 10, generator=g)
    dx, dy = torch.randint(-5, 6, (16,), generator=g), torch.randint(-5, 6, (16,), generator=g)
    moved = mb.centre_of_mass(shiftlab.translate(x, dx, dy))
    assert torch.allclose(moved - mb.centre_of_mass(x), torch.stack([dx, dy], 1).double(), atol=1e-9)


def test_recenter_undoes_shifts():
    g = torch.Generator().manual_seed(1)
    x = torch.zeros(8, 1, 28, 28)
    x[:, :, 10:18, 11:17] = torch.rand(8, 1, 8, 6, generator=g) + 0.1
    base, _, _ = mb.recenter(x, (14.0, 14.0))
    dx, dy = torch.randint(-6, 7, (8,), generator=g), torch.randint(-6, 7, (8,), generator=g)
    back, sx, sy = mb.recenter(shiftlab.translate(x, dx, dy), (14.0, 14.0))
    assert torch.equal(back, base)  # nothing left the frame: exactly the same images
    assert (mb.centre_of_mass(back) - 14).abs().max() <= 0.5
    assert sx.dtype == torch.long and sy.shape == (8,)
    same, zx, zy = mb.recenter(_dot(14, 14), (14.0, 14.0))
    assert torch.equal(same, _dot(14, 14)) and zx.item() == 0 and zy.item() == 0


def test_mnist_digits_are_centred_to_half_a_pixel():
    imgs = shiftlab.load_mnist("train", limit=2000).images
    com = mb.centre_of_mass(imgs)
    assert (com - 14.0).abs().max() <= 0.5 + 1e-9  # LeCun's centring: every centre within pixel (14, 14)
    assert mb.shift_to_radius(mb.centre_offsets(imgs)).max() <= 1.0 + 1e-9


def test_histogram_and_radius():
    offsets = np.array([[0.1, 0.2], [-3.0, 1.0], [2.5, -2.6]])
    h, edges = mb.com_histogram(offsets, max_offset=4, bins_per_pixel=2)
    assert h.shape == (16, 16) and edges.shape == (17,) and h.sum() == pytest.approx(1.0)
    assert mb.shift_to_radius(offsets).tolist() == [0.2, 3.0, 2.6]


def test_errors():
    with pytest.raises(ValueError):
        mb.centre_of_mass(torch.zeros(2, 1, 28, 28))  # no ink
    with pytest.raises(ValueError):
        mb.centre_of_mass(-_dot(3, 3))
    with pytest.raises(ValueError):
        mb.centre_of_mass(torch.ones(2, 3, 8, 8))
    with pytest.raises(TypeError):
        mb.centre_of_mass(np.ones((1, 8, 8)))
    with pytest.raises(ValueError):
        mb.recenter(_dot(3, 3), (1.0, 2.0, 3.0))
    with pytest.raises(ValueError):
        mb.com_histogram(np.zeros((0, 2)))


def test_ink_frequency():
    x = torch.cat([_dot(1, 2), _dot(1, 2), _dot(5, 5), torch.zeros(1, 1, 28, 28)])
    f = mb.ink_frequency(x)
    assert f.shape == (28, 28) and f[2, 1] == 0.5 and f[5, 5] == 0.25 and f.sum() == 0.75
    with pytest.raises(ValueError):
        mb.ink_frequency(torch.zeros(0, 1, 28, 28))


def test_centring_figure_fits_the_text_column():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    imgs = torch.zeros(20, 1, 28, 28)
    imgs[:, :, 12:16, 12:16] = 1.0
    r = np.arange(9)
    fig = bias_plots.plot_centring(imgs, imgs, {"model A": (r, np.linspace(1, 0.1, 9))})
    assert fig.get_size_inches()[0] <= 8 and len([a for a in fig.axes if a.get_visible()]) >= 4
    plt.close(fig)
