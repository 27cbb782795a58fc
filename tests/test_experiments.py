import dataclasses
import json
import os

import numpy as np
import pytest

from shiftlab.studies.mnist_pooling import (
    ARTICLE,
    HEADLINE_HIDDEN,
    HEADLINE_WIDTH,
    NARROW_HIDDEN,
    NARROW_WIDTH,
    MnistResults,
    MnistSettings,
    grid_subset,
    run_mnist,
)
from shiftlab.tools.cli import build_parser

TINY = MnistSettings(seeds=(0, 1), epochs=1, train_size=256, test_size=200, grid_size=8, max_shift=3,
                     channels=(4, 8), hidden=16)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SHIFTLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    try:
        first = run_mnist(TINY, device="cpu", progress=False)
        second = run_mnist(TINY, device="cpu", progress=False)  # everything from the cache
    finally:
        mp.undo()
    return first, second


def test_six_configurations_times_seeds(results):
    res, again = results
    assert len(res.runs) == 12
    assert {(r.model, r.augment) for r in res.runs} == {(m, a) for m in "ABC" for a in (False, True)}
    for r1, r2 in zip(res.runs, again.runs):
        assert r1.columns == r2.columns and np.array_equal(r1.grid.accuracy, r2.grid.accuracy)
    assert again.seconds < res.seconds


def test_tables_mean_std(results):
    res, _ = results
    t = res.table(False)
    assert set(t) == {"A", "B", "C"} and set(t["A"]) == {"default", "shift min", "shift"}
    vals = [r.columns["shift"] for r in res.select("B", False)]
    assert t["B"]["shift"][0] == pytest.approx(np.mean(vals))
    assert t["B"]["shift"][1] == pytest.approx(np.std(vals, ddof=1))
    text = res.format_tables()
    assert "[0.686]" in text and "[0.983]" in text and text.count("[0.") == 18
    assert res.mean_grid("C", True).shape == (7, 7)


def test_glue_tables_glues_means_spreads_and_differences_to_the_article(results, monkeypatch):
    from shiftlab.studies import mnist_pooling

    res, _ = results
    seen = {}
    monkeypatch.setattr(mnist_pooling, "glue", lambda name, value, kind=None: seen.update({name: (value, kind)}))
    res.glue_tables()
    assert len(seen) == 2 * 3 * 3 * 3  # (no aug, aug) x models x columns x (mean, std, vs article)
    mean, std = res.table(True)["B"]["shift min"]
    assert seen["mnist_aug_B_shiftmin"] == (mean, "accuracy")
    assert seen["mnist_aug_B_shiftmin_std"] == (std, "nonneg")
    assert seen["mnist_aug_B_shiftmin_vs_article"] == (pytest.approx(mean - ARTICLE[True]["B"][1]), "signed")
    assert seen["mnist_noaug_C_shift_vs_article"][0] == pytest.approx(res.table(False)["C"]["shift"][0] - 0.843)


def test_json_roundtrip(results, tmp_path):
    res, _ = results
    p = res.to_json(tmp_path / "r.json")
    d = json.loads(p.read_text())
    assert d["article"]["no_aug"]["A"]["shift"] == ARTICLE[False]["A"][2]
    assert set(d["summary"]) == {"no_aug", "aug"}
    back = MnistResults.from_json(p)
    assert back.settings == res.settings and back.format_tables() == res.format_tables()


def test_settings():
    quick = MnistSettings.default()  # the tests run in quick mode
    assert quick.seeds == (0,) and quick.epochs == 1
    assert (quick.channels, quick.hidden) == (NARROW_WIDTH, NARROW_HIDDEN)  # quick mode stays narrow
    assert MnistSettings.narrow() == quick
    assert (MnistSettings().channels, MnistSettings().hidden) == ((32, 64), 128)  # the headline
    assert MnistSettings.default(seeds=3).seeds == (0, 1, 2)
    assert len(set(grid_subset(TINY).tolist())) == TINY.grid_size
    assert grid_subset(TINY).tolist() == grid_subset(TINY).tolist()
    with pytest.raises(ValueError):
        MnistSettings(seeds=())
    with pytest.raises(ValueError):
        MnistSettings(max_shift=2)


