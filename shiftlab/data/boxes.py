"""The ILSVRC2012 validation bounding boxes as a NumPy table, shipped with the package.

``shiftlab/data/files/val_boxes.csv.gz`` (80,477 boxes on 50,000 images, 1000 classes x 50
images, with each image's width and height) and ``synset_mapping.txt`` (the 1000 classes in
index order) travel inside ``shiftlab`` (see ``files/PROVENANCE.md`` for their origin
and terms: ImageNet annotations, non-commercial research and educational use). Nothing is
downloaded, so the position-bias chapter runs anywhere.

:func:`load_boxes` returns a :class:`BoxTable`: one NumPy array per column (no pandas), plus
the class names, with the derived quantities the chapter needs (normalised centres and sizes)
as properties. Coordinates are integer pixels as in the official annotation files.
"""

from __future__ import annotations

import csv
import functools
import gzip
import hashlib
import io
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "BOXES_FILE",
    "SYNSETS_FILE",
    "BOXES_MD5",
    "N_BOXES",
    "N_IMAGES",
    "N_CLASSES",
    "BoxTable",
    "data_file",
    "load_boxes",
    "load_synsets",
]

BOXES_FILE = "val_boxes.csv.gz"
SYNSETS_FILE = "synset_mapping.txt"
#: MD5 of the *uncompressed* CSV that ships with the package
BOXES_MD5 = "d8b34dec46c635ac21ed66bb5d180057"
N_BOXES = 80477
N_IMAGES = 50000
N_CLASSES = 1000
_HEADER = ["image_id", "synset", "width", "height", "xmin", "ymin", "xmax", "ymax"]
_ID_PREFIX = "ILSVRC2012_val_"


def data_file(name: str) -> Path:
    """Path of a file in ``shiftlab/data/files`` (the package's own data).

    Raises:
        FileNotFoundError: when the installed package lacks it (a broken install).
    """
    path = Path(str(resources.files("shiftlab.data") / "files" / name))
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: the shiftlab package should ship it in shiftlab/data/files/. Reinstall "
            "shiftlab (pip install -e . from the repository) or pass the file's path explicitly"
        )
    return path


