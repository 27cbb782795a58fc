import warnings

import numpy as np
import pytest
import torch

from shiftlab.core.cache import (
    CODE_VERSIONS,
    CacheCorruptError,
    cache_path,
    config_key,
    load_or_compute,
    load_verified,
    read_verified_bytes,
    save_verified,
    write_verified_bytes,
)

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

    from shiftlab.core.cache import STALE_TMP_SECONDS, sweep_stale_tmp

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


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path))
    return tmp_path


def counter():
    calls = []

    def compute():
        calls.append(1)
        return {"v": torch.tensor(len(calls))}

    return compute, calls


def test_torch_roundtrip_and_corruption(tmp_path):
    p = save_verified(tmp_path / "x.pt", {"a": torch.arange(5), "b": [1.5, "s"]})
    got = load_verified(p)
    assert torch.equal(got["a"], torch.arange(5)) and got["b"] == [1.5, "s"]
    raw = bytearray(p.read_bytes())
    raw[-3] ^= 0xFF
    p.write_bytes(bytes(raw))
    with pytest.raises(CacheCorruptError):
        load_verified(p)
    p.write_bytes(b"garbage")
    with pytest.raises(CacheCorruptError):
        load_verified(p)
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temporary files


def test_one_path_scheme(cache):
    path = cache_path("mnist_models", "C_aug_s0", {"train": {"seed": 0}})
    key = config_key({"train": {"seed": 0}, "code": CODE_VERSIONS["mnist_models"]})
    assert path == cache / "mnist_models" / f"C_aug_s0_{key}.pt"
    assert cache_path("imagenet_shifts", "seq_crop", {}, fmt="npz").suffix == ".npz"
    with pytest.raises(ValueError, match="unknown cache kind"):
        cache_path("nowhere", "x", {})
    with pytest.raises(ValueError, match="stem"):
        cache_path("probe", "a/b", {})
    with pytest.raises(ValueError, match="fmt"):
        cache_path("probe", "x", {}, fmt="pickle")


def test_bumping_a_code_version_changes_only_that_kind(cache, monkeypatch):
    before = {k: cache_path(k, "x", {"a": 1}) for k in CODE_VERSIONS}
    monkeypatch.setitem(CODE_VERSIONS, "probe", "factors-999")
    after = {k: cache_path(k, "x", {"a": 1}) for k in CODE_VERSIONS}
    assert [k for k in CODE_VERSIONS if before[k] != after[k]] == ["probe"]


def test_load_or_compute_hit_miss_and_meta(cache):
    compute, calls = counter()
    first, hit = load_or_compute("probe", "demo", {"k": 1}, compute)
    assert not hit and int(first["v"]) == 1
    again, hit = load_or_compute("probe", "demo", {"k": 1}, compute)
    assert hit and int(again["v"]) == 1 and len(calls) == 1
    _, hit = load_or_compute("probe", "demo", {"k": 2}, compute)  # another meta, another file
    assert not hit and len(calls) == 2
    # a file at the right path whose stored meta differs (a foreign or colliding file)
    path = cache_path("probe", "demo", {"k": 1})
    save_verified(path, {"meta": {"k": 99}, "payload": {"v": torch.tensor(-1)}})
    with pytest.warns(UserWarning, match="does not match"):
        fresh, hit = load_or_compute("probe", "demo", {"k": 1}, compute)
    assert not hit and int(fresh["v"]) == 3


def test_damaged_files_are_recomputed_never_used(cache):
    for fmt in ("torch", "npz"):
        calls: list[int] = []

        def compute(calls=calls, fmt=fmt):
            calls.append(1)
            return {"a": np.arange(3) if fmt == "npz" else torch.arange(3)}

        load_or_compute("imagenet_shifts", "demo", {"x": 1}, compute, fmt=fmt)
        path = cache_path("imagenet_shifts", "demo", {"x": 1}, fmt=fmt)
        path.write_bytes(path.read_bytes()[:-10])  # truncated
        with pytest.warns(UserWarning, match="corrupt"):
            fresh, hit = load_or_compute("imagenet_shifts", "demo", {"x": 1}, compute, fmt=fmt)
        assert not hit and len(calls) == 2 and np.array_equal(np.asarray(fresh["a"]), np.arange(3))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _, hit = load_or_compute("imagenet_shifts", "demo", {"x": 1}, compute, fmt=fmt)
        assert hit and len(calls) == 2  # the repaired file is used again


