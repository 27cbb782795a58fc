"""Chapter 06 (augmentation): each sentence's claim against its number.

Reads the committed (full-mode) outputs of ``notebooks/06_augmentation.ipynb``.
"""

from __future__ import annotations

import pytest
from notebook_outputs import values

NB = "06_augmentation"
#: The article's table with augmentation (default, shift min, shift), quoted in the prose.
ARTICLE_AUG = {"A": (0.968, 0.974, 0.950), "B": (0.980, 0.982, 0.966), "C": (0.989, 0.989, 0.983)}


@pytest.fixture(scope="module")
def v():
    return values(NB)


def test_shift_distribution_matches_the_rounding(v):
    assert v["aug_frac_0"] == pytest.approx(1 / 5.6, abs=0.01)
    assert v["aug_frac_3"] == pytest.approx(0.3 / 5.6, abs=0.01)


def test_augmentation_costs_a_few_tenths_on_centred_digits(v):
    for m in "ABC":
        cost = v[f"mnist_aug_cost_{m}"]
        assert cost == pytest.approx(v[f"mnist_noaug_{m}_default"] - v[f"mnist_aug_{m}_default"])
        assert 0 < cost < 0.01  # "a few tenths of a point"
        spread = max(v[f"mnist_noaug_{m}_default_std"], v[f"mnist_aug_{m}_default_std"])
        assert cost <= 2 * spread  # "about the size of the seed-to-seed spread"


def test_plateau_inside_the_range_and_cliff_outside(v):
    for m in "ABC":
        assert 0 < v[f"mnist_aug_{m}_loss3"] < 0.06  # "lose only a few points" at r = 3
        assert v[f"mnist_aug_{m}_ring5"] < v[f"mnist_aug_{m}_ring3"] - 0.2  # "falls almost as steeply"
        assert v[f"mnist_aug_{m}_ring8"] < 0.25 and v[f"mnist_noaug_{m}_ring8"] < 0.15
        assert v[f"mnist_aug_{m}_ring8"] < v[f"mnist_aug_{m}_ring3"]  # exercise 1


def test_pooling_stretches_the_plateau_by_a_few_points(v):
    for m in "BC":
        for r in (4, 5):
            gain = v[f"mnist_aug_ringgain_{m}_{r}"]
            assert gain == pytest.approx(v[f"mnist_aug_{m}_ring{r}"] - v[f"mnist_aug_A_ring{r}"])
            assert 0 < gain < 0.05


def test_table_bullets(v):
    for m in "BC":  # "up to two points above ours for B and C"
        assert 0 < ARTICLE_AUG[m][0] - v[f"mnist_aug_{m}_default"] <= 0.02
        assert v[f"mnist_aug_{m}_shift"] < ARTICLE_AUG[m][2]  # "its B and C are higher"
    assert 0.005 <= v["mnist_aug_A_default"] - ARTICLE_AUG["A"][0] <= 0.015  # "one point below"
    assert abs(v["mnist_aug_A_shift"] - 0.950) <= v["mnist_aug_A_shift_std"]  # "match within spread"
    for m in "ABC":
        assert 0.9 <= v[f"mnist_aug_{m}_shift"] <= 0.97  # "about 0.95"
        assert 0.65 <= v[f"mnist_noaug_{m}_shift"] <= 0.75  # "from about 0.70"
        assert v[f"mnist_aug_{m}_shiftmin"] < v[f"mnist_aug_{m}_default"]  # "slightly below"
    shifts = [v[f"mnist_aug_{m}_shift"] for m in "ABC"]
    assert v["mnist_aug_shift_spread"] == pytest.approx(max(shifts) - min(shifts))
    assert v["mnist_aug_shift_spread"] < 0.01  # "the architecture hardly matters"


def test_decision_robust_representation_not(v):
    for m in "ABC":
        assert v[f"mnist_aug_{m}_sens3"] < v[f"mnist_noaug_{m}_sens3"]  # "less sensitive"
        assert v[f"mnist_aug_{m}_sens3"] > 0.3  # "still move by ... of their length"


def test_augmentation_matters_more_than_pooling(v):
    pool, aug = v["mnist_pool_gain"], v["mnist_aug_gain"]
    assert pool == pytest.approx(v["mnist_noaug_C_shift"] - v["mnist_noaug_A_shift"])
    assert aug == pytest.approx(v["mnist_aug_A_shift"] - v["mnist_noaug_A_shift"])
    assert 0 < pool < 2 * v["mnist_pool_gain_se"]  # "within two standard errors of zero"
    assert aug > 4 * v["mnist_aug_gain_se"]
    assert 7 <= aug / pool <= 14  # "about ten times"
    assert v["mnist_noaug_B_shift"] <= v["mnist_noaug_A_shift"]  # "one pooling stage gains nothing"
    assert v["mnist_article_pool_gain"] == pytest.approx(0.843 - 0.686)
    assert v["mnist_article_aug_gain"] == pytest.approx(0.950 - 0.686)
    assert v["mnist_article_aug_gain"] > v["mnist_article_pool_gain"]  # "point the same way"
