"""Sentences that claim something about a glued number agree with it (chapters 01-04 and 10).

Each check reads the committed (full-mode) outputs: if a re-run changes a number so that the
sentence beside it is no longer true, the test fails and the sentence must be rewritten.
Chapters 05-09 have their own files (``test_claims_NN.py``).
"""

from __future__ import annotations

from notebook_outputs import values

ROUND_OFF = 1e-5  # "exact", "round-off", "stays at zero" may only be said of values below this


def test_01_the_border_is_nearly_empty():
    v = values("01_setup")
    assert v["n_test"] == 10000
    # "only X of the ink lies in that frame: nearly, not perfectly, empty"
    assert 0 < v["ink_frame_frac"] < 0.05


def test_02_circular_exact_zero_padding_only_in_the_bands():
    v = values("02_equivariance")
    assert v["eq_circ_max"] < ROUND_OFF                     # "exactly equivariant"
    assert v["eq_zero_interior_max"] < ROUND_OFF            # "exact again, up to round-off"
    assert v["eq_zero_inside_max"] < ROUND_OFF              # "stays at round-off for every shift"
    assert v["eq_zero_border_min"] > 100 * ROUND_OFF        # "at every pixel outside it ..."
    assert v["eq_zero_border_max"] >= v["eq_zero_border_min"]


def test_02_the_zero_padded_error_is_fill_band_lost_ink_and_bias():
    v = values("02_equivariance")
    # "never small once the digit moves: ... the worst digit errs by at least X"
    assert v["eq_zero_min_moved"] > 0.1
    # "even the best digit of every pair errs by Y ... the largest bias, the same number"
    assert abs(v["eq_zero_pair_min"] - v["eq_bias_max"]) < ROUND_OFF
    assert v["eq_zero_min_moved"] > v["eq_bias_max"]        # "the worst digits pay more"
    # "exactly zero for X of the pairs, and non-zero exactly when the shift pushes ink out"
    assert v["eq_defined_agree"] == 1.0
    assert abs(v["eq_defined_exact"] + v["eq_loses_ink"] - 1.0) < 1e-6
    assert 0 < v["eq_loses_ink"] < 0.5                      # "the other X lose some ink"
    # "without it ... exact on the whole frame for X of the pairs"; fewer than on the defined region
    assert 0.5 < v["eq_nobias_exact"] < v["eq_defined_exact"]
    assert v["eq_loses_ink_v6"] > v["eq_loses_ink_h6"]      # "vertical shifts lose more ink"


def test_03_pooling_is_partial_and_stride_two_keeps_only_even_shifts():
    v = values("03_pooling")
    assert v["fig98_pool_changed"] < v["fig98_det_changed"] == v["fig98_n"]  # "all ... but only"
    assert v["pool_s1_t1_same"] < 0.5 and v["pool_s2_t1_same"] < 0.5  # "leaves only ..."
    assert v["pool_s1_t4_same"] < 0.05                      # "after 4 pixels ... are" (almost none)
    assert 0.99 < v["pool_s1_t1_aligned"] < 1                # "stride 1 is equivariant", "all but a few"
    assert min(v["pool_s2_t2_aligned"], v["pool_s2_t4_aligned"]) > 0.99  # "even shifts are safe"
    assert max(v["pool_s2_t1_aligned"], v["pool_s2_t3_aligned"]) < 0.5   # "odd shifts keep only"


def test_04_global_sum_invariance_and_the_stride():
    v = values("04_where_invariance")
    assert v["gsum_s1_max"] < ROUND_OFF and v["gsum_s2_even_max"] < ROUND_OFF
    assert v["gsum_s2_odd_median"] > 0.01                   # "breaks ... for all other shifts"
    assert v["gsum_n_even"] / v["gsum_n_shifts"] == v["gsum_frac_even"] or abs(
        v["gsum_n_even"] / v["gsum_n_shifts"] - v["gsum_frac_even"]) < 1e-6
    assert v["gsum_n_even"] == 25 and v["gsum_n_shifts"] == 81   # the grid [-4, 4]^2
    assert v["head_gap"] < ROUND_OFF                        # "does not move at all"
    assert v["head_fc"] > 1e-3 and v["head_gap_s2"] > 1e-3  # "not invariant", "far above round-off"
    # "a typical digit and channel moves much less ... small, but not zero, and not round-off"
    assert 1000 * ROUND_OFF < v["gsum_s2_odd_typical"] < v["gsum_s2_odd_median"] / 10
    assert v["gsum_s2_odd_median"] > 1                      # "... times the channel's typical sum"


def test_13_p4_is_exactly_equivariant_and_the_ordinary_conv_is_not():
    v = values("13_beyond")
    assert v["p4_err"] < 1e-12 and v["pooled_err"] < 1e-12  # "to round-off" in double precision
    assert v["plain_err"] > 1e-3
