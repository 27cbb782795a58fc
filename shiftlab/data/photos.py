"""ImageNet validation photos with their labels, and the 1000 class names.

Where photos come from, with :func:`load_photos` (default ``"auto"``):

- ``load_photos("auto")`` picks, and prints one line saying which and why:

  1. ``$SHIFTLAB_DATA/imagenet_samples`` when present (100 ILSVRC2012 validation photos, one
     per class for 100 classes, with ``labels.csv``): the offline course data;
  2. else Imagenette's validation split (3,925 photos of 10 ImageNet classes, 320 px; see
     :mod:`shiftlab.data.imagenette`) from the cache, when it was downloaded before;
  3. else Imagenette downloaded now through torchvision (about 340 MB, once, into the cache).

  ``load_photos("imagenet_val1000")`` reads ``$SHIFTLAB_DATA/imagenet_val1000`` by name: the
  first 1,000 ILSVRC2012 validation photos (643 classes, ``labels.csv`` with md5 sums, which are
  checked), of which the 100 samples are a subset; ``load_photos("imagenet_samples")`` the samples.

  The choice and its reason are kept on the result (:attr:`PhotoSet.source`,
  :attr:`PhotoSet.reason`), so a chapter can name the photos behind its figures.
- ``load_photos(folder)`` reads a folder of your own photos. Labels, in order of preference:

  1. ``labels.csv`` in the folder (columns ``file`` and ``class_index``);
  2. file names that start with the synset, ``n01537544_....JPEG`` (needs the synset list);
  3. official names ``ILSVRC2012_val_00000414.JPEG``, looked up in
     ``$SHIFTLAB_DATA/imagenet_boxes/val_boxes.csv.gz``.

Pixels: every photo becomes uint8 RGB. 8-bit photos (greyscale, palette, RGB, RGBA, CMYK) go
through PIL's ``convert("RGB")``. Photos of more than 8 bits per pixel (PIL modes ``I;16``,
``I;16B``... for 16-bit greyscale PNGs, ``I`` for 32-bit integers, ``F`` for 32-bit floats), which
``convert("RGB")`` would clip to almost white, are greyscale scaled to 8 bits: ``I;16`` as
``round(value / 257)`` (0 -> 0, 65535 -> 255); ``I`` as 16-bit values (what a PNG stores), the
same way; ``F`` as ``[0, 1]`` when its maximum is at most 1, else as ``[0, 255]`` or, above 255,
``[0, 65535]``. Values outside those ranges (negative, not finite, over 65535) are refused with a
:class:`~shiftlab.core.config.SetupError` naming the file.

Size: the networks of the course take 224 x 224 inputs (:data:`MIN_PHOTO_SIDE`), and the shift
protocols resize every photo to fit them (:mod:`shiftlab.measure.protocols`). Photos whose short
side is smaller are loaded, since small test photos are useful, but one :class:`UserWarning` per
load names them with their sizes: upscaled, they are blurred versions of themselves.

Class names come from ``$SHIFTLAB_DATA/imagenet_boxes/synset_mapping.txt`` when present, else
from the category list that ships with torchvision (same sorted-synset order); Imagenette's
photos carry the names of the synset list that ships with the package (the same file).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from shiftlab.core.config import SetupError, data_root, short_path
from shiftlab.core.progress import tqdm
from shiftlab.data import imagenette
from shiftlab.data.boxes import load_synsets

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "PHOTO_SOURCES",
    "NAMED_FOLDERS",
    "MIN_PHOTO_SIDE",
    "PhotoSet",
    "find_photo_folder",
    "imagenet_synsets",
    "imagenet_class_names",
    "load_imagenette",
    "load_photos",
]

_EXTENSIONS = {".jpeg", ".jpg", ".png"}
#: what :attr:`PhotoSet.source` can be: the course's offline samples, the first 1,000 validation photos,
#: Imagenette, a folder of one's own
PHOTO_SOURCES = ("imagenet_samples", "imagenet_val1000", "imagenette", "folder")
#: the named folders of ``$SHIFTLAB_DATA`` that :func:`load_photos` takes by name, and what they hold
NAMED_FOLDERS = {
    "imagenet_samples": "the course's 100 ImageNet validation photos (one per class for 100 classes)",
    "imagenet_val1000": "the first 1,000 ILSVRC2012 validation photos (643 classes)",
}
#: the progress bar shows when more photos than this are decoded (by default)
_PROGRESS_FROM = 200
#: the input side of the course's networks: photos with a shorter short side are upscaled (a warning names them)
MIN_PHOTO_SIDE = 224
#: how many small photos the warning names before it just counts the rest
_NAMED_SMALL = 5


@dataclass
class PhotoSet:
    """Photos as uint8 tensors of their own sizes, with ImageNet labels.

    Attributes:
        images: list of uint8 ``[3, H, W]`` RGB tensors (greyscale photos are converted).
        labels: long ``[N]`` class indices (0-999, sorted-synset order).
        files: file paths relative to ``folder`` (a plain file name for a flat folder,
            ``"n01440764/ILSVRC2012_val_00009111.JPEG"`` for Imagenette).
        folder: where they were read from.
        class_names: the 1000 class names (index -> name).
        source: where the photos come from, one of :data:`PHOTO_SOURCES`.
        reason: one sentence saying which photos these are and why they were chosen (what
            ``load_photos("auto")`` printed).
    """

    images: list[torch.Tensor]
    labels: torch.Tensor
    files: list[str]
    folder: Path
    class_names: list[str]
    source: str = "folder"
    reason: str = ""

    def fingerprint(self) -> str:
        """A short hash of the files, labels and pixels: the identity of this set in cache keys."""
        h = hashlib.sha256()
        for f, img, lab in zip(self.files, self.images, self.labels.tolist()):
            h.update(f"{f}:{lab}:{tuple(img.shape)}".encode())
            h.update(img.numpy().tobytes())
        return h.hexdigest()[:20]

    def __len__(self) -> int:
        return len(self.images)

    def short_name(self, index: int) -> str:
        """The first synonym of class ``index`` (``"electric ray"`` for 5)."""
        return self.class_names[int(index)].split(",")[0].strip()

    def subset(self, indices: list[int] | np.ndarray | torch.Tensor) -> PhotoSet:
        """A new :class:`PhotoSet` with the photos at ``indices``."""
        idx = [int(i) for i in indices]
        if any(i < 0 or i >= len(self) for i in idx):
            raise IndexError(f"indices must lie in [0, {len(self)}), got {idx}")
        return PhotoSet([self.images[i] for i in idx], self.labels[idx].clone(), [self.files[i] for i in idx],
                        self.folder, self.class_names, self.source, self.reason)

    def summary(self) -> str:
        """What these photos are, for a figure's caption, e.g. ``"8 photos of 8 ImageNet classes:
        Imagenette's validation split (320 px)"``."""
        what = {"imagenet_samples": "the course's ImageNet validation samples (SHIFTLAB_DATA/imagenet_samples)",
                "imagenette": f"Imagenette's validation split ({imagenette.IMAGENETTE_SIZE.replace('px', ' px')})",
                }.get(self.source, f"the folder {self.folder}")
        n, k = len(self), len(set(self.labels.tolist()))
        return f"{n} photo{'s' * (n != 1)} of {k} ImageNet class{'es' * (k != 1)}: {what}"


