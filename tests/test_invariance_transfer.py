"""Biscione & Bowers' sequential protocol (chapter 11): the frozen run changes only its new
readout, the fine-tuned run starts from the pretrained weights, scratch from fresh ones; every
run is cached; the summaries are the maps' means; bad settings fail clearly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shiftlab.studies import invariance_transfer as it
from shiftlab.studies.learned_invariance import CENTRE, FAR, chebyshev_distance

TINY = it.TransferSettings(seeds=(0, 1), pretrain_epochs=2, epochs=1, train_limit=400, test_size=10,
                           val_size=40, step=14, channels=(2, 4), hidden=8, target=None)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SHIFTLAB_CACHE", str(tmp_path_factory.mktemp("cache")))
    captured: list = []
    real = it._train

    def spy(model, params, *args, **kwargs):
        before = {k: v.detach().clone() for k, v in model.state_dict().items()}
        hist = real(model, params, *args, **kwargs)
        captured.append((args[3], args[2] == it.EVERYWHERE, before,
                         {k: v.detach().clone() for k, v in model.state_dict().items()}, len(params)))
        return hist

    mp.setattr(it, "_train", spy)
    try:
        yield it.run_transfer(TINY, progress=False), captured
    finally:
        mp.undo()


def test_every_head_seed_and_mode_is_run(runs):
    res, captured = runs
    assert set(res.maps) == {(m, h) for m in it.MODES for h in ("fc", "gap")}
    assert all(v.shape == (2, 9) for v in res.maps.values())            # seeds x 3x3 positions
    assert len(captured) == 2 * 2 * (1 + 3)                              # heads x seeds x (pretrain + modes)
    assert [len(c) for c in res.curves("fc")] == [TINY.pretrain_epochs] * 2   # no target: every epoch
    assert all(0 <= v <= 1 for c in res.curves("gap") + res.curves("gap", "scratch") for v in c)


def test_frozen_changes_only_the_new_readout(runs):
    _, captured = runs
    frozen = [c for c in captured if c[4] == 2]                          # weight and bias of the readout
    assert len(frozen) == 4
    for _, _, before, after, _ in frozen:
        changed = {k for k in before if not torch.equal(before[k], after[k])}
        readout = max(int(k.split(".")[1]) for k in before if k.startswith("head."))
        assert changed == {f"head.{readout}.weight", f"head.{readout}.bias"}    # not even the BN statistics


def test_fine_tuned_starts_from_the_pretrained_body(runs):
    _, captured = runs
    pre = [c for c in captured if c[1]]                                  # pretraining: everywhere
    tuned = [c for c in captured if not c[1] and c[4] > 2]
    starts = [c[2] for c in tuned]
    ends = [c[3] for c in pre]
    matched = sum(any(torch.equal(s["features.0.weight"], e["features.0.weight"]) for e in ends) for s in starts)
    assert matched == 4                      # fine-tuned (2 heads x 2 seeds) start where pretraining ended
    assert len(tuned) == 8                   # and scratch (the other 4) starts elsewhere


def test_summaries_are_the_means_of_the_maps(runs):
    res, _ = runs
    d = chebyshev_distance(res.positions, CENTRE)
    for key in res.maps:
        s = res.summary(*key)
        per_seed = res.maps[key][:, d >= FAR].mean(axis=1)
        assert s["far"][0] == pytest.approx(per_seed.mean()) and s["far"][1] == pytest.approx(per_seed.std(ddof=1))
        assert s["trained"][0] == pytest.approx(res.maps[key][:, d == 0].mean())
    assert res.markdown().count("\n") == 2 + 6 - 1


def test_runs_are_cached(runs, monkeypatch):
    res, _ = runs
    monkeypatch.setattr(it, "_train", lambda *a, **k: pytest.fail("retrained a cached run"))
    again = it.run_transfer(TINY, progress=False)
    for key in res.maps:
        assert np.array_equal(again.maps[key], res.maps[key])


@pytest.mark.parametrize("kw", [dict(seeds=()), dict(heads=("mlp",)), dict(epochs=0), dict(train_limit=5),
                                dict(lr=0.0), dict(seeds=(1, 1)), dict(pretrain_region=(0, 29, 0, 0)),
                                dict(pretrain_region=(5, 4, 0, 0))])
def test_bad_settings_fail_clearly(kw):
    with pytest.raises(ValueError):
        it.TransferSettings(**kw)


def test_evaluate_new_classes_counts_per_position():
    class Always(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return torch.tensor([[0.0, 1, 0, 0, 0]]).expand(x.shape[0], 5) + 0 * self.w

    x, y = torch.zeros(4, 1, 28, 28), torch.tensor([1, 1, 0, 3])
    acc = it.evaluate_new_classes(Always(), x, y, torch.tensor([[0, 0], [28, 28]]))
    assert acc.tolist() == [0.5, 0.5]
    with pytest.raises(ValueError):
        it.evaluate_new_classes(Always(), x[:0], y[:0], torch.tensor([[0, 0]]))


def test_the_figure_fits_the_page_and_plots_the_maps(runs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from shiftlab.viz.plotting import BOOK_WIDTH
    from shiftlab.viz.transfer_plots import plot_transfer

    res, _ = runs
    fig = plot_transfer(res)
    assert fig.get_size_inches()[0] <= BOOK_WIDTH + 1e-9
    assert all(ax.get_xlabel() and ax.get_ylabel() and ax.get_title() for ax in fig.axes)
    frozen_fc = fig.axes[1].lines[0]
    d = chebyshev_distance(res.positions, CENTRE)
    assert np.allclose(frozen_fc.get_ydata()[0], res.maps[("frozen", "fc")].mean(0)[d == 0].mean())
    plt.close(fig)


def test_the_pretraining_region_control_pretrains_there_and_is_cached_apart(monkeypatch, tmp_path):
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path))
    regions: list = []
    real = it._train

    def spy(model, params, x, y, region, *args, **kwargs):
        regions.append(region)
        return real(model, params, x, y, region, *args, **kwargs)

    monkeypatch.setattr(it, "_train", spy)
    small = dict(seeds=(0,), heads=("gap",), pretrain_epochs=1, epochs=1, train_limit=200, test_size=5,
                 val_size=20, step=28, channels=(2, 2), hidden=4, target=None)
    it.run_transfer(it.TransferSettings(**small, pretrain_region=CENTRE), progress=False)
    assert regions == [CENTRE] * 4                        # pretraining at the centre, then the three modes
    default = it.TransferSettings(**small)
    assert "pretrain_region" not in default._meta()       # keys of the protocol's runs do not change
    assert it.TransferSettings(**small, pretrain_region=CENTRE)._meta()["pretrain_region"] == list(CENTRE)
    regions.clear()
    it.run_transfer(default, progress=False)              # not taken from the control's cache
    assert regions == [it.EVERYWHERE] + [CENTRE] * 3