def test_npz_payloads_are_arrays(cache):
    out, _ = load_or_compute("imagenet_shifts", "demo", {}, lambda: {"a": [1, 2]}, fmt="npz")
    assert isinstance(out["a"], np.ndarray)
    again, hit = load_or_compute("imagenet_shifts", "demo", {}, lambda: {"a": [0]}, fmt="npz")
    assert hit and again["a"].tolist() == [1, 2]


def test_without_the_cache_nothing_is_read_or_written(tmp_path, monkeypatch):
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache"))
    compute, calls = counter()
    out, hit = load_or_compute("probe", "demo", {"k": 1}, compute, use_cache=False)
    assert not hit and int(out["v"]) == 1
    out, hit = load_or_compute("probe", "demo", {"k": 1}, compute, use_cache=False)
    assert not hit and len(calls) == 2


# --------------------------------------------------------------------------- storable before the work
def _no_compute():
    raise AssertionError("compute ran although the result could not have been saved")


def test_a_folder_at_the_entry_path_fails_before_the_work(cache):
    from shiftlab.core.config import SetupError

    path = cache_path("probe", "demo", {"k": 1})
    path.mkdir(parents=True)
    for _ in range(2):  # the same clear error on a rerun, never a traceback after the work
        with pytest.raises(SetupError, match=f"cache entry {path} is a folder.*remove the folder {path}.*--no-cache"):
            load_or_compute("probe", "demo", {"k": 1}, _no_compute)


def test_a_file_at_the_kind_folder_fails_before_the_work(cache):
    from shiftlab.core.config import SetupError

    (cache / "probe").write_text("in the way")
    with pytest.raises(SetupError, match=f"cache folder {cache / 'probe'} is a file.*remove the file"):
        load_or_compute("probe", "demo", {"k": 1}, _no_compute)


def test_a_read_only_kind_folder_fails_before_the_work(cache, monkeypatch):
    import os

    from shiftlab.core.config import SetupError

    folder = cache / "mnist_models"
    folder.mkdir()
    real_access = os.access
    # root ignores chmod 555, so the check's answer is injected
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(folder) else real_access(p, mode))
    with pytest.raises(SetupError, match=f"cache folder {folder} is not writable: make it writable.*SHIFTLAB_CACHE"):
        load_or_compute("mnist_models", "C_s0", {"k": 1}, _no_compute)


def test_a_really_read_only_kind_folder_fails_before_the_work(cache):
    import os

    from shiftlab.core.config import SetupError

    folder = cache / "mnist_models"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        try:
            (folder / "probe").write_text("")
        except PermissionError:
            pass
        else:
            pytest.skip("this process can write a mode-555 folder (root)")
        with pytest.raises(SetupError, match="not writable"):
            load_or_compute("mnist_models", "C_s0", {"k": 1}, _no_compute)
    finally:
        os.chmod(folder, 0o755)


def test_a_read_only_cache_still_serves_its_results(cache, monkeypatch):
    """The kind folder's writability is checked only when there is work to do: a read-only
    folder that holds the result is read as before."""
    import os

    compute, calls = counter()
    load_or_compute("probe", "demo", {"k": 1}, compute)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(cache / "probe") and mode & os.W_OK
                        else real_access(p, mode))
    out, hit = load_or_compute("probe", "demo", {"k": 1}, compute)
    assert hit and int(out["v"]) == 1 and len(calls) == 1


