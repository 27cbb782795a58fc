"""The three meanings of "shift a digit" (roll, crop, embed) and Zhang's consistency under
each (issue 14): what each protocol does pixel by pixel, the exact invariance of APS with
circular padding and a global-average-pool head under roll (float64, at random weights) and
its failure under the other protocols or with zero padding, and a tiny run of the cached study
with its table, glue and figure (in a temporary cache folder).

Complements ``tests/test_beyond.py`` (basic views and the APS exactness at one seed).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from shiftlab.core.shifts import shift_grid, translate
from shiftlab.measure.move_protocols import PITCH, PROTOCOLS, mosaic, protocol_consistency, protocol_views
from shiftlab.nn.mnist_models import make_variant
from shiftlab.studies.mnist_pooling import MnistSettings
from shiftlab.viz.plotting import BOOK_WIDTH

GEN = lambda s=0: torch.Generator().manual_seed(s)  # noqa: E731
MARGIN = 28 - PITCH  # how far each neighbour reaches into the digit's window at shift 0


def _digits(n: int = 5, seed: int = 0) -> torch.Tensor:
    """Random "digits": ink in [0, 1] strictly inside a MARGIN-pixel empty frame, like MNIST's
    20 x 20 box (real MNIST digits often reach into the frame; see the docstring of
    test_crop_at_shift_zero_is_the_digit_when_the_margins_are_empty)."""
    x = torch.zeros(n, 1, 28, 28)
    x[..., MARGIN:-MARGIN, MARGIN:-MARGIN] = torch.rand(n, 1, 28 - 2 * MARGIN, 28 - 2 * MARGIN, generator=GEN(seed))
    return x


def test_every_protocol_returns_the_digit_at_shift_zero():
    x, nb = _digits(4), _digits(32, 1).reshape(4, 8, 1, 28, 28)
    for p in PROTOCOLS:
        views = protocol_views(x, torch.zeros(1, 2, dtype=torch.long), p, nb if p == "crop" else None)
        assert views.shape == (1, 4, 1, 28, 28)
        assert torch.equal(views[0], x), p


def test_crop_at_shift_zero_is_the_digit_when_the_margins_are_empty():
    """What holds exactly: at shift 0 the window is ``max(digit, neighbours' 4-px edges)``, so
    it is the digit iff those edges are empty (or darker than the digit there). For real MNIST
    test digits they often are not: about 2/3 of the course's 1000 grid digits get some
    neighbour ink at shift 0 (3.6 % extra ink on average)."""
    x = torch.rand(3, 1, 28, 28, generator=GEN(2))                   # ink everywhere
    nb = torch.rand(3, 8, 1, 28, 28, generator=GEN(3))
    view = protocol_views(x, torch.zeros(1, 2, dtype=torch.long), "crop", nb)[0]
    assert torch.equal(view, mosaic(x, nb)[..., PITCH:PITCH + 28, PITCH:PITCH + 28])
    assert torch.equal(view[..., MARGIN:-MARGIN, MARGIN:-MARGIN], x[..., MARGIN:-MARGIN, MARGIN:-MARGIN])
    assert (view >= x).all() and not torch.equal(view, x)


@pytest.mark.parametrize(("dx", "dy"), [(1, 0), (0, -2), (3, 3), (-3, 1), (2, -3)])
def test_crop_is_zero_fill_plus_what_enters_from_the_neighbours(dx, dy):
    x, nb = _digits(3, 4), _digits(24, 5).reshape(3, 8, 1, 28, 28)
    shifts = torch.tensor([[dx, dy]])
    crop = protocol_views(x, shifts, "crop", nb)[0]
    embed = protocol_views(x, shifts, "embed")[0]
    assert torch.equal(embed, translate(x, dx, dy))
    # where the moved digit lands, the two agree (the neighbours' edges there are empty) ...
    inside = translate(torch.ones(1, 1, 28, 28), dx, dy).bool().expand_as(crop)
    assert torch.equal(crop[inside], embed[inside])
    # ... and what came in is the mosaic's content next to the digit, not zeros
    y0, x0 = PITCH - dy, PITCH - dx
    assert torch.equal(crop, mosaic(x, nb)[..., y0:y0 + 28, x0:x0 + 28])
    assert crop[~inside].abs().sum() > 0 and embed[~inside].abs().sum() == 0


def test_crop_with_a_black_mosaic_is_exactly_embed():
    x = _digits(3, 6)
    shifts = shift_grid(3)
    crop = protocol_views(x, shifts, "crop", torch.zeros(3, 8, 1, 28, 28))
    assert torch.equal(crop, protocol_views(x, shifts, "embed"))


def test_roll_is_exactly_invertible_and_embed_is_not():
    x = torch.rand(4, 1, 28, 28, dtype=torch.float64, generator=GEN(7))
    shifts = shift_grid(3)
    rolled = protocol_views(x, shifts, "roll")
    for s, (dx, dy) in enumerate(shifts.tolist()):
        undo = protocol_views(rolled[s], torch.tensor([[-dx, -dy]]), "roll")[0]
        assert torch.equal(undo, x)
        assert torch.equal(rolled[s], torch.roll(x, (dy, dx), dims=(2, 3)))
        if (dx, dy) != (0, 0):
            gone = protocol_views(protocol_views(x, torch.tensor([[dx, dy]]), "embed")[0],
                                  torch.tensor([[-dx, -dy]]), "embed")[0]
            assert not torch.equal(gone, x)   # zero fill loses the pixels that left the frame


def test_protocol_views_rejects_bad_input():
    x = torch.rand(2, 1, 28, 28)
    with pytest.raises(ValueError, match="protocol"):
        protocol_views(x, shift_grid(1), "reflect")
    with pytest.raises(ValueError, match="neighbours"):
        protocol_views(x, shift_grid(1), "crop")
    with pytest.raises(ValueError, match="neighbours"):
        protocol_views(x, shift_grid(1), "crop", torch.zeros(2, 7, 1, 28, 28))
    with pytest.raises(ValueError, match="leaves the mosaic"):
        protocol_views(x, torch.tensor([[PITCH + 1, 0]]), "crop", torch.zeros(2, 8, 1, 28, 28))
    with pytest.raises(ValueError):
        protocol_views(torch.rand(28, 28), shift_grid(1), "roll")
    with pytest.raises(TypeError):
        protocol_views(x, torch.zeros(1, 2), "roll")                    # float shifts
    with pytest.raises(ValueError, match="same length"):
        protocol_consistency(make_variant("C"), x, torch.zeros(3, dtype=torch.long), "roll", 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_aps_circular_gap_is_exactly_invariant_under_roll_only(seed):
    """EXACT (float64, random weights): APS-C with circular padding and a GAP head gives the
    same logits for every rolled copy, so its roll consistency is exactly 100 %. With zero
    padding, or under embed/crop, it is not exact."""
    torch.manual_seed(seed)
    aps = make_variant("APS-C", padding_mode="circular", head="gap").double().eval()
    x = torch.rand(5, 1, 28, 28, dtype=torch.float64, generator=GEN(seed + 10))
    y = torch.randint(0, 10, (5,), generator=GEN(seed))
    shifts = shift_grid(3)
    with torch.no_grad():
        logits = aps(protocol_views(x, shifts, "roll").flatten(0, 1)).reshape(49, 5, 10)
        assert float((logits - logits[0]).abs().max()) < 1e-12
        # also for rolls far beyond the box, the whole torus
        far = aps(protocol_views(x, torch.tensor([[13, -11], [-27, 27]]), "roll").flatten(0, 1)).reshape(2, 5, 10)
        assert float((far - logits[0]).abs().max()) < 1e-12
        r = protocol_consistency(aps, x, y, "roll", 3)
        assert r["consistency"] == 100.0
        assert r["accuracy"] == float((logits[0].argmax(1) == y).double().mean())
        emb = aps(protocol_views(x, shifts, "embed").flatten(0, 1)).reshape(49, 5, 10)
        assert float((emb - emb[24]).abs().max()) > 1e-6           # full-frame ink: zero fill breaks it
        zero = make_variant("APS-C", padding_mode="zeros", head="gap").double().eval()
        zl = zero(protocol_views(x, shifts, "roll").flatten(0, 1)).reshape(49, 5, 10)
        assert float((zl - zl[24]).abs().max()) > 1e-9             # zero padding: not exact


def test_consistency_of_a_constant_model_is_100_and_accuracy_follows_the_labels():
    class Const(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = torch.zeros(x.shape[0], 10) + self.w
            out[:, 3] = 1.0
            return out

    x, nb = _digits(4), _digits(32, 1).reshape(4, 8, 1, 28, 28)
    y = torch.tensor([3, 3, 1, 3])
    for p in PROTOCOLS:
        r = protocol_consistency(Const(), x, y, p, 2, neighbours=nb, batch=3)   # chunks of 3 digits
        assert r == {"consistency": 100.0, "accuracy": 0.75}


def test_protocol_study_tiny(monkeypatch, tmp_path):
    """Two rows of the table, trained tiny: the APS circular GAP row is exactly 100 % under roll
    (float32 rounding cannot flip a top-1 class here); table, Markdown, glue, cache, figure."""
    from shiftlab.studies import robustness
    from shiftlab.viz.beyond_plots import plot_protocols

    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path))
    s = MnistSettings(seeds=(0,), epochs=1, train_size=300, test_size=100, grid_size=20,
                      channels=(4, 8), hidden=64)
    rows = (("C", "C", "zeros", "fc"), ("APS-C circ GAP", "APS-C", "circular", "gap"))
    r = robustness.run_protocols(s, rows=rows, max_shift=2, progress=False)
    t = r.table()
    assert list(t) == ["C", "APS-C circ GAP"] and r.max_shift == 2
    for m in t:
        assert set(t[m]) == set(PROTOCOLS)
        for p in PROTOCOLS:
            assert 0 <= t[m][p]["consistency"][0] <= 100 and 0 <= t[m][p]["accuracy"][0] <= 1
    assert t["APS-C circ GAP"]["roll"]["consistency"][0] == 100.0
    md = r.markdown()
    head = md.splitlines()[0]
    assert all(f"{p}: consistency (%)" in head and f"{p}: accuracy" in head for p in PROTOCOLS)
    assert "| APS-C circ GAP | 100.00 ± 0.00 |" in md
    r.glue("prtest")

    def boom(*a, **k):
        raise AssertionError("the second run must come from the cache")

    monkeypatch.setattr(robustness, "protocol_consistency", boom)
    again = robustness.run_protocols(s, rows=rows, max_shift=2, progress=False)
    assert again.values == r.values

    fig = plot_protocols(r)
    try:
        assert fig.get_size_inches()[0] <= BOOK_WIDTH
        ax = fig.get_axes()[0]
        assert ax.get_title() and [t.get_text() for t in ax.get_yticklabels()] == ["C", "APS-C circ GAP"]
    finally:
        plt.close(fig)
