"""The learned-invariance study (chapter 11) on a tiny budget: every condition x head x seed is
run and cached, the summaries are the means of the maps, the glued names are the chapter's, the
learning curves are the runs' histories; its two figures fit the page."""

from __future__ import annotations

import numpy as np
import pytest

from shiftlab.core import glue as glue_mod
from shiftlab.studies import learned_invariance as li

TINY = li.InvarianceSettings(seeds=(0, 1), conditions=("centre", "everywhere", "joint"), train_size=300,
                             val_size=40, epochs=2, target=None, test_size=20, step=14, channels=(2, 4), hidden=8)


@pytest.fixture(scope="module")
def res(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SHIFTLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    try:
        yield li.run_learned_invariance(TINY, progress=False)
    finally:
        mp.undo()


def test_every_run_is_there_with_its_curve(res):
    assert set(res.counts) == {(c, h) for c in TINY.conditions for h in TINY.heads}
    assert all(v.shape == (2, 9, 10) for v in res.counts.values())      # seeds x 3x3 positions x classes
    assert res.epochs_run("everywhere", "fc") == [2, 2]                  # no target: every epoch
    assert all(0 <= a <= 1 for c in res.curves("joint", "gap") for a in c)
    with pytest.raises(KeyError):
        res.curves("left", "fc")


def test_summaries_are_means_of_the_maps_and_regions_are_the_conditions(res):
    maps = res.maps("centre", "fc")
    d = li.chebyshev_distance(res.positions, li.CENTRE)
    s = res.summary("centre", "fc")
    assert s["all"][0] == pytest.approx(maps.mean.mean())
    assert s["far"][0] == pytest.approx(maps.mean.ravel()[d >= li.FAR].mean())
    assert np.isnan(res.summary("everywhere", "gap")["far"][0])         # no position is far from everywhere
    assert res.region("joint", li.HIGH) == li.CENTRE and res.region("joint", li.LOW) == li.EVERYWHERE
    with pytest.raises(ValueError):
        res.region("joint", None)                                       # two regions: ask per half
    assert ("joint", li.HIGH) in res.rows() and ("centre", li.HIGH) in res.rows()
    assert res.markdown().count("\n") == 1 + len(res.table())


def test_glue_names_the_chapter_uses(res, monkeypatch):
    glued: dict[str, tuple[float, str | None]] = {}
    monkeypatch.setattr(li, "glue", lambda name, value, kind=None: glued.__setitem__(name, (value, kind)))
    res.glue("li")
    for name in ("li_centre_fc_far", "li_joint_59_fc_far", "li_centre_59_fc_far", "li_joint_gain_fc",
                 "li_everywhere_gap_all", "li_epochs_everywhere_fc", "li_val_joint_gap", "li_first_centre_fc",
                 "li_seeds", "li_max_epochs", "li_positions"):
        assert name in glued, name
    assert "li_everywhere_fc_far" not in glued                          # nan cells are not glued
    first = np.mean([c[0] for c in res.curves("centre", "fc")])
    assert glued["li_first_centre_fc"][0] == pytest.approx(first)
    assert glued["li_positions"][0] == 9 and glued["li_seeds"][0] == 2
    for name, (value, kind) in glued.items():                           # each passes its kind's check
        glue_mod.glue(name, value, kind=kind)


def test_runs_are_cached(res, monkeypatch):
    monkeypatch.setattr(li, "train_canvas_model", lambda *a, **k: pytest.fail("retrained a cached run"))
    again = li.run_learned_invariance(TINY, progress=False)
    assert again.from_cache
    for key in res.counts:
        assert np.array_equal(again.counts[key], res.counts[key])


def test_the_figures_fit_the_page(res):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from shiftlab.viz.beyond_plots import plot_accuracy_maps, plot_learning_curves
    from shiftlab.viz.plotting import BOOK_WIDTH

    fig = plot_accuracy_maps(res, [("centre", None, "centre"), ("everywhere", None, "everywhere")])
    assert fig.get_size_inches()[0] <= BOOK_WIDTH + 1e-9
    boxes = [sum(isinstance(p, Rectangle) for p in ax.patches) for ax in fig.axes[:4]]
    assert boxes == [1, 1, 0, 0]                      # no dashed box where the region is the whole grid
    plt.close(fig)
    fig = plot_learning_curves(res)
    assert len(fig.axes) == 3 and fig.get_size_inches()[0] <= BOOK_WIDTH + 1e-9
    assert len(fig.axes[1].lines) == 2 * 2            # two seeds per head (no target line: target None)
    plt.close(fig)
