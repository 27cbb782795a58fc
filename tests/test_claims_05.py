"""Chapter 05 (MNIST: does pooling buy invariance?): each sentence's claim against its number.

Reads the committed (full-mode) outputs of ``notebooks/05_mnist_pooling.ipynb``.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from notebook_outputs import values

NB = "05_mnist_pooling"
#: The article's table without augmentation (default, shift min, shift), quoted in the prose.
ARTICLE = {"A": (0.974, 0.959, 0.686), "B": (0.979, 0.967, 0.718), "C": (0.987, 0.982, 0.843)}


@pytest.fixture(scope="module")
def v():
    return values(NB)


def test_centred_digits_about_098_and_close_to_the_article(v):
    defaults = [v[f"mnist_noaug_{m}_default"] for m in "ABC"]
    assert all(0.97 <= d <= 0.99 for d in defaults)  # "about 0.98"
    assert max(defaults) - min(defaults) < 0.01  # "the three models are close"
    for m in "ABC":  # "we agree within about one point"
        assert abs(v[f"mnist_noaug_{m}_default"] - ARTICLE[m][0]) <= 0.012


def test_shift_min_below_the_article_and_one_pixel_costs_about_three_points(v):
    gaps = {m: ARTICLE[m][1] - v[f"mnist_noaug_{m}_shiftmin"] for m in "ABC"}
    assert all(0 < g <= 0.035 for g in gaps.values())  # "below ... by half a point to three"
    assert gaps["A"] < gaps["C"]  # "half a point (A) to three points (C)"
    for m in "ABC":
        drop = v[f"mnist_noaug_{m}_shiftmin_drop"]
        assert drop == pytest.approx(v[f"mnist_noaug_{m}_default"] - v[f"mnist_noaug_{m}_shiftmin"])
        assert 0.02 <= drop <= 0.035  # "about three points"


def test_shift_lands_in_the_article_range(v):
    for m in "ABC":
        assert 0.686 <= v[f"mnist_noaug_{m}_shift"] <= 0.843


def test_pooling_gain_is_not_resolved_by_the_seeds(v):
    a, b, c = (v[f"mnist_noaug_{m}_shift"] for m in "ABC")
    assert c > a and c > b  # "C has the best 'shift' in our runs too"
    assert v["mnist_pool_gain"] == pytest.approx(c - a)
    assert 0 < v["mnist_pool_gain"] < 2 * v["mnist_pool_gain_se"]  # "less than two standard errors"
    assert v["mnist_pool_gain_b"] == pytest.approx(b - a) and v["mnist_pool_gain_b"] <= 0  # B does not beat A
    assert v["mnist_article_pool_gain"] == pytest.approx(0.843 - 0.686)
    assert v["mnist_n_seeds"] >= 2 and v["mnist_n_models"] == 6 * v["mnist_n_seeds"]


def test_accuracy_keeps_falling_to_chance(v):
    for m in "ABC":
        rings = [v[f"mnist_noaug_{m}_ring{r}"] for r in range(1, 9)]
        assert all(x > y for x, y in pairwise(rings))  # "keeps falling"
        assert rings[-1] < 0.15  # "about chance (0.1)" at r = 8
        assert v[f"mnist_noaug_{m}_ring1"] == pytest.approx(v[f"mnist_noaug_{m}_shiftmin"])


def test_pooling_buys_little_and_one_pool_nothing(v):
    for r in (2, 3, 4):
        gain = v[f"mnist_ringgain_C_{r}"]
        assert gain == pytest.approx(v[f"mnist_noaug_C_ring{r}"] - v[f"mnist_noaug_A_ring{r}"])
        assert 0 < gain < 0.05  # "keep ... more accuracy than A", "a small gain"
    for r in (1, 2, 3, 4):  # "a single pool (B) does not help at all here"
        assert v[f"mnist_noaug_B_ring{r}"] <= v[f"mnist_noaug_A_ring{r}"]


def test_sensitivity_sentences(v):
    for m in "ABC":
        assert v[f"mnist_noaug_{m}_sens3"] > v[f"mnist_noaug_{m}_sens1"]  # grows with the shift
        assert v[f"mnist_noaug_{m}_sens1"] > 0.2  # "none is anywhere near invariant"
    assert v["mnist_noaug_C_sens3"] < min(v["mnist_noaug_A_sens3"], v["mnist_noaug_B_sens3"])


def test_exercise_answers(v):
    assert v["mnist_ex1_upto2"] > v["mnist_noaug_C_shift"]
    drops = {m: v[f"mnist_ex3_drop_{m}"] for m in "ABC"}
    assert v["mnist_ex3_worst"] == max(drops, key=drops.get)
    assert max(drops.values()) - min(drops.values()) < 0.05  # "of the order of the seed spread"
