import pytest
import torch

from shiftlab.core import device


def test_get_device_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device, "_mps_available", lambda: False)
    assert device.get_device() == torch.device("cpu")
    assert device.get_device("auto") == torch.device("cpu")
    monkeypatch.setattr(device, "_mps_available", lambda: True)
    assert device.get_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device.get_device() == torch.device("cuda")


def test_get_device_explicit_cpu():
    assert device.get_device("cpu") == torch.device("cpu")


def test_get_device_errors(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA"):
        device.get_device("cuda")
    with pytest.raises(ValueError):
        device.get_device("gpu please")


def test_doctor_reports(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SHIFTLAB_DATA", str(tmp_path))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device, "_mps_available", lambda: False)
    rep = device.doctor()
    out = capsys.readouterr().out
    assert rep.device == "cpu" and rep.quick is True and rep.colab is False
    assert rep.torch_version == torch.__version__
    assert rep.data_root == str(tmp_path.resolve())
    assert rep.cpu_threads >= 1
    assert "QUICK" in out and "Runtime > Change runtime type" in out
    assert str(tmp_path.resolve()) in out


def test_doctor_warns_about_full_mode_on_cpu(monkeypatch, capsys):
    monkeypatch.setenv("SHIFTLAB_QUICK", "0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device, "_mps_available", lambda: False)
    rep = device.doctor(show=False)
    assert capsys.readouterr().out == ""
    assert any("FULL mode" in a for a in rep.advice)


def test_doctor_brief_prints_no_paths(capsys, monkeypatch, tmp_path):
    from shiftlab.core.device import doctor

    monkeypatch.setenv("SHIFTLAB_DATA", str(tmp_path))
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "cache"))
    report = doctor(brief=True)
    out = capsys.readouterr().out
    assert str(tmp_path) not in out and "mode:" in out and "device:" in out
    assert "SHIFTLAB_DATA" in out  # says where data come from, not the path
    assert all(len(line) <= 90 for line in out.splitlines())
    assert str(tmp_path) in report.text()  # the full report keeps the paths


def test_doctor_reports_a_bad_quick_mode(capsys, monkeypatch):
    monkeypatch.setenv("SHIFTLAB_QUICK", "quik")
    report = device.doctor(show=False)  # reported, not raised
    assert report.quick is None
    for text in (report.text(), report.brief()):
        assert "INVALID SHIFTLAB_QUICK" in text and "SHIFTLAB_QUICK='quik' is not understood" in text
    assert not any("FULL mode" in a for a in report.advice)


def test_doctor_reports_an_unusable_cache(capsys, monkeypatch, tmp_path):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("SHIFTLAB_CACHE", str(tmp_path / "file"))
    report = device.doctor(brief=True)
    out = capsys.readouterr().out
    assert report.cache_dir.startswith("INVALID") and "names a file" in report.text()
    assert "cache: INVALID" in out and "SHIFTLAB_CACHE" in out and str(tmp_path) not in out
