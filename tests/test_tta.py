"""Test-time augmentation: exact answers on models whose behaviour is known."""

import numpy as np
import pytest
import torch
from torch import nn

import shiftlab
from shiftlab.measure import tta
from shiftlab.studies import tta_study
from shiftlab.viz import tta_plots


class ColumnClassifier(nn.Module):
    """Class = column of the single bright pixel (logit 60 there, 0 elsewhere)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 60.0 * x.sum(dim=(1, 2))  # [N, W]


class StridedSum(nn.Module):
    """Circular conv -> ReLU -> subsample by 2 -> global sum -> linear: invariant to circular shifts
    by multiples of 2 (and not to 1-pixel shifts)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 6, 3, padding=1, padding_mode="circular", dtype=torch.float64)
        self.fc = nn.Linear(6, 4, dtype=torch.float64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x))[:, :, ::2, ::2].sum((2, 3)))


def test_identity_set_is_the_plain_prediction():
    model = StridedSum()
    x = torch.rand(5, 1, 8, 8, dtype=torch.float64)
    res = tta.tta_predict(model, x, torch.zeros(1, 2, dtype=torch.long))
    assert torch.allclose(res.probs, torch.softmax(model(x), 1), atol=1e-12)
    assert (res.copies, res.forward_passes, res.calls) == (1, 5, 1)


def test_known_answer_one_third_each():
    x = torch.zeros(4, 1, 1, 5, dtype=torch.float64)
    cols = [0, 2, 3, 4]
    for i, c in enumerate(cols):
        x[i, 0, 0, c] = 1.0
    shifts = torch.tensor([[-1, 0], [0, 0], [1, 0]])
    res = tta.tta_predict(ColumnClassifier(), x, shifts, fill="circular")
    expected = torch.zeros(4, 5, dtype=torch.float64)
    for i, c in enumerate(cols):
        for d in (-1, 0, 1):
            expected[i, (c + d) % 5] = 1 / 3
    assert torch.allclose(res.probs, expected, atol=1e-20)
    assert res.forward_passes == 12 and res.calls == 1


def test_tta_over_all_phases_makes_the_model_exactly_invariant():
    model = StridedSum()
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64)
    p0 = torch.softmax(model(x), 1)
    p1 = torch.softmax(model(shiftlab.translate(x, 1, 0, fill="circular")), 1)
    p2 = torch.softmax(model(shiftlab.translate(x, 2, -2, fill="circular")), 1)
    assert (p0 - p1).abs().max() > 1e-3  # a 1-pixel shift changes the plain prediction
    assert (p0 - p2).abs().max() < 1e-12  # shifts by the stride do not
    phases = torch.tensor([[0, 0], [1, 0], [0, 1], [1, 1]])  # s^2 = 4 copies
    ref = tta.tta_predict(model, x, phases, fill="circular").probs
    for dx, dy in [(1, 0), (0, 1), (1, 1), (3, -5), (-7, 2)]:
        moved = tta.tta_predict(model, shiftlab.translate(x, dx, dy, fill="circular"), phases, fill="circular")
        assert (moved.probs - ref).abs().max() < 1e-12


def test_batching_gives_the_same_answer_and_counts_calls():
    model = nn.Sequential(nn.Flatten(), nn.Linear(36, 7))
    model.train()
    x = torch.rand(5, 1, 6, 6)
    sh = tta.tta_shifts(1)
    one = tta.tta_predict(model, x, sh)
    many = tta.tta_predict(model, x, sh, batch_size=18)  # 2 images (18 copies) per call
    assert torch.allclose(one.probs, many.probs, atol=1e-6)
    assert one.calls == 1 and many.calls == 3 and many.forward_passes == 45 == 5 * sh.shape[0]
    assert torch.allclose(one.probs.sum(1), torch.ones(5))
    assert model.training  # mode restored


def test_tta_errors():
    model = StridedSum()
    x = torch.rand(2, 1, 8, 8, dtype=torch.float64)
    with pytest.raises(TypeError):
        tta.tta_predict(model, x, torch.zeros(1, 2))
    with pytest.raises(ValueError):
        tta.tta_predict(model, x, torch.zeros(1, 3, dtype=torch.long))
    with pytest.raises(ValueError):
        tta.tta_predict(model, x[0], torch.zeros(1, 2, dtype=torch.long))
    with pytest.raises(ValueError):
        tta.tta_predict(model, x, torch.zeros(1, 2, dtype=torch.long), batch_size=0)


def test_augmentation_copies():
    assert tta.augmentation_copies(45) == 2025
    assert tta.augmentation_copies(4, n_rotations=36, n_scales=5) == 16 * 180
    with pytest.raises(ValueError):
        tta.augmentation_copies(0)
    with pytest.raises(ValueError):
        tta.augmentation_copies(2, n_rotations=1.5)


def test_ring_shifts():
    g = torch.Generator().manual_seed(0)
    dx, dy = tta.ring_shifts(4000, 3, g)
    assert (torch.maximum(dx.abs(), dy.abs()) == 3).all()
    assert len({(a, b) for a, b in zip(dx.tolist(), dy.tolist())}) == 24  # every shift of the ring occurs
    zx, zy = tta.ring_shifts(5, 0)
    assert (zx == 0).all() and (zy == 0).all()
    with pytest.raises(ValueError):
        tta.ring_shifts(3, -1)


