import math

import numpy as np
import pytest
import torch
from torch import nn

from shiftlab.core.shifts import shift_grid
from shiftlab.measure.shift_accuracy import (
    GridResult,
    accuracy_by_ring,
    article_columns,
    evaluate_shift_grid,
    grid_accuracy,
)


class CentreProbe(nn.Module):
    """Known answer: class 0 wins only when the centre pixel is lit (logits [x[14,14], 0.5])."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        centre = x[:, 0, 14, 14]
        return torch.stack([centre, torch.full_like(centre, 0.5)], 1) + self.dummy


class MassModel(nn.Module):
    """Exactly shift invariant while the digit stays inside: classifies by total ink."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        s = x.sum((1, 2, 3))
        return torch.stack([s - 10, 10 - s], 1) + self.dummy


def _dot_images(n):
    x = torch.zeros(n, 1, 28, 28)
    x[:, 0, 14, 14] = 1.0
    return x, torch.zeros(n, dtype=torch.long)


def test_grid_accuracy_known_answer():
    x, y = _dot_images(5)
    m = CentreProbe()
    res = evaluate_shift_grid(m, x, y, max_shift=2, batch=1000)
    expected = np.zeros((5, 5))
    expected[2, 2] = 1.0
    assert np.array_equal(res.as_image(), expected)
    assert res.at(0, 0) == 1.0 and res.at(1, 0) == 0.0
    # sensitivity: ||(0, .5) - (1, .5)|| / ||(1, .5)|| off-centre, 0 at the centre
    sens = res.as_image(res.sensitivity)
    assert sens[2, 2] == 0.0 and np.allclose(np.delete(sens.ravel(), 12), 1 / math.sqrt(1.25))
    assert np.array_equal(grid_accuracy(m, x, y, max_shift=2), expected)


def test_all_shifts_of_a_batch_in_one_forward_pass():
    x, y = _dot_images(6)
    m = CentreProbe()
    evaluate_shift_grid(m, x, y, max_shift=3, batch=49 * 6)
    assert m.calls == 1
    m.calls = 0
    r2 = evaluate_shift_grid(m, x, y, max_shift=3, batch=49 * 2)  # 2 digits x 49 shifts per pass
    assert m.calls == 3
    r1 = evaluate_shift_grid(CentreProbe(), x, y, max_shift=3, batch=1)
    assert np.array_equal(r1.accuracy, r2.accuracy)


def test_invariant_model_and_border_losses():
    x = torch.zeros(4, 1, 28, 28)
    x[:, :, 12:16, 12:16] = 1.0  # 16 units of ink: class 0 (s > 10)
    y = torch.zeros(4, dtype=torch.long)
    res = evaluate_shift_grid(MassModel(), x, y, max_shift=8)
    assert np.all(res.accuracy == 1.0) and np.allclose(res.sensitivity, 0.0)
    # a shift that pushes half the square out of the frame changes the class
    x2 = torch.zeros(2, 1, 28, 28)
    x2[:, :, 0:4, 12:16] = 1.0
    res2 = evaluate_shift_grid(MassModel(), x2, torch.zeros(2, dtype=torch.long), max_shift=3)
    assert res2.at(0, 0) == 1.0 and res2.at(0, -2) == 0.0


def test_article_columns_definitions():
    shifts = shift_grid(8).numpy()
    cheb = np.abs(shifts).max(1)
    res = GridResult(shifts, 1.0 - 0.1 * cheb, np.zeros(len(shifts)), 10)
    cols = article_columns(res, default=0.99)
    assert cols["default"] == 0.99
    assert cols["shift min"] == pytest.approx(0.9)  # the 8 one-pixel neighbours
    assert cols["shift"] == pytest.approx((8 * 0.9 + 16 * 0.8 + 24 * 0.7) / 48)  # 48 shifts, |d| <= 3
    assert article_columns(res)["default"] == 1.0
    r, acc = accuracy_by_ring(res)
    assert np.array_equal(r, np.arange(9)) and np.allclose(acc, 1 - 0.1 * r)
    small = GridResult(shift_grid(2).numpy(), np.ones(25), np.zeros(25), 1)
    with pytest.raises(ValueError):
        article_columns(small)


