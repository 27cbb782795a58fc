import dataclasses
import json

import pytest

from shiftlab.studies.mnist_pooling import MnistSettings
from shiftlab.tools import cli


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
    import shiftlab.tools.cli as E

    def must_not_run(*args, **kwargs):
        raise AssertionError("work started although the command should have failed first")

    monkeypatch.setattr(E, "run_mnist", must_not_run)


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
    import shiftlab.tools.cli as E

    (tmp_path / "file").write_text("")
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "file"))
    seen = {}

    class Done(Exception):
        pass

    def fake_run(settings, device=None, use_cache=True):
        seen["use_cache"] = use_cache
        raise Done

    monkeypatch.setattr(E, "run_mnist", fake_run)
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

    monkeypatch.setattr(cli, "run_mnist", fake_run)
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
