"""Verified cache files: written atomically, checked on every load.

A file is ``MAGIC + sha256(payload) in hex + "\\n" + payload``. It is written to a temporary
file in the same folder and moved into place with ``os.replace``, so a crash never leaves a
half-written file under the real name; on load the digest is recomputed, and a mismatch
(truncated, altered, foreign file) raises :class:`CacheCorruptError` so the caller recomputes
instead of silently using bad data. What the payload holds (``torch.save`` bytes, an ``.npz``)
is up to the caller.

A write that is killed between creating its temporary file and the ``os.replace`` leaves a
``*.tmp`` file behind; every write sweeps the ``*.tmp`` files older than an hour (no live write
takes that long) from its folder, so such leftovers do not pile up.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = [
    "CacheCorruptError",
    "STALE_TMP_SECONDS",
    "config_key",
    "sweep_stale_tmp",
    "write_verified_bytes",
    "read_verified_bytes",
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


def write_verified_bytes(path: str | Path, payload: bytes, magic: bytes) -> Path:
    """Atomically write ``payload`` under a header of ``magic`` and its SHA-256 (and sweep stale
    ``*.tmp`` files from the folder, see :func:`sweep_stale_tmp`)."""
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
