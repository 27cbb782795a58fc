"""Shift metrics: exact values on hand-made predictions, and models with known behaviour
(a globally pooled model is exactly invariant under the embed protocol and on periodic photos)."""

from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

from shiftlab.data.photos import PhotoSet
from shiftlab.measure import photo_shifts
from shiftlab.measure import shift_metrics as S
from shiftlab.nn.imagenet_models import ImageNetModel
from shiftlab.studies import imagenet_shifts as imagenet_study
from shiftlab.viz import imagenet_plots

SIZE = 56  # network input of the toy models; Zhang crops come from 64 x 64 (offsets 0..7)


def toy_model(kind: str) -> ImageNetModel:
    torch.manual_seed(0)
    if kind == "gap":  # global average pooling, then a linear layer: sees no position at all
        net = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 1000))
        with torch.no_grad():
            net[2].weight.mul_(40)
    else:  # reads a coarse 4x4 layout of the image: sensitive to where things are
        net = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(48, 1000))
        with torch.no_grad():
            net[2].weight.mul_(200)
    return ImageNetModel(name=f"toy_{kind}", model=net.eval(), normalize=lambda x: x - 0.5, reason="test",
                         source="test", input_size=SIZE, resize_size=64, description=kind)


def photo_set(images, labels=None) -> PhotoSet:
    labels = labels if labels is not None else list(range(len(images)))
    return PhotoSet(list(images), torch.tensor(labels), [f"p{i}.png" for i in range(len(images))], Path("."),
                    [f"class {i}, synonym" for i in range(1000)])


def random_photos(n=3, h=60, w=70):
    g = torch.Generator().manual_seed(1)
    return photo_set([torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8) for _ in range(n)])


def periodic_photos(n=3):
    """64 x 64 photos tiled from an 8 x 8 patch: every 56 px window holds 7 x 7 whole periods."""
    g = torch.Generator().manual_seed(2)
    return photo_set([torch.randint(0, 256, (3, 8, 8), generator=g, dtype=torch.uint8).repeat(1, 8, 8)
                      for _ in range(n)])


def test_pair_metrics_exact():
    top1 = np.array([[1, 1, 2, 2], [3, 3, 3, 3]])
    assert S.p_top1_change(top1) == pytest.approx(1 / 6)
    p_top1 = np.array([[0.5, 0.6, 0.7]])
    p_next = np.array([[0.4, 0.2]])
    assert S.mean_absolute_change(p_top1, p_next) == pytest.approx((0.1 + 0.4) / 2)
    correct = np.array([[True, True, False], [True, True, True]])
    assert S.flip_rate(correct) == pytest.approx(1 / 4)
    assert S.jaggedness(correct) == pytest.approx(1 / 2)
    assert S.consistency(np.array([[1, 1, 2], [5, 5, 5]])) == pytest.approx(100 * (1 / 3 + 1) / 2)
    order = S.barcode_order(np.array([[0.1, 0.1], [0.9, 0.8], [0.5, 0.5]]))
    assert order.tolist() == [1, 2, 0]
    with pytest.raises(ValueError):
        S.p_top1_change(np.array([1, 2]))
    with pytest.raises(ValueError):
        S.mean_absolute_change(p_top1, np.array([[0.4]]))
    with pytest.raises(ValueError):
        S.consistency(np.array([[1], [2]]))


def test_sequence_statistics():
    probs = torch.zeros(3, 10)
    probs[0, 2], probs[0, 4] = 0.7, 0.3
    probs[1, 4], probs[1, 2] = 0.6, 0.4
    probs[2, 4] = 1.0
    st = S.sequence_statistics(probs, label=2)
    assert st["top1"].tolist() == [2, 4, 4]
    assert np.allclose(st["p_true"], [0.7, 0.4, 0.0])
    assert np.allclose(st["p_top1"], [0.7, 0.6, 1.0])
    assert np.allclose(st["p_next"], [0.4, 1.0])  # frame 1's p of class 2, frame 2's p of class 4
    assert st["top5_correct"].tolist() == [True, True, False]  # class 2 ties with zeros in frame 2
    with pytest.raises(ValueError):
        S.sequence_statistics(probs, label=10)


def test_invariant_model_never_changes_under_embed():
    photos = random_photos()
    seq = photo_shifts.measure_sequences(toy_model("gap"), photos, "embed", n_steps=9, max_shift=8, embed_size=40,
                              progress=False)
    assert seq["top1"].shape == (3, 9) and seq["p_next"].shape == (3, 8)
    assert S.p_top1_change(seq["top1"]) == 0.0
    assert S.mean_absolute_change(seq["p_top1"], seq["p_next"]) < 1e-5
    pos = photo_shifts.measure_sequences(toy_model("layout"), photos, "embed", n_steps=9, max_shift=8, embed_size=40,
                              progress=False)
    assert S.p_top1_change(pos["top1"]) > 0.0  # the metric can fail


