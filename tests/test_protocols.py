"""Exact pixel content of the shift protocols (crop, embed, inpaint) and the resize helpers."""

import pytest
import torch

from shiftlab.measure import protocols as P

OUT, M, EMB = 32, 4, 24  # tiny sizes: 32 px windows, shifts up to 4 px, photo long side 24


@pytest.fixture
def img():
    g = torch.Generator().manual_seed(0)
    return torch.randint(1, 256, (3, 40, 50), generator=g, dtype=torch.uint8)


def test_to_float_and_resizes(img):
    f = P.to_float(img)
    assert f.dtype == torch.float32 and float(f.max()) <= 1 and torch.equal(f * 255, img.float())
    with pytest.raises(TypeError):
        P.to_float(img.int())
    assert P.resize_short(img, 20).shape == (3, 20, 25)
    assert P.resize_long(img, 25).shape == (3, 20, 25)
    assert P.center_crop(P.resize_short(img, 20), 20).shape == (3, 20, 20)
    with pytest.raises(ValueError):
        P.center_crop(f, 41)
    with pytest.raises(ValueError):
        P.resize_short(img[0], 10)  # not [3, H, W]
    with pytest.raises(ValueError):
        P.resize_long(img, 0)


def test_crop_windows_exact():
    src = torch.arange(2 * 10 * 12, dtype=torch.float32).reshape(2, 10, 12)
    off = torch.tensor([[0, 0], [3, 1], [7, 5]])
    win = P.crop_windows(src, off, 5)
    assert win.shape == (3, 2, 5, 5)
    for t, (x, y) in enumerate(off.tolist()):
        assert torch.equal(win[t], src[:, y : y + 5, x : x + 5])
    with pytest.raises(ValueError):
        P.crop_windows(src, torch.tensor([[8, 0]]), 5)  # 8 + 5 > 12
    with pytest.raises(ValueError):
        P.crop_windows(src, torch.tensor([[-1, 0]]), 5)
    with pytest.raises(TypeError):
        P.crop_windows(src, torch.tensor([[1.0, 0.0]]), 5)


def test_sequence_shifts():
    assert P.sequence_shifts(5).tolist() == [-2, -1, 0, 1, 2]
    assert P.sequence_shifts(4).tolist() == [-2, -1, 0, 1]
    with pytest.raises(ValueError):
        P.sequence_shifts(0)


def test_crop_sequence_is_a_moving_window(img):
    frames, d = P.shift_sequence(img, "crop", 2 * M + 1, OUT, M, EMB)
    assert frames.shape == (2 * M + 1, 3, OUT, OUT) and d.tolist() == list(range(-M, M + 1))
    src, box = P.protocol_source(img, "crop", OUT, M, EMB)
    assert box is None and src.shape == (3, OUT + 2 * M, OUT + 2 * M)
    for k, s in enumerate(d.tolist()):
        o = M - s
        assert torch.equal(frames[k], src[:, o : o + OUT, o : o + OUT])
    # neighbours differ by exactly one diagonal pixel: the content moves right and down
    assert torch.equal(frames[1:, :, 1:, 1:], frames[:-1, :, :-1, :-1])
    # the centre frame is the standard "resize, centre crop" view
    assert torch.equal(frames[M], P.standard_view(img, OUT + 2 * M, OUT))


@pytest.mark.parametrize("d_index", [0, 2, 4, 8])
def test_embed_frame_is_photo_on_black(img, d_index):
    frames, d = P.shift_sequence(img, "embed", 2 * M + 1, OUT, M, EMB)
    photo = P.resize_long(img, EMB)
    h, w = photo.shape[-2:]
    s = int(d[d_index])
    top, left = (OUT + 2 * M - h) // 2 - M + s, (OUT + 2 * M - w) // 2 - M + s
    expect = torch.zeros(3, OUT, OUT)
    expect[:, top : top + h, left : left + w] = photo
    assert torch.equal(frames[d_index], expect)


