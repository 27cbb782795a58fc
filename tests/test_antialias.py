import math

import pytest
import torch
from torch import nn

from shiftlab.measure.shift_accuracy import shift_consistency, shift_predictions
from shiftlab.nn import blurpool as aa
from shiftlab.nn.mnist_models import make_model, make_variant
from shiftlab.studies import mnist_variants as mv

PASCAL = {1: [1], 2: [1, 1], 3: [1, 2, 1], 4: [1, 3, 3, 1], 5: [1, 4, 6, 4, 1], 6: [1, 5, 10, 10, 5, 1],
          7: [1, 6, 15, 20, 15, 6, 1]}


@pytest.mark.parametrize("size", range(1, 8))
def test_binomial_coefficients_and_normalisation(size):
    assert aa.binomial_row(size).tolist() == PASCAL[size]
    k = aa.binomial_filter(size, dtype=torch.float64)
    assert k.shape == (size, size)
    assert torch.isclose(k.sum(), torch.tensor(1.0, dtype=torch.float64), atol=1e-15)
    row = torch.tensor(PASCAL[size], dtype=torch.float64)
    assert torch.allclose(k, torch.outer(row, row) / 4 ** (size - 1))
    raw = aa.binomial_filter(size, dtype=torch.float64, normalize=False)
    assert raw.sum() == 4 ** (size - 1)


@pytest.mark.parametrize("bad", [0, 8, -1])
def test_filter_size_range(bad):
    with pytest.raises(ValueError):
        aa.binomial_row(bad)


def test_filter_size_type():
    with pytest.raises(TypeError):
        aa.binomial_filter(2.5)
    with pytest.raises(TypeError):
        aa.binomial_filter(True)


def test_pad_sizes_paper_convention():
    assert aa.blur_pad_sizes(1) == (0, 0, 0, 0)
    assert aa.blur_pad_sizes(2) == (0, 1, 0, 1)
    assert aa.blur_pad_sizes(3) == (1, 1, 1, 1)
    assert aa.blur_pad_sizes(4) == (1, 2, 1, 2)
    assert aa.blur_pad_sizes(5) == (2, 2, 2, 2)
    assert aa.blur_pad_sizes(7) == (3, 3, 3, 3)


def test_size_one_is_plain_subsampling():
    x = torch.randn(2, 3, 9, 10)
    assert torch.equal(aa.blur_subsample(x, 1, 2), x[..., ::2, ::2])
    assert torch.equal(aa.BlurPool2d(1, 3)(x), x[..., ::3, ::3])


def test_reflect_padding_values_by_hand():
    x = torch.arange(16, dtype=torch.float64).reshape(1, 1, 4, 4) ** 2
    out = aa.blur_subsample(x, 3, 2, "reflect")
    xp = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")[0, 0]
    k = aa.binomial_filter(3, dtype=torch.float64)
    manual = torch.tensor([[float((xp[i:i + 3, j:j + 3] * k).sum()) for j in (0, 2)] for i in (0, 2)],
                          dtype=torch.float64)
    assert torch.allclose(out[0, 0], manual)
    # reflect (not replicate): the padded row above row 0 is row 1
    assert xp[0, 1] == x[0, 0, 1, 0]


@pytest.mark.parametrize("size", range(1, 8))
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_constant_maps_stay_constant(size, mode):
    x = torch.full((1, 2, 12, 12), 3.0, dtype=torch.float64)
    out = aa.blur_subsample(x, size, 2, mode)
    assert torch.allclose(out, torch.full_like(out, 3.0))


def test_zero_padding_darkens_the_border():
    x = torch.ones(1, 1, 8, 8)
    out = aa.blur_subsample(x, 3, 2, "zeros")
    assert out[0, 0, 0, 0] < 1 and torch.isclose(out[0, 0, 2, 2], torch.tensor(1.0))


@pytest.mark.parametrize("size", range(1, 8))
@pytest.mark.parametrize("side", [7, 8, 13, 28])
def test_blurpool_shapes(size, side):
    x = torch.randn(2, 5, side, side)
    assert aa.BlurPool2d(size, 2)(x).shape == (2, 5, math.ceil(side / 2), math.ceil(side / 2))
    # the anti-aliased max pool keeps the plain pool's output size
    assert aa.AntiAliasedMaxPool2d(2, 2, size)(x).shape == nn.MaxPool2d(2)(x).shape