def test_seeds_from_environment(monkeypatch):
    monkeypatch.setenv("SHIFTLAB_QUICK", "0")
    monkeypatch.setenv("SHIFTLAB_MNIST_SEEDS", "2")
    assert MnistSettings.default().seeds == (0, 1) and MnistSettings.default().epochs == 5
    full = MnistSettings.default()
    assert (full.channels, full.hidden) == (HEADLINE_WIDTH, HEADLINE_HIDDEN) == ((32, 64), 128)
    narrow = MnistSettings.narrow()
    assert (narrow.channels, narrow.hidden) == ((4, 8), 64)
    assert dataclasses.replace(narrow, channels=full.channels, hidden=full.hidden) == full
    assert MnistSettings.default(seeds=4).seeds == (0, 1, 2, 3)
    monkeypatch.setenv("SHIFTLAB_MNIST_SEEDS", "two")
    with pytest.raises(ValueError):
        MnistSettings.default()


def test_cli_parser():
    args = build_parser().parse_args(["reproduce", "mnist", "--seeds", "2", "--device", "cpu", "--out", "x.json"])
    assert args.command == "reproduce" and args.experiment == "mnist" and args.seeds == 2


def test_figures_and_slide_view(results):
    import matplotlib.pyplot as plt
    import torch

    from shiftlab.nn.mnist_models import make_model
    from shiftlab.viz import mnist_explorers as mw

    res, _ = results
    figs = [mw.plot_training_curves(res, (False, True)), mw.plot_shift_heatmaps(res, True),
            mw.plot_shift_heatmaps(res, False, "sensitivity"), mw.plot_ring_curves(res, (False, True)),
            mw.plot_sensitivity_maps(res)]
    for fig in figs:
        for ax in fig.axes:
            if ax.get_label() != "<colorbar>":
                assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
        plt.close(fig)
    with pytest.raises(ValueError):
        mw.plot_shift_heatmaps(res, False, "loss")
    models = {m: make_model(m, channels=(4, 8)).eval() for m in "ABC"}
    images, labels = torch.rand(3, 1, 28, 28), torch.tensor([1, 2, 3])
    fig = mw.plot_slide(models, images[0], 1, dx=2, dy=-1)
    assert len(fig.axes) >= 3
    plt.close("all")
    assert mw.slide_explorer(models, images, labels, index=1) is not None
    plt.close("all")
    with pytest.raises(ValueError):
        mw.slide_explorer(models, images, labels, index=5)


def test_gain_and_its_standard_error(results):
    res, _ = results
    c = [r.columns["shift"] for r in res.select("C", False)]
    a = [r.columns["shift"] for r in res.select("A", True)]
    diff, se = res.gain("shift", ("C", False), ("A", True))
    assert diff == pytest.approx(np.mean(c) - np.mean(a))
    assert se == pytest.approx(np.sqrt(np.var(c, ddof=1) / 2 + np.var(a, ddof=1) / 2))
    assert res.gain("shift", ("A", False), ("A", False))[0] == 0.0
    with pytest.raises(ValueError):
        res.gain("accuracy", ("C", False), ("A", False))
    with pytest.raises(KeyError):
        res.gain("shift", ("D", False), ("A", False))


def test_markdown_table_is_narrow(results):
    res, _ = results
    md = res.markdown_table(False).splitlines()
    assert md[0] == "| model | default | shift min | shift |"
    assert all(line.count("|") == 5 for line in md) and len(md) == 5
    assert "(0.686)" in md[2]  # the article's value in brackets beside ours


@pytest.mark.skipif(not os.environ.get("SHIFTLAB_DATA"), reason="needs the course data folder (MNIST)")
def test_run_without_the_cache_needs_no_cache_folder(tmp_path, monkeypatch):
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache"))
    one = MnistSettings(seeds=(0,), epochs=1, train_size=256, test_size=50, grid_size=4, max_shift=3,
                        channels=(4, 8), hidden=16)
    res = run_mnist(one, device="cpu", progress=False, use_cache=False)
    assert len(res.runs) == 6 and (tmp_path / "cache").is_file()
