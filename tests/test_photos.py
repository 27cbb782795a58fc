"""Photo folders, labels (labels.csv, synset file names, official val names), class names, errors."""

import csv
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from shiftlab.data import photos as P

DATA = Path(os.environ.get("SHIFTLAB_DATA") or "/work/shared/data")
SAMPLES = DATA / "imagenet_samples"
needs_samples = pytest.mark.skipif(not (SAMPLES / "labels.csv").is_file(),
                                   reason="SHIFTLAB_DATA has no imagenet_samples")
needs_boxes = pytest.mark.skipif(not (DATA / "imagenet_boxes" / "synset_mapping.txt").is_file(),
                                 reason="SHIFTLAB_DATA has no imagenet_boxes")


def _jpeg(path: Path, size=(20, 16), mode="RGB") -> None:
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
    assert ph.images[1].shape == (3, 16, 20)  # greyscale converted to RGB
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


def test_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("SHIFTLAB_DATA", raising=False)
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