def test_blurpool_has_no_parameters_but_a_buffer():
    m = aa.BlurPool2d(4)
    assert not list(m.parameters())
    assert "kernel" in m.state_dict()
    y = m.double()(torch.randn(1, 3, 8, 8, dtype=torch.float64))
    assert y.dtype == torch.float64


def test_antialiased_conv_block_shape():
    x = torch.randn(2, 3, 32, 32)
    block = aa.AntiAliasedConv2d(3, 8, 3, stride=2, padding=1, filter_size=5)
    assert block(x).shape == nn.Conv2d(3, 8, 3, stride=2, padding=1)(x).shape == (2, 8, 16, 16)
    assert block.conv.stride == (1, 1)


def test_linear_block_equals_blur_of_dense_conv():
    torch.manual_seed(0)
    block = aa.AntiAliasedConv2d(2, 3, 3, 2, 1, 3, activation=nn.Identity()).double()
    x = torch.randn(1, 2, 10, 10, dtype=torch.float64)
    assert torch.allclose(block(x), aa.blur_subsample(block.conv(x), 3, 2))


@pytest.mark.parametrize("size", [2, 3, 4, 5, 6, 7])
def test_global_sum_is_phase_independent_for_binomial_filters(size):
    """Binomial filters (size >= 2) vanish at the Nyquist frequency, so every polyphase
    component of the blurred map has the same sum."""
    x = torch.rand(3, 4, 16, 16, dtype=torch.float64)
    sums = [aa.blur_subsample(torch.roll(x, (dy, dx), (-2, -1)), size, 2, "circular").sum((-2, -1))
            for dx in (0, 1) for dy in (0, 1)]
    for s in sums[1:]:
        assert torch.allclose(s, sums[0], rtol=1e-12)


def test_global_sum_without_blur_depends_on_phase():
    x = torch.rand(3, 4, 16, 16, dtype=torch.float64)
    a = aa.blur_subsample(x, 1, 2, "circular").sum((-2, -1))
    b = aa.blur_subsample(torch.roll(x, 1, -1), 1, 2, "circular").sum((-2, -1))
    assert not torch.allclose(a, b, rtol=1e-3)


def test_errors():
    with pytest.raises(ValueError):
        aa.blur_subsample(torch.randn(1, 1, 8, 8), 3, 2, "mirror")
    with pytest.raises(ValueError):
        aa.blur_subsample(torch.randn(8, 8), 3, 2)
    with pytest.raises(TypeError):
        aa.blur_subsample(torch.ones(1, 1, 8, 8, dtype=torch.long), 3, 2)
    with pytest.raises(ValueError):
        aa.BlurPool2d(3, 0)
    with pytest.raises(ValueError):
        aa.blur_subsample(torch.randn(1, 1, 2, 2), 7, 2, "reflect")  # reflect pad larger than the map
    with pytest.raises(ValueError):
        make_variant("D")


def test_blurpool_c_matches_model_c_except_pooling():
    torch.manual_seed(3)
    c = make_model("C")
    torch.manual_seed(3)
    b = make_model("C", pool="blur")
    assert not any(isinstance(m, nn.MaxPool2d) and m.stride == 2 for m in b.modules())
    assert sum(isinstance(m, aa.AntiAliasedMaxPool2d) for m in b.modules()) == 2
    sc, sb = c.state_dict(), {k: v for k, v in b.state_dict().items() if not k.endswith("kernel")}
    assert sc.keys() == sb.keys() and all(torch.equal(sc[k], sb[k]) for k in sc)
    assert b(torch.rand(4, 1, 28, 28)).shape == (4, 10)