def test_invariant_model_is_fully_consistent():
    photos = periodic_photos()
    cons = photo_shifts.measure_consistency(toy_model("gap"), photos, n_crops=6, seed=0, progress=False)
    assert cons["top1"].shape == (3, 6) and cons["offsets"].max() <= 7
    assert S.consistency(cons["top1"]) == 100.0
    pos = photo_shifts.measure_consistency(toy_model("layout"), random_photos(h=64, w=64), n_crops=6, progress=False)
    assert S.consistency(pos["top1"]) < 100.0


def test_scales_and_resize():
    photos = random_photos(2)
    sc = photo_shifts.measure_scales(toy_model("gap"), photos, sizes=(56, 28), progress=False)
    assert sc["top1_correct"].shape == (2, 2) and sc["sizes"].tolist() == [56, 28]
    with pytest.raises(ValueError):
        photo_shifts.measure_scales(toy_model("gap"), photos, sizes=(57,), progress=False)
    rz = photo_shifts.measure_resize_routines(toy_model("gap"), photos, progress=False)
    assert rz["top5_pil"].shape == (2, 5) and rz["pixel_diff"].shape == (2,)


def test_measurement_errors():
    with pytest.raises(TypeError):
        photo_shifts.measure_sequences(nn.Identity(), random_photos(), "crop")
    with pytest.raises(ValueError):
        photo_shifts.measure_sequences(toy_model("gap"), random_photos(), "spin")
    with pytest.raises(ValueError):
        photo_shifts.measure_consistency(toy_model("gap"), random_photos(), n_crops=1)


@pytest.fixture
def study(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path))
    cfg = imagenet_study.StudyConfig(n_steps=5, max_shift=4, embed_size=40, n_crops=3, sizes=(56, 28))
    return imagenet_study.run_shift_study(toy_model("layout"), random_photos(2, 64, 80), cfg, progress=False)


def test_run_shift_study_caches(study, monkeypatch):
    nums = study.numbers()
    for key in ("p_change_crop", "mac_embed", "jaggedness_inpaint", "consistency", "scale_top1_28",
                "resize_top5_set_differs"):
        assert key in nums
    assert 0 <= nums["p_change_crop"] <= 1 and 0 <= nums["consistency"] <= 100

    def boom(*a, **k):
        raise AssertionError("should have come from the cache")

    monkeypatch.setattr(imagenet_study, "measure_sequences", boom)
    monkeypatch.setattr(imagenet_study, "measure_consistency", boom)
    again = imagenet_study.run_shift_study(toy_model("layout"), random_photos(2, 64, 80), study.config, progress=False)
    assert again.numbers() == nums
    with pytest.raises(AssertionError):  # a different model is not served from the cache
        imagenet_study.run_shift_study(toy_model("gap"), random_photos(2, 64, 80), study.config, progress=False)


def test_table_and_figures(study):
    md = imagenet_study.comparison_markdown(study)
    assert "0.062" in md and "89.2" in md and "toy_layout, 2 photos" in md and "8 pairs" in md
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert all(line.count("|") == 6 for line in table)  # five columns fit the page
    nums, ci = study.numbers(), study.intervals()
    lo, hi = ci["p_change_crop"]
    assert f"{nums['p_change_crop']:.3f} [{lo:.3f}, {hi:.3f}]" in md  # every metric with its interval
    full = imagenet_study.intervals_markdown(study)
    assert len([x for x in full.splitlines() if x.startswith("| `")]) == len(nums)
    assert imagenet_study.intervals_markdown(study, ["consistency"]).count("| `") == 1
    with pytest.raises(KeyError, match="not a number"):
        imagenet_study.intervals_markdown(study, ["accuracy_of_nothing"])
    photos = random_photos(2, 64, 80)
    figs = [imagenet_plots.plot_sequence_curves(study, "crop", n=2), imagenet_plots.plot_barcodes(study),
            imagenet_plots.plot_pair_metrics(study),
            imagenet_plots.plot_consistency(study), imagenet_plots.plot_scale_curve(study),
            imagenet_plots.plot_resize_example(study, photos, input_size=SIZE)[0],
            imagenet_plots.plot_protocol_frames(photos.images[0], shifts=(-2, 0, 2), max_shift=4, embed_size=40,
                                                out_size=SIZE)]
    for fig in figs:
        axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
        assert any(ax.get_title() for ax in axes) and all(ax.get_xlabel() for ax in axes)
    import matplotlib.pyplot as plt

    plt.close("all")


