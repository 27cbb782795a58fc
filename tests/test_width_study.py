"""The width study (issue 12): widths flow into the models and the cache, the gaps are the
differences of the per-width tables, bad input fails clearly, and the figure is book-sized."""

from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from shiftlab.studies import width_study as ws
from shiftlab.studies.mnist_pooling import MnistSettings
from shiftlab.viz.plotting import BOOK_WIDTH
from shiftlab.viz.width_plots import plot_width_study

TINY = MnistSettings(seeds=(0, 1), epochs=1, train_size=200, test_size=100, grid_size=10)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SHIFTLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    try:
        yield ws.run_width_study(TINY, widths=[(1, 2), (2, 3)], hidden=8, progress=False)
    finally:
        mp.undo()


def test_each_width_trains_its_own_networks(study):
    assert study.widths == [(1, 2), (2, 3)] and study.n_seeds == 2
    for w, r in study.results.items():
        assert r.settings.channels == w and r.settings.hidden == 8
        assert len(r.runs) == 2 * 2 * 3                       # seeds x augment x models
        assert r.settings.max_shift == ws.STUDY_MAX_SHIFT == 3 and TINY.max_shift == 8
        assert all(x.grid.as_image(x.grid.accuracy).shape == (7, 7) for x in r.runs)


def test_the_small_grid_gives_the_numbers_of_the_large_one(study):
    """Same digits, same shifts: the study's columns equal run_mnist's with the 17 x 17 grid."""
    from shiftlab.studies.mnist_pooling import run_mnist

    w = (1, 2)
    big = run_mnist(dataclasses.replace(TINY, channels=w, hidden=8), progress=False)
    assert big.settings.max_shift == 8
    for a, b in zip(big.runs, study.results[w].runs, strict=True):
        assert (a.model, a.augment, a.seed) == (b.model, b.augment, b.seed)
        assert a.columns == pytest.approx(b.columns, abs=1e-12)


def test_columns_and_gaps_are_the_per_width_tables(study):
    for aug in (False, True):
        mu, sd = study.column("C", aug)
        for i, r in enumerate(study.results.values()):
            assert (mu[i], sd[i]) == r.table(aug)["C"]["shift"]
            d, se = study.gap("C", "A", aug)
            a = np.array([x.columns["shift"] for x in r.select("A", aug)])
            c = np.array([x.columns["shift"] for x in r.select("C", aug)])
            assert d[i] == pytest.approx(c.mean() - a.mean(), abs=1e-12)
            assert se[i] == pytest.approx(np.sqrt(a.var(ddof=1) / 2 + c.var(ddof=1) / 2), abs=1e-12)


def test_markdown_has_a_row_per_width(study):
    lines = study.markdown().splitlines()
    assert lines[0] == "| conv widths | A | B | C | C - A | B - A |"
    assert [ln.split(" | ")[0] for ln in lines[2:]] == ["| 1/2", "| 2/3"]
    assert all(ln.count("±") == 5 for ln in lines[2:])       # two seeds: spreads everywhere
    study.glue("wtest")                                       # every glued number passes its kind


def test_cached_models_are_reused(study, monkeypatch, tmp_path):
    from shiftlab.train import trainer

    def boom(*a, **k):
        raise AssertionError("the second run must come from the cache")

    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path))
    one = MnistSettings(seeds=(0,), epochs=1, train_size=100, test_size=50, grid_size=5)
    first = ws.run_width_study(one, widths=[(1, 2)], hidden=4, progress=False)
    monkeypatch.setattr(trainer, "train_model", boom)
    again = ws.run_width_study(one, widths=[(1, 2)], hidden=4, progress=False)
    assert again.results[(1, 2)].table(False) == first.results[(1, 2)].table(False)
    assert "±" not in again.markdown()                        # one seed: no spread is invented


@pytest.mark.parametrize("widths", [[], [(1, 2), (1, 2)], [(0, 2)], [(1, 2, 3)], [(1.5, 2)], [(True, 2)]])
def test_bad_widths_raise(widths):
    with pytest.raises(ValueError, match="width"):
        ws.run_width_study(TINY, widths=widths, progress=False)


def test_bad_hidden_and_names_raise(study):
    with pytest.raises(ValueError, match="hidden"):
        ws.run_width_study(TINY, widths=[(1, 2)], hidden=0, progress=False)
    for bad in (2, 3.5, True):
        with pytest.raises(ValueError, match="max_shift"):
            ws.run_width_study(TINY, widths=[(1, 2)], max_shift=bad, progress=False)
    with pytest.raises(ValueError, match="model"):
        study.column("D", False)
    with pytest.raises(ValueError, match="column"):
        study.column("A", False, "best")
    with pytest.raises(ValueError, match="width"):
        ws.WidthStudy({})


def test_labels_and_defaults(monkeypatch):
    assert ws.width_label((32, 64)) == "32/64"
    monkeypatch.setenv("SHIFTLAB_QUICK", "0")
    assert ws.default_widths() == ws.WIDTHS and ws.WIDTHS[-1] == (32, 64)
    monkeypatch.setenv("SHIFTLAB_QUICK", "1")
    assert len(ws.default_widths()) == 3


def test_figure(study):
    fig = plot_width_study(study)
    try:
        assert fig.get_size_inches()[0] <= BOOK_WIDTH
        axes = fig.get_axes()
        assert len(axes) == 2 and all(ax.get_title() and ax.get_xlabel() and ax.get_ylabel() for ax in axes)
        assert [t.get_text() for t in axes[0].get_xticklabels()] == ["1/2", "2/3"]
        assert "%" in axes[0].get_ylabel() and "points" in axes[1].get_ylabel()
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="column"):
        plot_width_study(study, "best")


def test_a_gap_that_rounds_to_zero_has_no_sign():
    assert ws._signed(-0.0002) == "0.000" and ws._signed(0.0004) == "0.000"
    assert ws._signed(-0.0123) == "-0.012" and ws._signed(0.02) == "+0.020"
