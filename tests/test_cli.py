"""The `thg` command line: info and weights sub-commands (offline)."""

from __future__ import annotations

import subprocess
import sys

from thglib import cli


def test_info_lists_backends(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "thglib" in out and "device=" in out and "offline faces (dlib)" in out


def test_weights_list_and_offline_fetch(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("THG_HOME", str(tmp_path))
    monkeypatch.setenv("THG_OFFLINE", "1")
    assert cli.main(["weights", "list"]) == 0
    assert "wav2lip_gan" in capsys.readouterr().out
    assert cli.main(["weights", "fetch", "syncnet_v2"]) == 1
    err = capsys.readouterr().err
    assert "thg: error:" in err and "syncnet_v2" in err and str(tmp_path) in err
    assert cli.main(["weights", "fetch"]) == 2


def test_console_script_runs_as_module():
    res = subprocess.run([sys.executable, "-m", "thglib.cli", "info"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "thglib" in res.stdout