def test_per_photo_means_are_the_headline_numbers():
    rng = np.random.default_rng(0)
    top1 = rng.integers(0, 3, size=(5, 6))
    p_top1 = rng.random((5, 6))
    p_next = rng.random((5, 5))
    seq = {"top1": top1, "p_top1": p_top1, "p_next": p_next}
    assert S.per_photo("p_change", seq).shape == (5,)
    assert np.isclose(S.per_photo("p_change", seq).mean(), S.p_top1_change(top1))
    assert np.isclose(S.per_photo("mac", seq).mean(), S.mean_absolute_change(p_top1, p_next))
    crops = {"top1": rng.integers(0, 2, size=(4, 3))}
    assert np.isclose(S.per_photo("consistency", crops).mean(), S.consistency(crops["top1"]))
    with pytest.raises(ValueError):
        S.per_photo("jaggedness", seq)


def test_bootstrap_interval_and_relation():
    values = np.r_[np.zeros(50), np.ones(50)]
    low, high = S.bootstrap_interval(values, n_boot=500, seed=1)
    assert 0.3 < low < 0.5 < high < 0.7
    assert S.bootstrap_interval(values, n_boot=500, seed=1) == (low, high)  # seeded
    assert S.bootstrap_interval(np.full(10, 0.2)) == pytest.approx((0.2, 0.2))
    with pytest.raises(ValueError):
        S.bootstrap_interval([1.0])
    with pytest.raises(ValueError):
        S.bootstrap_interval(values, level=1.0)
    assert S.relation(0.1, 0.2, [0.05, 0.06]) == "above"
    assert S.relation(0.1, 0.2, [0.25]) == "below"
    assert S.relation(0.1, 0.2, [0.05, 0.15]) == "compatible with"
    with pytest.raises(ValueError):
        S.relation(0.3, 0.2, [0.1])
    with pytest.raises(ValueError):
        S.relation(0.1, 0.2, [])


def test_non_finite_values_are_refused_instead_of_giving_nan():
    values = np.r_[np.zeros(5), np.ones(5)]
    values[[3, 7]] = [np.nan, np.inf]
    with pytest.raises(ValueError) as err:
        S.bootstrap_interval(values)
    assert str(err.value).startswith("values holds 2 non-finite values (NaN or inf) of 10 (the first at index 3)")
    with pytest.raises(ValueError, match="the interval .low, high. holds 1 non-finite"):
        S.relation(float("nan"), 0.2, [0.1])  # every comparison with NaN is False: "compatible with"
    with pytest.raises(ValueError, match="published holds 1 non-finite values .* at index 1"):
        S.relation(0.1, 0.2, [0.15, float("nan")])
    p = np.full((2, 4), 0.5)
    p[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"p_true holds 1 non-finite values .NaN or inf. of 8 .the first at "
                                         r"index \(1, 2\)"):
        S.barcode_order(p)
    with pytest.raises(ValueError, match="correct holds 1 non-finite"):
        S.flip_rate(p)  # NaN would silently count as True
    with pytest.raises(ValueError, match="p_top1 holds 1 non-finite"):
        S.mean_absolute_change(p, np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="n_boot must be a positive int, got 2.5"):
        S.bootstrap_interval(np.arange(3.0), n_boot=2.5)  # type: ignore[arg-type]


def test_metrics_refuse_empty_input_instead_of_returning_nan():
    no_rows = np.zeros((0, 4), dtype=np.int64)
    for metric in (S.p_top1_change, S.flip_rate, S.jaggedness, S.consistency):
        with pytest.raises(ValueError, match="empty"):
            metric(no_rows)
    with pytest.raises(ValueError, match="empty"):
        S.mean_absolute_change(np.zeros((0, 4)), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="empty"):
        S.per_photo("p_change", {"top1": no_rows})
    with pytest.raises(ValueError, match="at least 2 frames"):
        S.mean_absolute_change(np.full((2, 1), 0.5), np.zeros((2, 0)))


def test_pair_metrics_check_what_they_are_given():
    probs = torch.softmax(torch.randn(3, 5, 10), dim=-1)
    with pytest.raises(TypeError, match="class indices"):
        S.p_top1_change(probs.max(-1).values)  # probabilities where top-1 classes belong
    with pytest.raises(TypeError, match="class indices"):
        S.consistency(np.random.default_rng(0).normal(size=(3, 4)))  # logits
    logits = torch.randn(3, 5) * 4
    with pytest.raises(ValueError, match="probabilities"):
        S.mean_absolute_change(logits, logits[:, 1:])
    with pytest.raises(ValueError, match="probabilities"):
        S.mean_absolute_change(np.full((1, 3), np.nan), np.full((1, 2), 0.5))
    p = probs.max(-1).values
    assert S.mean_absolute_change(p, p[:, 1:]) >= 0.0  # probabilities pass
    assert S.p_top1_change(probs.argmax(-1)) >= 0.0  # class indices pass


