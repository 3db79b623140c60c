"""Checks of the built site in _build/html with a real (headless) Chromium.

`python3 dev.py test` builds the book before running pytest; run `python3 dev.py book` first when
running this file alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
pytestmark = pytest.mark.site


@pytest.fixture(scope="module")
def site() -> Path:
    assert (HTML / "index.html").exists(), "no built book: run `python3 dev.py book` first"
    return HTML


def chromium_binary() -> str:
    path = os.environ.get("THG_CHROMIUM") or next(
        (p for n in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(n))), None)
    assert path, "Chromium not found: install it (apt-get install chromium) or set THG_CHROMIUM"
    return path


def chromium(*args: str) -> str:
    """Run headless Chromium with the flags these machines need; return stdout."""
    with tempfile.TemporaryDirectory() as profile:
        cmd = [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", "--disable-quic", f"--user-data-dir={profile}",
               "--virtual-time-budget=5000", *args]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


class Elements(HTMLParser):
    """Collects tags with their attributes, the <title>, and every id."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.ids: set[str] = set()
        self.title, self._in_title = "", False

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if "id" in a:
            self.ids.add(a["id"])
        if "name" in a and tag == "a":
            self.ids.add(a["name"])
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False if tag == "title" else self._in_title

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def parse(text: str) -> Elements:
    p = Elements()
    p.feed(text)
    return p


def rendered(page: Path) -> Elements:
    """The DOM of ``page`` after Chromium has loaded it and run its scripts."""
    dom = chromium("--dump-dom", page.as_uri())
    SHOTS.mkdir(parents=True, exist_ok=True)
    chromium(f"--screenshot={SHOTS / (page.stem + '.png')}", "--window-size=1280,2400", page.as_uri())
    return parse(dom)


def test_no_broken_local_links(site: Path):
    pages = {p: parse(p.read_text(errors="replace")) for p in site.rglob("*.html")
             if "_static" not in p.relative_to(site).parts}  # _static holds theme templates, not pages
    broken = []
    for page, el in pages.items():
        for tag, attrs in el.tags:
            for key in ("href", "src"):
                url = attrs.get(key)
                if not url or tag == "link" and attrs.get("rel") in {"preconnect", "dns-prefetch"}:
                    continue
                parts = urlsplit(url)
                if parts.scheme or parts.netloc or url.startswith(("mailto:", "javascript:", "data:")):
                    continue
                target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
                if target.is_dir():
                    target = target / "index.html"
                if not target.exists():
                    broken.append(f"{page.relative_to(site)}: {key}={url}")
                elif parts.fragment and target.suffix == ".html" and target in pages \
                        and unquote(parts.fragment) not in pages[target].ids:
                    broken.append(f"{page.relative_to(site)}: {key}={url} (no such anchor)")
    assert not broken, f"{len(broken)} broken local links:\n" + "\n".join(broken[:40])


def test_intro_page_renders(site: Path):
    el = rendered(site / "book" / "intro.html")
    assert "Talking-Head Generation" in el.title
    hrefs = [a.get("href", "") for t, a in el.tags if t == "a"]
    assert any("00_quickstart" in h for h in hrefs), "the intro must link the quickstart"
    cites = [a.get("href", "") for t, a in el.tags if t == "a" and "bibliography.html#id" in a.get("href", "")]
    assert len(cites) >= 3, "the intro's citations do not link into the bibliography"


def test_bibliography_lists_the_cited_works(site: Path):
    el = parse((site / "book" / "bibliography.html").read_text())
    entries = [a for t, a in el.tags if t == "div" and "citation" in a.get("class", "")]
    assert len(entries) >= 3


def test_quickstart_page_shows_plot_and_video(site: Path):
    page = site / "notebooks" / "00_quickstart.html"
    el = rendered(page)
    assert "Quickstart" in el.title
    images = [a["src"] for t, a in el.tags if t == "img" and a.get("src", "").endswith(".png")]
    assert images, "no plot image on the quickstart page"
    assert all((page.parent / unquote(s)).exists() for s in images)
    videos = [a for t, a in el.tags if t == "video"]
    sources = [a.get("src", "") for t, a in el.tags if t in {"video", "source"}]
    assert videos, "no <video> element on the quickstart page"
    assert any(s.startswith("data:video/mp4;base64,") and len(s) > 1000 for s in sources)
    hrefs = [a.get("href", "") for t, a in el.tags if t == "a"]
    assert any(h.startswith("https://colab.research.google.com/github/") for h in hrefs), "no Colab link"
