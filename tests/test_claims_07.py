"""Chapter 07 (small shifts break ImageNet CNNs): each sentence's claim against its number.

Reads the committed (full-mode) outputs of ``notebooks/07_imagenet_shifts.ipynb``.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from notebook_outputs import values

from shiftlab.measure.shift_metrics import relation

NB = "07_imagenet_shifts"
#: Published values quoted in the chapter (Azulay & Weiss Table 1, Zhang 2019): VGG16, ResNet50.
PUBLISHED = {
    "p_change_crop": (0.062, 0.061),
    "p_change_embed": (0.18, 0.20),
    "mac_crop": (0.038, 0.040),
    "mac_embed": (0.060, 0.086),
    "consistency": (88.5, 89.2),
}


@pytest.fixture(scope="module")
def v():
    return values(NB)


def test_the_page_names_its_model_and_photos(v):
    # "The book is built on a CPU without internet, so that is the offline MobileNetV2 on the
    # course's 100 validation photos"
    assert v["ims_model"] == "mobilenet_v2_offline"
    assert v["ims_n_photos"] == 100
    assert v["ims_n_pairs"] == v["ims_n_photos"] * (v["ims_n_steps"] - 1)


def test_resize_anecdote(v):
    assert 1 <= v["ims_shrink_lo"] <= v["ims_shrink_median"] <= v["ims_shrink_hi"]
    assert v["ims_resize_top1_differs_n"] == round(v["ims_resize_top1_differs"] * v["ims_n_photos"])
    assert v["ims_resize_top1_differs"] > 0  # "the anecdote is real"
    # "if rarer for the top-1 class than for the rest of the top 5"
    assert v["ims_resize_top1_differs"] < v["ims_resize_top5_set_differs"] <= v["ims_resize_top5_list_differs"]


def test_embedding_is_less_stable_and_inpainting_barely_helps(v):
    crop, embed, inpaint = (v[f"ims_p_change_{p}"] for p in ("crop", "embed", "inpaint"))
    assert embed > 1.5 * crop and inpaint > 1.5 * crop  # "far less stable when embedded"
    assert inpaint <= embed and embed - inpaint < 0.03  # "inpainting ... barely helps"
    assert v["ims_top1_embed"] < v["ims_top1_crop"]  # "less often right"
    assert v["ims_scale_top1_192"] < v["ims_top1_crop"]  # the scale curve explains it


def test_consistency_sentences(v):
    assert 0 < v["ims_frac_consistent"] < 1
    # "the others ... are mostly photos the model finds hard anyway"
    assert v["ims_acc_inconsistent"] < 0.5 < v["ims_acc_consistent"]


def test_accuracy_falls_with_scale(v):
    sizes = (224, 192, 160, 128, 96, 64, 32)
    top1 = [v[f"ims_scale_top1_{s}"] for s in sizes]
    assert all(a >= b for a, b in pairwise(top1))
    assert top1[sizes.index(128)] < 0.5 * top1[0]  # "falls quickly"


def test_comparison_words_follow_the_intervals(v):
    for key, published in PUBLISHED.items():
        lo, hi = v[f"ims_{key}_lo"], v[f"ims_{key}_hi"]
        assert lo <= v[f"ims_{key}"] <= hi
        assert v[f"ims_{key}_vs"] == relation(lo, hi, published)


def test_batching_buys_nothing_on_this_cpu(v):
    # "Here batching buys nothing": the ratio must be close to 1 (or below) for that sentence
    assert v["ims_bench_speedup"] < 1.05  # "... at least as much as 17 single frames"
    assert v["ims_bench_speedup"] == pytest.approx(v["ims_bench_batched"] / v["ims_bench_looped"], rel=1e-6)


def test_exercise_answers(v):
    assert 1 - v["ims_ex1_stable"] >= v["ims_p_change_crop"]
    assert v["ims_ex4_min"] <= v["ims_p_change_embed"] <= v["ims_ex4_max"]
    assert abs(v["ims_ex4_even"] - v["ims_ex4_odd"]) < 0.05  # "no even/odd pattern"
