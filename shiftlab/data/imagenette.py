"""Imagenette's validation photos through torchvision: real ImageNet photos without SHIFTLAB_DATA.

`Imagenette <https://github.com/fastai/imagenette>`_ (fast.ai, Apache-2.0) is a subset of
ImageNet: 10 easily told apart ImageNet-1k classes (tench, English springer, cassette player,
chain saw, church, French horn, garbage truck, gas pump, golf ball, parachute). Its validation
split holds 3,925 photos; the ``320px`` version (shortest side 320 pixels) is one archive of
about 340 MB, downloaded once into ``$SHIFTLAB_CACHE/imagenette`` by the real torchvision loader
``torchvision.datasets.Imagenette(root, split="val", size="320px", download=True)``.

Torchvision labels the 10 classes 0-9 (sorted WNIDs); the course's models speak ImageNet-1k,
so every label here is the class index 0-999 of the photo's WNID (its folder name, e.g.
``n01440764`` -> 0, tench) in the synset list that ships with the package
(``shiftlab/data/files/synset_mapping.txt``, sorted-synset order, as torchvision's models).

This module finds, downloads and lists the photos (:func:`imagenette_val`);
:func:`shiftlab.data.photos.load_imagenette` decodes them into a ``PhotoSet`` and
``load_photos("auto")`` picks them when ``SHIFTLAB_DATA`` has no photos.
"""

from __future__ import annotations

import functools
import shutil
import socket
import tarfile
import urllib.parse
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from shiftlab.core.config import SetupError, cache_dir
from shiftlab.data.boxes import load_synsets

__all__ = [
    "IMAGENETTE_WNIDS",
    "IMAGENETTE_SIZE",
    "IMAGENETTE_SPLIT",
    "N_VAL_PHOTOS",
    "ARCHIVE_MB",
    "ImagenetteVal",
    "wnid_to_index",
    "balanced_subset",
    "imagenette_root",
    "archive_url",
    "is_downloaded",
    "imagenette_val",
]

#: the 10 Imagenette classes as WNIDs, sorted (torchvision's labels 0-9 follow this order);
#: their ImageNet-1k indices are 0, 217, 482, 491, 497, 566, 569, 571, 574, 701
IMAGENETTE_WNIDS: tuple[str, ...] = (
    "n01440764",  # tench
    "n02102040",  # English springer
    "n02979186",  # cassette player
    "n03000684",  # chain saw
    "n03028079",  # church
    "n03394916",  # French horn
    "n03417042",  # garbage truck
    "n03425413",  # gas pump
    "n03445777",  # golf ball
    "n03888257",  # parachute
)
#: the image size of the archive used (torchvision's ``size=``): shortest side 320 pixels
IMAGENETTE_SIZE = "320px"
#: the split used: the validation photos (none of them was seen in training by ImageNet models
#: either: Imagenette's validation photos come from ImageNet's validation set)
IMAGENETTE_SPLIT = "val"
#: photos in Imagenette's validation split
N_VAL_PHOTOS = 3925
#: size of the 320px archive in MB (for messages)
ARCHIVE_MB = 340
#: written into the extracted folder once torchvision's download and extraction have finished
_COMPLETE = ".shiftlab-complete"


class ImagenetteVal(NamedTuple):
    """Imagenette's validation photos on disk, with ImageNet-1k labels (nothing decoded yet).

    Attributes:
        folder: the split's folder (``.../imagenette2-320/val``).
        files: paths relative to ``folder`` (``"n01440764/ILSVRC2012_val_00009111.JPEG"``).
        labels: the ImageNet-1k class index (0-999) of each file.
        total: photos in the split before ``limit``.
        downloaded: True when this call downloaded the archive (False: it was in the cache).
    """

    folder: Path
    files: list[str]
    labels: list[int]
    total: int
    downloaded: bool


@functools.lru_cache(maxsize=1)
def _synset_index() -> dict[str, int]:
    synsets, _ = load_synsets()
    return {s: i for i, s in enumerate(synsets)}


