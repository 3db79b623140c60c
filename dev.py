#!/usr/bin/env python3
"""The project's single entry script (stdlib only, so it runs on a fresh Python).

    python3 dev.py book   # build the whole book into _build/html, executing every notebook
    python3 dev.py book --offline   # the same, readable without a network (MathJax vendored)
    python3 dev.py test   # unit tests, notebook smoke runs, strict book build, browser check

On first use it creates `.venv/` and installs `thglib[book,dev]` into it; later runs reuse it and
reinstall only when pyproject.toml (or CI's constraints) changed.  The book's execution cache
(jupyter-cache) is keyed on the notebooks only, so this script also discards it whenever the
library (`thglib/`) or the data the chapters read (`data/`) changes: a chapter is never shown with
outputs of an older library or table.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("THG_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
BUILD = ROOT / "_build"
CONSTRAINTS = ROOT / ".ci" / "constraints.txt"
CACHE_INPUTS = ("thglib", "data")  #: what the notebooks import or read besides themselves


def run(*cmd: str | os.PathLike, **kw) -> None:
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kw)


def digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(str(p.relative_to(ROOT)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def ensure_env() -> None:
    """Create .venv and install the project into it when missing or out of date."""
    if sys.version_info < (3, 10):
        sys.exit(f"thg-book needs Python >= 3.10; this is {sys.version.split()[0]}")
    use_constraints = bool(os.environ.get("CI")) and CONSTRAINTS.exists()
    inputs = [ROOT / "pyproject.toml"] + ([CONSTRAINTS] if use_constraints else [])
    stamp, want = VENV / ".thg-installed", digest(inputs)
    if PY.exists() and stamp.exists() and stamp.read_text() == want:
        return
    if not PY.exists():
        print(f"creating virtual environment {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    run(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
    extra = ["-c", str(CONSTRAINTS)] if use_constraints else []
    run(PY, "-m", "pip", "install", "-q", "-e", ".[book,dev]", *extra)
    stamp.write_text(want)


def book(strict: bool = False, offline: bool = False) -> Path:
    """Build the book; re-execute every notebook when thglib/ or data/ changed since the last build.

    ``offline``: MathJax is served from the site itself (book/_ext/thg_book.py), so the pages read
    without a network (a classroom, a train); the default build loads it from its CDN.
    """
    ensure_env()
    os.environ.setdefault("THG_HEADLESS", "1")  # static pages: widgets render their initial state
    os.environ["THG_BOOK_OFFLINE"] = "1" if offline else ""
    inputs = digest([p for d in CACHE_INPUTS for p in (ROOT / d).rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts])
    stamp, cache = BUILD / ".thglib-digest", BUILD / ".jupyter_cache"
    if cache.exists() and (not stamp.exists() or stamp.read_text() != inputs):
        print(f"{' or '.join(d + '/' for d in CACHE_INPUTS)} changed since the last build: "
              "discarding the execution cache", flush=True)
        shutil.rmtree(cache)
    flags = ["-W", "-n", "--keep-going"] if strict else []
    run(BIN / "jupyter-book", "build", ".", *flags)
    BUILD.mkdir(exist_ok=True)
    stamp.write_text(inputs)
    index = BUILD / "html" / "index.html"
    print(f"\nThe book is at {index}\nOpen it in a browser, or serve it: "
          f"{PY} -m http.server -d {index.parent} 8000", flush=True)
    return index


def chromium() -> str:
    """Path of a Chromium/Chrome binary, installing Debian's chromium when root on Debian."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if found := shutil.which(name):
            return found
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        run("apt-get", "update", "-qq")
        run("apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium")
        return shutil.which("chromium") or sys.exit("chromium install failed")
    sys.exit("The browser check needs Chromium: install it (e.g. `sudo apt-get install chromium`) "
             "or set THG_CHROMIUM to its path.")


def test() -> None:
    """Everything CI checks: strict book build, then unit + notebook + site tests in one pytest run."""
    if not os.environ.get("THG_CHROMIUM"):
        os.environ["THG_CHROMIUM"] = chromium()
    book(strict=True, offline=True)  # offline: the browser checks see MathJax render without a network
    workers = os.environ.get("THG_TEST_WORKERS", "auto")
    try:
        run(PY, "-m", "pytest", "-n", workers, "--durations=15", *sys.argv[2:])
    finally:
        print(f"Screenshots of every page (CI artefacts): {BUILD / 'screenshots'}", flush=True)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "help"
    if cmd == "book":
        book(offline="--offline" in sys.argv[2:])
    elif cmd == "test":
        test()
    elif cmd == "env":
        ensure_env()
    else:
        print(__doc__)
        sys.exit(0 if cmd in {"help", "-h", "--help"} else 2)
