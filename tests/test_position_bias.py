"""Position bias: histograms, the chi-square uniformity test and the multiple-testing corrections."""

import math

import numpy as np
import pytest

from shiftlab.data.boxes import BoxTable, load_synsets
from shiftlab.measure import position_bias as pb
from shiftlab.viz import bias_plots


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
    cx, _, ok = pb.positions(t, "centre")
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
    from shiftlab.data.boxes import load_boxes

    r = pb.per_class_uniformity(load_boxes())
    assert r.n_classes == 1000 and (r.n == 50).all()
    assert r.summary()["fail_holm"] > 900  # the article: "more than 900 of the 1000 classes"
    assert math.isfinite(r.summary()["median_statistic"])


# --------------------------------------------------------------------------- random placement


def _sized(w, h, width, height, label=None):
    """Boxes of the given sizes at the top-left corner of images of the given sizes."""
    syn, names = load_synsets()
    n = len(w)
    arr = lambda v: np.asarray(v, dtype=np.int32)  # noqa: E731
    lab = np.zeros(n) if label is None else label
    return BoxTable(image=np.arange(1, n + 1, dtype=np.int32),
                    label=np.asarray(lab, dtype=np.int16), width=arr(width),
                    height=arr(height), xmin=np.zeros(n, np.int32), ymin=np.zeros(n, np.int32),
                    xmax=arr(w), ymax=arr(h), synsets=syn, class_names=names)


def test_box_as_large_as_its_image_has_a_fixed_centre():
    t = _sized([100, 100], [80, 80], [100, 100], [80, 80])
    for seed in range(3):
        sim = pb.simulate_placement(t, seed)
        assert sim.cx.tolist() == [0.5, 0.5] and sim.cy.tolist() == [0.5, 0.5]
    p = pb.placement_cell_probabilities(t, 3)
    assert p.shape == (2, 9) and (p[:, 4] == 1).all() and p.sum() == 2


def test_simulation_keeps_sizes_is_reproducible_and_fits():
    rng = np.random.default_rng(5)
    n = 500
    big_w, big_h = rng.integers(50, 400, n), rng.integers(50, 400, n)
    w, h = rng.integers(1, big_w + 1), rng.integers(1, big_h + 1)
    t = _sized(w, h, big_w, big_h, label=rng.integers(0, 4, n))
    a, b = pb.simulate_placement(t, 7), pb.simulate_placement(t, 7)
    assert np.array_equal(a.xmin, b.xmin) and np.array_equal(a.ymax, b.ymax)
    assert not np.array_equal(a.xmin, pb.simulate_placement(t, 8).xmin)
    assert np.array_equal(a.box_width, t.box_width) and np.array_equal(a.box_height, t.box_height)
    assert (a.xmin >= 0).all() and (a.xmax <= a.width).all() and (a.ymax <= a.height).all()
    assert np.array_equal(a.label, t.label) and np.array_equal(a.image, t.image)


