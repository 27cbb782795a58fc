"""Photo folders, labels (labels.csv, synset file names, official val names), class names, errors."""

import csv
import os
import shutil
import socket
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_imagenette import INDICES, make_imagenette_tree
from torchvision.datasets import Imagenette

from shiftlab.data import photos as P

DATA = Path(os.environ.get("SHIFTLAB_DATA") or "/work/shared/data")
SAMPLES = DATA / "imagenet_samples"
needs_samples = pytest.mark.skipif(not (SAMPLES / "labels.csv").is_file(),
                                   reason="SHIFTLAB_DATA has no imagenet_samples")
needs_boxes = pytest.mark.skipif(not (DATA / "imagenet_boxes" / "synset_mapping.txt").is_file(),
                                 reason="SHIFTLAB_DATA has no imagenet_boxes")


def _jpeg(path: Path, size=(240, 224), mode="RGB") -> None:
    """A random photo of ``size`` (width, height); the default is as small as the networks'
    224 px input allows without the warning about small photos."""
    arr = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).convert(mode).save(path)


@needs_samples
def test_load_samples_with_labels_csv(monkeypatch):
    monkeypatch.setenv("SHIFTLAB_DATA", str(DATA))
    ph = P.load_photos(limit=5)
    assert len(ph) == 5 and ph.labels.dtype == torch.long and len(ph.class_names) == 1000
    with open(SAMPLES / "labels.csv", newline="") as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh)}
    for f, img, lab in zip(ph.files, ph.images, ph.labels.tolist()):
        r = rows[f]
        assert lab == int(r["class_index"])
        assert img.dtype == torch.uint8 and img.shape == (3, int(r["height"]), int(r["width"]))
        assert ph.class_names[lab] == r["class_name"]
    assert ph.files[0] == sorted(rows)[0] and ph.files[-1] == sorted(rows)[-1]  # spread over the list
    sub = ph.subset([1, 3])
    assert sub.files == [ph.files[1], ph.files[3]] and sub.labels.tolist() == ph.labels[[1, 3]].tolist()
    assert ph.short_name(5) == "electric ray"
    with pytest.raises(IndexError):
        ph.subset([5])


