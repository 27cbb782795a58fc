"""Position bias: histograms, the chi-square uniformity test and the multiple-testing corrections."""

import math

import numpy as np
import pytest

from shiftlab import position_bias as pb
from shiftlab.boxes import BoxTable, load_synsets


def test_chi2_sf_known_values():
    x = np.array([0.0, 0.5, 2.0, 7.3])
    assert np.allclose(pb.chi2_sf(x, 2), np.exp(-x / 2), rtol=1e-12)  # dof 2: exactly exp(-x/2)
    assert pb.chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-9)
    assert pb.chi2_sf(15.507313055865453, 8) == pytest.approx(0.05, rel=1e-9)
    assert pb.chi2_sf(0.0, 8) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        pb.chi2_sf(-1.0, 3)
    with pytest.raises(ValueError):
        pb.chi2_sf(1.0, 0)


def test_single_test_extremes():
    # exactly uniform: 2 points per cell of a 3 x 3 grid -> statistic 0, p = 1
    c = (np.arange(3) + 0.5) / 3
    xx, yy = np.meshgrid(c, c)
    x, y = np.repeat(xx.ravel(), 2), np.repeat(yy.ravel(), 2)
    r = pb.chi_square_uniformity(x, y, k=3)
    assert r.statistic == 0 and r.p_value == pytest.approx(1.0) and r.dof == 8 and r.n == 18
    assert (r.counts == 2).all()
    # everything in one cell: statistic n (k^2 - 1)
    r = pb.chi_square_uniformity(np.full(50, 0.5), np.full(50, 0.5), k=3)
    assert r.statistic == pytest.approx(50 * 8) and r.p_value < 1e-60
    assert r.counts[1, 1] == 50


def _classes(rng, n_classes=1000, n=50, biased=False):
    if biased:
        x = np.clip(rng.normal(0.5, 0.15, n_classes * n), 0, 1)
        y = np.clip(rng.normal(0.5, 0.15, n_classes * n), 0, 1)
    else:
        x, y = rng.random(n_classes * n), rng.random(n_classes * n)
    return x, y, np.repeat(np.arange(n_classes), n)


def test_uniform_data_is_rejected_at_the_nominal_rate_only():
    rng = np.random.default_rng(1)
    x, y, g = _classes(rng)
    counts = pb.grid_counts(x, y, 3, groups=g, n_groups=1000)
    assert counts.shape == (1000, 9) and (counts.sum(1) == 50).all()
    stat = ((counts - 50 / 9) ** 2 / (50 / 9)).sum(1)
    p = pb.chi2_sf(stat, 8)
    assert 0.03 < (p <= 0.05).mean() < 0.07  # the uncorrected test keeps its level
    assert pb.holm(p).sum() <= 1 and pb.benjamini_hochberg(p).sum() <= 3
    p_mc = pb.monte_carlo_pvalues(stat, counts.sum(1), 9, draws=5000)
    assert 0.03 < (p_mc <= 0.05).mean() < 0.07
    assert np.corrcoef(p, p_mc)[0, 1] > 0.99


def test_biased_data_is_rejected_for_every_class():
    rng = np.random.default_rng(2)
    x, y, g = _classes(rng, biased=True)
    counts = pb.grid_counts(x, y, 3, groups=g, n_groups=1000)
    stat = ((counts - 50 / 9) ** 2 / (50 / 9)).sum(1)
    p = pb.chi2_sf(stat, 8)
    assert pb.holm(p).all() and pb.benjamini_hochberg(p).all()


def test_holm_and_bh_on_a_hand_example():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # Holm: 0.005 <= 0.05/4, 0.01 <= 0.05/3, 0.03 > 0.05/2 -> stop: two rejections
    assert pb.holm(p).tolist() == [True, False, False, True]
    # BH: sorted 0.005, 0.01, 0.03, 0.04 vs 0.0125, 0.025, 0.0375, 0.05 -> all four
    assert pb.benjamini_hochberg(p).all()
    assert not pb.benjamini_hochberg(np.array([0.2, 0.5])).any()
    with pytest.raises(ValueError):
        pb.holm(np.array([0.1, 1.5]))
    with pytest.raises(ValueError):
        pb.benjamini_hochberg(np.array([0.1]), alpha=0)