def load_synsets(path: str | Path | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The 1000 synsets and their names in class-index order.

    Args:
        path: a ``synset_mapping.txt`` (``"<synset> <names>"`` per line); default: the packaged one.

    Returns:
        ``(synsets, names)``, e.g. ``synsets[0] == "n01440764"``, ``names[0] == "tench, Tinca tinca"``.
    """
    path = Path(path) if path is not None else data_file(SYNSETS_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"synset list {path} does not exist")
    rows = [line.split(" ", 1) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(rows) != N_CLASSES or any(len(r) != 2 or not r[0].startswith("n") for r in rows):
        raise ValueError(f"{path} must have {N_CLASSES} lines '<synset> <names>', has {len(rows)}")
    synsets = tuple(r[0] for r in rows)
    if list(synsets) != sorted(synsets) or len(set(synsets)) != N_CLASSES:
        raise ValueError(f"{path}: the synsets must be distinct and sorted (class-index order)")
    return synsets, tuple(r[1].strip() for r in rows)


@dataclass(frozen=True, eq=False)
class BoxTable:
    """Bounding boxes, one array entry per box (all arrays have the same length).

    Attributes:
        image: int32 image number (``ILSVRC2012_val_00000042`` -> 42).
        label: int16 class index 0-999 (sorted-synset order, as torchvision's models).
        width, height: int32 size of the box's image in pixels.
        xmin, ymin, xmax, ymax: int32 box corners in pixels (``0 <= xmin < xmax <= width``).
        synsets, class_names: the 1000 synsets and names (index -> synset / name).
    """

    image: np.ndarray
    label: np.ndarray
    width: np.ndarray
    height: np.ndarray
    xmin: np.ndarray
    ymin: np.ndarray
    xmax: np.ndarray
    ymax: np.ndarray
    synsets: tuple[str, ...]
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        n = self.image.shape[0]
        for f in ("image", "label", "width", "height", "xmin", "ymin", "xmax", "ymax"):
            arr = getattr(self, f)
            if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.shape[0] != n:
                raise ValueError(f"column {f!r} must be a 1-D array of length {n}")
            arr.flags.writeable = False
        if len(self.synsets) != len(self.class_names):
            raise ValueError("synsets and class_names must have the same length")

    def __len__(self) -> int:
        return int(self.image.shape[0])

    def __repr__(self) -> str:
        return f"BoxTable({len(self)} boxes, {self.n_images} images, {len(np.unique(self.label))} classes)"

    # ---------------------------------------------------------------- derived columns
    @property
    def n_images(self) -> int:
        """Number of distinct images."""
        return int(np.unique(self.image).shape[0])

    @property
    def box_width(self) -> np.ndarray:
        """Box width in pixels (float64)."""
        return (self.xmax - self.xmin).astype(np.float64)

    @property
    def box_height(self) -> np.ndarray:
        """Box height in pixels (float64)."""
        return (self.ymax - self.ymin).astype(np.float64)

    @property
    def cx(self) -> np.ndarray:
        """Box centre x as a fraction of the image width (0 = left edge, 1 = right edge)."""
        return (self.xmin + self.xmax) / (2.0 * self.width)

    @property
    def cy(self) -> np.ndarray:
        """Box centre y as a fraction of the image height (0 = top, 1 = bottom)."""
        return (self.ymin + self.ymax) / (2.0 * self.height)

    @property
    def rel_width(self) -> np.ndarray:
        """Box width as a fraction of the image width, in (0, 1]."""
        return self.box_width / self.width

    @property
    def rel_height(self) -> np.ndarray:
        """Box height as a fraction of the image height, in (0, 1]."""
        return self.box_height / self.height

    @property
    def area_fraction(self) -> np.ndarray:
        """Box area as a fraction of the image area."""
        return self.rel_width * self.rel_height

    # ---------------------------------------------------------------- selection
    def class_index(self, query: int | str) -> int:
        """Class index of an index, a synset (``"n02097474"``) or a name.

        Names match case-insensitively: first an exact synonym (``"bagel"`` matches
        ``"bagel, beigel"``), then a unique substring of the full name.

        Raises:
            KeyError: no class or several classes match.
        """
        if isinstance(query, (int, np.integer)) and not isinstance(query, bool):
            if not 0 <= int(query) < len(self.synsets):
                raise KeyError(f"class index {query} is outside [0, {len(self.synsets)})")
            return int(query)
        if not isinstance(query, str) or not query.strip():
            raise KeyError(f"class must be an index, a synset or a name, got {query!r}")
        q = query.strip().lower()
        if q in self.synsets:
            return self.synsets.index(q)
        exact = [i for i, n in enumerate(self.class_names) if q in (s.strip().lower() for s in n.split(","))]
        if len(exact) == 1:
            return exact[0]
        sub = exact or [i for i, n in enumerate(self.class_names) if q in n.lower()]
        if len(sub) == 1:
            return sub[0]
        if not sub:
            raise KeyError(f"no ImageNet class matches {query!r}")
        raise KeyError(f"{query!r} matches several classes: {[self.class_names[i] for i in sub[:6]]}")

    def short_name(self, index: int) -> str:
        """First synonym of a class (``"Tibetan terrier"`` for 200)."""
        return self.class_names[int(index)].split(",")[0].strip()

    def select(self, mask: np.ndarray) -> BoxTable:
        """The boxes where ``mask`` (bool array, one entry per box) is True."""
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (len(self),):
            raise ValueError(f"mask must be a bool array of shape ({len(self)},), got {mask.dtype} {mask.shape}")
        cols = {f.name: getattr(self, f.name)[mask] for f in fields(self) if f.name not in ("synsets", "class_names")}
        return BoxTable(**cols, synsets=self.synsets, class_names=self.class_names)

    def for_class(self, query: int | str) -> BoxTable:
        """All boxes of one class (index, synset or name, see :meth:`class_index`)."""
        return self.select(self.label == self.class_index(query))

    def one_per_image(self, rule: str = "largest") -> BoxTable:
        """One box per image: ``"largest"`` (by area; the first one on ties) or ``"first"``
        (the first in annotation order). Images with several boxes are otherwise counted
        several times, and boxes of one image are not independent."""
        if rule not in ("largest", "first"):
            raise ValueError(f"rule must be 'largest' or 'first', got {rule!r}")
        n = len(self)
        if n == 0:
            return self
        order = np.arange(n)
        if rule == "largest":
            area = self.box_width * self.box_height
            # sort by image, then by decreasing area, then by annotation order (stable)
            order = np.lexsort((np.arange(n), -area, self.image))
        first = np.ones(n, dtype=bool)
        img_sorted = self.image[order]
        first[1:] = img_sorted[1:] != img_sorted[:-1]
        keep = np.zeros(n, dtype=bool)
        keep[order[first]] = True
        return self.select(keep)


def _parse(text: str, synsets: tuple[str, ...], where: str) -> dict[str, np.ndarray]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != _HEADER:
        raise ValueError(f"{where}: expected the columns {_HEADER}, got {header}")
    rows = list(reader)
    if not rows:
        raise ValueError(f"{where} holds no boxes")
    cols = list(zip(*rows))
    if any(len(r) != len(_HEADER) for r in rows):
        raise ValueError(f"{where}: every row needs {len(_HEADER)} fields")
    ids = cols[0]
    if any(not s.startswith(_ID_PREFIX) for s in ids):
        raise ValueError(f"{where}: image ids must look like {_ID_PREFIX}00000001")
    index = {s: i for i, s in enumerate(synsets)}
    try:
        label = np.array([index[s] for s in cols[1]], dtype=np.int16)
    except KeyError as exc:
        raise ValueError(f"{where}: synset {exc.args[0]} is not in the synset list") from exc
    out: dict[str, np.ndarray] = {"image": np.array([int(s[len(_ID_PREFIX):]) for s in ids], dtype=np.int32),
                                  "label": label}
    for name, col in zip(_HEADER[2:], cols[2:]):
        out[name] = np.array(col, dtype=np.int32)
    return out


def _check_ranges(c: dict[str, np.ndarray], where: str) -> None:
    if (c["width"] < 1).any() or (c["height"] < 1).any():
        raise ValueError(f"{where}: image sizes must be positive")
    if (c["xmin"] < 0).any() or (c["ymin"] < 0).any() or (c["xmax"] > c["width"]).any() \
            or (c["ymax"] > c["height"]).any():
        raise ValueError(f"{where}: a box lies outside its image")
    if (c["xmax"] <= c["xmin"]).any() or (c["ymax"] <= c["ymin"]).any():
        raise ValueError(f"{where}: a box is degenerate (xmax <= xmin or ymax <= ymin)")


@functools.lru_cache(maxsize=4)
def _load_cached(boxes: str, synsets: str, expected_md5: str | None) -> BoxTable:
    path = Path(boxes)
    if not path.is_file():
        raise FileNotFoundError(f"box table {path} does not exist")
    raw = path.read_bytes()
    try:
        data = gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable gzip file ({exc})") from exc
    if expected_md5 is not None and hashlib.md5(data).hexdigest() != expected_md5:
        raise ValueError(f"{path}: MD5 of the uncompressed table is {hashlib.md5(data).hexdigest()}, expected "
                         f"{expected_md5}: the file is damaged or different; reinstall shiftlab")
    syn, names = load_synsets(synsets)
    cols = _parse(data.decode("utf-8"), syn, str(path))
    _check_ranges(cols, str(path))
    return BoxTable(**cols, synsets=syn, class_names=names)


def load_boxes(path: str | Path | None = None, synsets: str | Path | None = None) -> BoxTable:
    """Load the ILSVRC2012 validation boxes (default: the table shipped in ``shiftlab/data/files``).

    The packaged file is checked against its MD5 (:data:`BOXES_MD5`); every file is checked for
    its header, known synsets and boxes inside their images. The result is cached in memory
    (its arrays are read-only), so calling this again is free.

    Args:
        path: another CSV (plain or ``.gz``) with the same columns; no MD5 check then.
        synsets: another ``synset_mapping.txt`` (default: the packaged one).

    Raises:
        FileNotFoundError: a missing file. ValueError: a damaged or malformed file.
    """
    box_path = Path(path).expanduser().resolve() if path is not None else data_file(BOXES_FILE)
    syn_path = Path(synsets).expanduser().resolve() if synsets is not None else data_file(SYNSETS_FILE)
    md5 = BOXES_MD5 if path is None else None
    return _load_cached(str(box_path), str(syn_path), md5)
