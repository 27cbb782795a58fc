"""Imagenette through torchvision: the WNID -> ImageNet-1k mapping, the class-balanced subset,
and the real download (torchvision's Imagenette loader) from a local server, then the cache."""

from __future__ import annotations

import hashlib
import io
import socket
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from local_server import serve_folder
from PIL import Image
from torchvision.datasets import Imagenette

from shiftlab.core.config import SetupError
from shiftlab.data import imagenette as I
from shiftlab.data import photos as P
from shiftlab.data.boxes import load_synsets

#: ImageNet-1k indices of the 10 Imagenette classes, in the order of IMAGENETTE_WNIDS
INDICES = [0, 217, 482, 491, 497, 566, 569, 571, 574, 701]
ARCHIVE = "imagenette2-320.tgz"


def _photo(seed: int, size: tuple[int, int]) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG")
    return buf.getvalue()


def make_imagenette_tree(root: Path, per_class: int = 2, wnids: tuple[str, ...] = I.IMAGENETTE_WNIDS) -> Path:
    """Imagenette's extracted layout, ``root/imagenette2-320/{val,train}/<wnid>/<file>.JPEG``
    (tiny random JPEGs; val photos are ``ILSVRC2012_val_<k>.JPEG`` as in the real archive),
    plus ``noisy_imagenette.csv`` as the real archive has. Returns ``root/imagenette2-320``."""
    top = root / "imagenette2-320"
    for c, wnid in enumerate(wnids):
        for split, n in (("val", per_class), ("train", 1)):
            d = top / split / wnid
            d.mkdir(parents=True, exist_ok=True)
            for k in range(n):
                name = f"ILSVRC2012_val_{c * 100 + k:08d}.JPEG" if split == "val" else f"{wnid}_{k}.JPEG"
                (d / name).write_bytes(_photo(c * 100 + k, (24 + c, 18 + k)))
    (top / "noisy_imagenette.csv").write_text("path,noisy_labels_0,is_valid\n", encoding="utf-8")
    return top


def make_imagenette_archive(www: Path, per_class: int = 2) -> str:
    """A small ``imagenette2-320.tgz`` in ``www`` with Imagenette's exact layout; returns its MD5."""
    tree = make_imagenette_tree(www / "src", per_class)
    with tarfile.open(www / ARCHIVE, "w:gz") as tar:
        tar.add(tree, arcname=tree.name)
    return hashlib.md5((www / ARCHIVE).read_bytes()).hexdigest()


@pytest.fixture
def no_data_empty_cache(tmp_path, monkeypatch) -> Path:
    """SHIFTLAB_DATA unset and an empty SHIFTLAB_CACHE; returns the cache folder."""
    monkeypatch.delenv("SHIFTLAB_DATA", raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("SHIFTLAB_CACHE", str(cache))
    return cache


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------- the WNID mapping


def test_wnids_are_torchvisions_and_in_the_shipped_list():
    assert I.IMAGENETTE_WNIDS == tuple(sorted(Imagenette._WNID_TO_CLASS))
    assert I.wnid_to_index(I.IMAGENETTE_WNIDS) == INDICES
    synsets, names = load_synsets()
    for wnid, i in zip(I.IMAGENETTE_WNIDS, INDICES):
        assert synsets[i] == wnid
        # torchvision's first name of each class is the shipped list's first synonym
        assert names[i].split(",")[0].strip() == Imagenette._WNID_TO_CLASS[wnid][0]


def test_wnid_to_index_known_pairs_and_errors():
    _, names = load_synsets()
    assert I.wnid_to_index(["n01440764"]) == [0] and names[0] == "tench, Tinca tinca"
    assert I.wnid_to_index(["n03000684"]) == [491] and names[491] == "chain saw, chainsaw"
    assert I.wnid_to_index(["n15075141", "n01443537"]) == [999, 1]  # toilet tissue (last), goldfish
    assert I.wnid_to_index([]) == []
    assert I.wnid_to_index(iter(["n03888257"])) == [701]  # any iterable
    with pytest.raises(ValueError, match="'n99999999' is not an ImageNet-1k WNID.*synset_mapping.txt"):
        I.wnid_to_index(["n01440764", "n99999999"])
    with pytest.raises(ValueError, match="not an ImageNet-1k WNID"):
        I.wnid_to_index(["tench"])
    with pytest.raises(TypeError, match="not one string"):
        I.wnid_to_index("n01440764")
    with pytest.raises(TypeError, match="must be a string"):
        I.wnid_to_index([1440764])


def test_balanced_subset_goes_round_robin_over_classes():
    labels = [0, 0, 0, 5, 5, 9]
    assert I.balanced_subset(labels, 3) == [0, 3, 5]  # one of each class
    assert I.balanced_subset(labels, 4) == [0, 1, 3, 5]  # then the second of each class
    assert I.balanced_subset(labels, 5) == [0, 1, 3, 4, 5]
    assert I.balanced_subset(labels, 2) == [0, 3]
    assert I.balanced_subset(labels, None) == I.balanced_subset(labels, 99) == list(range(6))
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="limit"):
            I.balanced_subset(labels, bad)