class _ArgmaxPosition(nn.Module):
    """Predicts (column of the brightest pixel) mod 10: changes with every horizontal shift."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        col = x.flatten(1).argmax(1) % x.shape[-1]
        return nn.functional.one_hot(col % 10, 10).float() + self.dummy


class _Constant(_ArgmaxPosition):
    def forward(self, x):
        return torch.zeros(x.shape[0], 10) + torch.arange(10.0) + self.dummy


def test_shift_consistency_can_fail():
    x = torch.zeros(3, 1, 12, 12)
    x[:, 0, 6, 6] = 1
    assert shift_consistency(_Constant(), x, 1) == 100.0
    low = shift_consistency(_ArgmaxPosition(), x, 1)
    # of the 36 pairs of the 9 shifts, only the 9 pairs with equal dx agree (3 dx values x 3 pairs each)
    assert low == pytest.approx(100 * 9 / 36)
    top1 = shift_predictions(_ArgmaxPosition(), x, torch.tensor([[0, 0], [1, 0]]))
    assert top1.shape == (3, 2) and (top1[:, 1] == top1[:, 0] + 1).all()


def test_trainer_builds_a_variant_through_model_factory():
    from shiftlab.data.mnist import MnistSplit
    from shiftlab.train.trainer import TrainConfig, train_model

    split = MnistSplit(torch.rand(32, 1, 28, 28), torch.randint(0, 10, (32,)))
    cfg = TrainConfig(model="C", augment=False, epochs=1, seed=0, train_size=32, batch_size=16)
    made = []

    def factory(c):
        made.append(c)
        return make_variant("BlurPool-C", c.channels, c.hidden)

    tm = train_model(cfg, split, device="cpu", progress=False, model_factory=factory)
    assert made == [cfg] and tm.model.name == "C-blur3"


def test_step_time_reports_each_model():
    from shiftlab.data.mnist import MnistSplit

    split = MnistSplit(torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,)))
    t = mv.step_time({"C": lambda: make_model("C"), "BlurPool-C": lambda: make_variant("BlurPool-C")}, split,
                     steps=1, rounds=1, batch_size=8, device="cpu")
    assert set(t) == {"C", "BlurPool-C"} and all(v > 0 for v in t.values())


def _fake_results():
    from types import SimpleNamespace

    runs = [mv.VariantRun(v, s, 0.97 + 0.001 * s, 0.95, 0.7 + 0.01 * s, 60.0 + s, [30.0])
            for v in ("C", "APS-C") for s in (0, 1)]
    return mv.VariantResults(runs, SimpleNamespace(train_size=60000),
                                    {"C": 5.0, "APS-C": 12.0})


def test_variant_table_fits_the_page():
    md = _fake_results().markdown()
    head = md.splitlines()[0]
    assert head.count("|") - 1 <= 7 and "trainer" not in head
    assert "| APS-C | 0.970 ± 0.001 |" in md and "60.5 ± 0.7" in md
    assert "s / epoch (trainer)" in _fake_results().markdown(trainer_clock=True)


def test_glue_table_gives_every_number_a_kind(monkeypatch):
    got = {}
    monkeypatch.setattr(mv, "glue", lambda n, v, kind=None: got.update({n: kind}))
    _fake_results().glue_table("var")
    assert got["var_C_default"] == "accuracy" and got["var_APSC_consistency"] == "percent"
    assert got["var_C_shift_std"] == "nonneg" and got["var_APSC_step_ms"] == "nonneg"
    assert None not in got.values()


def test_activation_none_is_a_linear_block():
    torch.manual_seed(0)
    block = aa.AntiAliasedConv2d(2, 3, 3, 2, 1, 3, activation=None, bias=False).double()
    x, y = torch.randn(2, 1, 2, 10, 10, dtype=torch.float64)
    assert isinstance(block.act, nn.Identity)
    assert torch.allclose(block(2 * x - 3 * y), 2 * block(x) - 3 * block(y))
    assert torch.allclose(block(x), aa.blur_subsample(block.conv(x), 3, 2))
    assert isinstance(aa.AntiAliasedConv2d(2, 3).act, nn.ReLU)  # the default keeps the ReLU
    assert isinstance(aa.AntiAliasedConv2d(2, 3, activation=nn.GELU()).act, nn.GELU)
    with pytest.raises(TypeError):
        aa.AntiAliasedConv2d(2, 3, activation="gelu")  # type: ignore[arg-type]
