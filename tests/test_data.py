import gzip
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from shiftlab.core.config import SetupError
from shiftlab.data import mnist as data

SHARED = Path(os.environ.get("SHIFTLAB_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def _write_idx(path: Path, arr: np.ndarray) -> None:
    code = {np.uint8: 0x08}[arr.dtype.type]
    header = bytes([0, 0, code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + arr.tobytes())


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """A tiny MNIST in a fake SHIFTLAB_DATA, with an empty cache and no downloads possible."""
    root = tmp_path / "data"
    (root / "mnist").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 7), ("test", 3)):
        img, lbl = data.MNIST_FILES[split]
        _write_idx(root / "mnist" / img, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        _write_idx(root / "mnist" / lbl, rng.integers(0, 10, n, dtype=np.uint8))
    monkeypatch.setenv("SHIFTLAB_DATA", str(root))
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache"))

    def no_download(target):
        raise ConnectionError("offline")

    monkeypatch.setattr(data, "_download_with_torchvision", no_download)
    return root


def test_read_idx_roundtrip(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a.gz", arr)
    assert np.array_equal(data.read_idx(tmp_path / "a.gz"), arr)


def test_read_idx_rejects_garbage(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="magic"):
        data.read_idx(tmp_path / "bad")
    good = bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + b"abc"
    (tmp_path / "short").write_bytes(good)
    with pytest.raises(ValueError, match="does not match"):
        data.read_idx(tmp_path / "short")


def test_load_from_shiftlab_data(fake_mnist):
    tr = data.load_mnist("train")
    assert tr.images.shape == (7, 1, 28, 28) and tr.images.dtype == torch.float32
    assert tr.labels.shape == (7,) and tr.labels.dtype == torch.long
    assert 0.0 <= float(tr.images.min()) and float(tr.images.max()) <= 1.0
    assert data.load_mnist("test", limit=2).images.shape == (2, 1, 28, 28)


def test_cache_is_second_choice(fake_mnist, tmp_path, monkeypatch):
    cache = tmp_path / "cache" / "mnist"
    cache.mkdir(parents=True)
    for name in data.MNIST_FILES["test"]:
        (cache / name).write_bytes((fake_mnist / "mnist" / name).read_bytes())
    monkeypatch.delenv("SHIFTLAB_DATA")
    assert data.load_mnist("test").images.shape == (3, 1, 28, 28)


def test_missing_files_error_says_what_and_where(fake_mnist):
    (fake_mnist / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError) as err:
        data.load_mnist("test")
    msg = str(err.value)
    assert "t10k-labels-idx1-ubyte.gz" in msg and "SHIFTLAB_DATA" in msg
    assert str(fake_mnist / "mnist") in msg and "offline" in msg
    assert "t10k-images" not in msg.split("\n")[0]


def test_bad_arguments(fake_mnist):
    with pytest.raises(ValueError):
        data.load_mnist("valid")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        data.load_mnist("train", limit=0)


@pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="course data folder not present")
def test_real_mnist_offline(monkeypatch):
    monkeypatch.setenv("SHIFTLAB_DATA", str(SHARED))
    monkeypatch.setattr(data, "_download_with_torchvision", lambda t: (_ for _ in ()).throw(ConnectionError()))
    tr = data.load_mnist("train")
    te = data.load_mnist("test")
    assert tr.images.shape == (60000, 1, 28, 28) and te.images.shape == (10000, 1, 28, 28)
    assert tr.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert torch.bincount(te.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("damage", ["truncated", "not gzip", "bad crc"])
def test_damaged_gz_names_the_file_and_says_what_to_do(fake_mnist, damage):
    path = fake_mnist / "mnist" / "t10k-images-idx3-ubyte.gz"
    raw = path.read_bytes()
    if damage == "truncated":
        raw = raw[: len(raw) // 2]
    elif damage == "not gzip":
        raw = b"<html>404 Not Found</html>"
    else:
        raw = raw[:-8] + bytes(b ^ 0xFF for b in raw[-8:-4]) + raw[-4:]
    path.write_bytes(raw)
    with pytest.raises(SetupError) as err:
        data.load_mnist("test")
    msg = str(err.value)
    assert str(path) in msg and "Delete it or replace it" in msg


def test_half_finished_download_in_the_cache(fake_mnist, tmp_path, monkeypatch):
    raw_dir = tmp_path / "cache" / "mnist" / "MNIST" / "raw"  # where torchvision downloads
    raw_dir.mkdir(parents=True)
    for name in data.MNIST_FILES["test"]:
        (raw_dir / name).write_bytes((fake_mnist / "mnist" / name).read_bytes())
    images = raw_dir / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:100])  # the download was interrupted
    monkeypatch.delenv("SHIFTLAB_DATA")
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz is damaged.*Delete it"):
        data.load_mnist("test")


def test_unusable_cache_is_skipped_when_the_data_are_elsewhere(fake_mnist, tmp_path, monkeypatch):
    (tmp_path / "cache_file").write_text("")
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache_file"))
    assert data.load_mnist("test").images.shape == (3, 1, 28, 28)  # e.g. reproduce --no-cache
    monkeypatch.delenv("SHIFTLAB_DATA")
    with pytest.raises(SetupError, match="SHIFTLAB_CACHE"):
        data.load_mnist("test")


@pytest.mark.parametrize("swap", ["labels for images", "images for labels", "both swapped"])
def test_swapped_files_name_both_files_what_each_should_hold_and_the_fix(fake_mnist, swap):
    folder = fake_mnist / "mnist"
    img, lbl = (folder / n for n in data.MNIST_FILES["test"])
    raw_img, raw_lbl = img.read_bytes(), lbl.read_bytes()
    if swap != "images for labels":
        img.write_bytes(raw_lbl)
    if swap != "labels for images":
        lbl.write_bytes(raw_img)
    with pytest.raises(SetupError) as err:
        data.load_mnist("test")
    msg = str(err.value)
    assert "unexpected MNIST shapes" not in msg
    assert str(img) in msg and str(lbl) in msg  # both files are named, whichever is wrong
    assert "uint8 [N, 28, 28]" in msg and "idx3" in msg and "uint8 [N]" in msg and "idx1" in msg
    assert "same N" in msg and "SHIFTLAB_DATA" in msg and "Delete" in msg
    if swap == "labels for images":
        assert "the images file holds uint8 [3] (a labels file?)" in msg
        assert f"Delete {img} (" in msg  # only the wrong file is to be deleted
    if swap == "images for labels":
        assert "the labels file holds uint8 [3, 28, 28] (an images file?)" in msg


def test_split_with_different_counts_or_labels_out_of_range(fake_mnist):
    folder = fake_mnist / "mnist"
    _write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(5, dtype=np.uint8))
    with pytest.raises(SetupError, match="images file holds 3 images but the labels file 5 labels"):
        data.load_mnist("test")
    _write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 200], dtype=np.uint8))
    with pytest.raises(SetupError, match="with values up to 200"):
        data.load_mnist("test")


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_unreadable_file_is_a_setup_error_naming_it(fake_mnist, monkeypatch, suffix):
    """Tests run as root, who reads any file: the permission error is simulated."""
    path = fake_mnist / "mnist" / ("t10k-images-idx3-ubyte" + suffix)
    if not suffix:
        gz = fake_mnist / "mnist" / "t10k-images-idx3-ubyte.gz"
        path.write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()

    def denied(file, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(file))

    monkeypatch.setattr(data.gzip, "open", denied)
    monkeypatch.setattr(data, "open", denied, raising=False)  # the plain-file opener of read_idx
    with pytest.raises(SetupError) as err:
        data.load_mnist("test")
    msg = str(err.value)
    assert msg.startswith(f"{path} cannot be read (PermissionError: ")
    assert f"chmod a+r {path}" in msg and "SHIFTLAB_DATA" in msg