def wnid_to_index(wnids: Iterable[str]) -> list[int]:
    """ImageNet-1k class indices (0-999, sorted-synset order) of WordNet IDs.

    Uses the synset list that ships with the package, so it works offline:
    ``wnid_to_index(["n01440764", "n03000684"]) == [0, 491]`` (tench, chain saw).

    Raises:
        TypeError: a single string instead of a list of them, or a non-string entry.
        ValueError: a WNID that is not one of the 1000 ImageNet-1k classes (named in the message).
    """
    if isinstance(wnids, str):
        raise TypeError(f"wnids must be a list of WNIDs, not one string; use wnid_to_index([{wnids!r}])")
    index = _synset_index()
    out = []
    for w in wnids:
        if not isinstance(w, str):
            raise TypeError(f"a WNID must be a string like 'n01440764', got {w!r}")
        if w not in index:
            raise ValueError(
                f"{w!r} is not an ImageNet-1k WNID: the 1000 classes (n01440764 ... n15075141) are listed in "
                "shiftlab/data/files/synset_mapping.txt; an Imagenette folder must be named after one of them"
            )
        out.append(index[w])
    return out


def balanced_subset(labels: Sequence[int], limit: int | None) -> list[int]:
    """Indices of at most ``limit`` items taken round-robin over the classes: the first item
    of every class, then the second of every class, and so on, so that a small subset spans
    as many classes as it can. Returned in the original order.

    Raises:
        ValueError: ``limit`` is not a positive int (or None, which keeps everything).
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    n = len(labels)
    if limit is None or limit >= n:
        return list(range(n))
    by_class: dict[int, list[int]] = {}
    for i, lab in enumerate(labels):
        by_class.setdefault(int(lab), []).append(i)
    queues = [by_class[c] for c in sorted(by_class)]
    picked: list[int] = []
    rank = 0
    while len(picked) < limit:
        for q in queues:
            if rank < len(q) and len(picked) < limit:
                picked.append(q[rank])
        rank += 1
    return sorted(picked)


def imagenette_root() -> Path:
    """Where Imagenette lives: ``cache_dir() / "imagenette"`` (``$SHIFTLAB_CACHE`` moves it)."""
    return cache_dir() / "imagenette"


def archive_url() -> tuple[str, str]:
    """``(url, md5)`` of the archive, read from torchvision's ``Imagenette`` (for :data:`IMAGENETTE_SIZE`)."""
    from torchvision.datasets import Imagenette

    url, md5 = Imagenette._ARCHIVES[IMAGENETTE_SIZE]
    return url, md5


def _paths(root: Path) -> tuple[Path, Path]:
    """``(archive file, extracted folder)`` as torchvision names them under ``root``."""
    url, _ = archive_url()
    name = Path(urllib.parse.urlparse(url).path).name
    return root / name, root / Path(name).stem


def is_downloaded(root: str | Path | None = None) -> bool:
    """True when Imagenette's validation photos are extracted under ``root``
    (default :func:`imagenette_root`) and the extraction finished."""
    archive, extracted = _paths(Path(root) if root is not None else imagenette_root())
    val = extracted / IMAGENETTE_SPLIT
    # no marker but no archive either: a folder put there by hand (torchvision's own layout)
    return val.is_dir() and ((extracted / _COMPLETE).is_file() or not archive.exists())