def test_cell_probabilities_match_enumeration_and_expected_counts_sum_to_n():
    rng = np.random.default_rng(6)
    n = 300
    big_w, big_h = rng.integers(3, 40, n), rng.integers(3, 40, n)
    w, h = rng.integers(1, big_w + 1), rng.integers(1, big_h + 1)
    t = _sized(w, h, big_w, big_h, label=rng.integers(0, 5, n))
    for k in (2, 3, 4):
        p = pb.placement_cell_probabilities(t, k)
        assert p.shape == (n, k * k) and np.allclose(p.sum(1), 1)
        for i in range(0, n, 37):  # brute force: every position where box i fits
            xs = np.arange(big_w[i] - w[i] + 1)
            ys = np.arange(big_h[i] - h[i] + 1)
            col = np.minimum(k * (2 * xs + w[i]) // (2 * big_w[i]), k - 1)
            row = np.minimum(k * (2 * ys + h[i]) // (2 * big_h[i]), k - 1)
            cells = (row[:, None] * k + col[None, :]).ravel()
            assert np.allclose(p[i], np.bincount(cells, minlength=k * k) / cells.size)
        e = pb.expected_grid_counts(t, k)
        assert e.shape == (1000, k * k)
        assert np.allclose(e.sum(1), np.bincount(t.label, minlength=1000))


def test_simulated_cells_follow_the_exact_probabilities():
    t = _sized(np.repeat([10, 60, 90], 4000), np.repeat([30, 5, 100], 4000),
               np.full(12000, 100), np.full(12000, 100))
    sim = pb.simulate_placement(t, 0)
    freq = np.bincount(pb.box_cells(sim, 3), minlength=9) / len(t)
    assert np.allclose(freq, pb.placement_cell_probabilities(t, 3).mean(0), atol=0.01)
    # the float rule of grid_counts gives the same cells
    assert np.array_equal(pb.box_cells(sim, 3), np.argmax(
        pb.grid_counts(sim.cx, sim.cy, 3, groups=np.arange(len(t)), n_groups=len(t)), 1))


def test_placement_null_fails_the_centre_test_but_not_the_size_aware_one():
    rng = np.random.default_rng(7)
    n_cls, n = 40, 50
    big = rng.integers(200, 400, n_cls * n)
    w = (big * rng.uniform(0.5, 1.0, big.size)).astype(int)  # big boxes, as in ImageNet
    t = _sized(w, w, big, big, label=np.repeat(np.arange(n_cls), n))
    sim = pb.simulate_placement(t, 1)
    assert pb.per_class_uniformity(sim, min_count=20).summary()["fail_holm"] > 30
    r = pb.per_class_placement_test(sim, min_count=20)
    assert r.n_classes == n_cls and r.summary()["fail_holm"] <= 1
    assert r.expected is not None and np.allclose(r.expected.sum(1), n)
    # all boxes of one class pushed into the top-left corner: rejected
    corner = _sized(w, w, big, big, label=np.repeat(np.arange(n_cls), n))
    rc = pb.per_class_placement_test(corner, min_count=20)
    assert rc.reject_holm.all()


def test_placement_functions_reject_bad_input():
    t = _sized([120], [10], [100], [100])  # wider than its image
    with pytest.raises(ValueError):
        pb.simulate_placement(t)
    with pytest.raises(ValueError):
        pb.placement_cell_probabilities(t)
    ok = _sized([10], [10], [100], [100])
    with pytest.raises(ValueError):
        pb.placement_cell_probabilities(ok, k=1)
    with pytest.raises(ValueError):
        pb.per_class_placement_test(ok, per_image="best")
    with pytest.raises(ValueError):
        pb.expected_grid_counts(ok, 3, n_groups=0)


def test_real_table_centre_test_rejects_random_placement_too():
    from shiftlab.data.boxes import load_boxes

    boxes = load_boxes()
    sim = pb.simulate_placement(boxes, 0)
    assert pb.per_class_uniformity(sim).summary()["fail_holm"] > 900  # geometry, not bias
    assert pb.per_class_uniformity(sim, positions_kind="free").summary()["fail_holm"] <= 2
    assert pb.per_class_placement_test(sim).summary()["fail_holm"] <= 10
    assert pb.per_class_placement_test(boxes).summary()["fail_holm"] > 50


def test_figures_fit_the_text_column():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from shiftlab.data.boxes import load_boxes

    boxes = load_boxes()
    for fig in (bias_plots.plot_centre_histograms(boxes, ["bagel", "paddle"], bins=10),
                bias_plots.plot_centre_histograms(boxes, ["bagel"], bins=10, kind="free"),
                bias_plots.plot_height_vs_centre(boxes, ["bagel", "paddle", "pineapple"], bins=10)):
        assert fig.get_size_inches()[0] <= 8
        plt.close(fig)
