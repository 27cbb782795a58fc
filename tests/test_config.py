import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from shiftlab.core import config


def test_quick_mode_is_on_under_tests():
    assert config.is_quick() is True


@pytest.mark.parametrize("raw,expected", [("1", True), ("true", True), ("ON", True), ("0", False), ("", False),
                                          ("no", False), ("Yes", True), (" TRUE ", True), ("on", True),
                                          ("False", False), ("OFF", False), (" 0 ", False), ("NO", False)])
def test_is_quick_parses(monkeypatch, raw, expected):
    monkeypatch.setenv("SHIFTLAB_QUICK", raw)
    assert config.is_quick() is expected
    assert config.quick_or_full("q", "f") == ("q" if expected else "f")


def test_is_quick_rejects_typos(monkeypatch):
    monkeypatch.setenv("SHIFTLAB_QUICK", "quik")
    with pytest.raises(ValueError, match="SHIFTLAB_QUICK"):
        config.is_quick()


def test_seed_everything_reproduces_all_generators():
    config.seed_everything(123)
    a = (random.random(), np.random.rand(), torch.rand(3))
    config.seed_everything(123)
    b = (random.random(), np.random.rand(), torch.rand(3))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    config.seed_everything(124)
    assert not torch.equal(torch.rand(3), b[2])


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises(ValueError):
        config.seed_everything(bad)


def test_data_root(monkeypatch, tmp_path):
    monkeypatch.delenv("SHIFTLAB_DATA", raising=False)
    assert config.data_root() is None
    monkeypatch.setenv("SHIFTLAB_DATA", str(tmp_path))
    assert config.data_root() == tmp_path.resolve()
    monkeypatch.setenv("SHIFTLAB_DATA", str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="SHIFTLAB_DATA"):
        config.data_root()


def test_cache_dir_is_created(monkeypatch, tmp_path):
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "c"))
    assert config.cache_dir() == tmp_path / "c"
    assert (tmp_path / "c").is_dir()


def test_not_in_colab():
    assert config.in_colab() is False


def test_bad_quick_mode_is_a_setup_error(monkeypatch):
    monkeypatch.setenv("SHIFTLAB_QUICK", "quik")
    with pytest.raises(config.SetupError, match="SHIFTLAB_QUICK='quik'"):
        config.is_quick()


def test_cache_dir_naming_a_file_fails_at_once(monkeypatch, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "file"))
    with pytest.raises(config.SetupError, match="SHIFTLAB_CACHE=.*names a file.*--no-cache"):
        config.cache_dir()
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "file" / "below"))
    with pytest.raises(config.SetupError, match="SHIFTLAB_CACHE=.*cannot be created.*--no-cache"):
        config.cache_dir()


def test_cache_dir_not_writable_fails_at_once(monkeypatch, tmp_path):
    import os

    real_access = os.access
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "ro"))
    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == tmp_path / "ro" else real_access(p, mode))
    with pytest.raises(config.SetupError, match="SHIFTLAB_CACHE=.*is not writable.*--no-cache"):
        config.cache_dir()


@pytest.mark.parametrize("raw", ["2", "y", "n", "quick", "enable", "-1", "1.0"])
def test_is_quick_rejects_anything_else(monkeypatch, raw):
    monkeypatch.setenv("SHIFTLAB_QUICK", raw)
    with pytest.raises(config.SetupError, match="use 1 \\(or true/yes/on\\).*0 \\(or false/no/off"):
        config.is_quick()


def test_readme_and_docstring_list_the_accepted_quick_values():
    """README's table, config's docstring and is_quick agree on what SHIFTLAB_QUICK accepts."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    [row] = [line for line in readme.splitlines() if line.startswith("| `SHIFTLAB_QUICK` |")]
    doc = config.__doc__ or ""
    for word in sorted((config._TRUE | config._FALSE) - {""}):
        assert f"`{word}`" in row, f"README's SHIFTLAB_QUICK row does not mention {word!r}"
        assert f"``{word}``" in doc or f"/{word}" in doc, f"config's docstring does not mention {word!r}"
    assert "Case does not matter" in row and "anything else is an error" in row


def test_config_imports_no_torch():
    """The command line imports config for SetupError before it parses; that must stay fast."""
    import subprocess
    import sys

    code = "import sys, shiftlab.core.config; print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", (done.stdout, done.stderr)


def test_short_path_hides_the_machines_folders(monkeypatch, tmp_path):
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir(), cache.mkdir()
    monkeypatch.setenv("SHIFTLAB_DATA", str(data))
    monkeypatch.setenv("SHIFTLAB_CACHE", str(cache))
    assert config.short_path(data / "weights" / "w.pt") == "$SHIFTLAB_DATA/weights/w.pt"
    assert config.short_path(data) == "$SHIFTLAB_DATA"
    assert config.short_path(cache / "mnist") == "$SHIFTLAB_CACHE/mnist"
    assert config.short_path(Path.home() / ".cache" / "torch" / "x.pth") == "~/.cache/torch/x.pth"
    monkeypatch.delenv("SHIFTLAB_DATA")
    assert config.short_path("/opt/elsewhere/x") == "/opt/elsewhere/x"       # nothing to hide


def test_tqdm_disable_wins_over_an_explicit_disable(monkeypatch):
    from shiftlab.core import progress

    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert progress.tqdm(range(3), disable=False).disable       # the book's run: no bars at all
    monkeypatch.setenv("TQDM_DISABLE", "0")
    assert not progress.tqdm(range(3), disable=False, file=open(os.devnull, "w")).disable
