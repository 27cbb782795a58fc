"""The controls of chapters 05 and 06: the ink split is exact bookkeeping (kept + lost = all,
kept means no ink leaves, the pooled accuracy is the grid's), and the GAP-head control trains
heads of equal size for A, B and C, cached and evaluated with the chapter's protocol."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from shiftlab.core.shifts import shift_grid, translate_grid
from shiftlab.measure.ink import InkSplit, ink_lost_by_shift, ink_split_accuracy
from shiftlab.measure.shift_accuracy import evaluate_shift_grid
from shiftlab.nn.mnist_models import make_model
from shiftlab.studies import mnist_controls as mc
from shiftlab.studies.mnist_pooling import MnistSettings

TINY = MnistSettings(seeds=(0, 1), epochs=1, train_size=200, test_size=100, grid_size=12, channels=(2, 3),
                     hidden=8)


def digits(n: int = 6, seed: int = 0) -> torch.Tensor:
    """Blobs at random places of a 12 x 12 frame, some touching the border."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 1, 12, 12)
    for i in range(n):
        y0, x0 = torch.randint(0, 9, (2,), generator=g).tolist()
        x[i, 0, y0:y0 + 3, x0:x0 + 3] = torch.rand(3, 3, generator=g) + 0.1
    return x


def test_ink_lost_is_zero_exactly_when_the_shifted_image_keeps_its_sum():
    x = digits()
    shifts = shift_grid(4)
    share = ink_lost_by_shift(x, shifts)
    moved = translate_grid(x, shifts, fill="zero")                     # [S, N, 1, H, W]
    kept_sum = moved.sum(dim=(2, 3, 4))
    expect = 1 - kept_sum / x.sum(dim=(1, 2, 3))[None]
    assert share.shape == (shifts.shape[0], x.shape[0])
    assert torch.allclose(share, expect.clamp_min(0), atol=1e-6)
    assert bool(((share == 0) == torch.isclose(kept_sum, x.sum(dim=(1, 2, 3))[None])).all())
    assert bool((share[(shifts == 0).all(1)] == 0).all())


class Fixed(nn.Module):
    """Predicts class 1 when the top-left pixel is dark, else 0: correct or not by position."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dark = (x[:, 0, 0, 0] == 0).float()
        return torch.stack([1 - dark, dark], 1) + 0 * self.w


def test_the_split_adds_up_to_the_grid_accuracy():
    x, y = digits(8), torch.tensor([1, 0, 1, 1, 0, 1, 1, 1])
    model = Fixed()
    split = ink_split_accuracy(model, x, y, max_shift=3)
    grid = evaluate_shift_grid(model, x, y, 3)
    assert np.array_equal(split.shifts, grid.shifts)
    assert np.all(split.kept + split.lost == 8) and split.n_images == 8
    np.testing.assert_allclose((split.kept_correct + split.lost_correct) / 8, grid.accuracy, atol=1e-12)
    assert np.all(split.kept_correct <= split.kept) and np.all(split.lost_correct <= split.lost)
    ring = split.by_ring()
    assert ring["kept_share"][0] == 1 and np.isnan(ring["lost_accuracy"][0])
    assert np.all(np.diff(ring["mean_lost"]) >= 0)                  # larger shifts lose more
    back = InkSplit.from_dict(split.to_dict())
    assert np.array_equal(back.kept, split.kept) and np.allclose(back.mean_lost, split.mean_lost)


@pytest.mark.parametrize("bad", ["shape", "labels", "negative"])
def test_the_split_rejects_bad_input(bad):
    x, y = digits(3), torch.tensor([0, 1, 0])
    if bad == "shape":
        x = x[:2]
    elif bad == "labels":
        y = y.float()
    else:
        x = x - 0.5
    with pytest.raises(ValueError):
        ink_split_accuracy(Fixed(), x, y, 2)


def test_gap_heads_are_the_same_size_for_a_b_and_c():
    s = MnistSettings(channels=(32, 64), hidden=128)
    gap = {m: mc.head_parameters(m, s, "gap") for m in "ABC"}
    fc = {m: mc.head_parameters(m, s, "fc") for m in "ABC"}
    assert gap["A"] == gap["B"] == gap["C"] == 64 * 128 + 128 + 128 * 10 + 10
    assert fc["A"] == 64 * 28 * 28 * 128 + 128 + 1290 and fc["A"] > 15 * fc["C"]
    bodies = {m: sum(p.numel() for p in make_model(m, (32, 64), 128, head="gap").features.parameters())
              for m in "ABC"}
    assert len(set(bodies.values())) == 1                              # pools have no weights


@pytest.fixture(scope="module")
def control(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SHIFTLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    try:
        yield mc.run_head_control(TINY, progress=False), mc.run_ink_control(TINY, models=("A", "C"),
                                                                            augments=(False,), progress=False)
    finally:
        mp.undo()


def test_head_control_runs_every_model_and_seed(control):
    hc, _ = control
    assert sorted((r.model, r.seed) for r in hc.runs) == [(m, s) for m in "ABC" for s in (0, 1)]
    table = hc.table()
    for m in "ABC":
        vals = [r.shift for r in hc.select(m)]
        assert table[m]["shift"][0] == pytest.approx(np.mean(vals))
        assert table[m]["shift"][1] == pytest.approx(np.std(vals, ddof=1))
    d, se = hc.gain("C", "A")
    assert d == pytest.approx(table["C"]["shift"][0] - table["A"]["shift"][0]) and se >= 0
    md = hc.markdown()
    assert md.count("| GAP |") == 3 and "| FC |" not in md                # no reference given
    assert all(0 <= r.consistency <= 100 and r.grid.as_image().shape == (17, 17) for r in hc.runs)


def test_head_control_is_cached(control, monkeypatch):
    hc, _ = control
    from shiftlab.studies import mnist_variants

    monkeypatch.setattr(mnist_variants, "train_model", lambda *a, **k: pytest.fail("retrained a cached model"))
    again = mc.run_head_control(TINY, progress=False)
    assert [r.shift for r in again.runs] == [r.shift for r in hc.runs]


def test_ink_control_covers_its_models_and_seeds(control):
    _, ic = control
    assert set(ic.splits) == {("A", False), ("C", False)}
    assert all(len(v) == 2 for v in ic.splits.values())
    ring = ic.rings("C", False)
    assert ring["kept_share"][0] == 1 and 0 <= ring["kept_share"][8] < ring["kept_share"][1] <= 1


def test_bad_models_are_refused():
    with pytest.raises(ValueError, match="models must be"):
        mc.run_head_control(TINY, models=("D",), progress=False)


def test_control_figures_fit_the_page(control, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from shiftlab.studies.mnist_pooling import run_mnist
    from shiftlab.viz.control_plots import plot_head_control, plot_ink_control
    from shiftlab.viz.plotting import BOOK_WIDTH

    hc, ic = control
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path))
    results = run_mnist(TINY, progress=False)
    for fig in (plot_ink_control(ic, results, models=("A", "C")), plot_head_control(hc, results)):
        assert fig.get_size_inches()[0] <= BOOK_WIDTH + 1e-9
        assert all(ax.get_xlabel() and ax.get_ylabel() and ax.get_title() for ax in fig.axes)
        plt.close(fig)
    fig = plot_ink_control(ic, results, models=("A", "C"))
    kept = fig.axes[1].lines[1].get_ydata()                             # A's ink-kept curve
    assert np.allclose(kept, ic.rings("A", False)["kept_accuracy"], equal_nan=True)
    plt.close(fig)
