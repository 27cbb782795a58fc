"""MNIST as tensors, offline first.

Where the four canonical files (``train-images-idx3-ubyte.gz`` and friends) are looked for,
in order:

1. ``$SHIFTLAB_DATA/mnist/`` (the layout of the course's offline data folder);
2. the cache, ``$SHIFTLAB_CACHE/mnist/`` (default ``~/.cache/shiftlab/mnist``), also the
   ``MNIST/raw`` folder torchvision writes there;
3. torchvision's download into the cache (needs internet).

If all fail, the error names the missing files, where to put them and which variable to set.
A damaged file (a truncated or corrupt ``.gz``, e.g. an interrupted download), an unreadable one
(no read permission) and a pair of files that are not an MNIST split (e.g. a labels file where
the images file should be) each raise a :class:`shiftlab.core.config.SetupError` that names the
file(s), says what was found and what is expected, and how to fix it.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import torch
from numpy.typing import DTypeLike

from shiftlab.core.config import SetupError, cache_dir, data_root

__all__ = ["MNIST_FILES", "MnistSplit", "find_mnist", "read_idx", "load_mnist"]

MNIST_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

_IDX_DTYPES: dict[int, DTypeLike] = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
                                     0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


class MnistSplit(NamedTuple):
    """One MNIST split: ``images`` float32 ``[N, 1, 28, 28]`` in [0, 1], ``labels`` long ``[N]``."""

    images: torch.Tensor
    labels: torch.Tensor


def _damaged(path: Path, problem: str) -> SetupError:
    return SetupError(
        f"{path} is damaged: {problem}. Delete it or replace it with a good copy of {path.name} "
        "(a truncated file is often an interrupted download; deleted from the cache folder, it is downloaded again)"
    )


def _unreadable(path: Path, exc: OSError) -> SetupError:
    return SetupError(
        f"{path} cannot be read ({type(exc).__name__}: {exc}). Give your user read permission "
        f"(e.g. chmod a+r {path}) or replace it with a readable copy of {path.name}; a copy in the cache "
        "folder can also be deleted, to be downloaded again, or point SHIFTLAB_DATA at the course's data folder"
    )


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or plain) into a NumPy array.

    Raises:
        SetupError: when the file is not a well-formed IDX file (a truncated or corrupt gzip
            stream, a bad magic number, a size that does not match the header), or cannot be
            read at all (no permission, a folder under the file's name); the message names the
            file and says what to do.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:  # BadGzipFile is an OSError: caught first
        raise _damaged(path, f"not a complete gzip file ({type(exc).__name__}: {exc})") from exc
    except OSError as exc:  # PermissionError, IsADirectoryError, an I/O error of the disk
        raise _unreadable(path, exc) from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise _damaged(path, "not an IDX file (bad magic number)")
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims)) * dtype.itemsize
    if len(raw) != expected:
        raise _damaged(path, f"size {len(raw)} bytes does not match its header {dims} ({expected} bytes)")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


def _describe(a: np.ndarray) -> str:
    return f"{a.dtype} {list(a.shape)}"


def _check_split(images: np.ndarray, labels: np.ndarray, img_path: Path, lbl_path: Path) -> None:
    """Raise a :class:`SetupError` unless ``images`` (from ``img_path``) and ``labels`` (from
    ``lbl_path``) are an MNIST split: uint8 ``[N, 28, 28]`` and uint8 ``[N]`` in 0-9, same ``N``."""
    bad: list[Path] = []
    problems: list[str] = []
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        bad.append(img_path)
        hint = " (a labels file?)" if images.ndim == 1 else ""
        problems.append(f"the images file holds {_describe(images)}{hint}")
    labels_ok = labels.ndim == 1 and labels.dtype == np.uint8
    if not labels_ok or (labels.size and int(labels.max()) > 9):
        bad.append(lbl_path)
        hint = " (an images file?)" if labels.ndim == 3 else ""
        found = _describe(labels) if not labels_ok else f"{_describe(labels)} with values up to {int(labels.max())}"
        problems.append(f"the labels file holds {found}{hint}")
    if not bad and images.shape[0] != labels.shape[0]:
        bad = [img_path, lbl_path]
        problems.append(f"the images file holds {images.shape[0]} images but the labels file {labels.shape[0]} labels")
    if not bad:
        return
    raise SetupError(
        f"the MNIST images file {img_path} and labels file {lbl_path} are not an MNIST split: "
        f"{'; '.join(problems)}. Expected: the images file an idx3 file of uint8 [N, 28, 28], the labels file "
        "an idx1 file of uint8 [N] (classes 0-9), with the same N. "
        f"Delete {' and '.join(str(p) for p in bad)} (in the cache folder, deleted files are downloaded again) "
        f"or replace {'it' if len(bad) == 1 else 'them'} with the canonical MNIST file{'s' * (len(bad) > 1)}, or "
        "point SHIFTLAB_DATA at the course's data folder (with mnist/)"
    )


def _candidate_dirs() -> list[Path]:
    dirs: list[Path] = []
    root = data_root()
    if root is not None:
        dirs.append(root / "mnist")
    try:
        cache = cache_dir() / "mnist"
    except SetupError:  # an unusable cache: files found elsewhere still do; else find_mnist reports it
        return dirs
    return dirs + [cache, cache / "MNIST" / "raw"]


def _locate(name: str, dirs: list[Path]) -> Path | None:
    for d in dirs:
        for candidate in (d / name, d / name.removesuffix(".gz")):
            if candidate.is_file():
                return candidate
    return None


def _download_with_torchvision(target: Path) -> None:
    import torchvision  # imported lazily: only this fallback needs it

    for train in (True, False):
        torchvision.datasets.MNIST(str(target), train=train, download=True)


def find_mnist(split: Literal["train", "test"], download: bool = True) -> tuple[Path, Path]:
    """Paths of the image and label files of a split (see the module docstring for the order).

    Raises:
        FileNotFoundError: when the files are nowhere and cannot be downloaded.
    """
    if split not in MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    names = MNIST_FILES[split]
    dirs = _candidate_dirs()
    found = [_locate(n, dirs) for n in names]
    if all(found):
        return found[0], found[1]  # type: ignore[return-value]
    error: Exception | None = None
    if download:
        target = cache_dir() / "mnist"
        try:
            _download_with_torchvision(target)
        except Exception as exc:  # no internet, no torchvision, a mirror down: report below
            error = exc
        found = [_locate(n, dirs) for n in names]
        if all(found):
            return found[0], found[1]  # type: ignore[return-value]
    missing = [n for n, f in zip(names, found) if f is None]
    msg = (
        f"MNIST {split} files not found: {', '.join(missing)}.\n"
        f"Looked in: {', '.join(str(d) for d in dirs)}.\n"
        "Put the four canonical MNIST .gz files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in a folder DATA/mnist/ and set "
        "SHIFTLAB_DATA=DATA, or into the cache folder above (SHIFTLAB_CACHE moves it)."
    )
    if error is not None:
        msg += f"\nThe download through torchvision failed too: {type(error).__name__}: {error}"
    raise FileNotFoundError(msg)


def load_mnist(
    split: Literal["train", "test"] = "train",
    device: torch.device | str | None = None,
    limit: int | None = None,
    download: bool = True,
) -> MnistSplit:
    """Load an MNIST split as tensors, optionally straight onto a device.

    Args:
        split: ``"train"`` (60,000 digits) or ``"test"`` (10,000).
        device: where the tensors live (``None``: CPU). Put the whole split on the GPU once and
            slice batches from it: no DataLoader needed.
        limit: keep only the first ``limit`` examples (quick mode uses this).
        download: allow torchvision's download as a last resort.

    Raises:
        FileNotFoundError: the files are nowhere and cannot be downloaded.
        SetupError: a damaged or unreadable file, or two files that are not an MNIST split
            (the message names them, says what each should hold and what to do).
        ValueError: a bad ``split`` or ``limit``.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    img_path, lbl_path = find_mnist(split, download=download)
    images = read_idx(img_path)
    labels = read_idx(lbl_path)
    _check_split(images, labels, img_path, lbl_path)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.copy()).to(torch.float32).div_(255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    if device is not None:
        x, y = x.to(device), y.to(device)
    return MnistSplit(x, y)


