"""Chapter 09 (data bias): each sentence's claim against the glued number it rests on."""

from __future__ import annotations

import math

import pytest
from notebook_outputs import values


@pytest.fixture(scope="module")
def v():
    return values("09_data_bias")


def test_centre_crowding_is_mostly_geometry(v):
    # "the middle ninth holds ... where an even spread would put 11.1 %"
    assert v["centre_cell_frac"] > 1 / 9 and v["middle_half_frac"] > 0.25
    # "most of the crowding in the middle is geometry": random placement gives most of it
    assert v["centre_cell_exp"] - 1 / 9 > 0.5 * (v["centre_cell_frac"] - 1 / 9)
    assert v["middle_half_sim"] - 0.25 > 0.5 * (v["middle_half_frac"] - 0.25)
    # "small boxes show what is left": more central than random placement
    assert v["small_centre_frac"] > v["small_centre_exp"]


def test_uniform_centre_test_rejects_random_placement_too(v):
    assert v["uni_fail_holm"] == 1000  # "rejects every class"
    assert v["uni_max_p"] < 0.05
    assert v["uni_sim_holm_min"] > 900  # "also rejects ... of the simulated data sets"
    assert v["uni_sim_holm_min"] <= v["uni_sim_holm_max"] <= 1000


def test_size_aware_tests_are_calibrated_and_reject_real_classes(v):
    # "reject almost nothing under random placement", uncorrected "close to the nominal 5 %"
    assert v["free_sim_holm_max"] <= 2 and v["place_sim_holm_max"] <= 10
    assert 0.02 < v["free_sim_raw_frac"] < 0.08 and v["place_sim_raw_frac"] < 0.1
    # "on the real boxes they reject many more"
    assert v["free_fail_holm"] > 10 * max(1, v["free_sim_holm_max"])
    assert v["place_fail_holm"] > 5 * max(1, v["place_sim_holm_max"])
    # "for many classes, though far from all"
    assert 0.1 < v["free_fail_bh_frac"] < 1 and 0.1 < v["place_fail_bh_frac"] < 1
    assert v["free_fail_bh"] < v["free_classes"] and v["place_fail_bh"] < v["place_classes"]
    # "the free-position test has more power"
    assert v["free_fail_bh_frac"] > v["place_fail_bh_frac"]
    assert v["examples_fail_place"] == 0  # "none of the five example classes fails"
    assert v["variant_min_bh"] > 100  # "every variant rejects at least ..."


def test_free_positions_edges(v):
    assert v["free_mid"] > 0.09  # too much mass in the middle
    # "along the bottom, left and right edges, most of all the bottom ... only ... top"
    assert min(v["free_bottom"], v["free_left"], v["free_right"]) > 0.1 > v["free_top"]
    assert v["free_bottom"] > max(v["free_left"], v["free_right"])


def test_mnist_centring(v):
    assert v["mnist_com_outside"] < 10 and 0 < v["mnist_com_miss"] < 0.05
    assert abs(v["mnist_com_sd"] - 1 / math.sqrt(12)) < 0.01  # "that of a uniform on 1 px"
    # ring 3 numbers are accuracies; the ratio is their share of the unshifted accuracy
    for m in "ABC":
        assert v[f"noaug_{m}_r3_rel"] == pytest.approx(v[f"noaug_{m}_r3"] / v[f"noaug_{m}_r0"])
    assert v["noaug_B_r3"] <= v["noaug_A_r3"]  # "B ... no better than A"
    assert abs(v["noaug_C_r3"] - v["noaug_A_r3"]) < 0.1  # "pooling changes little"


def test_augmentation_teaches_the_shifts_it_shows(v):
    assert v["mnist_epochs"] < 48  # "fewer than the 48 non-zero shifts of that range"
    for m in "ABC":
        assert v[f"aug_{m}_r3"] > 0.85 and v[f"aug_{m}_r8"] < 0.3
    assert v["copies_mobilenet"] == v["s_mobilenet"] ** 2


def test_mnist_tta_and_recentring(v):
    for m in "ABC":
        # "TTA helps by a few points" and "the wider set reaches further"
        assert 0 < v[f"mnist_tta1_gain_{m}"] < 0.15 and 0 < v[f"mnist_tta2_gain_{m}"] < 0.15
        assert v[f"mnist_tta2_{m}"] > v[f"mnist_tta1_{m}"]
        assert v[f"mnist_rec_{m}"] > v[f"mnist_none_{m}"] + 0.1  # "nearly removes"
        # "further out it loses more ... still far above TTA"
        assert v[f"mnist_rec_r8_{m}"] < v[f"mnist_rec_{m}"]
        assert v[f"mnist_rec_r8_{m}"] > v[f"mnist_tta2_r8_{m}"] + 0.3
        assert v[f"mnist_augnone_{m}"] > v[f"mnist_none_{m}"]
    assert v["mnist_rec_gap_max"] < 0.03  # "at most ... below the unshifted accuracy"


def test_imagenet_tta(v):
    for key in ("tta1", "tta8"):
        # "brings this to ...": fewer changes, but some remain
        assert 0 < v[f"inet_{key}_p_change"] < v["inet_none_p_change"]
        # "the standard error ... is larger than these differences"
        assert abs(v[f"inet_{key}_top1"] - v["inet_none_top1"]) < v["inet_top1_se"]
    assert v["inet_windows"] < v["inet_windows_naive"]