def _table(xmin, ymin, xmax, ymax, label, size=100):
    syn, names = load_synsets()
    n = len(xmin)
    arr = lambda v: np.asarray(v, dtype=np.int32)  # noqa: E731
    return BoxTable(image=np.arange(1, n + 1, dtype=np.int32), label=np.asarray(label, dtype=np.int16),
                    width=np.full(n, size, np.int32), height=np.full(n, size, np.int32),
                    xmin=arr(xmin), ymin=arr(ymin), xmax=arr(xmax), ymax=arr(ymax), synsets=syn, class_names=names)


def test_per_class_uniformity_on_synthetic_boxes():
    rng = np.random.default_rng(3)
    n = 60
    # class 0: 10 x 10 boxes placed uniformly; class 1: all centred
    x0 = rng.integers(0, 91, n)
    y0 = rng.integers(0, 91, n)
    t = _table(np.r_[x0, np.full(n, 45)], np.r_[y0, np.full(n, 45)], np.r_[x0 + 10, np.full(n, 55)],
               np.r_[y0 + 10, np.full(n, 55)], np.r_[np.zeros(n), np.ones(n)])
    for method in ("chi2", "monte_carlo"):
        r = pb.per_class_uniformity(t, method=method, min_count=20, draws=2000)
        assert r.labels.tolist() == [0, 1] and r.n.tolist() == [n, n]
        assert not r.reject_holm[0] and r.reject_holm[1]
        assert r.summary()["fail_holm"] == 1 and r.of(1)["reject_bh"]
    free = pb.per_class_uniformity(t, positions_kind="free", min_count=20)
    assert not free.reject_holm[0] and free.reject_holm[1]
    with pytest.raises(KeyError):
        r.of(5)
    with pytest.raises(ValueError):
        pb.per_class_uniformity(t, method="ks")


def test_free_positions():
    # touching the left edge, touching the right edge, full width (no freedom)
    t = _table([0, 60, 0], [10, 10, 10], [40, 100, 100], [30, 30, 30], [0, 0, 0])
    u, v, valid = pb.positions(t, "free")
    assert u[0] == 0 and u[1] == 1 and valid.tolist() == [True, True, False]
    assert v[0] == pytest.approx(10 / 80)
    cx, cy, ok = pb.positions(t, "centre")
    assert cx.tolist() == [0.2, 0.8, 0.5] and ok.all()
    with pytest.raises(ValueError):
        pb.positions(t, "corner")


def test_histogram_and_grid_counts():
    rng = np.random.default_rng(4)
    x, y = rng.random(10000), rng.random(10000)
    h = pb.centre_histogram(x, y, bins=10)
    assert h.shape == (10, 10) and h.mean() == pytest.approx(1.0)
    assert pb.grid_counts(np.array([1.0, 0.0]), np.array([1.0, 0.0]), 3).tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 1]
    with pytest.raises(ValueError):
        pb.centre_histogram(np.array([1.2]), np.array([0.5]))
    with pytest.raises(ValueError):
        pb.grid_counts(x, y, k=1)
    with pytest.raises(ValueError):
        pb.centre_histogram(x, y[:5])


def test_real_table_every_class_fails_the_centre_test():
    from shiftlab.boxes import load_boxes

    r = pb.per_class_uniformity(load_boxes())
    assert r.n_classes == 1000 and (r.n == 50).all()
    assert r.summary()["fail_holm"] > 900  # the article: "more than 900 of the 1000 classes"
    assert math.isfinite(r.summary()["median_statistic"])