# --------------------------------------------------------------------------- a save that fails after the work
@pytest.mark.parametrize("fmt", ["torch", "npz"])
@pytest.mark.parametrize("where", ["replace", "mkstemp"])
def test_a_failed_save_keeps_the_result_for_the_run(cache, monkeypatch, fmt, where):
    import errno
    import os
    import tempfile

    from shiftlab.core.cache import describe_failed_saves, failed_saves

    if where == "replace":  # the disk filled up while writing
        def broken(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(os, "replace", broken)
        reason = "No space left on device"
    else:  # the folder's permissions changed during the training
        def broken(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied", str(kwargs.get("dir")))
        monkeypatch.setattr(tempfile, "mkstemp", broken)
        reason = "Permission denied"
    calls: list[int] = []

    def compute():
        calls.append(1)
        return {"a": np.arange(3)} if fmt == "npz" else {"a": torch.arange(3)}

    before = len(failed_saves())
    path = cache_path("imagenet_shifts", f"unsaved_{where}", {"x": 1}, fmt=fmt)
    with pytest.warns(UserWarning) as seen:
        out, hit = load_or_compute("imagenet_shifts", f"unsaved_{where}", {"x": 1}, compute, fmt=fmt)
    assert not hit and np.array_equal(np.asarray(out["a"]), np.arange(3)) and len(calls) == 1
    [warning] = [w for w in seen if "could not save" in str(w.message)]
    text = str(warning.message)
    assert str(path) in text and reason in text and "free disk space" in text and "--no-cache" in text
    assert f"make {path.parent} writable" in text and "SHIFTLAB_CACHE" in text
    assert failed_saves()[before:] == [(path, reason)]
    assert not path.exists() and not list(path.parent.glob("*.tmp"))
    # the same entry again in this process: the kept result, no work, no second warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again, hit = load_or_compute("imagenet_shifts", f"unsaved_{where}", {"x": 1}, compute, fmt=fmt)
    assert hit and again is out and len(calls) == 1
    assert len(failed_saves()) == before + 1
    line = describe_failed_saves(failed_saves()[before:])
    assert line.startswith(f"1 result was computed but not saved to the cache ({path}: {reason})")


def test_describe_failed_saves_counts(tmp_path):
    from shiftlab.core.cache import FailedSave, describe_failed_saves

    saves = [FailedSave(tmp_path / "k" / f"{i}.pt", "No space left on device") for i in range(3)]
    line = describe_failed_saves(saves)
    assert line.startswith(f"3 results were computed but not saved to the cache ({saves[0].path}: "
                           "No space left on device and 2 more)")
    assert "\n" not in line
    with pytest.raises(ValueError):
        describe_failed_saves([])


# --------------------------------------------------------------------------- file modes
@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_files_get_the_users_usual_mode(tmp_path, umask, mode):
    import os
    import stat

    old = os.umask(umask)
    try:
        path = write_verified_bytes(tmp_path / f"m{umask:o}.bin", b"x", MAGIC)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_the_umask_is_read_without_proc_too(monkeypatch):
    import os

    from shiftlab.core import cache as cache_module

    def no_proc(*args, **kwargs):
        raise OSError("no /proc here")

    old = os.umask(0o027)
    try:
        with_proc = cache_module._umask()
        monkeypatch.setattr(cache_module, "open", no_proc, raising=False)
        without = cache_module._umask()
        assert with_proc == without == 0o027
        assert os.umask(0o027) == 0o027  # and it is left as it was
    finally:
        os.umask(old)


# --------------------------------------------------------------------------- sweeping on open
def test_stale_temporary_files_are_swept_when_a_kind_folder_is_first_used(cache):
    import os
    import time

    from shiftlab.core.cache import STALE_TMP_SECONDS

    compute, calls = counter()
    path = cache_path("probe", "demo", {"k": 1})
    save_verified(path, {"meta": {"k": 1, "code": CODE_VERSIONS["probe"]}, "payload": compute()})
    stale = path.parent / (path.name + ".k3j2.tmp")  # a write killed long ago
    fresh = path.parent / (path.name + ".x8q1.tmp")  # a write that may still be running
    for p in (stale, fresh):
        p.write_bytes(b"partial")
    old = time.time() - STALE_TMP_SECONDS - 60
    os.utime(stale, (old, old))
    _, hit = load_or_compute("probe", "demo", {"k": 1}, compute)  # a hit: nothing is written
    assert hit and len(calls) == 1
    assert not stale.exists() and fresh.exists()
