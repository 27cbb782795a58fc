import dataclasses
import json

import pytest

from shiftlab.studies.mnist_pooling import MnistSettings
from shiftlab.tools import _cmd_reproduce, cli


def test_doctor_command(capsys):
    assert cli.main(["doctor"]) == 0
    assert "shiftlab doctor" in capsys.readouterr().out


def test_unknown_command_exits():
    with pytest.raises(SystemExit):
        cli.main(["fly"])


def test_notebooks_sync_is_clean(capsys, monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    assert cli.main(["notebooks", "sync"]) == 0
    out = capsys.readouterr().out
    assert "updated" not in out, "committed notebooks must already be stamped"


def _user_error(capsys, argv, monkeypatch=None) -> str:
    """Run the CLI, expect exit status 2 and one line 'error: ...' on stderr; return that line."""
    try:
        status = cli.main(argv)
    except SystemExit as exc:  # argparse-level errors
        status = exc.code
    out, err = capsys.readouterr()
    assert status == 2, (status, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if reproduce starts training or evaluating."""
    def must_not_run(*args, **kwargs):
        raise AssertionError("work started although the command should have failed first")

    monkeypatch.setattr(_cmd_reproduce, "run_mnist", must_not_run)


@pytest.mark.parametrize("argv,expected", [
    (["reproduce", "mnist", "--device", "gpu please"], "--device"),
    (["reproduce", "mnist", "--seeds", "0"], "--seeds"),
    (["reproduce", "mnist", "--seeds", "two"], "--seeds"),
    (["bench", "train", "--size", "0"], "--size"),
    (["bench", "train", "--device", "tpu"], "--device"),
    (["bench", "imagenet", "--device", "cpu"], "bench imagenet does not take --device cpu"),
    (["bench", "imagenet", "--size", "5"], "bench imagenet does not take --size 5"),
    (["bench", "train", "--quick"], "bench train does not take --quick"),
    (["reproduce", "cifar"], "invalid choice"),
    (["reproduce", "mnist", "--width", "32"], "--width"),
    (["reproduce", "mnist", "--width", "32,0"], "--width"),
    (["bench", "train", "--hidden", "-1"], "--hidden"),
])
def test_usage_errors_are_one_line(capsys, no_work, argv, expected):
    assert expected in _user_error(capsys, argv)


def test_unavailable_cuda_is_a_usage_error(capsys, monkeypatch, no_work):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "CUDA" in _user_error(capsys, ["reproduce", "mnist", "--device", "cuda"])


def test_missing_data_is_one_line(capsys, monkeypatch, tmp_path):
    from shiftlab.data import mnist as data

    monkeypatch.setenv("SHIFTLAB_DATA", str(tmp_path))
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "_download_with_torchvision", lambda target: (_ for _ in ()).throw(ConnectionError()))
    line = _user_error(capsys, ["reproduce", "mnist", "--device", "cpu"])
    assert "MNIST train files not found" in line and "SHIFTLAB_DATA" in line


def test_unusable_cache_fails_before_any_work(capsys, monkeypatch, tmp_path, no_work):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "file"))
    line = _user_error(capsys, ["reproduce", "mnist"])
    assert "SHIFTLAB_CACHE" in line and "--no-cache" in line


def test_no_cache_runs_without_the_cache(capsys, monkeypatch, tmp_path):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "file"))
    seen = {}

    class Done(Exception):
        pass

    def fake_run(settings, device=None, use_cache=True):
        seen["use_cache"] = use_cache
        raise Done

    monkeypatch.setattr(_cmd_reproduce, "run_mnist", fake_run)
    with pytest.raises(Done):
        cli.main(["reproduce", "mnist", "--no-cache", "--device", "cpu"])
    assert seen == {"use_cache": False}


def test_out_is_checked_before_any_work(capsys, monkeypatch, tmp_path, no_work):
    import os

    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache"))
    line = _user_error(capsys, ["reproduce", "mnist", "--out", str(tmp_path / "missing" / "r.json")])
    assert "does not exist" in line and str(tmp_path / "missing") in line
    assert "is a folder" in _user_error(capsys, ["reproduce", "mnist", "--out", str(tmp_path)])
    (tmp_path / "ro").mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(tmp_path / "ro") else real_access(p, mode))
    line = _user_error(capsys, ["reproduce", "mnist", "--out", str(tmp_path / "ro" / "r.json")])
    assert "not writable" in line


def test_bad_environment_is_one_line(capsys, monkeypatch, no_work):
    monkeypatch.setenv("SHIFTLAB_QUICK", "quik")
    assert "SHIFTLAB_QUICK" in _user_error(capsys, ["reproduce", "mnist"])
    monkeypatch.setenv("SHIFTLAB_QUICK", "1")
    monkeypatch.setenv("SHIFTLAB_DATA", "/no/such/folder")
    assert "SHIFTLAB_DATA" in _user_error(capsys, ["bench", "train", "--size", "10"])


def test_doctor_reports_bad_settings_instead_of_crashing(capsys, monkeypatch, tmp_path):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "file"))
    monkeypatch.setenv("SHIFTLAB_QUICK", "quik")
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "INVALID SHIFTLAB_QUICK" in out and "cache              : INVALID" in out


def test_reproduce_takes_the_width_and_prints_it(capsys, monkeypatch):
    seen = {}

    class Done(Exception):
        pass

    def fake_run(settings, device=None, use_cache=True):
        seen["settings"] = settings
        raise Done

    monkeypatch.setattr(_cmd_reproduce, "run_mnist", fake_run)
    with pytest.raises(Done):
        cli.main(["reproduce", "mnist", "--width", "16,32", "--hidden", "128", "--device", "cpu"])
    assert seen["settings"].channels == (16, 32) and seen["settings"].hidden == 128
    assert seen["settings"].as_dict()["channels"] == [16, 32]  # what the JSON carries
    assert "width 16,32 + FC 128" in capsys.readouterr().out


def test_reproduce_width_refuses_width_and_runs_the_study(capsys, monkeypatch, tmp_path):
    from shiftlab.studies import width_study

    line = _user_error(capsys, ["reproduce", "width", "--width", "32,64", "--device", "cpu"])
    assert "--width belongs to reproduce mnist" in line
    monkeypatch.setenv("SHIFTLAB_QUICK", "1")
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache"))
    real = width_study.run_width_study
    tiny = dataclasses.replace(MnistSettings.default(), epochs=1, train_size=100, test_size=50, grid_size=5)

    def small_run(settings, widths, hidden, device=None, use_cache=True):
        assert list(widths) == list(width_study.default_widths()) and hidden == 16
        return real(tiny, [(1, 2), (2, 3)], hidden=4, device=device, progress=False, use_cache=use_cache)

    monkeypatch.setattr(width_study, "run_width_study", small_run)
    out = tmp_path / "w.json"
    assert cli.main(["reproduce", "width", "--hidden", "16", "--device", "cpu", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "reproduce width: QUICK mode" in text and "+ FC 16" in text and "grid [-3, 3]^2" in text
    assert text.count("| conv widths | A | B | C | C - A | B - A |") == 2
    data = json.loads(out.read_text())
    assert sorted(data["widths"]) == ["1/2", "2/3"] and data["widths"]["1/2"]["settings"]["channels"] == [1, 2]
    assert data["widths"]["1/2"]["settings"]["max_shift"] == 3


# --------------------------------------------------------------------------- the light parser
def test_help_and_usage_errors_do_not_import_torch():
    """``--help`` and a usage error answer without importing torch, torchvision, numpy or the
    studies (the command modules are imported only when their command runs)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from shiftlab.tools import cli\n"
        "for argv in (['--help'], ['reproduce', '--help'], ['reproduce', 'mnist', '--seeds', '0']):\n"
        "    try:\n"
        "        cli.main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ('torch', 'torchvision', 'numpy', 'matplotlib', 'shiftlab.studies', 'shiftlab.tools._cmd_reproduce')\n"
        "print('HEAVY', sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in done.stdout, (done.stdout[-2000:], done.stderr[-2000:])
    done = subprocess.run([sys.executable, "-m", "shiftlab", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "reproduce" in done.stdout and not done.stderr


def test_every_command_has_a_module_with_run():
    import importlib

    parser = cli.build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert set(cli.COMMANDS) == set(commands)
    for module in cli.COMMANDS.values():
        assert callable(importlib.import_module(module).run), module


def test_the_help_defaults_are_the_studies_constants():
    from shiftlab.studies import mnist_pooling, width_study

    assert cli.HELP_DEFAULTS == {
        "HEADLINE_WIDTH": mnist_pooling.HEADLINE_WIDTH, "HEADLINE_HIDDEN": mnist_pooling.HEADLINE_HIDDEN,
        "NARROW_WIDTH": mnist_pooling.NARROW_WIDTH, "NARROW_HIDDEN": mnist_pooling.NARROW_HIDDEN,
        "STUDY_HIDDEN": width_study.STUDY_HIDDEN,
    }
    assert cli.MNIST_TRAIN == 60000


@pytest.mark.parametrize("argv,expected", [
    (["reproduce", "mnist", "--seeds", "100000000000"], "argument --seeds: must be between 1 and 1000"),
    (["reproduce", "mnist", "--hidden", "100000000000"], "argument --hidden: must be between 1 and 8192"),
    (["reproduce", "mnist", "--width", "100000000000,2"], "argument --width: expected two integers from 1 to 1024"),
    (["bench", "train", "--width", "4,100000"], "argument --width"),
])
def test_huge_values_are_refused_by_the_parser(capsys, no_work, argv, expected):
    assert expected in _user_error(capsys, argv)


# --------------------------------------------------------------------------- one handler in main
def test_ctrl_c_is_one_line_and_status_130(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache"))

    def interrupted(settings, device=None, use_cache=True):
        raise KeyboardInterrupt

    monkeypatch.setattr(_cmd_reproduce, "run_mnist", interrupted)
    assert cli.main(["reproduce", "mnist", "--device", "cpu"]) == 130
    assert capsys.readouterr().err == "interrupted; completed results are in the cache\n"


@pytest.mark.parametrize("exc,expected", [
    (PermissionError(13, "Permission denied", "/d/x.gz"),
     "cannot access /d/x.gz: Permission denied; give this user permission on it"),
    (OSError(28, "No space left on device", "/out.json"), "cannot write /out.json: No space left on device; free disk"),
    (IsADirectoryError(21, "Is a directory", "/c/a.pt"),
     "cannot use /c/a.pt: Is a directory; a folder is where a file"),
    (OSError(18, "Invalid cross-device link", "/a", None, "/b"),
     "cannot use /a -> /b: Invalid cross-device link; check"),
])
def test_os_errors_with_a_file_name_are_one_line(capsys, monkeypatch, exc, expected):
    def fail(args):
        raise exc

    monkeypatch.setattr("shiftlab.tools._cmd_doctor.run", fail)
    assert _user_error(capsys, ["doctor"]) == "error: " + cli.describe_os_error(exc)
    assert cli.describe_os_error(exc).startswith(expected)


def test_an_internal_bug_still_shows_its_traceback(monkeypatch):
    def bug(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("shiftlab.tools._cmd_doctor.run", bug)
    with pytest.raises(ZeroDivisionError):
        cli.main(["doctor"])
    monkeypatch.setattr("shiftlab.tools._cmd_doctor.run", lambda args: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(OSError):  # no file name: not a user error about a file
        cli.main(["doctor"])


def _tiny_mnist_files(folder, n=3, images_as_labels=False):
    """Write the four MNIST files (``n`` digits each) into ``folder``; with ``images_as_labels``
    the train labels file holds an images file (a swapped download)."""
    import gzip

    import numpy as np

    def idx(array, code):
        head = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
        return head + array.tobytes()

    images = idx(np.zeros((n, 28, 28), np.uint8), 0x08)
    labels = idx(np.arange(n, dtype=np.uint8) % 10, 0x08)
    folder.mkdir(parents=True)
    for name, raw in [("train-images-idx3-ubyte.gz", images),
                      ("train-labels-idx1-ubyte.gz", images if images_as_labels else labels),
                      ("t10k-images-idx3-ubyte.gz", images), ("t10k-labels-idx1-ubyte.gz", labels)]:
        (folder / name).write_bytes(gzip.compress(raw))
    return folder


def test_a_swapped_labels_file_is_one_line_naming_it(capsys, monkeypatch, tmp_path):
    mnist = _tiny_mnist_files(tmp_path / "data" / "mnist", images_as_labels=True)
    monkeypatch.setenv("SHIFTLAB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache"))
    line = _user_error(capsys, ["reproduce", "mnist", "--device", "cpu"])
    assert str(mnist / "train-labels-idx1-ubyte.gz") in line, line


def test_an_unreadable_data_file_is_one_line_naming_it(capsys, monkeypatch, tmp_path):
    import errno
    import gzip

    mnist = _tiny_mnist_files(tmp_path / "data" / "mnist")
    monkeypatch.setenv("SHIFTLAB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache"))
    locked = mnist / "train-images-idx3-ubyte.gz"
    real_open = gzip.open

    def guarded_open(path, *args, **kwargs):  # chmod 000 does not stop root: inject the error
        if str(path) == str(locked):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(gzip, "open", guarded_open)
    line = _user_error(capsys, ["reproduce", "mnist", "--device", "cpu"])
    # data/mnist.py words it as a SetupError; were the PermissionError to escape it, main's
    # generic OSError line would name the file just as well
    assert str(locked) in line and "Permission denied" in line and "chmod" in line, line


class _FakeResults:
    """What run_mnist returns, as far as the command uses it (to_json is the real one)."""

    seconds = 1.0

    def format_tables(self):
        return "THE TABLES"

    def to_dict(self):
        return {"runs": []}

    def to_json(self, path):
        from shiftlab.studies.mnist_pooling import MnistResults

        return MnistResults.to_json(self, path)  # type: ignore[arg-type]


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="needs /dev/full")
def test_out_whose_write_fails_at_the_end_is_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(_cmd_reproduce, "run_mnist", lambda settings, device=None, use_cache=True: _FakeResults())
    try:
        status = cli.main(["reproduce", "mnist", "--device", "cpu", "--out", "/dev/full"])
    except OSError:  # before: a traceback
        status = None
    out, err = capsys.readouterr()
    assert status == 2 and "THE TABLES" in out
    assert err == ("error: cannot write /dev/full: No space left on device; free disk space or write to another "
                   "disk (--out, SHIFTLAB_CACHE)\n")


def test_out_write_failure_names_the_file_for_reproduce_width(capsys, monkeypatch, tmp_path):
    import errno
    from pathlib import Path

    from shiftlab.studies import width_study

    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache"))

    class Study:
        seconds = 1.0

        def markdown(self, aug):
            return "WIDTH TABLE"

        def to_dict(self):
            return {}

    monkeypatch.setattr(width_study, "run_width_study", lambda *a, **k: Study())

    def full_disk(self, *args, **kwargs):  # a write that fails without naming its file
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    out = tmp_path / "w.json"
    assert _user_error(capsys, ["reproduce", "width", "--device", "cpu", "--out", str(out)]).startswith(
        f"error: cannot write {out}: No space left on device; free disk space")


def test_results_the_cache_could_not_save_are_printed_then_an_error(capsys, monkeypatch, tmp_path):
    import errno
    import os

    import torch

    from shiftlab.core.cache import cache_path, load_or_compute

    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache"))

    def run_that_saves(settings, device=None, use_cache=True):
        load_or_compute("probe", "cli_demo", {"k": 1}, lambda: {"v": torch.tensor(1)}, use_cache=use_cache)
        return _FakeResults()

    def full_disk(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_cmd_reproduce, "run_mnist", run_that_saves)
    monkeypatch.setattr(os, "replace", full_disk)
    status = cli.main(["reproduce", "mnist", "--device", "cpu"])
    out, err = capsys.readouterr()
    path = cache_path("probe", "cli_demo", {"k": 1})
    lines = err.strip().splitlines()
    assert status == 2 and "THE TABLES" in out, (status, out, err)
    assert lines[0].startswith(f"warning: could not save {path} to the cache (No space left on device)"), err
    assert len(lines) == 2 and lines[1].startswith(
        f"error: 1 result was computed but not saved to the cache ({path}: No space left on device)"), err
    assert "--no-cache" in lines[1] and "SHIFTLAB_CACHE" in lines[1]
    monkeypatch.undo()  # a later run in which the saves succeed ends as usual
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache2"))
    monkeypatch.setattr(_cmd_reproduce, "run_mnist", run_that_saves)
    assert cli.main(["reproduce", "mnist", "--device", "cpu"]) == 0


# --------------------------------------------------------------------------- notebooks run paths
@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    """A repository with _config.yml and notebooks/, as the cwd; executing a notebook fails the test."""
    from shiftlab.tools import notebooks as book

    (tmp_path / "_config.yml").write_text("repository:\n  url: https://github.com/o/n\n")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path)

    def must_not_run(*args, **kwargs):
        raise AssertionError("a notebook ran although a path was bad")

    monkeypatch.setattr(book, "execute_notebook", must_not_run)
    monkeypatch.setattr(book, "sync_notebook", must_not_run)
    return tmp_path


GOOD_NB = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.mark.parametrize("name,content,expected", [
    ("notebooks/missing.ipynb", None, "notebooks/missing.ipynb does not exist"),
    ("notebooks/sub", "FOLDER", "notebooks/sub is a folder, not a notebook"),
    ("notebooks/notes.txt", "hello", "notebooks/notes.txt is not a notebook (.ipynb) file"),
    ("notebooks/broken.ipynb", '{"cells": [', "notebooks/broken.ipynb is not valid notebook JSON"),
    ("notebooks/list.ipynb", "[1, 2]", "notebooks/list.ipynb is JSON but not a Jupyter notebook"),
    ("notebooks/latin.ipynb", b"\xff\xfe{}", "notebooks/latin.ipynb is not a UTF-8 text file"),
    ("elsewhere.ipynb", GOOD_NB, "elsewhere.ipynb is outside the repository's notebooks folder"),
])
def test_notebooks_run_checks_every_path_first(capsys, fake_repo, name, content, expected):
    good = fake_repo / "notebooks" / "01_good.ipynb"
    good.write_text(GOOD_NB)
    path = fake_repo / name
    if content == "FOLDER":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    line = _user_error(capsys, ["notebooks", "run", str(good), name])  # the good one does not run first
    assert line.startswith(f"error: notebooks run: {name}") and expected in line, line
    assert f"give chapter notebooks (.ipynb files) in {fake_repo.resolve() / 'notebooks'}" in line


def test_check_notebook_accepts_a_chapter_notebook(fake_repo):
    from shiftlab.tools import notebooks as book

    (fake_repo / "notebooks" / "01_good.ipynb").write_text(GOOD_NB)
    assert book.check_notebook(fake_repo / "notebooks" / "01_good.ipynb") == (
        fake_repo / "notebooks" / "01_good.ipynb").resolve()


def test_the_public_api_still_resolves():
    """``shiftlab`` imports its public names on first use (so that the CLI starts fast); every
    name of ``__all__`` still resolves, also through ``from shiftlab import``, and dir() lists it."""
    import shiftlab
    from shiftlab import MnistSettings as settings_class
    from shiftlab import load_mnist

    assert load_mnist is shiftlab.load_mnist and settings_class is MnistSettings
    for name in shiftlab.__all__:
        assert getattr(shiftlab, name) is not None, name
        assert name in dir(shiftlab), name
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        shiftlab.no_such_name  # noqa: B018
