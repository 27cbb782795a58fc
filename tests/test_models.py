import pytest
import torch

from shiftlab.core.shifts import translate
from shiftlab.nn.mnist_models import MODEL_NAMES, count_parameters, describe_model, make_model


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_output_shape(name):
    m = make_model(name)
    assert m(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_models_differ_only_in_pooling():
    pools = {n: sum(isinstance(m, torch.nn.MaxPool2d) for m in make_model(n).features) for n in MODEL_NAMES}
    assert pools == {"A": 0, "B": 1, "C": 2}
    convs = {n: [(m.in_channels, m.out_channels, m.kernel_size, m.padding) for m in make_model(n).features
                 if isinstance(m, torch.nn.Conv2d)] for n in MODEL_NAMES}
    assert convs["A"] == convs["B"] == convs["C"]
    # only the first FC layer's width differs: 28x28, 14x14, 7x7 feature maps
    fc = {n: make_model(n).head[1].in_features for n in MODEL_NAMES}
    assert fc == {"A": 8 * 28 * 28, "B": 8 * 14 * 14, "C": 8 * 7 * 7}
    assert count_parameters(make_model("A")) > count_parameters(make_model("B")) > count_parameters(make_model("C"))


def test_describe_model_rows():
    rows = describe_model(make_model("C"))
    assert rows[0] == ("input", "1x28x28", 0)
    assert rows[-1][1] == "10"
    assert sum(r[2] for r in rows) == count_parameters(make_model("C"))
    assert any("MaxPool2d" in r[0] for r in rows)


def test_feature_equivariance_away_from_border():
    torch.manual_seed(0)
    x = torch.zeros(1, 1, 28, 28)
    x[..., 10:18, 10:18] = torch.rand(8, 8)
    a = make_model("A").eval()
    fa = a.features(x)
    # A has no pooling: its features shift exactly with the input, away from the padded border
    inner = (..., slice(4, -4), slice(4, -4))
    assert torch.allclose(a.features(translate(x, 2, -1))[inner], translate(fa, 2, -1)[inner], atol=1e-6)
    assert not torch.allclose(a.features(translate(x, 2, -1))[inner], fa[inner], atol=1e-3)
    c = make_model("C").eval()
    # C subsamples by 4: a shift by 4 pixels moves its 7x7 features by exactly 1 cell ...
    fc, mid = c.features(x), (..., slice(2, 6), slice(2, 6))
    assert torch.allclose(c.features(translate(x, 4, 4))[mid], translate(fc, 1, 1)[mid], atol=1e-6)
    # ... but a 1-pixel shift does not correspond to any shift of the features
    f1 = c.features(translate(x, 1, 0))[mid]
    assert not any(torch.allclose(f1, translate(fc, a, 0)[mid], atol=1e-3) for a in (0, 1))


def test_errors():
    with pytest.raises(ValueError):
        make_model("D")
    with pytest.raises(ValueError):
        make_model("A", channels=(0, 4))
    with pytest.raises(ValueError):
        make_model("A")(torch.rand(2, 3, 28, 28))


def test_pool_is_a_constructor_argument():
    from shiftlab.nn.aps import APSMaxPool2d
    from shiftlab.nn.blurpool import AntiAliasedMaxPool2d
    from shiftlab.nn.mnist_models import make_variant

    for pool, kind in (("max", torch.nn.MaxPool2d), ("blur", AntiAliasedMaxPool2d), ("aps", APSMaxPool2d)):
        torch.manual_seed(0)
        m = make_model("C", pool=pool)
        assert sum(isinstance(x, kind) for x in m.features) == 2
        assert m(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    # pools carry no parameters: every variant starts from model C's weights for a seed
    torch.manual_seed(5)
    ref = make_model("C").state_dict()
    for name in ("BlurPool-C", "APS-C"):
        torch.manual_seed(5)
        v = {k: t for k, t in make_variant(name).state_dict().items() if not k.endswith("kernel")}
        assert v.keys() == ref.keys() and all(torch.equal(v[k], ref[k]) for k in ref)
    assert make_variant("APS-C").name == "C-aps" and make_variant("BlurPool-C").name == "C-blur3"
    custom = make_model("B", pool=lambda: torch.nn.AvgPool2d(2))
    assert isinstance(custom.features[2], torch.nn.AvgPool2d)
    with pytest.raises(ValueError, match="pool must be one of"):
        make_model("C", pool="mean")


@pytest.mark.parametrize("variant", ["C", "BlurPool-C", "APS-C"])
def test_circular_padding_with_a_global_pool_head(variant):
    """On a torus (circular conv padding, circular pools) with a global-average head every
    variant is exactly invariant to shifts by a multiple of its total stride 4; APS-C to every
    shift; with the FC head a shift by 4 moves the last map by one cell and the logits change."""
    from shiftlab.nn.mnist_models import make_variant
    torch.manual_seed(0)
    gap = make_variant(variant, padding_mode="circular", head="gap").double().eval()
    fc = make_variant(variant, padding_mode="circular", head="fc").double().eval()
    x = torch.rand(3, 1, 28, 28, dtype=torch.float64)
    err = lambda m, s: float((m(x) - m(torch.roll(x, s, dims=(2, 3)))).abs().max().detach())  # noqa: E731
    assert err(gap, (4, -8)) < 1e-12
    assert err(fc, (4, -8)) > 1e-6
    assert (err(gap, (1, 3)) < 1e-12) == (variant == "APS-C")
    for m in (gap, fc):
        assert [getattr(c, "padding_mode", "circular") for c in m.features
                if isinstance(c, torch.nn.Conv2d)] == ["circular", "circular"]


def test_padding_and_head_keep_the_initial_weights_and_check_their_arguments():
    from shiftlab.nn.mnist_models import make_variant
    torch.manual_seed(0)
    ref = dict(make_model("C").named_parameters())
    torch.manual_seed(0)
    circ = dict(make_variant("BlurPool-C", padding_mode="circular").named_parameters())
    assert ref.keys() == circ.keys() and all(torch.equal(ref[k], circ[k]) for k in ref)
    assert make_model("A", head="gap")(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    with pytest.raises(ValueError, match="padding_mode"):
        make_model("C", padding_mode="reflect")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="head"):
        make_model("C", head="max")


@pytest.mark.parametrize("name, side, feature_map", [("C", 27, "8x6x6"), ("C", 64, "8x16x16"), ("A", 29, "8x29x29"),
                                                     ("B", 0, None)])
def test_fc_head_says_which_images_it_takes(name, side, feature_map):
    m = make_model(name)
    fc_map = {"A": "8x28x28", "B": "8x14x14", "C": "8x7x7"}[name]
    got = "empty images" if feature_map is None else f"whose feature map is {feature_map}"
    want = (f"model {name} with an FC head takes [N, 1, 28, 28] images (its first FC layer is sized for their "
            f"{fc_map} feature map); got [2, 1, {side}, {side}], {got}. Resize or pad the images to 28x28, "
            "or for other sizes use head='gap' (global average pooling)")
    with pytest.raises(ValueError) as err:
        m(torch.rand(2, 1, side, side))
    assert str(err.value) == want
    gap = make_model(name, head="gap")
    if side:
        assert gap(torch.rand(2, 1, side, side)).shape == (2, 10)  # what the message promises


def test_gap_head_takes_any_size_its_pools_can_halve():
    c = make_model("C", head="gap")
    for side in (4, 5, 27, 64):
        assert c(torch.rand(1, 1, side, side + 3)).shape == (1, 10)
    with pytest.raises(ValueError, match=r"model C with a GAP head takes images \[N, 1, H, W\] with H, W >= 4 "
                                         r"\(each of its 2 max pools halves the side\); got \[2, 1, 3, 9\]"):
        c(torch.rand(2, 1, 3, 9))
    with pytest.raises(ValueError, match="with H, W >= 1 .not empty.; got .2, 1, 0, 5."):
        make_model("A", head="gap")(torch.rand(2, 1, 0, 5))
    with pytest.raises(ValueError, match="APS needs spatial sizes divisible by the stride 2"):
        make_model("C", pool="aps", head="gap")(torch.rand(1, 1, 27, 27))  # the pool's own check


@pytest.mark.parametrize("kwargs, match", [
    ({"hidden": -1}, "hidden must be a positive int .the width of the hidden FC layer., e.g. 64, got -1"),
    ({"hidden": 0}, "hidden must be a positive int"),
    ({"hidden": 2.5}, "hidden must be a positive int.*got 2.5"),
    ({"hidden": True}, "hidden must be a positive int.*got True"),
    ({"channels": (4,)}, r"channels must be two positive ints .the output channels of the two convolutions., "
                         r"e.g. \(4, 8\), got \(4,\)"),
    ({"channels": 8}, "channels must be two positive ints.*got 8"),
    ({"channels": (4, 8.5)}, "channels must be two positive ints.*got .4, 8.5."),
    ({"channels": (4, -8)}, "channels must be two positive ints.*got .4, -8."),
    ({"channels": (4, 8, 16)}, "channels must be two positive ints"),
    ({"head": "avg"}, "head must be one of .'fc', 'gap'., got 'avg'"),
    ({"pool": "mean"}, "pool must be one of"),
    ({"padding_mode": "reflect"}, "padding_mode must be one of"),
])
def test_make_model_checks_every_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_model("C", **kwargs)


def test_make_model_checks_the_name_and_takes_numpy_ints():
    import numpy as np

    with pytest.raises(ValueError, match=r"model name must be one of \('A', 'B', 'C'\), got 'c'"):
        make_model("c")
    with pytest.raises(ValueError, match="model name must be one of .*got None"):
        make_model(None)  # type: ignore[arg-type]
    m = make_model("C", channels=(np.int64(4), np.int64(6)), hidden=np.int64(16))  # type: ignore[arg-type]
    assert m(torch.rand(1, 1, 28, 28)).shape == (1, 10) and m.head[1].in_features == 6 * 7 * 7
    from shiftlab.nn.mnist_models import MnistNet

    with pytest.raises(ValueError, match="image_size must be a positive int"):
        MnistNet("C", image_size=0)
    with pytest.raises(ValueError, match="image_size 3 is too small for model C: its 2 pools need at least 4 px"):
        MnistNet("C", image_size=3)
    assert MnistNet("C", image_size=32)(torch.rand(1, 1, 32, 32)).shape == (1, 10)
