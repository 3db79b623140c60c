"""Errors, runtime helpers and book helpers."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import thglib
from thglib import book, runtime
from thglib.errors import BadInputError, MediaError, NoFaceError, THGError, WeightsUnavailable


def test_error_hierarchy_and_messages(tmp_path):
    e = MediaError(tmp_path / "clip.mp4", "no audio track", "Pass an audio file with audio=")
    assert isinstance(e, BadInputError) and isinstance(e, ValueError) and isinstance(e, THGError)
    assert "clip.mp4" in str(e) and "audio=" in str(e)
    n = NoFaceError(frame=17, source="'talk.mp4'")
    assert n.frame == 17 and "frame 17" in str(n) and "policy=" in str(n)
    w = WeightsUnavailable("wav2lip", "https://example.org/w.pth", tmp_path / "w.pth", "offline")
    assert isinstance(w, RuntimeError)
    assert "https://example.org/w.pth" in str(w) and str(tmp_path / "w.pth") in str(w) and "path=" in str(w)
    assert thglib.__version__


def test_device_auto_is_cpu_without_cuda(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert runtime.device("auto") == "cpu"
    with pytest.raises(BadInputError, match="CUDA"):
        runtime.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert runtime.device("auto") == "cuda"


def test_smoke_flag_and_offline(monkeypatch):
    monkeypatch.setenv("THG_SMOKE", "yes")
    assert runtime.is_smoke()
    monkeypatch.setenv("THG_SMOKE", "0")
    assert not runtime.is_smoke(default=True)
    monkeypatch.delenv("THG_SMOKE")
    assert runtime.is_smoke(default=True)
    monkeypatch.setenv("THG_OFFLINE", "1")
    runtime.network_available.cache_clear()
    assert runtime.network_available("127.0.0.1", 9) is False
    assert "device=" in runtime.describe()


def test_network_probe_reaches_a_local_listener(monkeypatch):
    import socket

    monkeypatch.delenv("THG_OFFLINE", raising=False)
    runtime.network_available.cache_clear()
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        assert runtime.network_available("127.0.0.1", srv.getsockname()[1], 1.0)
    runtime.network_available.cache_clear()


def test_colab_links_come_from_config():
    url, branch = book.repository()
    assert url.startswith("https://github.com/")
    link = book.colab_url("notebooks/00_quickstart.ipynb")
    assert link == (f"https://colab.research.google.com/github/{url.removeprefix('https://github.com/')}"
                    f"/blob/{branch}/notebooks/00_quickstart.ipynb")
    assert link in book.colab_badge("notebooks/00_quickstart.ipynb")
    cell = book.install_cell()
    compile(cell, "install", "exec")
    assert url in cell and "google.colab" in cell


def test_install_cell_does_nothing_outside_colab(monkeypatch):
    calls = []
    import subprocess

    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a))
    exec(book.install_cell(), {})
    assert calls == []
    monkeypatch.setitem(sys.modules, "google.colab", object())
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    exec(book.install_cell(), {})
    assert calls and "pip" in calls[0][0]


def test_glue_falls_back_without_myst_nb(monkeypatch, capsys):
    shown = []
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import fails as in Colab
    monkeypatch.setattr("IPython.display.display", lambda v: shown.append(v))
    book.glue("answer", 42)
    assert shown == [42]


def test_zoom_frames_geometry():
    from thglib.synth import zoom_frames

    img = np.zeros((100, 200, 3), np.uint8)
    img[40:60, 90:110] = 255  # a white square at the centre
    f = zoom_frames(img, 3, zoom=2.0, size=(200, 100))
    assert f.shape == (3, 100, 200, 3) and f.dtype == np.uint8
    assert np.array_equal(f[0], img)  # scale 1 at t=0 is the identity
    white = [(fr[..., 0] > 127).sum() for fr in f]
    assert white[0] == 400 and white[-1] == pytest.approx(1600, rel=0.05)  # area grows by zoom²
    with pytest.raises(BadInputError, match="image"):
        zoom_frames(img.astype(np.float32), 3)


def test_interact_is_static_when_headless(monkeypatch, capsys):
    import ipywidgets

    calls = []

    def show(strength: float, mode="blur", n=3):
        calls.append((strength, mode, n))
        return strength

    monkeypatch.setenv("THG_HEADLESS", "1")
    assert book.headless()
    out = book.interact(show, strength=(0.0, 4.0), mode=["noise", "blur"], n=ipywidgets.IntSlider(value=7))
    assert calls == [(2.0, "blur", 7)] and out == 2.0  # midpoint, the function's default, the widget's value
    assert "Jupyter or Colab" in capsys.readouterr().out
    monkeypatch.setenv("THG_HEADLESS", "0")
    seen = []
    monkeypatch.setattr(ipywidgets, "interact", lambda fn, **kw: seen.append(kw) or "widget")
    assert book.interact(show, strength=(0.0, 4.0)) == "widget" and seen == [{"strength": (0.0, 4.0)}]
