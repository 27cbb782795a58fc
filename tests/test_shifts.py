import pytest
import torch

from shiftlab.core.shifts import shift_grid, translate, translate_grid


def test_translate_moves_right_and_down_with_zero_fill():
    x = torch.arange(1, 17, dtype=torch.float32).reshape(4, 4)
    y = translate(x, 1, 2)
    expected = torch.zeros(4, 4)
    expected[2:, 1:] = x[:2, :3]
    assert torch.equal(y, expected)


def test_circular_matches_roll():
    x = torch.randn(3, 2, 7, 9)
    for dx, dy in [(0, 0), (3, -2), (-8, 6)]:
        assert torch.equal(translate(x, dx, dy, "circular"), torch.roll(x, (dy, dx), (-2, -1)))


def test_zero_shift_is_identity_and_inverse_restores_interior():
    x = torch.randn(2, 1, 10, 10)
    assert torch.equal(translate(x, 0, 0), x)
    back = translate(translate(x, 2, -3), -2, 3)
    assert torch.equal(back[..., 3:, :8], x[..., 3:, :8])


def test_per_image_shifts_equal_individual_shifts():
    x = torch.randn(5, 3, 8, 8)
    dx = torch.tensor([0, 1, -2, 3, -1])
    dy = torch.tensor([2, 0, -1, 1, -3])
    for fill in ("zero", "circular"):
        batched = translate(x, dx, dy, fill)
        single = torch.stack([translate(x[i], int(dx[i]), int(dy[i]), fill) for i in range(5)])
        assert torch.equal(batched, single)


def test_translate_keeps_dtype_and_shape():
    x = torch.randint(0, 255, (2, 1, 6, 6), dtype=torch.uint8)
    y = translate(x, 1, 1)
    assert y.dtype == torch.uint8 and y.shape == x.shape


@pytest.mark.parametrize("dx,dy", [(4, 0), (0, -4), (10, 10)])
def test_shift_as_large_as_image_is_an_error(dx, dy):
    with pytest.raises(ValueError, match="smaller than the image"):
        translate(torch.zeros(4, 4), dx, dy)


def test_bad_inputs():
    with pytest.raises(ValueError, match="at least 2-D"):
        translate(torch.zeros(5), 1, 0)
    with pytest.raises(TypeError):
        translate(torch.zeros(4, 4), 0.5, 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        translate(torch.zeros(4, 4), torch.tensor([0.5]), 0)
    with pytest.raises(ValueError, match="fill"):
        translate(torch.zeros(4, 4), 1, 0, "wrap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="N = 3"):
        translate(torch.zeros(2, 1, 4, 4), torch.tensor([1, 0, 1]), 0)
    with pytest.raises(ValueError, match="different lengths"):
        translate(torch.zeros(2, 1, 4, 4), torch.tensor([1, 0]), torch.tensor([1, 0, 0]))
    with pytest.raises(TypeError):
        translate([[1.0]], 0, 0)  # type: ignore[arg-type]


def test_shift_grid():
    g = shift_grid(2)
    assert g.shape == (25, 2) and g.dtype == torch.long
    assert g[0].tolist() == [-2, -2] and g[1].tolist() == [-1, -2] and g[-1].tolist() == [2, 2]
    assert shift_grid(4, step=2).shape == (25, 2)
    assert shift_grid(0).tolist() == [[0, 0]]
    for bad in [(-1, 1), (3, 2), (2, 0)]:
        with pytest.raises(ValueError):
            shift_grid(*bad)


def test_translate_grid_matches_loop():
    x = torch.randn(3, 2, 9, 9)
    g = shift_grid(2)
    out = translate_grid(x, g, "zero")
    assert out.shape == (25, 3, 2, 9, 9)
    for s, (dx, dy) in enumerate(g.tolist()):
        assert torch.equal(out[s], translate(x, dx, dy, "zero"))
    with pytest.raises(ValueError):
        translate_grid(x[0], g)
    with pytest.raises(ValueError):
        translate_grid(x, g[:, :1])


def test_zero_fill_writes_zeros_even_next_to_inf_and_nan():
    x = torch.zeros(1, 1, 4, 5)
    x[0, 0, :, 0] = float("inf")  # the column that the clamped gather reads for the filled border
    x[0, 0, 1, 0] = float("nan")
    x[0, 0, 0, 4] = float("-inf")
    y = translate(x, 1, 0)
    assert torch.equal(y[..., 0], torch.zeros(1, 1, 4))  # the filled border: zeros, not NaN
    assert torch.isinf(y[0, 0, 0, 1]) and torch.isnan(y[0, 0, 1, 1])  # the moved pixels move
    assert torch.equal(translate(x, -1, 2)[..., :2, :], torch.zeros(1, 1, 2, 5))
    g = translate_grid(x, shift_grid(1))
    assert not torch.isnan(g[:, 0, 0, :, 2:]).any()  # columns 2.. only ever receive finite pixels


def test_zero_fill_of_finite_values_is_unchanged():
    x = torch.randn(3, 2, 7, 9, dtype=torch.float64)
    for dx, dy in [(2, -3), (-8, 6), (0, 0)]:
        kept = torch.zeros_like(x)
        rows, cols = slice(max(dy, 0), 7 + min(dy, 0)), slice(max(dx, 0), 9 + min(dx, 0))
        src = (slice(max(-dy, 0), 7 + min(-dy, 0)), slice(max(-dx, 0), 9 + min(-dx, 0)))
        kept[..., rows, cols] = x[..., src[0], src[1]]
        assert torch.equal(translate(x, dx, dy), kept)


def test_empty_batches_and_empty_shift_lists_are_errors():
    x = torch.zeros(2, 1, 4, 4)
    none = torch.zeros(0, dtype=torch.long)
    with pytest.raises(ValueError, match="empty"):
        translate(torch.zeros(0, 1, 4, 4), 1, 0)
    with pytest.raises(ValueError, match="empty"):
        translate(x, none, none)
    with pytest.raises(ValueError, match="empty"):
        translate_grid(x, torch.zeros(0, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="empty"):
        translate_grid(x[:0], shift_grid(1))
    with pytest.raises(TypeError):
        translate_grid(x, shift_grid(1).float())