def synthetic_study(n: int, seed: int = 0) -> imagenet_study.ShiftStudy:
    """A study of ``n`` made-up photos (random predictions with fixed rates), for the statistics."""
    rng = np.random.default_rng(seed)
    t, k = 5, 4

    def sequences() -> dict[str, np.ndarray]:
        return {"top1": rng.integers(0, 3, (n, t)), "p_top1": rng.random((n, t)), "p_next": rng.random((n, t - 1)),
                "top5_correct": rng.random((n, t)) < 0.8, "labels": rng.integers(0, 3, n)}

    top5_pil = np.stack([rng.permutation(8)[:5] for _ in range(n)])
    top5_interp = top5_pil.copy()
    swap = rng.random(n) < 0.3  # top-1 and top-2 trade places on some photos
    top5_interp[swap, :2] = top5_interp[swap, 1::-1]
    other = rng.random(n) < 0.2  # a different fifth class on others
    top5_interp[other, 4] = 8
    return imagenet_study.ShiftStudy(
        "synthetic", "synthetic", n,
        imagenet_study.StudyConfig(n_steps=t, n_crops=k, sizes=(224, 64), protocols=("crop", "embed")),
        {"crop": sequences(), "embed": sequences()},
        {"top1": rng.integers(0, 3, (n, k)), "correct": rng.random((n, k)) < 0.6},
        {"sizes": np.array([224, 64]), "top1_correct": rng.random((n, 2)) < 0.5,
         "top5_correct": rng.random((n, 2)) < 0.8},
        {"top5_pil": top5_pil, "top5_interp": top5_interp, "labels": top5_pil[np.arange(n), rng.integers(0, 2, n)],
         "pixel_diff": rng.random(n) * 5},
    )


def test_study_intervals_bracket_every_headline_number(study):
    """Toy model, 2 photos: an interval for every key of numbers(), around its point estimate."""
    nums = study.numbers()
    values = study.per_photo_values()
    assert values.keys() == nums.keys()
    for key, v in values.items():
        assert v.shape == (2,) and np.isclose(v.mean(), nums[key]), key
    ivals = study.intervals(n_boot=500)
    assert ivals.keys() == nums.keys()
    for key, (low, high) in ivals.items():
        assert low - 1e-9 <= nums[key] <= high + 1e-9, (key, low, nums[key], high)
    assert study.numbers() == nums  # unchanged by the intervals
    one = imagenet_study.ShiftStudy(**{**study.__dict__, "n_photos": 1})
    with pytest.raises(ValueError, match="at least 2 photos"):
        one.intervals()
    with pytest.raises(ValueError):
        study.intervals(level=1.5)


def test_study_intervals_are_bootstrap_over_photos_and_narrow_with_more_photos():
    small, large = synthetic_study(25), synthetic_study(400)
    ivals = {}
    for s in (small, large):
        nums, ivals[s.n_photos] = s.numbers(), s.intervals()
        assert ivals[s.n_photos].keys() == nums.keys() and len(nums) == 2 * 5 + 2 + 4 + 6
        for key, (low, high) in ivals[s.n_photos].items():
            assert low <= nums[key] <= high, (key, low, nums[key], high)
        assert ivals[s.n_photos]["consistency"] == S.bootstrap_interval(S.per_photo("consistency", s.consistency))
    ws, wl = ({k: hi - lo for k, (lo, hi) in ivals[n].items()} for n in (25, 400))
    for key in ws:
        assert 0 < wl[key] < 0.6 * ws[key], (key, ws[key], wl[key])  # ~1/4 (sqrt(25/400)) expected
    # 400 photos: close to the normal-theory width 2 * 1.96 * sd / sqrt(n)
    v = large.per_photo_values()["mac_crop"]
    assert wl["mac_crop"] == pytest.approx(2 * 1.96 * v.std(ddof=1) / np.sqrt(v.size), rel=0.15)
    # deterministic for a seed, different for another; a lower level gives a narrower interval
    assert small.intervals(seed=3) == small.intervals(seed=3) != small.intervals(seed=4)
    low90, high90 = small.intervals(level=0.9)["mac_crop"]
    low95, high95 = ivals[25]["mac_crop"]
    assert low95 <= low90 < high90 <= high95
