import pytest

from shiftlab import cli


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
