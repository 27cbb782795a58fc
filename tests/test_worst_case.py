"""Worst-case accuracy under shifts (issue 14, Engstrom et al.): the exact orderings of the
three summaries, the nested boxes of :func:`worst_case_curve`, bad input, and a tiny run of
the cached study with its table, glue and figure (in a temporary cache folder).

Complements ``tests/test_beyond.py`` (which checks the basic orderings and the monotone curve).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from shiftlab.core.shifts import shift_grid
from shiftlab.measure.shift_accuracy import shift_predictions
from shiftlab.measure.worst_shift import (
    average_accuracy,
    box_columns,
    worst_case_accuracy,
    worst_case_curve,
    worst_of_random,
)
from shiftlab.nn.mnist_models import make_variant
from shiftlab.studies.mnist_pooling import MnistSettings
from shiftlab.viz.plotting import BOOK_WIDTH

GEN = lambda s=0: torch.Generator().manual_seed(s)  # noqa: E731


@pytest.mark.parametrize("p", [0.0, 0.3, 0.9, 0.99, 1.0])
def test_worst_is_never_above_the_average_nor_the_worst_of_random(p):
    for seed in range(20):
        c = torch.rand(200, 25, generator=GEN(seed)) < p
        worst, avg = worst_case_accuracy(c), average_accuracy(c)
        assert worst <= avg                                           # exact, no tolerance
        for r in (1, 3, 10, 100):
            assert worst <= worst_of_random(c, r, GEN(seed + 1)) <= 1.0
    # rows all right or all wrong: worst == average, and the float summaries agree exactly too
    rows = torch.rand(997, 1, generator=GEN(99)) < p
    c = rows.expand(997, 49)
    assert worst_case_accuracy(c) == average_accuracy(c) == worst_of_random(c, 10, GEN(1))


def test_summaries_by_hand():
    c = torch.tensor([[True, True, True], [True, False, True], [False, False, False], [True, True, True]])
    assert average_accuracy(c) == pytest.approx(8 / 12, abs=1e-7)
    assert worst_case_accuracy(c) == 0.5
    # every digit sees all columns when the draws are many: worst of r -> worst case
    assert worst_of_random(c, 200, GEN(0)) == 0.5
    # one draw is a random shift per digit: its expectation is the average
    big = torch.rand(20000, 9, generator=GEN(3)) < 0.7
    assert worst_of_random(big, 1, GEN(4)) == pytest.approx(average_accuracy(big), abs=0.01)
    # ints and floats of 0/1 are read as booleans
    assert worst_case_accuracy(c.int()) == 0.5


def test_worst_of_random_is_reproducible_with_a_generator():
    c = torch.rand(300, 49, generator=GEN(5)) < 0.95
    assert worst_of_random(c, 10, GEN(7)) == worst_of_random(c, 10, GEN(7))


@pytest.mark.parametrize("bad", [torch.ones(4, dtype=torch.bool), torch.ones(0, 5, dtype=torch.bool),
                                 torch.ones(3, 0, dtype=torch.bool), torch.ones(2, 3, 4, dtype=torch.bool)])
def test_bad_shapes_raise(bad):
    for f in (worst_case_accuracy, average_accuracy, worst_of_random):
        with pytest.raises(ValueError, match="correct"):
            f(bad)


def test_bad_arguments_raise():
    c = torch.ones(3, 4, dtype=torch.bool)
    for n in (0, -1, True, 2.5):
        with pytest.raises(ValueError, match="n_draws"):
            worst_of_random(c, n)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        worst_of_random([[True]])  # type: ignore[arg-type]  # not a tensor
    with pytest.raises(ValueError):
        box_columns(shift_grid(3), -1)


def test_box_columns_are_the_nested_boxes():
    shifts = shift_grid(3)
    sizes = [box_columns(shifts, k).numel() for k in range(4)]
    assert sizes == [1, 9, 25, 49]
    for k in (1, 2):
        inner = set(box_columns(shifts, k).tolist())
        assert inner <= set(box_columns(shifts, k + 1).tolist())
        assert torch.equal(shifts[box_columns(shifts, k)], shift_grid(k))   # same order as the grid


def test_curve_matches_a_direct_evaluation_of_each_box():
    torch.manual_seed(0)
    model = make_variant("C").eval()
    x = torch.rand(25, 1, 28, 28, generator=GEN(1))
    y = torch.randint(0, 10, (25,), generator=GEN(2))
    y[:12] = model(x[:12]).argmax(1)                # some digits right at the centre
    curve = worst_case_curve(model, x, y, ks=(1, 2, 3), n_random=10, seed=0)
    assert sorted(curve) == [1, 2, 3] and set(curve[1]) == {"average", "worst", "random"}
    for k in (1, 2, 3):   # one pass over the k = 3 box gives what k separate grid searches give
        c = shift_predictions(model, x, shift_grid(k)) == y[:, None]
        assert curve[k]["worst"] == worst_case_accuracy(c)
        assert curve[k]["average"] == pytest.approx(average_accuracy(c), abs=1e-12)
        assert curve[k]["worst"] <= curve[k]["random"] and curve[k]["worst"] <= curve[k]["average"]
    worst = [curve[k]["worst"] for k in (1, 2, 3)]
    assert worst == sorted(worst, reverse=True)
    assert worst_case_curve(model, x, y, ks=(1, 2, 3), seed=0) == curve   # seeded: reproducible


def test_curve_rejects_bad_input():
    model = make_variant("C").eval()
    x, y = torch.rand(4, 1, 28, 28), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match="ks"):
        worst_case_curve(model, x, y, ks=())
    with pytest.raises(ValueError, match="ks"):
        worst_case_curve(model, x, y, ks=(0, 1))
    with pytest.raises(ValueError, match="same length"):
        worst_case_curve(model, x, y[:3])


def test_worst_case_study_tiny(monkeypatch, tmp_path):
    """Train two tiny models (with and without augmentation each), evaluate, read back from
    the cache; table, Markdown, glue and figure."""
    from shiftlab.studies import robustness
    from shiftlab.viz.beyond_plots import plot_worst_case

    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path))
    s = MnistSettings(seeds=(0,), epochs=1, train_size=300, test_size=100, grid_size=20,
                      channels=(4, 8), hidden=64)
    r = robustness.run_worst_case(s, models=("C", "APS-C"), progress=False)
    assert r.n_digits == 20 and list(r.values) == ["C", "C+aug", "APS-C", "APS-C+aug"]
    t = r.table()
    for m in t:
        assert sorted(t[m]) == [1, 2, 3]
        for k in (1, 2, 3):
            assert t[m][k]["worst"][0] <= t[m][k]["random"][0] and t[m][k]["worst"][0] <= t[m][k]["average"][0]
            assert t[m][k]["worst"][1] == 0.0                       # one seed: no spread
        assert [t[m][k]["worst"][0] for k in (1, 2, 3)] == sorted((t[m][k]["worst"][0] for k in (1, 2, 3)),
                                                                     reverse=True)
    md = r.markdown(3)
    assert md.splitlines()[0].startswith("| model | average | worst of 10 random | worst case")
    assert len(md.splitlines()) == 2 + 4 and "| APS-C+aug |" in md
    r.glue("wctest")                                                # every number passes its kind check

    def boom(*a, **k):
        raise AssertionError("the second run must come from the cache")

    monkeypatch.setattr(robustness, "worst_case_curve", boom)
    again = robustness.run_worst_case(s, models=("C", "APS-C"), progress=False)
    assert again.values == r.values
    assert len(list((tmp_path / "robustness").glob("worst_*.pt"))) == 4

    fig = plot_worst_case(r)
    try:
        assert fig.get_size_inches()[0] <= BOOK_WIDTH
        axes = fig.get_axes()
        assert len(axes) == 2 and all(ax.get_xlabel() and ax.get_title() for ax in axes)
        assert "%" in axes[0].get_ylabel()
        assert list(axes[0].get_xticks()) == [1, 2, 3]              # integer ticks on the k axis
    finally:
        plt.close(fig)