def test_archive_url_is_torchvisions():
    url, md5 = I.archive_url()
    assert url == Imagenette._ARCHIVES["320px"][0] and url.endswith("/" + ARCHIVE) and len(md5) == 32


# ----------------------------------------------------------------- the real download, served locally


def test_download_through_torchvision_then_the_cache(tmp_path, monkeypatch, capsys, no_data_empty_cache):
    www = tmp_path / "www"
    www.mkdir()
    md5 = make_imagenette_archive(www, per_class=2)
    src = www / "src" / "imagenette2-320" / "val"
    with serve_folder(www) as server:
        monkeypatch.setitem(Imagenette._ARCHIVES, "320px", (server.url + ARCHIVE, md5))
        assert not I.is_downloaded()
        ph = P.load_photos("auto", limit=10)
        out = capsys.readouterr().out
        assert f"/{ARCHIVE}" in server.requests  # the real torchvision download went through the server
        assert out.count("\n") == 1 and "load_photos: auto: Imagenette's validation photos" in out
        assert "downloading them now" in out and "SHIFTLAB_DATA is unset" in out

        # limit=10 of 20 photos: one per class, every class once, with its ImageNet-1k index
        assert len(ph) == 10 and sorted(ph.labels.tolist()) == INDICES
        assert ph.source == "imagenette" and ph.reason in out and "Imagenette" in ph.summary()
        assert ph.summary().startswith("10 photos of 10 ImageNet classes")
        assert len(ph.class_names) == 1000 and ph.short_name(491) == "chain saw"
        for f, lab, img in zip(ph.files, ph.labels.tolist(), ph.images):
            wnid, name = f.split("/")
            assert lab == I.wnid_to_index([wnid])[0] and name.startswith("ILSVRC2012_val_")
            assert (ph.folder / f).is_file()
            want = np.array(Image.open(src / f).convert("RGB"))
            assert img.dtype == torch.uint8 and torch.equal(img, torch.from_numpy(want).permute(2, 0, 1))

        # extracted once, archive gone, marker written; the second call reads the cache
        root = no_data_empty_cache / "imagenette"
        assert I.is_downloaded() and (root / "imagenette2-320" / "val").is_dir() and not (root / ARCHIVE).exists()
        n_requests = len(server.requests)
        again = P.load_photos("auto")
        out = capsys.readouterr().out
        assert len(server.requests) == n_requests  # no request: the cache served it
        assert out.count("\n") == 1 and "downloaded before" in out
        assert "from the cache $SHIFTLAB_CACHE/imagenette" in out   # no machine path
        assert len(again) == 20 and again.labels.tolist() == sorted(INDICES * 2)
        assert again.subset(list(range(0, 20, 2))).fingerprint() == ph.fingerprint()  # same photos


