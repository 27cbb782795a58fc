"""The one cache API: verified files, one folder and version scheme, one load-or-compute.

Everything the course computes once and reuses (trained models, measurements) goes through
:func:`load_or_compute`. A result of kind ``kind`` lives at

    ``cache_dir() / kind / f"{stem}_{config_key({**meta, 'code': CODE_VERSIONS[kind]})}.{ext}"``

so the file name carries a hash of everything that determines the result plus the code version
of its kind; bumping one entry of :data:`CODE_VERSIONS` invalidates exactly that kind. Two
payload formats: ``"torch"`` (``torch.save`` of a dict of tensors, numbers, strings; the meta is
stored beside the payload and compared on load) and ``"npz"`` (a dict of NumPy arrays).

File format:

A file is ``MAGIC + sha256(payload) in hex + "\\n" + payload``. It is written to a temporary
file in the same folder and moved into place with ``os.replace``, so a crash never leaves a
half-written file under the real name; on load the digest is recomputed, and a mismatch
(truncated, altered, foreign file) raises :class:`CacheCorruptError` so the caller recomputes
instead of silently using bad data. What the payload holds (``torch.save`` bytes, an ``.npz``)
is up to the caller.

A write that is killed between creating its temporary file and the ``os.replace`` leaves a
``*.tmp`` file behind; the ``*.tmp`` files older than an hour (no live write takes that long) are
swept from a kind's folder the first time :func:`load_or_compute` uses that folder in a process,
and from a folder on every write, so such leftovers do not pile up.

A written file gets the permissions of any file the user creates, ``0o666`` less the umask
(``0o644`` under the usual umask ``022``; ``0o664`` under ``002``, for a cache a class shares
through a group), not the private ``0o600`` of :func:`tempfile.mkstemp`.

Failing early, never losing a result:

Before :func:`load_or_compute` calls ``compute()`` (which may train for an hour) it checks that
the result can be stored: the kind's folder is created if needed and must be writable, and no
folder may sit at the entry's path. Each problem is a :class:`~shiftlab.core.config.SetupError`
that names the path and the fix, raised before any work. A save that still fails after the work
(a full disk, permissions changed meanwhile) loses nothing: the result is returned, kept in an
in-process memory keyed by the cache path (a later :func:`load_or_compute` of the same entry in
the same process returns it, ``from_cache`` true, without computing again), a
:class:`UserWarning` names the path and the fix, and the failure is recorded in a module-level
list, read with :func:`failed_saves`. ``python -m shiftlab reproduce`` reads that list when its
work is done: it prints its results as usual and then ends with one line ``error: ...`` (see
:func:`describe_failed_saves`) and exit status 2, so the user learns that the cache did not take
the results and the next run would compute them again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import torch

from shiftlab.core.config import SetupError, cache_dir

__all__ = [
    "CODE_VERSIONS",
    "CacheCorruptError",
    "cache_path",
    "load_or_compute",
    "save_verified",
    "load_verified",
    "save_arrays",
    "load_arrays",
    "STALE_TMP_SECONDS",
    "config_key",
    "sweep_stale_tmp",
    "write_verified_bytes",
    "read_verified_bytes",
    "FailedSave",
    "failed_saves",
    "describe_failed_saves",
]

#: a ``*.tmp`` file older than this (seconds) is the leftover of a killed write
STALE_TMP_SECONDS = 3600.0


class CacheCorruptError(ValueError):
    """A cache file failed its integrity check (bad header, digest or content)."""


def config_key(obj: Any) -> str:
    """A stable short hash (24 hex digits of SHA-256) of a JSON-able configuration; keys are
    sorted and anything JSON cannot encode is written with ``str``."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def sweep_stale_tmp(folder: str | Path, max_age: float = STALE_TMP_SECONDS) -> list[Path]:
    """Remove the ``*.tmp`` files in ``folder`` last modified more than ``max_age`` seconds ago
    (leftovers of killed writes) and return them; files that vanish or resist are skipped."""
    cutoff = time.time() - max_age
    removed = []
    for tmp in Path(folder).glob("*.tmp"):
        with contextlib.suppress(OSError):  # removed by another process, or not ours to remove
            if tmp.is_file() and tmp.stat().st_mtime < cutoff:
                tmp.unlink()
                removed.append(tmp)
    return removed


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask. Read from ``/proc/self/status`` where the system has it (Linux),
    which changes nothing; else set (to the strict ``077``, so that a file another thread creates
    meanwhile is private rather than open) and restored at once, under a lock."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    with _UMASK_LOCK:
        old = os.umask(0o077)
        os.umask(old)
    return old