def find_photo_folder(folder: str | Path | None = None) -> Path:
    """The folder to read photos from: ``folder`` or ``$SHIFTLAB_DATA/imagenet_samples``.

    Raises:
        FileNotFoundError: with what to set or pass when nothing is found.
    """
    if folder is not None:
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"photo folder {path} does not exist")
        return path
    root = data_root()
    if root is None:
        raise FileNotFoundError(
            "no photo folder: pass folder=... (a folder of ImageNet validation JPEGs) or set SHIFTLAB_DATA to the "
            "course's data folder, which has imagenet_samples/ (100 photos with labels.csv)"
        )
    path = root / "imagenet_samples"
    if not path.is_dir():
        raise FileNotFoundError(f"{path} does not exist: SHIFTLAB_DATA={root} has no imagenet_samples/ folder")
    return path


def imagenet_synsets() -> list[str] | None:
    """The 1000 synsets in class-index order from ``$SHIFTLAB_DATA/imagenet_boxes``, or None."""
    root = data_root()
    path = None if root is None else root / "imagenet_boxes" / "synset_mapping.txt"
    if path is None or not path.is_file():
        return None
    rows = [line.split(" ", 1) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(rows) != 1000:
        raise ValueError(f"{path} must have 1000 lines, has {len(rows)}")
    return [r[0] for r in rows]


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet class names in index order (synset_mapping.txt, else torchvision's list)."""
    root = data_root()
    path = None if root is None else root / "imagenet_boxes" / "synset_mapping.txt"
    if path is not None and path.is_file():
        names = [line.split(" ", 1)[1].strip() for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
        if len(names) != 1000:
            raise ValueError(f"{path} must have 1000 lines, has {len(names)}")
        return names
    import torchvision

    return list(torchvision.models.ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


def _labels_from_csv(path: Path) -> dict[str, int]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"file", "class_index"} <= set(reader.fieldnames):
            raise ValueError(f"{path} must have columns 'file' and 'class_index', has {reader.fieldnames}")
        return {row["file"]: int(row["class_index"]) for row in reader}


def _val_synsets() -> dict[str, str]:
    root = data_root()
    path = None if root is None else root / "imagenet_boxes" / "val_boxes.csv.gz"
    if path is None or not path.is_file():
        return {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return {row["image_id"]: row["synset"] for row in csv.DictReader(fh)}


def _high_depth_to_uint8(a: np.ndarray, mode: str, path: Path) -> np.ndarray:
    """A greyscale ``[H, W]`` array of more than 8 bits (PIL mode ``I;16*``, ``I`` or ``F``)
    scaled to uint8 as the module docstring says; SetupError for values outside those ranges."""
    x = a.astype(np.float64)
    finite = np.isfinite(x)
    lo, hi = (float(x[finite].min()), float(x[finite].max())) if finite.any() else (0.0, 0.0)
    if mode == "F" and hi <= 1:
        top = 1.0
    elif mode == "F" and hi <= 255:
        top = 255.0
    else:
        top = 65535.0
    if not finite.all() or lo < 0 or hi > top:
        n_bad = int((~finite).sum())
        what = f"{n_bad} values that are not finite" if n_bad else f"values in [{lo:g}, {hi:g}]"
        raise SetupError(
            f"{path} is a PIL mode {mode} image (more than 8 bits per pixel) with {what}; it can be read when its "
            "values lie in [0, 65535] (16-bit, or 32-bit integers) or, for floats, in [0, 1], [0, 255] or [0, 65535]. "
            "Convert it to an 8-bit RGB or greyscale JPEG or PNG"
        )
    return np.rint(x * (255.0 / top)).astype(np.uint8)


def _pixels(im: Image.Image, path: Path) -> np.ndarray:
    """The pixels of an open PIL image as uint8 ``[H, W, 3]`` RGB (see the module docstring)."""
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        grey = _high_depth_to_uint8(np.asarray(im), im.mode, path)
        return np.repeat(grey[:, :, None], 3, axis=2)
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _read_image(path: Path) -> torch.Tensor:
    """One photo as uint8 ``[3, H, W]`` RGB (16-bit and float images scaled to 8 bits).

    Raises:
        SetupError: the file is truncated or not an image, or holds pixel values that cannot
            be scaled to 8 bits (the message names it).
    """
    from PIL import Image  # imported when photos are decoded, as in the other PIL users

    try:
        with Image.open(path) as im:
            arr = _pixels(im, path)
    except SetupError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:  # PIL: truncated, unidentified, broken headers
        raise SetupError(f"{path} cannot be read as a photo ({exc}); a truncated or damaged file: "
                         "delete it or replace it with a good copy") from exc
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()


def _warn_small(paths: list[Path], images: list[torch.Tensor]) -> None:
    """One UserWarning naming the photos whose short side is under :data:`MIN_PHOTO_SIDE`."""
    small = [(p, img.shape[-1], img.shape[-2]) for p, img in zip(paths, images)
             if min(img.shape[-2:]) < MIN_PHOTO_SIDE]
    if not small:
        return
    named = ", ".join(f"{short_path(p)} ({w}x{h} px)" for p, w, h in small[:_NAMED_SMALL])
    more = f" and {len(small) - _NAMED_SMALL} more" if len(small) > _NAMED_SMALL else ""
    warnings.warn(
        f"{len(small)} of {len(images)} photos have a short side under {MIN_PHOTO_SIDE} px, the input side of "
        f"the course's networks, and will be scaled up (blurred) to fit it: {named}{more}. Use photos at least "
        f"{MIN_PHOTO_SIDE} px on their short side (ImageNet validation photos and Imagenette's 320 px ones are)",
        UserWarning, stacklevel=3,
    )


def _read_images(paths: list[Path], progress: bool | None = None) -> list[torch.Tensor]:
    """Decode photos with :func:`_read_image`, behind a progress bar when there are many
    (``progress=None``: more than 200) or when ``progress`` is True; warn once about photos
    smaller than the networks' input (:data:`MIN_PHOTO_SIDE`)."""
    show = len(paths) > _PROGRESS_FROM if progress is None else bool(progress)
    images = [_read_image(p) for p in tqdm(paths, desc="decoding photos", unit="photo", disable=not show)]
    _warn_small(paths, images)
    return images


def _check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")


def load_imagenette(limit: int | None = None, download: bool = True, progress: bool | None = None,
                    reason: str = "Imagenette requested by name") -> PhotoSet:
    """Imagenette's validation photos (10 ImageNet classes, 320 px) as a :class:`PhotoSet`.

    Downloaded once (about 340 MB) into ``$SHIFTLAB_CACHE/imagenette`` by torchvision's
    ``Imagenette`` loader (see :mod:`shiftlab.data.imagenette`); labels are ImageNet-1k class
    indices (0-999), ``files`` are paths like ``"n01440764/ILSVRC2012_val_00009111.JPEG"``.

    Args:
        limit: keep this many photos, taken round-robin over the 10 classes (so 10 or more
            span every class).
        download: download when the photos are not in the cache (else FileNotFoundError).
        progress: show a progress bar while decoding (default: when more than 200 photos).
        reason: stored as :attr:`PhotoSet.reason`.

    Raises:
        FileNotFoundError: not in the cache and not downloadable (no internet, or ``download=False``).
        SetupError: a damaged download or photo. ValueError: a bad ``limit``.
    """
    _check_limit(limit)
    val = imagenette.imagenette_val(limit=limit, download=download)
    images = _read_images([val.folder / f for f in val.files], progress)
    _, names = load_synsets()
    return PhotoSet(images, torch.tensor(val.labels, dtype=torch.long), val.files, val.folder, list(names),
                    source="imagenette", reason=reason)


def _load_auto(limit: int | None, download: bool, progress: bool | None) -> PhotoSet:
    """``load_photos("auto")``: the offline samples, else Imagenette (cached, else downloaded)."""
    _check_limit(limit)
    root = data_root()  # a SHIFTLAB_DATA that names no folder is an error to fix, not a reason to download
    samples = None if root is None else root / "imagenet_samples"
    if samples is not None and samples.is_dir():
        reason = ("auto: the course's ImageNet validation photos in $SHIFTLAB_DATA/imagenet_samples "
                  "because SHIFTLAB_DATA has them")
        print(f"load_photos: {reason}")
        return _load_folder(samples, limit, progress, source="imagenet_samples", reason=reason)
    why = "SHIFTLAB_DATA is unset" if root is None else "SHIFTLAB_DATA has no imagenet_samples/"
    cache = imagenette.imagenette_root()
    what = "Imagenette's validation photos (10 ImageNet classes, 320 px)"
    if imagenette.is_downloaded(cache):
        reason = f"auto: {what} from the cache {short_path(cache)} because {why} and Imagenette was downloaded before"
    elif download:
        reason = (f"auto: {what}, downloading them now (about {imagenette.ARCHIVE_MB} MB, once) into "
                  f"{short_path(cache)} because {why} and they are not in the cache yet")
    else:
        raise FileNotFoundError(
            f"no photos: {why}, Imagenette is not in the cache ({cache}) and download=False. Set SHIFTLAB_DATA to "
            "the course's data folder (with imagenet_samples/), allow the download (about "
            f"{imagenette.ARCHIVE_MB} MB, once), or pass a folder of your own photos: load_photos('my_photos')"
        )
    print(f"load_photos: {reason}")
    try:
        return load_imagenette(limit=limit, download=download, progress=progress, reason=reason)
    except FileNotFoundError as exc:
        cause = exc.__cause__ or exc
        raise FileNotFoundError(
            f"no photos: {why}, Imagenette is not in the cache ({cache}), and downloading it from "
            f"{imagenette.archive_url()[0]} failed ({type(cause).__name__}: {cause}). Either connect to the internet "
            f"once (about {imagenette.ARCHIVE_MB} MB; cached afterwards, SHIFTLAB_CACHE moves the cache), set "
            "SHIFTLAB_DATA to the course's data folder (with imagenet_samples/), or pass a folder of your own "
            "photos: load_photos('my_photos')"
        ) from exc


def load_photos(folder: str | Path | None = "auto", limit: int | None = None, download: bool = True,
                progress: bool | None = None) -> PhotoSet:
    """Load ImageNet photos with their labels: the course's photos, Imagenette, or your own folder.

    Args:
        folder: ``"auto"`` (the default; ``None`` means the same): ``$SHIFTLAB_DATA/imagenet_samples``
            when present, else Imagenette's validation photos from the cache, else downloaded
            (see the module docstring); prints one line saying which and why, also kept in
            :attr:`PhotoSet.reason`. ``"imagenet_samples"`` and ``"imagenet_val1000"`` name those
            folders of ``$SHIFTLAB_DATA`` (:data:`NAMED_FOLDERS`; their ``labels.csv`` gives the
            labels, and its md5 sums are checked). Any other value is a folder of
            ``.JPEG``/``.jpg``/``.png`` files (a folder really named ``auto`` or like a named
            folder is ``"./auto"``); see the module docstring for where its labels come from.
        limit: keep only this many photos: for a folder evenly spread over the sorted file list
            (so a small quick-mode subset still spans the class range), for Imagenette taken
            round-robin over its 10 classes.
        download: whether ``"auto"`` may download Imagenette (about 340 MB, once).
        progress: show a progress bar while decoding (default: when more than 200 photos).

    Raises:
        FileNotFoundError: no folder, or no images in it; for ``"auto"``: no samples, no cached
            Imagenette and no download (the message says what to set or connect).
        ValueError: a photo whose label cannot be found, or a bad ``limit``.
        SetupError: a truncated or damaged photo (named in the message), or a damaged download.
    """
    if folder is None or (isinstance(folder, str) and folder == "auto"):
        return _load_auto(limit, download, progress)
    if isinstance(folder, str) and folder in NAMED_FOLDERS:
        return _load_named(folder, limit, progress)
    path = find_photo_folder(folder)
    return _load_folder(path, limit, progress, source="folder", reason=f"the folder {path}, passed by name")


def _load_named(name: str, limit: int | None, progress: bool | None) -> PhotoSet:
    """``load_photos("imagenet_samples")`` or ``("imagenet_val1000")``: that folder of
    ``$SHIFTLAB_DATA``, with its ``labels.csv`` (and md5 sums, checked)."""
    root = data_root()
    what = NAMED_FOLDERS[name]
    if root is None:
        raise SetupError(f"load_photos({name!r}) reads {what} from $SHIFTLAB_DATA/{name}, but SHIFTLAB_DATA is unset: "
                         "set it to the course's data folder, or use load_photos('auto') (Imagenette when the "
                         "course data are not there)")
    path = root / name
    if not path.is_dir():
        raise SetupError(f"load_photos({name!r}): SHIFTLAB_DATA={root} has no {name}/ folder ({what}); copy it "
                         "there from the course's data, or use load_photos('auto')")
    if not (path / "labels.csv").is_file():
        raise SetupError(f"{path} has no labels.csv: the course's {name}/ folder ships one (columns file, class_index, "
                         "md5, ...); copy the folder again")
    reason = f"{what} in $SHIFTLAB_DATA/{name}, asked for by name"
    return _load_folder(path, limit, progress, source=name, reason=reason)


def _check_md5(path: Path, files: list[Path]) -> None:
    """Compare ``files`` with the md5 column of ``path / "labels.csv"`` (when it has one)."""
    with open(path / "labels.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or "md5" not in reader.fieldnames:
            return
        sums = {row["file"]: row["md5"].strip().lower() for row in reader}
    bad = [f.name for f in files if f.name in sums and hashlib.md5(f.read_bytes()).hexdigest() != sums[f.name]]
    if bad:
        raise SetupError(f"{len(bad)} photo(s) in {path} differ from labels.csv's md5 sums (the first: {bad[0]}): "
                         "the copy is damaged or the files were changed; copy them again")


def _load_folder(path: Path, limit: int | None, progress: bool | None, source: str, reason: str) -> PhotoSet:
    """Read the photos of one flat folder (see :func:`load_photos`)."""
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in _EXTENSIONS and p.is_file())
    if not files:
        raise FileNotFoundError(f"{path} holds no .JPEG/.jpg/.png photos")
    _check_limit(limit)
    if limit is not None and limit < len(files):
        pick = np.unique(np.linspace(0, len(files) - 1, limit).round().astype(int))
        files = [files[i] for i in pick]
    csv_labels = _labels_from_csv(path / "labels.csv") if (path / "labels.csv").is_file() else {}
    if source in NAMED_FOLDERS:
        _check_md5(path, files)
        missing = sorted(set(csv_labels) - {f.name for f in path.iterdir()})
        if missing:
            raise SetupError(f"{len(missing)} photo(s) listed in {path / 'labels.csv'} are missing (the first: "
                             f"{missing[0]}); copy the folder again")
    synsets = imagenet_synsets()
    synset_index = {s: i for i, s in enumerate(synsets)} if synsets else {}
    val_synsets: dict[str, str] | None = None
    labels = []
    for f in files:
        if f.name in csv_labels:
            labels.append(csv_labels[f.name])
            continue
        head = f.name.split("_", 1)[0]
        if head.startswith("n") and head[1:].isdigit() and head in synset_index:
            labels.append(synset_index[head])
            continue
        if f.stem.startswith("ILSVRC2012_val_"):
            if val_synsets is None:
                val_synsets = _val_synsets()
            syn = val_synsets.get(f.stem)
            if syn is not None and syn in synset_index:
                labels.append(synset_index[syn])
                continue
        raise ValueError(
            f"no label for {f.name}: give the folder a labels.csv (columns file, class_index), name files "
            "<synset>_<anything>.JPEG, or keep official ILSVRC2012_val_XXXXXXXX.JPEG names; the last two need "
            "SHIFTLAB_DATA with imagenet_boxes/ (synset_mapping.txt, val_boxes.csv.gz)"
        )
    if any(not 0 <= lab < 1000 for lab in labels):
        raise ValueError(f"class indices must lie in [0, 1000), got {sorted(set(labels))[:5]}...")
    images = _read_images(files, progress)
    return PhotoSet(images, torch.tensor(labels, dtype=torch.long), [f.name for f in files], path,
                    imagenet_class_names(), source=source, reason=reason)