def test_roundtrip_and_errors():
    res = GridResult(shift_grid(1).numpy(), np.linspace(0, 1, 9), np.zeros(9), 3)
    back = GridResult.from_dict(res.to_dict())
    assert np.array_equal(back.accuracy, res.accuracy) and back.n_images == 3
    with pytest.raises(KeyError):
        res.at(5, 5)
    x, y = _dot_images(2)
    with pytest.raises(ValueError):
        evaluate_shift_grid(CentreProbe(), x, y, shifts=torch.tensor([[1, 0]]))
    with pytest.raises(ValueError):
        evaluate_shift_grid(CentreProbe(), x[:, 0], y)


def test_iter_shift_logits_chunks_cover_every_digit_and_restore_mode():
    import pytest
    import torch
    from torch import nn

    from shiftlab.core.shifts import shift_grid
    from shiftlab.measure.shift_accuracy import iter_shift_logits

    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 3)).train()
    x = torch.rand(5, 1, 8, 8)
    g = shift_grid(1)
    chunks = list(iter_shift_logits(model, x, g, batch=2 * len(g)))
    assert [c[0] for c in chunks] == [slice(0, 2), slice(2, 4), slice(4, 5)]
    assert all(lg.shape == (9, r.stop - r.start, 3) for r, lg in chunks)
    assert model.training
    with pytest.raises(ValueError):
        next(iter_shift_logits(model, x[0], g))


def test_empty_shift_lists_are_errors():
    from shiftlab.measure.shift_accuracy import iter_shift_logits, shift_predictions

    x, y = _dot_images(2)
    none = torch.zeros(0, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="empty"):
        next(iter_shift_logits(CentreProbe(), x, none))
    with pytest.raises(ValueError, match="empty"):
        shift_predictions(CentreProbe(), x, none)
    with pytest.raises(ValueError, match="empty"):
        evaluate_shift_grid(CentreProbe(), x, y, shifts=none)
    with pytest.raises(ValueError, match="non-empty"):
        shift_predictions(CentreProbe(), x[:0], shift_grid(1))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_images_are_refused_instead_of_scoring_zero(bad):
    from shiftlab.measure.shift_accuracy import iter_shift_logits, shift_consistency, shift_predictions

    x, y = _dot_images(4)
    x[1, 0, 3, 3] = bad
    x[3, 0, :2, 0] = bad
    m = CentreProbe()
    want = ("images hold 3 non-finite values (NaN or inf) of 3136, in 2 of 4 images (the first at index 1); "
            "a model's accuracy on them means nothing. Pass finite images")
    with pytest.raises(ValueError, match=want.replace("(", r"\(").replace(")", r"\)")):
        evaluate_shift_grid(m, x, y, max_shift=1)
    for call in (lambda: grid_accuracy(m, x, y, max_shift=1), lambda: shift_predictions(m, x, shift_grid(1)),
                 lambda: shift_consistency(m, x, 1), lambda: next(iter_shift_logits(m, x, shift_grid(1)))):
        with pytest.raises(ValueError, match="non-finite"):
            call()
    assert m.calls == 0  # refused before any forward pass


def test_float_labels_are_refused():
    x, y = _dot_images(2)
    with pytest.raises(ValueError, match="labels must be integer class indices.*got dtype torch.float32"):
        evaluate_shift_grid(CentreProbe(), x, y.float(), max_shift=1)
    assert evaluate_shift_grid(CentreProbe(), x, y.int(), max_shift=1).at(0, 0) == 1.0


def test_flipping_digits_are_right_unshifted_and_wrong_somewhere():
    from torch import nn

    from shiftlab.measure.shift_accuracy import flipping_digits

    class TopLeft(nn.Module):
        """Class 1 when the top-left 14 x 14 quarter holds ink, else 0."""

        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            ink = (x[:, 0, :14, :14].sum((1, 2)) > 0).float()
            return torch.stack([1 - ink, ink], 1) + 0 * self.w

    x = torch.zeros(3, 1, 28, 28)
    x[0, 0, 12, 12] = 1     # label 1, leaves the quarter when moved right by 2: flips
    x[1, 0, 5, 5] = 1       # label 1, stays in the quarter for |dx| <= 4: never flips
    x[2, 0, 20, 20] = 1     # label 0 but labelled 1: wrong unshifted, never listed
    y = torch.tensor([1, 1, 1])
    shifts = torch.tensor([[dx, 0] for dx in range(-4, 5)])
    assert flipping_digits({"m": TopLeft()}, x, y, shifts) == [0]
    with pytest.raises(ValueError, match="models is empty"):
        flipping_digits({}, x, y, shifts)
