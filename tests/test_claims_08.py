"""Chapter 08 (sampling theorem): each sentence's claim checked against its glued number.

Reads the committed (full-mode) outputs of ``notebooks/08_sampling_theorem.ipynb``.
"""

from __future__ import annotations

import pytest
from notebook_outputs import values


@pytest.fixture(scope="module")
def v():
    return values("08_sampling_theorem")


def test_aliasing_changes_the_signal_and_the_blur_leaves_a_legitimate_shift(v):
    # "a different signal" without the filter; "legitimate" half-sample shift with it
    assert v["alias1d_change_raw"] > 0.5
    assert v["alias1d_change_lp"] < v["alias1d_change_raw"]
    assert v["alias1d_shifterr_lp"] < 0.05 < 0.5 < v["alias1d_shifterr_raw"]
    # "a 3x3 binomial blur brings it to ..." (down)
    assert v["alias2d_digit_err3"] < v["alias2d_digit_err1"]


def test_subsampling_factors(v):
    # "every ImageNet architecture we can probe ... has subsampling factor 32"
    assert v["factor_vgg16"] == v["factor_resnet50"] == v["factor_mobilenet"] == 32
    assert v["factor_fraction_32"] == 1 / 32**2
    # "about one shift in a thousand"
    assert 0.0008 < v["factor_fraction_32"] < 0.0012
    assert v["factor_fraction_45"] == 1 / 45**2
    # "no product of stride-2 layers gives 45"
    assert all(2**k != 45 for k in range(8))
    # "model A (no stride at all)"; "BlurPool-C and APS-C keep the factor of C"
    assert (v["factor_A"], v["factor_B"], v["factor_C"]) == (1, 2, 4)
    assert v["factor_BlurPoolC"] == v["factor_APSC"] == v["factor_C"]


def test_nonshiftability_rises_with_depth_and_is_not_an_artefact(v):
    # "rises from ... (first four blocks) to ... (last four)"; "stay far above the early ones"
    assert v["ns_inet_late"] > v["ns_inet_early"] + 0.3
    # "dividing by each map's own mean overstates the last block"
    assert v["ns_inet_last_permap"] >= v["ns_inet_last"]
    # "... of the maps have a mean below a tenth of their channel's mean"
    assert v["ns_inet_lowmean_last"] > 0
    assert 0 <= v["ns_inet_dead"] < v["ns_inet_sampled"] == 16 * v["ns_inet_n"]
    # "the MNIST models ... stay lower"
    mnist = [v[f"ns_{k}_last"] for k in ("A", "C", "blur", "aps")]
    assert max(mnist) < v["ns_inet_late"]


def test_aps_is_exact_and_the_others_only_on_their_lattices(v):
    assert v["circ_exact_aps"] == v["circ_n_shifts"] == 28 * 28
    # max pool exact on all multiples of 4, BlurPool on all even shifts, not elsewhere
    assert v["circ_exact_max_mult4"] == v["circ_n_mult4"] == 49
    assert v["circ_exact_blur_even"] == v["circ_n_even"] == 196
    assert v["circ_exact_max"] < v["circ_n_shifts"]
    assert v["circ_exact_blur"] < v["circ_n_shifts"]
    assert v["circ_max_change_max"] > 1e-6


def test_what_blurpool_and_aps_gain_on_mnist(v):
    # both raise consistency; APS-C the most, in consistency and in shift accuracy
    assert v["diff_BlurPoolC_consistency"] > 0
    assert v["diff_APSC_consistency"] > 2 * v["diff_BlurPoolC_consistency"]
    assert v["diff_APSC_shift"] > v["diff_BlurPoolC_shift"]
    # BlurPool's gain "... times the larger of the two spreads": "small, but clearly resolved"
    spread = max(v["var_C_consistency_std"], v["var_BlurPoolC_consistency_std"])
    assert v["diff_BlurPoolC_consistency_in_std"] == pytest.approx(v["diff_BlurPoolC_consistency"] / spread)
    assert v["diff_BlurPoolC_consistency_in_std"] > 3 and v["diff_BlurPoolC_consistency"] < 10
    # APS-C: "a small loss of unshifted accuracy"
    assert -0.02 < v["diff_APSC_default"] < 0
    # "at shifts of 4 pixels APS-C still classifies ... against ... for C and ... for BlurPool-C"
    assert v["var_APSC_ring4"] > v["var_BlurPoolC_ring4"] > v["var_C_ring4"]
    # "from a much lower start (... % for C against 89.2 % for ResNet50)"
    assert v["var_C_consistency"] < 89.2 - 5
    # "neither makes model C shift invariant"
    assert v["var_APSC_consistency"] < 99 and v["var_BlurPoolC_consistency"] < 99
    assert v["var_APSC_shift"] < v["var_APSC_default"]
    assert v["var_n_seeds"] >= 3


def test_mnist_nonshiftability_sentences(v):
    # "the same rise on a smaller scale": C's last layer above A's; the fixes "bring it down"
    assert v["ns_A_last"] < v["ns_blur_last"] < v["ns_C_last"]
    assert v["ns_aps_last"] < v["ns_C_last"]
    # medians: "each pool adding variation"; the fixes bring C's back "about the level of B"
    # "and still above A"
    med = {k: v[f"ns_median_{k}"] for k in ("A", "B", "C", "BlurPoolC", "APSC")}
    assert med["A"] < med["B"] < med["C"]
    for k in ("BlurPoolC", "APSC"):
        assert med["A"] < med[k] < med["C"]
        assert abs(med[k] - med["B"]) < 0.3 * med["B"]


def test_downsample_slide_sentence(v):
    # "only APS keeps it exactly ... (round-off)"
    assert v["slide_sum_aps"] < 1e-5 < v["slide_sum_max"]
    # "BlurPool's changes come from the ends of the slide: for |dx| <= 3 ... only ...
    # against ... for the plain pool"
    assert v["slide_sum_blur_inner"] < 1e-5 < v["slide_sum_max_inner"]
    assert v["slide_sum_blur"] > 1e-3
