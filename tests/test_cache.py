import pytest

from shiftlab.cache import CacheCorruptError, read_verified_bytes, write_verified_bytes

MAGIC = b"TEST-1\n"


def test_roundtrip_and_no_temporary_files_left(tmp_path):
    path = write_verified_bytes(tmp_path / "sub" / "a.bin", b"payload \x00\xff", MAGIC)
    assert read_verified_bytes(path, MAGIC) == b"payload \x00\xff"
    assert [p.name for p in path.parent.iterdir()] == ["a.bin"]


def test_corruption_and_foreign_files_are_detected(tmp_path):
    path = write_verified_bytes(tmp_path / "a.bin", b"0123456789", MAGIC)
    raw = path.read_bytes()
    path.write_bytes(raw[:-1] + b"X")
    with pytest.raises(CacheCorruptError, match="SHA-256"):
        read_verified_bytes(path, MAGIC)
    path.write_bytes(raw[:-3])
    with pytest.raises(CacheCorruptError, match="SHA-256"):
        read_verified_bytes(path, MAGIC)
    with pytest.raises(CacheCorruptError, match="header"):
        read_verified_bytes(path, b"OTHER-1\n")
    (tmp_path / "short").write_bytes(MAGIC + b"abc")
    with pytest.raises(CacheCorruptError, match="header"):
        read_verified_bytes(tmp_path / "short", MAGIC)
    with pytest.raises(FileNotFoundError):
        read_verified_bytes(tmp_path / "missing", MAGIC)
    with pytest.raises(ValueError, match="newline"):
        write_verified_bytes(tmp_path / "b", b"x", b"NOPE")


def test_stale_temporary_files_are_swept_on_the_next_write(tmp_path):
    import os
    import time

    from shiftlab.cache import STALE_TMP_SECONDS, sweep_stale_tmp

    stale = tmp_path / "a.bin.k3j2.tmp"  # a write killed before its os.replace, long ago
    fresh = tmp_path / "b.bin.x8q1.tmp"  # a write that may still be running
    other = tmp_path / "old.pt"
    for p in (stale, fresh, other):
        p.write_bytes(b"partial")
    old = time.time() - STALE_TMP_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    write_verified_bytes(tmp_path / "c.bin", b"x", MAGIC)
    assert not stale.exists() and fresh.exists() and other.exists()
    assert sweep_stale_tmp(tmp_path) == []
    assert sweep_stale_tmp(tmp_path, max_age=-1) == [fresh]