def test_inpaint_fills_with_convex_combinations(img):
    src, (top, left, h, w) = P.protocol_source(img, "inpaint", OUT, M, EMB)
    photo = P.resize_long(img, EMB)
    assert torch.equal(src[:, top : top + h, left : left + w], photo)  # the photo itself is untouched
    lo = photo.amin(dim=(1, 2))[:, None, None]
    hi = photo.amax(dim=(1, 2))[:, None, None]
    assert bool(((src >= lo - 1e-6) & (src <= hi + 1e-6)).all())
    assert float(src.amax(0).min()) > 0  # no black pixel left
    frames, _ = P.shift_sequence(img, "inpaint", 3, OUT, M, EMB)
    assert torch.equal(frames[1:, :, 1:, 1:], frames[:-1, :, :-1, :-1])


def test_inpaint_constant_and_errors():
    img = torch.full((3, 6, 6), 0.3)
    known = torch.zeros(6, 6, dtype=torch.bool)
    known[2:4, 2:4] = True
    out = P.inpaint_normalized_blur(img * known, known)
    assert torch.allclose(out, torch.full_like(out, 0.3), atol=1e-6)
    batch = P.inpaint_normalized_blur((img * known)[None].repeat(2, 1, 1, 1), known[None, None].repeat(2, 1, 1, 1))
    assert batch.shape == (2, 3, 6, 6) and torch.allclose(batch[0], out)
    with pytest.raises(ValueError):
        P.inpaint_normalized_blur(img, torch.zeros(6, 6, dtype=torch.bool))
    with pytest.raises(ValueError):
        P.inpaint_normalized_blur(img, torch.ones(5, 6, dtype=torch.bool))


def test_protocol_errors(img):
    with pytest.raises(ValueError):
        P.protocol_source(img, "rotate")
    with pytest.raises(ValueError):
        P.protocol_source(img, "embed", out_size=OUT, max_shift=M, embed_size=OUT + 1)
    with pytest.raises(ValueError):
        P.shift_sequence(img, "crop", 2 * M + 3, OUT, M, EMB)  # needs shifts of M + 1 px


def test_zhang_crops(img):
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    crops, off = P.zhang_crops(img, 6, g1, resize=40, out_size=32, max_offset=8)
    crops2, off2 = P.zhang_crops(img, 6, g2, resize=40, out_size=32, max_offset=8)
    assert torch.equal(off, off2) and torch.equal(crops, crops2)
    assert crops.shape == (6, 3, 32, 32) and int(off.min()) >= 0 and int(off.max()) <= 7
    src = P.center_crop(P.resize_short(img, 40), 40)
    x, y = off[0].tolist()
    assert torch.equal(crops[0], src[:, y : y + 32, x : x + 32])
    with pytest.raises(ValueError):
        P.zhang_crops(img, 2, g1, resize=40, out_size=32, max_offset=10)


def test_scaled_embeddings(img):
    frames = P.scaled_embeddings(img, [32, 16, 8], out_size=32)
    assert frames.shape == (3, 3, 32, 32)
    for f, s in zip(frames, [32, 16, 8]):
        cols = (f.abs().sum((0, 1)) > 0).nonzero()
        assert int(cols.max() - cols.min() + 1) == s  # the photo is s px wide (landscape)
    inp = P.scaled_embeddings(img, [16], out_size=32, background="inpaint")
    assert float(inp.amax(1).min()) > 0
    with pytest.raises(ValueError):
        P.scaled_embeddings(img, [16], out_size=32, background="grey")
    with pytest.raises(ValueError):
        P.scaled_embeddings(img, [], out_size=32)


def test_resize_routines_differ_on_fine_detail():
    checker = ((torch.arange(64)[:, None] + torch.arange(64)[None]) % 2 * 255).to(torch.uint8)
    img = checker.expand(3, 64, 64).contiguous()
    a, b = P.resize_pil(img, 24, 20), P.resize_interpolate(img, 24, 20)
    assert a.shape == b.shape == (3, 20, 20)
    assert float((a - b).abs().mean()) > 0.1  # PIL averages the checkerboard to grey, interpolate aliases
    flat = torch.full((3, 64, 64), 77, dtype=torch.uint8)
    assert torch.allclose(P.resize_pil(flat, 24, 20), P.resize_interpolate(flat, 24, 20))
    with pytest.raises(TypeError):
        P.resize_pil(img.float(), 24, 20)


