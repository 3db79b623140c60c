"""dev.py: the book's execution cache is discarded when thglib/ or data/ changes, kept otherwise."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_dev(tmp_path: Path, monkeypatch):
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    (tmp_path / "thglib").mkdir()
    (tmp_path / "thglib" / "a.py").write_text("x = 1\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.csv").write_text("a\n1\n")
    monkeypatch.setattr(dev, "ROOT", tmp_path)
    monkeypatch.setattr(dev, "BUILD", tmp_path / "_build")
    monkeypatch.setattr(dev, "ensure_env", lambda: None)
    calls = []
    monkeypatch.setattr(dev, "run", lambda *cmd, **kw: calls.append([str(c) for c in cmd]))
    return dev, calls


def test_cache_survives_unchanged_library_and_goes_when_it_changes(tmp_path, monkeypatch, capsys):
    dev, calls = load_dev(tmp_path, monkeypatch)
    cache = tmp_path / "_build" / ".jupyter_cache"
    cache.mkdir(parents=True)
    dev.book()  # first build: no digest recorded yet, so the cache cannot be trusted
    assert not cache.exists()
    cache.mkdir()
    dev.book()  # library unchanged: keep it
    assert cache.exists()
    (tmp_path / "thglib" / "a.py").write_text("x = 2\n")
    dev.book()  # library changed: discard
    assert not cache.exists()
    assert "thglib/ or data/ changed" in capsys.readouterr().out
    cache.mkdir()
    dev.book()
    (tmp_path / "data" / "t.csv").write_text("a\n2\n")   # a table the chapters read
    dev.book()
    assert not cache.exists()


def test_test_command_respects_thg_chromium(tmp_path, monkeypatch):
    dev, calls = load_dev(tmp_path, monkeypatch)
    monkeypatch.setenv("THG_CHROMIUM", "/opt/my-chrome")
    monkeypatch.setattr(dev, "chromium", lambda: (_ for _ in ()).throw(AssertionError("searched anyway")))
    monkeypatch.setattr(dev.sys, "argv", ["dev.py", "test"])
    dev.test()
    assert calls[-1][1:4] == ["-m", "pytest", "-n"]


def test_strict_build_flags(tmp_path, monkeypatch):
    dev, calls = load_dev(tmp_path, monkeypatch)
    dev.book(strict=True)
    assert calls[-1][1:] == ["build", ".", "-W", "-n", "--keep-going"]
    dev.book()
    assert calls[-1][1:] == ["build", "."]


def test_offline_build_flag_reaches_the_sphinx_extension(tmp_path, monkeypatch):
    dev, calls = load_dev(tmp_path, monkeypatch)
    seen = []
    monkeypatch.setattr(dev, "run", lambda *cmd, **kw: seen.append(dev.os.environ.get("THG_BOOK_OFFLINE")))
    dev.book(offline=True)
    dev.book()
    assert seen == ["1", ""]
    monkeypatch.setenv("THG_CHROMIUM", "/opt/my-chrome")
    monkeypatch.setattr(dev.sys, "argv", ["dev.py", "test"])
    dev.test()  # the test command checks the offline build: MathJax must render without a network
    assert seen[2] == "1"


def test_vendored_mathjax_has_what_the_pages_load(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("thg_book_ext", ROOT / "book" / "_ext" / "thg_book.py")
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    out = ext.vendor_mathjax(tmp_path)
    main = out / "tex-mml-chtml.js"
    assert main.stat().st_size > 500_000 and b"MathJax" in main.read_bytes()
    assert list((out / "output" / "chtml" / "fonts").rglob("*.woff")), "CHTML fonts missing"
    assert (out / "input" / "tex" / "extensions").is_dir()  # \boldsymbol etc. autoload from here
    monkeypatch.setenv("THG_BOOK_OFFLINE", "yes")
    assert ext.offline()
    monkeypatch.setenv("THG_BOOK_OFFLINE", "")
    assert not ext.offline()
