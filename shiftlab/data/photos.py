"""ImageNet validation photos with their labels, and the 1000 class names.

Where photos come from: a folder you pass, else ``$SHIFTLAB_DATA/imagenet_samples`` (100
ILSVRC2012 validation photos, one per class for 100 classes, with ``labels.csv``). Labels, in
order of preference:

1. ``labels.csv`` in the folder (columns ``file`` and ``class_index``);
2. file names that start with the synset, ``n01537544_....JPEG`` (needs the synset list);
3. official names ``ILSVRC2012_val_00000414.JPEG``, looked up in
   ``$SHIFTLAB_DATA/imagenet_boxes/val_boxes.csv.gz``.

Class names come from ``$SHIFTLAB_DATA/imagenet_boxes/synset_mapping.txt`` when present, else
from the category list that ships with torchvision (same sorted-synset order).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from shiftlab.core.config import SetupError, data_root

__all__ = ["PhotoSet", "find_photo_folder", "imagenet_synsets", "imagenet_class_names", "load_photos"]

_EXTENSIONS = {".jpeg", ".jpg", ".png"}


@dataclass
class PhotoSet:
    """Photos as uint8 tensors of their own sizes, with ImageNet labels.

    Attributes:
        images: list of uint8 ``[3, H, W]`` RGB tensors (greyscale photos are converted).
        labels: long ``[N]`` class indices (0-999, sorted-synset order).
        files: file names (without folder).
        folder: where they were read from.
        class_names: the 1000 class names (index -> name).
    """

    images: list[torch.Tensor]
    labels: torch.Tensor
    files: list[str]
    folder: Path
    class_names: list[str]

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
                        self.folder, self.class_names)


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


def _read_image(path: Path) -> torch.Tensor:
    """One photo as uint8 ``[3, H, W]`` RGB.

    Raises:
        SetupError: the file is truncated or not an image (the message names it).
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, SyntaxError, ValueError) as exc:  # PIL: truncated, unidentified, broken headers
        raise SetupError(f"{path} cannot be read as a photo ({exc}); a truncated or damaged file: "
                         "delete it or replace it with a good copy") from exc
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()


def load_photos(folder: str | Path | None = None, limit: int | None = None) -> PhotoSet:
    """Read a folder of ImageNet validation photos with their labels.

    Args:
        folder: a folder of ``.JPEG``/``.jpg``/``.png`` files (default
            ``$SHIFTLAB_DATA/imagenet_samples``). See the module docstring for where labels
            come from.
        limit: keep only this many photos, evenly spread over the sorted file list (so a
            small quick-mode subset still spans the class range).

    Raises:
        FileNotFoundError: no folder, or no images in it.
        ValueError: a photo whose label cannot be found, or a bad ``limit``.
        SetupError: a truncated or damaged photo (named in the message).
    """
    path = find_photo_folder(folder)
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in _EXTENSIONS and p.is_file())
    if not files:
        raise FileNotFoundError(f"{path} holds no .JPEG/.jpg/.png photos")
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive int or None, got {limit!r}")
        if limit < len(files):
            pick = np.unique(np.linspace(0, len(files) - 1, limit).round().astype(int))
            files = [files[i] for i in pick]
    csv_labels = _labels_from_csv(path / "labels.csv") if (path / "labels.csv").is_file() else {}
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
    images = [_read_image(f) for f in files]
    return PhotoSet(images, torch.tensor(labels, dtype=torch.long), [f.name for f in files], path,
                    imagenet_class_names())