def write_verified_bytes(path: str | Path, payload: bytes, magic: bytes) -> Path:
    """Atomically write ``payload`` under a header of ``magic`` and its SHA-256 (and sweep stale
    ``*.tmp`` files from the folder, see :func:`sweep_stale_tmp`). The file's mode is ``0o666``
    less the umask, like any file the user creates."""
    if not magic.endswith(b"\n"):
        raise ValueError("magic must end with a newline")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_tmp(path.parent)
    digest = hashlib.sha256(payload).hexdigest().encode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(magic + digest + b"\n" + payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0o600: readable by its owner only
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_verified_bytes(path: str | Path, magic: bytes) -> bytes:
    """The payload of a file written by :func:`write_verified_bytes` with the same ``magic``.

    Raises:
        FileNotFoundError: no such file.
        CacheCorruptError: wrong header or a digest mismatch.
    """
    raw = Path(path).read_bytes()
    head = len(magic) + 65
    if not raw.startswith(magic) or len(raw) < head or raw[head - 1 : head] != b"\n":
        raise CacheCorruptError(f"{path}: not a shiftlab cache file of this kind (bad header)")
    digest, payload = raw[len(magic) : head - 1].decode(errors="replace"), raw[head:]
    if hashlib.sha256(payload).hexdigest() != digest:
        raise CacheCorruptError(f"{path}: SHA-256 mismatch (the file is truncated or was altered)")
    return payload


# --------------------------------------------------------------------------- payload formats
_TORCH_MAGIC = b"SHIFTLAB-CACHE-v1\n"
_NPZ_MAGIC = b"SHIFTLAB-NPZ-1\n"


def save_verified(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` (tensors, dicts, lists, numbers, strings) with ``torch.save``, atomically and
    under a SHA-256 header (see :func:`write_verified_bytes`)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return write_verified_bytes(path, buf.getvalue(), _TORCH_MAGIC)


def load_verified(path: str | Path) -> Any:
    """Read a file written by :func:`save_verified`, checking its digest.

    Raises:
        FileNotFoundError: no such file.
        CacheCorruptError: wrong header, digest mismatch (truncated or altered) or unreadable.
    """
    payload = read_verified_bytes(path, _TORCH_MAGIC)
    try:
        return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # pragma: no cover - digest passed, so only a version skew gets here
        raise CacheCorruptError(f"{path}: cannot be unpickled ({exc})") from exc


def save_arrays(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write a dict of NumPy arrays (``np.savez``), atomically and under a SHA-256 header."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]  # numpy's stub fears a key named allow_pickle
    return write_verified_bytes(path, buf.getvalue(), _NPZ_MAGIC)


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Read a file written by :func:`save_arrays`, checking its digest (no pickles)."""
    payload = read_verified_bytes(path, _NPZ_MAGIC)
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as exc:  # pragma: no cover - digest passed, so only a version skew gets here
        raise CacheCorruptError(f"{path}: not a readable .npz payload ({exc})") from exc


# --------------------------------------------------------------------------- one load-or-compute
#: The code version of every kind of cached result, in one place. Bump a kind's version when a
#: change of code changes its results: its old files are then never read again.
CODE_VERSIONS: dict[str, str] = {
    "mnist_models": "train-1",        # trained MNIST models A, B, C (shiftlab.train)
    "mnist_eval": "eval-1",           # their shift-grid evaluations (studies.mnist_pooling)
    "mnist_variants": "variants-1",   # BlurPool-C and APS-C, trained and evaluated
    "mnist_heads": "heads-1",         # A, B, C with a global-average-pool head (studies.mnist_controls)
    "mnist_ink": "ink-1",             # accuracy split by ink kept / lost (studies.mnist_controls)
    "mnist_tta": "tta-1",             # MNIST test-time augmentation study
    "imagenet_shifts": "shift-metrics-1",  # ImageNet shift, consistency, scale, resize, TTA arrays
    "probe": "factors-1",             # architecture factors of the probed networks
    "nonshiftability": "nonshift-1",  # per-layer non-shiftability of an ImageNet model
    "borders": "borders-1",           # the position toy: accuracy per padding and distance (studies.borders_toy)
    "robustness": "robustness-1",     # MNIST worst case and consistency protocols (studies.robustness)
    "layerwise": "layerwise-2",       # per-layer equivariance errors (studies.layerwise_study)
    "canvas": "canvas-1",             # learned-invariance runs on the 56x56 canvas (studies.learned_invariance)
    "canvas_transfer": "transfer-1",  # Biscione & Bowers' sequential protocol (studies.invariance_transfer)
}

Format = Literal["torch", "npz"]
_EXT: dict[str, str] = {"torch": "pt", "npz": "npz"}


def cache_path(kind: str, stem: str, meta: dict[str, Any], fmt: Format = "torch") -> Path:
    """Where the result of ``kind`` named ``stem`` for ``meta`` lives (see the module docstring)."""
    if kind not in CODE_VERSIONS:
        raise ValueError(f"unknown cache kind {kind!r}; known kinds: {sorted(CODE_VERSIONS)}")
    if not stem or not all(ch.isalnum() or ch in "_-." for ch in stem):
        raise ValueError(f"stem must be a non-empty simple name (letters, digits, _ - .), got {stem!r}")
    if fmt not in _EXT:
        raise ValueError(f"fmt must be one of {sorted(_EXT)}, got {fmt!r}")
    full = {**meta, "code": CODE_VERSIONS[kind]}
    return cache_dir() / kind / f"{stem}_{config_key(full)}.{_EXT[fmt]}"


class FailedSave(NamedTuple):
    """A result that was computed but could not be written to the cache."""

    path: Path
    reason: str


#: the saves that failed in this process, oldest first (see the module docstring)
_FAILED_SAVES: list[FailedSave] = []
#: the results of those saves, by cache path, kept for the rest of the process
_UNSAVED: dict[Path, Any] = {}
#: the kind folders swept of stale ``*.tmp`` files in this process
_SWEPT: set[Path] = set()

#: what to do when a result cannot be stored (``{folder}``: the kind's folder)
_SAVE_FIX = ("free disk space, make {folder} writable, set SHIFTLAB_CACHE to another folder, "
             "or run without the cache (python -m shiftlab reproduce --no-cache; use_cache=False in Python)")


def failed_saves() -> list[FailedSave]:
    """The saves that failed in this process so far, oldest first (a copy; see the module
    docstring). A caller that wants the failures of one piece of work notes the length before."""
    return list(_FAILED_SAVES)


def describe_failed_saves(failures: Sequence[FailedSave]) -> str:
    """One line about results computed but not stored: how many, the first path and reason,
    and the fix."""
    if not failures:
        raise ValueError("no failed saves to describe")
    first = failures[0]
    more = f" and {len(failures) - 1} more" if len(failures) > 1 else ""
    what = "result was" if len(failures) == 1 else "results were"
    return (f"{len(failures)} {what} computed but not saved to the cache ({first.path}: {first.reason}{more}), "
            f"so the next run computes them again: {_SAVE_FIX.format(folder=first.path.parent)}")


def _open_folder(folder: Path) -> None:
    """The first time a kind's folder is used in this process, sweep its stale ``*.tmp`` files."""
    if folder in _SWEPT:
        return
    _SWEPT.add(folder)
    if folder.is_dir():
        sweep_stale_tmp(folder)


def _check_storable(path: Path) -> None:
    """Raise :class:`SetupError` (path and fix) unless a result can be written to ``path``;
    called before the work, so that a bad cache fails at once instead of after the training."""
    folder = path.parent
    other = ("or set SHIFTLAB_CACHE to another folder, or run without the cache "
             "(python -m shiftlab reproduce --no-cache; use_cache=False in Python)")
    if path.is_dir():
        raise SetupError(f"the cache entry {path} is a folder, so no result can be saved there: "
                         f"remove the folder {path}, {other}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file in the way, no permission, a read-only file system
        if folder.exists() and not folder.is_dir():
            raise SetupError(f"the cache folder {folder} is a file, not a folder: remove the file {folder}, "
                             f"{other}") from exc
        raise SetupError(f"the cache folder {folder} cannot be created ({exc.strerror or exc}): "
                         f"make {folder.parent} writable, {other}") from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SetupError(f"the cache folder {folder} is not writable: make it writable (chmod u+rwx {folder}), "
                         f"{other}")


def _keep_unsaved(path: Path, payload: Any, exc: OSError) -> None:
    """A save failed after the work: keep the result for this process, record and warn."""
    reason = exc.strerror or f"{type(exc).__name__}: {exc}"
    _UNSAVED[path] = payload
    _FAILED_SAVES.append(FailedSave(path, reason))
    warnings.warn(f"could not save {path} to the cache ({reason}); the result is kept in memory for the rest "
                  f"of this run only: {_SAVE_FIX.format(folder=path.parent)}", UserWarning, stacklevel=3)


def load_or_compute(kind: str, stem: str, meta: dict[str, Any], compute: Callable[[], Any],
                    use_cache: bool = True, fmt: Format = "torch") -> tuple[Any, bool]:
    """Return ``(payload, from_cache)``: the verified cached payload of ``kind``/``stem`` for
    ``meta``, or ``compute()`` (then stored); ``from_cache`` is true when ``compute`` was not
    called.

    ``use_cache=False`` computes without touching any file (no usable cache folder is needed).
    A damaged file, or a ``"torch"`` file whose stored meta differs, triggers a
    :class:`UserWarning` and a recomputation, never a silent use. ``"npz"`` payloads are dicts
    of arrays (values are converted with ``np.asarray``).

    Raises:
        SetupError: before ``compute`` is called, when the result could not be stored (the
            kind's folder cannot be created or written, a folder sits at the entry's path).
            A save that fails after ``compute`` raises nothing: see the module docstring.
    """
    if fmt not in _EXT:
        raise ValueError(f"fmt must be one of {sorted(_EXT)}, got {fmt!r}")
    if not use_cache:
        payload = compute()
        return ({k: np.asarray(v) for k, v in payload.items()} if fmt == "npz" else payload), False
    path = cache_path(kind, stem, meta, fmt)
    if path in _UNSAVED:  # computed earlier in this process, but its save failed
        return _UNSAVED[path], True
    _open_folder(path.parent)
    full = {**meta, "code": CODE_VERSIONS[kind]}
    if path.is_file():
        try:
            if fmt == "npz":
                return load_arrays(path), True
            stored = load_verified(path)
            if not isinstance(stored, dict) or stored.get("meta") != full:
                raise CacheCorruptError(f"{path}: stored configuration does not match the requested one")
            return stored["payload"], True
        except CacheCorruptError as exc:
            warnings.warn(f"ignoring a corrupt cache file and recomputing: {exc}", UserWarning, stacklevel=2)
    _check_storable(path)
    payload = compute()
    if fmt == "npz":
        payload = {k: np.asarray(v) for k, v in payload.items()}
    try:
        if fmt == "npz":
            save_arrays(path, payload)
        else:
            save_verified(path, {"meta": full, "payload": payload})
    except OSError as exc:  # a full disk, a permission changed meanwhile: keep the result
        _keep_unsaved(path, payload, exc)
    return payload, False