@needs_boxes
def test_labels_from_file_names(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIFTLAB_DATA", str(DATA))
    _jpeg(tmp_path / "n01443537_mine.JPEG", mode="L")  # greyscale, synset name -> class 1
    _jpeg(tmp_path / "ILSVRC2012_val_00000001.JPEG")  # official name -> n01751748 (sea snake, class 65)
    ph = P.load_photos(tmp_path)
    assert ph.files == ["ILSVRC2012_val_00000001.JPEG", "n01443537_mine.JPEG"]
    assert ph.labels.tolist() == [65, 1]
    assert ph.images[1].shape == (3, 224, 240)  # greyscale converted to RGB
    assert torch.equal(ph.images[1][0], ph.images[1][2])
    assert P.imagenet_synsets()[65] == "n01751748"


def test_labels_csv_in_any_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SHIFTLAB_DATA", raising=False)
    _jpeg(tmp_path / "a.jpg")
    (tmp_path / "labels.csv").write_text("file,class_index\na.jpg,7\n")
    ph = P.load_photos(tmp_path)
    assert ph.labels.tolist() == [7] and len(ph.class_names) == 1000 and ph.class_names[0].startswith("tench")
    (tmp_path / "labels.csv").write_text("name,label\na.jpg,7\n")
    with pytest.raises(ValueError, match="class_index"):
        P.load_photos(tmp_path)


def _offline(monkeypatch, cache: Path) -> None:
    """An empty cache, and Imagenette's archive URL on a closed local port: no photos anywhere."""
    monkeypatch.setenv("SHIFTLAB_CACHE", str(cache))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setitem(Imagenette._ARCHIVES, "320px", (f"http://127.0.0.1:{port}/imagenette2-320.tgz", "0" * 32))


def test_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("SHIFTLAB_DATA", raising=False)
    _offline(monkeypatch, tmp_path / "cache")
    with pytest.raises(FileNotFoundError, match="SHIFTLAB_DATA"):
        P.load_photos()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        P.load_photos(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="no .JPEG"):
        P.load_photos(tmp_path)
    _jpeg(tmp_path / "holiday.jpg")
    with pytest.raises(ValueError, match="no label for holiday.jpg"):
        P.load_photos(tmp_path)
    with pytest.raises(ValueError, match="limit"):
        P.load_photos(tmp_path, limit=0)
    monkeypatch.setenv("SHIFTLAB_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="imagenet_samples"):
        P.load_photos()
    (tmp_path / "labels.csv").write_text("file,class_index\nholiday.jpg,1000\n")
    with pytest.raises(ValueError, match="1000"):
        P.load_photos(tmp_path)


@needs_boxes
def test_class_names_agree_with_torchvision(monkeypatch):
    monkeypatch.setenv("SHIFTLAB_DATA", str(DATA))
    ours = P.imagenet_class_names()
    monkeypatch.delenv("SHIFTLAB_DATA")
    theirs = P.imagenet_class_names()
    assert len(ours) == len(theirs) == 1000 and P.imagenet_synsets() is None
    assert ours[0].startswith("tench") and theirs[0] == "tench"
    same_first = sum(a.split(",")[0].strip().lower() == b.lower() for a, b in zip(ours, theirs))
    assert same_first > 900  # same order; torchvision shortens some names


@needs_samples
def test_greyscale_sample_becomes_rgb(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIFTLAB_DATA", str(DATA))
    name = "n03697007_ILSVRC2012_val_00000760.JPEG"  # the one "L" photo of the samples
    shutil.copy(SAMPLES / name, tmp_path / name)
    ph = P.load_photos(tmp_path)
    assert ph.labels.tolist() == [634] and ph.images[0].shape == (3, 333, 500)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_photo_error_names_the_file(tmp_path, monkeypatch, damage):
    from shiftlab.core.config import SetupError

    monkeypatch.delenv("SHIFTLAB_DATA", raising=False)
    _jpeg(tmp_path / "a.jpg", size=(64, 48))
    _jpeg(tmp_path / "b.jpg", size=(64, 48))
    raw = (tmp_path / "b.jpg").read_bytes()
    (tmp_path / "b.jpg").write_bytes(raw[: len(raw) // 2] if damage == "truncated" else b"not a jpeg at all")
    (tmp_path / "labels.csv").write_text("file,class_index\na.jpg,1\nb.jpg,2\n")
    with pytest.raises(SetupError, match="b.jpg cannot be read as a photo.*delete it or replace it"):
        P.load_photos(tmp_path)


# ----------------------------------------------------------------- load_photos("auto")


@needs_samples
def test_auto_prefers_the_samples_in_shiftlab_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SHIFTLAB_DATA", str(DATA))
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path))
    make_imagenette_tree(tmp_path / "imagenette")  # Imagenette is cached too: the samples still win
    ph = P.load_photos("auto", limit=5)
    out = capsys.readouterr().out
    assert out == ("load_photos: auto: the course's ImageNet validation photos in $SHIFTLAB_DATA/imagenet_samples "
                   "because SHIFTLAB_DATA has them\n")    # no machine path in a notebook's output
    assert ph.source == "imagenet_samples" and ph.reason in out and ph.folder == SAMPLES
    assert ph.summary() == ("5 photos of 5 ImageNet classes: the course's ImageNet validation samples "
                            "(SHIFTLAB_DATA/imagenet_samples)")
    for default in (P.load_photos(limit=5), P.load_photos(None, limit=5)):  # "auto" is the default
        assert default.files == ph.files and default.fingerprint() == ph.fingerprint()
    assert P.load_photos(SAMPLES, limit=5).fingerprint() == ph.fingerprint()  # the same photos by name
    sub = ph.subset([0, 2])
    assert (sub.source, sub.reason) == (ph.source, ph.reason)


@pytest.mark.filterwarnings("ignore:12 of 12 photos have a short side under 224 px")  # tiny fake Imagenette
def test_auto_takes_cached_imagenette_when_shiftlab_data_has_no_samples(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("SHIFTLAB_DATA", str(data))
    _offline(monkeypatch, tmp_path / "cache")  # a download attempt would fail: the cache must serve
    make_imagenette_tree(tmp_path / "cache" / "imagenette", per_class=2)
    ph = P.load_photos("auto", limit=12, progress=True)
    out = capsys.readouterr()
    assert out.out == ("load_photos: auto: Imagenette's validation photos (10 ImageNet classes, 320 px) from the "
                       "cache $SHIFTLAB_CACHE/imagenette because SHIFTLAB_DATA has no "
                       "imagenet_samples/ and Imagenette was downloaded before\n")   # no machine path
    assert "decoding photos" in out.err  # the progress bar
    assert len(ph) == 12 and set(ph.labels.tolist()) == set(INDICES)  # round-robin: all 10 classes
    assert ph.source == "imagenette" and ph.files[0].startswith("n01440764/")
    assert ph.summary().startswith("12 photos of 10 ImageNet classes: Imagenette's validation split (320 px)")


def test_auto_never_downloads_when_told_not_to(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SHIFTLAB_DATA", str(tmp_path))
    _offline(monkeypatch, tmp_path / "cache")
    with pytest.raises(FileNotFoundError, match="imagenet_samples/.*download=False"):
        P.load_photos(download=False)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="limit"):  # checked before anything is looked for
        P.load_photos("auto", limit=0)
    monkeypatch.setenv("SHIFTLAB_DATA", str(tmp_path / "typo"))  # a mistake to fix, not a reason to download
    with pytest.raises(FileNotFoundError, match="does not name an existing folder"):
        P.load_photos()
    assert capsys.readouterr().out == ""


def test_a_folder_by_name_prints_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SHIFTLAB_DATA", raising=False)
    _jpeg(tmp_path / "a.jpg")
    (tmp_path / "labels.csv").write_text("file,class_index\na.jpg,7\n")
    ph = P.load_photos(tmp_path)
    assert capsys.readouterr().out == "" and ph.source == "folder" and str(tmp_path) in ph.reason
    assert ph.summary() == f"1 photo of 1 ImageNet class: the folder {tmp_path}"
    old = P.PhotoSet(ph.images, ph.labels, ph.files, ph.folder, ph.class_names)  # positional, as before
    assert old.source == "folder" and old.reason == ""


# ----------------------------------------------------------------- pixel depth and size


def _labelled(folder: Path, *names: str) -> None:
    (folder / "labels.csv").write_text("file,class_index\n" + "".join(f"{n},1\n" for n in names))


def test_16_bit_greyscale_png_is_scaled_to_8_bits_not_clipped_to_white(tmp_path, monkeypatch):
    monkeypatch.delenv("SHIFTLAB_DATA", raising=False)
    ramp = np.linspace(0, 65535, 256 * 240).round().astype(np.uint16).reshape(240, 256)  # black -> white
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode == "I;16"
    _labelled(tmp_path, "deep.png")
    img = P.load_photos(tmp_path).images[0]
    assert img.dtype == torch.uint8 and img.shape == (3, 240, 256)
    assert torch.equal(img[0], img[1]) and torch.equal(img[0], img[2])  # greyscale
    assert abs(float(img.float().mean()) - 127.5) < 0.5  # half grey, not ~255 (white)
    want = torch.from_numpy(np.rint(ramp / 257.0).astype(np.uint8))
    assert torch.equal(img[0], want) and int(img.min()) == 0 and int(img.max()) == 255


@pytest.mark.parametrize("mode, values, want", [
    ("I", [0, 257, 32896, 65535], [0, 1, 128, 255]),  # 32-bit integers: read as 16-bit values
    ("F", [0.0, 0.25, 0.5, 1.0], [0, 64, 128, 255]),  # floats with max <= 1: [0, 1]
    ("F", [0.0, 100.0, 200.0, 255.0], [0, 100, 200, 255]),  # max <= 255: [0, 255]
    ("F", [0.0, 257.0, 1000.0, 65535.0], [0, 1, 4, 255]),  # max <= 65535: [0, 65535]
])
def test_32_bit_integer_and_float_images_are_scaled(mode, values, want):
    arr = np.array(values, dtype=np.int32 if mode == "I" else np.float32).reshape(2, 2)
    im = Image.fromarray(arr)
    assert im.mode == mode
    out = P._pixels(im, Path("x.tif"))
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3)
    assert out[..., 0].reshape(-1).tolist() == want and (out[..., 0] == out[..., 2]).all()


@pytest.mark.parametrize("mode, values, found", [
    ("I", [0, 1, 2, 70000], "values in [0, 70000]"),
    ("I", [-5, 1, 2, 3], "values in [-5, 3]"),
    ("F", [0.0, float("nan"), float("inf"), 0.5], "2 values that are not finite"),
])
def test_deep_images_out_of_range_are_refused_with_the_file_named(mode, values, found):
    from shiftlab.core.config import SetupError

    im = Image.fromarray(np.array(values, dtype=np.int32 if mode == "I" else np.float32).reshape(2, 2))
    with pytest.raises(SetupError) as err:
        P._pixels(im, Path("/photos/x.tif"))
    msg = str(err.value)
    assert msg.startswith(f"/photos/x.tif is a PIL mode {mode} image (more than 8 bits per pixel) with {found}")
    assert "[0, 65535]" in msg and "Convert it to an 8-bit" in msg


def test_photos_smaller_than_the_network_input_are_named_in_one_warning(tmp_path, monkeypatch):
    monkeypatch.delenv("SHIFTLAB_DATA", raising=False)
    _jpeg(tmp_path / "big.jpg", size=(300, 224))
    _jpeg(tmp_path / "dot.png", size=(1, 1))
    _jpeg(tmp_path / "thin.png", size=(500, 100))
    _labelled(tmp_path, "big.jpg", "dot.png", "thin.png")
    with pytest.warns(UserWarning) as record:
        ph = P.load_photos(tmp_path)
    assert len(ph) == 3 and ph.images[1].shape == (3, 1, 1)  # loaded, as they are
    assert len(record) == 1
    msg = str(record[0].message)
    assert msg.startswith("2 of 3 photos have a short side under 224 px, the input side of the course's networks")
    assert f"{tmp_path / 'dot.png'} (1x1 px), {tmp_path / 'thin.png'} (500x100 px)." in msg
    assert "big.jpg" not in msg and "at least 224 px" in msg
    (tmp_path / "dot.png").unlink()
    (tmp_path / "thin.png").unlink()
    _labelled(tmp_path, "big.jpg")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a 224 px short side is big enough: no warning
        P.load_photos(tmp_path)


# ----------------------------------------------------------------- load_photos("imagenet_val1000")
VAL1000 = DATA / "imagenet_val1000"


def _named_folder(root: Path, n: int = 4) -> Path:
    """A small stand-in for $SHIFTLAB_DATA/imagenet_val1000: JPEGs and a labels.csv with md5 sums."""
    import hashlib

    folder = root / "imagenet_val1000"
    folder.mkdir(parents=True)
    rows = []
    for i in range(n):
        name = f"ILSVRC2012_val_{i + 1:08d}.JPEG"
        Image.fromarray(np.full((240, 250, 3), 40 * i, np.uint8)).save(folder / name, quality=90)
        md5 = hashlib.md5((folder / name).read_bytes()).hexdigest()
        rows.append({"file": name, "class_index": 10 * i + 3, "md5": md5})
    with open(folder / "labels.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, ["file", "class_index", "md5"])
        w.writeheader()
        w.writerows(rows)
    return folder


def test_val1000_is_read_by_name_with_its_labels(tmp_path, monkeypatch):
    _named_folder(tmp_path)
    monkeypatch.setenv("SHIFTLAB_DATA", str(tmp_path))
    ph = P.load_photos("imagenet_val1000")
    assert ph.source == "imagenet_val1000" and len(ph) == 4
    assert ph.labels.tolist() == [3, 13, 23, 33] and "$SHIFTLAB_DATA/imagenet_val1000" in ph.reason
    assert P.load_photos("imagenet_val1000", limit=2).labels.tolist() == [3, 33]   # spread over the list


@pytest.mark.parametrize("damage", ["unset", "no folder", "no labels", "changed", "missing"])
def test_val1000_problems_are_named(tmp_path, monkeypatch, damage):
    from shiftlab.core.config import SetupError

    folder = _named_folder(tmp_path)
    monkeypatch.setenv("SHIFTLAB_DATA", str(tmp_path))
    if damage == "unset":
        monkeypatch.delenv("SHIFTLAB_DATA")
    elif damage == "no folder":
        shutil.rmtree(folder)
    elif damage == "no labels":
        (folder / "labels.csv").unlink()
    elif damage == "changed":
        Image.fromarray(np.zeros((240, 250, 3), np.uint8) + 7).save(folder / "ILSVRC2012_val_00000002.JPEG")
    else:
        (folder / "ILSVRC2012_val_00000003.JPEG").unlink()
    expect = {"unset": "SHIFTLAB_DATA is unset", "no folder": "has no imagenet_val1000/",
              "no labels": "has no labels.csv", "changed": "differ from labels.csv's md5.*00000002",
              "missing": "are missing.*00000003"}[damage]
    with pytest.raises(SetupError, match=expect):
        P.load_photos("imagenet_val1000")


@pytest.mark.skipif(not (VAL1000 / "labels.csv").is_file(), reason="needs SHIFTLAB_DATA/imagenet_val1000")
def test_the_real_val1000_folder_agrees_with_its_labels(monkeypatch):
    monkeypatch.setenv("SHIFTLAB_DATA", str(DATA))
    ph = P.load_photos("imagenet_val1000", limit=25)
    with open(VAL1000 / "labels.csv", newline="") as fh:
        table = {r["file"]: int(r["class_index"]) for r in csv.DictReader(fh)}
    assert len(table) == 1000 and len(set(table.values())) == 643
    assert [table[f] for f in ph.files] == ph.labels.tolist()
    assert all(img.dtype == torch.uint8 and img.shape[0] == 3 for img in ph.images)  # greyscale made RGB