def test_offline_with_nothing_says_what_to_do(tmp_path, monkeypatch, capsys, no_data_empty_cache):
    monkeypatch.setitem(Imagenette._ARCHIVES, "320px", (f"http://127.0.0.1:{_closed_port()}/{ARCHIVE}", "0" * 32))
    with pytest.raises(FileNotFoundError, match=r"no photos: SHIFTLAB_DATA is unset.*connect to the internet.*"
                                                r"set SHIFTLAB_DATA.*load_photos\('my_photos'\)") as err:
        P.load_photos("auto")
    assert "failed (ConnectionRefusedError" in str(err.value) and str(err.value).count("connect") == 1
    assert "downloading them now" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="download=False"):
        P.load_photos("auto", download=False)
    assert capsys.readouterr().out == ""  # nothing chosen, nothing printed
    with pytest.raises(FileNotFoundError, match="not in the cache"):
        I.imagenette_val(download=False)


def test_damaged_download_is_a_setup_error(tmp_path, monkeypatch, no_data_empty_cache):
    www = tmp_path / "www"
    www.mkdir()
    make_imagenette_archive(www, per_class=1)
    with serve_folder(www) as server:
        monkeypatch.setitem(Imagenette._ARCHIVES, "320px", (server.url + ARCHIVE, "0" * 32))  # wrong MD5
        with pytest.raises(SetupError, match="damaged.*run again"):
            I.imagenette_val()
        assert f"/{ARCHIVE}" in server.requests and not I.is_downloaded()


def test_interrupted_extraction_is_redone_from_the_archive(tmp_path, monkeypatch, no_data_empty_cache):
    """An archive in the cache and a half-extracted folder without the completion marker (the
    kernel was stopped while extracting): extracted again, without a download."""
    root = no_data_empty_cache / "imagenette"
    root.mkdir(parents=True)
    md5 = make_imagenette_archive(root, per_class=2)
    (root / "imagenette2-320" / "val" / I.IMAGENETTE_WNIDS[0]).mkdir(parents=True)  # half done
    monkeypatch.setitem(Imagenette._ARCHIVES, "320px", (f"http://127.0.0.1:{_closed_port()}/{ARCHIVE}", md5))
    assert not I.is_downloaded()
    val = I.imagenette_val(limit=3)
    assert val.downloaded and val.total == 20 and val.labels == INDICES[:3]
    assert val.files[0].startswith("n01440764/") and I.is_downloaded()


def test_a_folder_put_in_the_cache_by_hand_is_used(tmp_path, monkeypatch, no_data_empty_cache):
    make_imagenette_tree(no_data_empty_cache / "imagenette", per_class=3)
    assert I.is_downloaded()
    val = I.imagenette_val(download=False)
    assert not val.downloaded and val.total == len(val.files) == 30
    assert val.labels == sorted(INDICES * 3)
    with pytest.raises(ValueError, match="limit"):
        I.imagenette_val(limit=0)


def test_a_foreign_class_folder_is_named(tmp_path, monkeypatch, no_data_empty_cache):
    make_imagenette_tree(no_data_empty_cache / "imagenette", per_class=1,
                         wnids=("n01440764", "n01443537", "n00000042"))  # tench, goldfish, nothing
    with pytest.raises(ValueError, match=r"not Imagenette's 10 classes: \['n00000042', 'n01443537'\]"):
        I.imagenette_val(download=False)


def test_a_class_folder_without_photos_is_a_setup_error(tmp_path, monkeypatch, no_data_empty_cache):
    top = make_imagenette_tree(no_data_empty_cache / "imagenette", per_class=1)
    for p in (top / "val").rglob("*.JPEG"):
        p.unlink()
    with pytest.raises(SetupError, match="holds no Imagenette photos.*delete"):
        I.imagenette_val(download=False)