def test_mnist_measurement_on_a_tiny_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    cfg = tta_study.MnistTTAConfig(n_digits=40, radii=(0, 2), tta=(("3x3", 1, 1),))
    test = shiftlab.load_mnist("test", limit=40)
    out = tta_study._mnist_one(model, test.images, test.labels, cfg, (14.0, 14.0))
    assert set(out) == {"no TTA", "3x3", "re-centre"} and all(len(v) == 2 for v in out.values())
    # MNIST digits are already centred to half a pixel: re-centring changes nothing at r = 0, and after a
    # 2-pixel shift (no ink leaves the 28 x 28 field) it restores exactly the same images
    assert out["re-centre"][0] == out["no TTA"][0]
    assert out["re-centre"][1] == out["re-centre"][0]
    assert cfg.copies("3x3") == 9 and cfg.copies("re-centre") == 1


class FakeImageNet:
    """Stands in for an ImageNetModel: class = brightness bin of the window's mean (10 classes)."""

    name, description, input_size = "fake", "brightness", 32
    identity = "fake|brightness|32"

    def predict(self, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        m = images.mean((1, 2, 3))
        centres = torch.linspace(0.05, 0.95, 10)
        return torch.softmax(-((m[:, None] - centres[None]) ** 2) * 400, 1)

    def summary(self) -> str:
        return "fake: brightness classifier"


def test_imagenet_study_reuses_windows_and_matches_the_plain_sequence():
    from shiftlab.data.photos import PhotoSet
    from shiftlab.measure.protocols import shift_sequence

    g = torch.Generator().manual_seed(0)
    imgs = [torch.full((3, 50, 60), 128, dtype=torch.uint8), (torch.rand(3, 48, 48, generator=g) * 255).to(torch.uint8)]
    photos = PhotoSet(imgs, torch.tensor([5, 3]), ["a.png", "b.png"], None, [str(i) for i in range(1000)])
    cfg = tta_study.ImageNetTTAConfig(n_steps=3, max_shift=12, tta=(("1px", 1, 1), ("8px", 8, 8)), batch_size=16)
    study = tta_study.imagenet_tta_study(FakeImageNet(), photos, cfg, use_cache=False, progress=False)
    assert study.windows_per_photo.tolist() == [43, 43]  # 19 windows for the 1-px band + 24 for the 8-px copies
    nums = study.numbers()
    assert set(nums) == {"no TTA", "1px", "8px"} and nums["8px"]["copies"] == 9
    # a constant photo looks the same in every window: every method agrees and nothing changes
    for meth in nums:
        assert (study.stats[meth]["top1"][0] == 5).all()
    frames, _ = shift_sequence(imgs[1], "crop", 3, 32, 12)
    plain = FakeImageNet().predict(frames).argmax(1).numpy()
    assert np.array_equal(study.stats["no TTA"]["top1"][1], plain)
    with pytest.raises(ValueError):
        tta_study.imagenet_tta_study(FakeImageNet(), photos, tta_study.ImageNetTTAConfig(n_steps=3, max_shift=4),
                               use_cache=False, progress=False)



def test_guaranteed_copies_needs_a_global_pool_head():
    assert tta.guaranteed_copies(4, "global_pool") == 16
    assert tta.guaranteed_copies(2, "global_pool", 36, 5) == 720
    assert tta.guaranteed_copies(1, "fc") is None  # an FC head guarantees no shift at all
    assert tta.guaranteed_copies(32, "fc", 36, 5) is None
    with pytest.raises(ValueError):
        tta.guaranteed_copies(4, "gap")
    with pytest.raises(ValueError):
        tta.guaranteed_copies(0, "fc")


def test_figures_fit_the_text_column():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = tta_study.MnistTTAConfig(n_digits=10)
    acc = {(m, a, meth): np.full((2, len(cfg.radii)), 0.5)
           for m in "ABC" for a in (False, True) for meth in cfg.methods}
    study = tta_study.MnistTTAStudy(cfg, (0, 1), acc, (14.0, 14.0))
    fig = tta_plots.plot_mnist_tta(study)
    assert fig.get_size_inches()[0] <= 8
    plt.close(fig)
    icfg = tta_study.ImageNetTTAConfig(n_steps=3)
    n, t = 4, 3
    stats = {m: {"top1": np.zeros((n, t), int), "top5_correct": np.ones((n, t), bool),
                 "p_top1": np.full((n, t), 0.5),
                 "p_next": np.full((n, t - 1), 0.4)}
             for m in icfg.methods}
    istudy = tta_study.ImageNetTTAStudy("model: x", icfg, np.zeros(n, int), stats, np.full(n, 9))
    fig = tta_plots.plot_imagenet_tta(istudy)
    assert fig.get_size_inches()[0] <= 8
    for ax in fig.axes:
        assert ax.get_ylim()[0] == 0  # bars start at zero
    plt.close(fig)