def _check_reachable(url: str, timeout: float = 5.0) -> None:
    """Raise OSError at once when the archive's server cannot be reached (offline), instead of
    letting torchvision's download wait without a time limit."""
    parts = urllib.parse.urlparse(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    with socket.create_connection((parts.hostname or "", port), timeout=timeout):
        pass


def _download(root: Path) -> None:
    """Download and extract the archive into ``root`` through torchvision's real loader.

    Raises:
        FileNotFoundError: the server cannot be reached or the download failed (no internet).
        SetupError: the download arrived damaged (wrong MD5) or is not a readable archive.
    """
    from torchvision.datasets import Imagenette

    url, _ = archive_url()
    archive, extracted = _paths(root)
    if extracted.exists() and not (extracted / _COMPLETE).is_file():
        if not archive.is_file():
            raise SetupError(f"{extracted} has no {IMAGENETTE_SPLIT}/ folder: delete {extracted} to download "
                             "Imagenette again")
        shutil.rmtree(extracted)  # an extraction that was cut off: torchvision extracts the archive again
    try:
        if not archive.is_file():  # else torchvision checks its MD5 and downloads only when it differs
            _check_reachable(url)
        Imagenette(str(root), split=IMAGENETTE_SPLIT, size=IMAGENETTE_SIZE, download=True)
    except OSError as exc:  # no route, refused, DNS, HTTP errors (urllib's URLError is an OSError), disk full
        if archive.is_file() and extracted.exists():  # downloaded, then extracting or listing it failed
            raise SetupError(f"extracting {archive} failed ({type(exc).__name__}: {exc}): check that the disk "
                             f"has room, delete {extracted} and run again") from exc
        raise FileNotFoundError(
            f"Imagenette could not be downloaded from {url} into {root} ({type(exc).__name__}: {exc}). Connect "
            f"to the internet (about {ARCHIVE_MB} MB, downloaded once; SHIFTLAB_CACHE moves the cache) and check "
            "that the cache's disk has room"
        ) from exc
    except RuntimeError as exc:  # torchvision: "File not found or corrupted." (wrong MD5)
        raise SetupError(
            f"the Imagenette download {archive} is damaged ({exc}): run again to download it again "
            f"(or delete {archive})"
        ) from exc
    except tarfile.TarError as exc:
        raise SetupError(f"{archive} is not a readable archive ({exc}): delete it and run again") from exc
    n = sum(1 for p in (extracted / IMAGENETTE_SPLIT).rglob("*") if p.suffix.lower() == ".jpeg")
    (extracted / _COMPLETE).write_text(f"{n} validation photos\n", encoding="utf-8")
    archive.unlink(missing_ok=True)  # extracted: the archive is no longer needed


def imagenette_val(limit: int | None = None, download: bool = True, root: str | Path | None = None) -> ImagenetteVal:
    """Imagenette's validation photos with ImageNet-1k labels, downloaded first if needed.

    Args:
        limit: keep this many photos, taken round-robin over the classes
            (:func:`balanced_subset`), so that 10 or more span all 10 classes.
        download: download the archive (about 340 MB, once) when it is not in the cache.
        root: where the archive goes (default :func:`imagenette_root`).

    Raises:
        FileNotFoundError: not in the cache and ``download=False``, or the download failed.
        SetupError: a damaged download or extraction, or an extracted folder without photos.
        ValueError: a bad ``limit``, or a class folder that is not one of :data:`IMAGENETTE_WNIDS`.
    """
    from torchvision.datasets import Imagenette

    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    base = Path(root).expanduser() if root is not None else imagenette_root()
    downloaded = False
    if not is_downloaded(base):
        if not download:
            raise FileNotFoundError(
                f"Imagenette is not in the cache ({base}); call with download=True (about {ARCHIVE_MB} MB, once) "
                "or set SHIFTLAB_CACHE to the cache folder that holds it"
            )
        _download(base)
        downloaded = True

    folder = _paths(base)[1] / IMAGENETTE_SPLIT
    extra = sorted(d.name for d in folder.iterdir() if d.is_dir() and d.name not in IMAGENETTE_WNIDS)
    if extra:  # torchvision's loader would stop at them with a bare KeyError
        raise ValueError(
            f"{folder} holds class folders that are not Imagenette's 10 classes: {extra[:5]}; torchvision's "
            f"Imagenette reads only {', '.join(IMAGENETTE_WNIDS)}. Remove them, or delete {base} to download anew"
        )

    def keep_path(path: str) -> str:  # torchvision's loader: list the files, decode later
        return path

    try:
        ds = Imagenette(str(base), split=IMAGENETTE_SPLIT, size=IMAGENETTE_SIZE, download=False, loader=keep_path)
    except FileNotFoundError as exc:  # torchvision: no class folder, or no .JPEG in them
        raise SetupError(f"{folder} holds no Imagenette photos ({exc}): delete {base} and run again to "
                         "download it anew") from exc
    index = wnid_to_index(ds.wnids)
    samples = [ds[i] for i in range(len(ds))]
    labels = [index[tv_label] for _, tv_label in samples]
    keep = balanced_subset(labels, limit)
    files = [Path(samples[i][0]).relative_to(folder).as_posix() for i in keep]
    return ImagenetteVal(folder, files, [labels[i] for i in keep], len(samples), downloaded)