@pytest.mark.parametrize("shape", [(3, 0, 0), (3, 0, 7), (3, 7, 0)])
def test_empty_images_are_refused_by_every_protocol(shape):
    empty = torch.zeros(shape, dtype=torch.uint8)
    want = rf"img is an empty image \(shape \[{', '.join(map(str, shape))}\]\): it needs a positive height and width"
    g = torch.Generator().manual_seed(0)
    calls = [lambda: P.resize_short(empty, 224), lambda: P.resize_long(empty, 224),  # was a ZeroDivisionError
             lambda: P.standard_view(empty), lambda: P.protocol_source(empty, "crop", OUT, M, EMB),
             lambda: P.protocol_source(empty, "inpaint", OUT, M, EMB), lambda: P.shift_sequence(empty, "embed", 3),
             lambda: P.zhang_crops(empty, 2, g), lambda: P.scaled_embeddings(empty, [16], out_size=32),
             lambda: P.resize_pil(empty), lambda: P.resize_interpolate(empty)]
    for call in calls:
        with pytest.raises(ValueError, match=want):
            call()
    with pytest.raises(ValueError, match=r"img is empty \(shape"):
        P.center_crop(empty, 1)
    with pytest.raises(ValueError, match=r"source is empty \(shape"):
        P.crop_windows(empty, torch.zeros(1, 2, dtype=torch.long), 1)
    with pytest.raises(ValueError, match=r"img is empty \(shape"):
        P.inpaint_normalized_blur(empty.float(), torch.ones(shape[1:], dtype=torch.bool))


def test_image_rank_and_sizes_are_checked(img):
    with pytest.raises(ValueError, match=r"expected one RGB image \[3, H, W\] .uint8 or float in \[0, 1\]. as img, "
                                         r"got \[1, 3, 40, 50\]"):
        P.resize_short(img[None], 20)
    with pytest.raises(ValueError, match="got ndarray"):
        P.resize_long(img.numpy(), 20)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"img must be a tensor \[\.\.\., H, W\], got \[5\]"):
        P.center_crop(torch.zeros(5), 2)
    with pytest.raises(ValueError, match=r"source must be a tensor \[C, H, W\], got \[40, 50\]"):
        P.crop_windows(img[0], torch.zeros(1, 2, dtype=torch.long), 4)
    with pytest.raises(ValueError, match="size must be a positive int, got 2.5"):
        P.resize_short(img, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="smooth_iters must be a non-negative int, got 1.5"):
        P.inpaint_normalized_blur(P.to_float(img), torch.ones(40, 50, dtype=torch.bool), smooth_iters=1.5)  # type: ignore[arg-type]
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="max_offset must be a positive int, got 0"):
        P.zhang_crops(img, 2, g, resize=40, out_size=32, max_offset=0)  # was torch's "random_ expects 'from' < 'to'"
    with pytest.raises(ValueError, match="resize must be a positive int, got -1"):
        P.zhang_crops(img, 2, g, resize=-1)
    with pytest.raises(ValueError, match=r"sizes\[1\] must be a positive int, got 0"):
        P.scaled_embeddings(img, [16, 0], out_size=32)
    with pytest.raises(ValueError, match=r"sizes\[0\] must be a positive int, got 16.5"):
        P.scaled_embeddings(img, [16.5], out_size=32)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="max_shift must be a non-negative int, got -1"):
        P.shift_sequence(img, "crop", 1, OUT, -1, EMB)
    for resize_view in (P.resize_pil, P.resize_interpolate):
        with pytest.raises(ValueError, match="resize must be a positive int, got 0"):
            resize_view(img, resize=0)
        with pytest.raises(ValueError, match="crop must be a positive int, got 0"):
            resize_view(img, 40, crop=0)
        assert resize_view(img, 40, 32).shape == (3, 32, 32)
