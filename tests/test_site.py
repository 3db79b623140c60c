"""Checks of the built site in _build/html, as a reader sees it, in a real headless Chromium.

`python3 dev.py test` builds the book before running pytest; run `python3 dev.py book` first when
running this file alone.  Each chapter page is loaded by Playwright driving the system Chromium
(``$THG_CHROMIUM``; no browser download), MathJax is allowed to finish, and the page is checked:

- every figure the notebook draws is an image on the page: each cell that calls ``plt.show()`` has
  at least that many image outputs in the executed notebook, the page has exactly as many rendered
  (decoded, non-empty) output images as the executed notebook has image outputs;
- every ``<video>`` has a source that Chromium loads (metadata, a frame) and ffmpeg decodes;
- no raw ``$$``, ``\\(``, ``\\[`` or ``{cite}``/``{ref}`` text is visible outside code, and MathJax
  reports no error;
- no stderr block, no traceback, no text output longer than :data:`MAX_OUTPUT_LINES` lines, no
  output table longer than :data:`MAX_TABLE_ROWS` rows (the rest collapsed) or cut with "…", and
  no sideways scrolling;
- a full-page screenshot of every chapter is saved in ``_build/screenshots/`` (CI's artefact folder).
"""

from __future__ import annotations

import ast
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
EXECUTED = ROOT / "_build" / "jupyter_execute"
SHOTS = ROOT / "_build" / "screenshots"
MAX_OUTPUT_LINES = 40
MAX_TABLE_ROWS = 15
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
pytestmark = pytest.mark.site


def toc_pages() -> list[str]:
    """Every page of _toc.yml (paths without suffix), root first."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())

    def files(node):
        if isinstance(node, dict):
            return ([node["file"]] if "file" in node else []) + [f for v in node.values() for f in files(v)]
        return [f for v in node for f in files(v)] if isinstance(node, list) else []
    return [toc["root"]] + files(toc["parts"])


PAGES = toc_pages()
CHAPTERS = [p for p in PAGES if (ROOT / f"{p}.ipynb").exists()]


@pytest.fixture(scope="module")
def site() -> Path:
    assert (HTML / "index.html").exists(), "no built book: run `python3 dev.py book` first"
    return HTML


def chromium_binary() -> str:
    path = os.environ.get("THG_CHROMIUM") or next(
        (p for n in ("chromium", "chromium-browser", "google-chrome") if (p := shutil.which(n))), None)
    assert path, "Chromium not found: install it (apt-get install chromium) or set THG_CHROMIUM"
    return path


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_binary(),
                               args=["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()


# --- what the notebook draws -------------------------------------------------------------------

def _top_level_calls(source: str, names: set[str]) -> int:
    """Calls such as ``plt.show()`` that run exactly once per cell execution (not in a loop/def/if)."""
    code = "\n".join("pass" if l.lstrip().startswith(("%", "!")) else l for l in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return 0

    def once(stmts):
        n = 0
        for s in stmts:
            if isinstance(s, (ast.With, ast.Try)):
                n += once(s.body) + (once(s.finalbody) if isinstance(s, ast.Try) else 0)
            elif isinstance(s, ast.Expr) and isinstance(s.value, ast.Call):
                f = s.value.func
                dotted = (f"{f.value.id}.{f.attr}" if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
                          else getattr(f, "id", ""))
                n += dotted in names
        return n
    return once(tree.body)


def executed_notebook(chapter: str) -> dict:
    """The executed chapter the page was rendered from: the execution cache's record merged into
    the source (``_build/jupyter_execute`` holds outputs only when the build executed the notebook
    itself, not when it took them from the cache)."""
    from jupyter_cache import get_cache

    cache = ROOT / "_build" / ".jupyter_cache"
    if cache.exists():
        try:
            _, nb = get_cache(str(cache)).merge_match_into_file(str(ROOT / f"{chapter}.ipynb"))
            return json.loads(json.dumps(nb))
        except KeyError:
            pass
    executed_path = EXECUTED / f"{chapter}.ipynb"
    assert executed_path.exists(), f"{chapter} is neither in the execution cache nor in {EXECUTED}"
    return json.loads(executed_path.read_text())


def drawn_vs_shown(chapter: str) -> list[tuple[int, int, int]]:
    """``(cell index, plt.show() calls run once, image outputs)`` for each code cell of a chapter."""
    source = json.loads((ROOT / f"{chapter}.ipynb").read_text())
    executed = executed_notebook(chapter)
    src_cells = [c for c in source["cells"] if c["cell_type"] == "code"]
    exe_cells = [c for c in executed["cells"] if c["cell_type"] == "code"]
    assert len(src_cells) == len(exe_cells), f"{chapter}: executed copy has other cells than the source"
    rows = []
    for i, (s, e) in enumerate(zip(src_cells, exe_cells)):
        shows = _top_level_calls("".join(s["source"]), {"plt.show"})
        images = sum(any(m in o.get("data", {}) for m in IMAGE_MIMES) for o in e.get("outputs", []))
        rows.append((i, shows, images))
    return rows


def test_top_level_call_counter():
    src = "import x\nplt.show()\nfor i in r:\n    plt.show()\nwith a:\n    plt.show()\n%time f()\ndisplay(fig)"
    assert _top_level_calls(src, {"plt.show"}) == 2
    assert _top_level_calls(src, {"plt.show", "display"}) == 3


# --- one page in the browser -----------------------------------------------------------------

PAGE_REPORT_JS = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const article = document.querySelector('article') || document.body;
  const outImgs = [...article.querySelectorAll('.cell_output img')];
  const clone = article.cloneNode(true);
  clone.querySelectorAll('pre, code, .highlight, mjx-container, script, style, .cell_input').forEach(n => n.remove());
  const videos = [...article.querySelectorAll('video')];
  const vinfo = await Promise.all(videos.map(v => new Promise(resolve => {
    const done = () => resolve({ready: v.readyState, w: v.videoWidth, h: v.videoHeight, dur: v.duration,
                                src: (v.currentSrc || v.src || (v.querySelector('source') || {}).src || '').slice(0, 64),
                                err: v.error ? v.error.code : 0});
    if (v.readyState >= 2) return done();
    v.preload = 'auto'; v.muted = true;
    v.addEventListener('loadeddata', done, {once: true});
    v.addEventListener('error', done, {once: true});
    v.load();
    setTimeout(done, 15000);
  })));
  const outputs = [...article.querySelectorAll('.cell_output .output.stream pre, .cell_output .output.text_plain pre')];
  const external = [...document.querySelectorAll('script[src], link[rel=stylesheet][href]')]
    .map(e => e.getAttribute('src') || e.getAttribute('href')).filter(u => /^(https?:)?\/\//.test(u));
  return {
    title: document.title,
    external,
    images: outImgs.map(i => ({src: i.getAttribute('src').slice(0, 80), ok: i.complete && i.naturalWidth > 0,
                               w: i.naturalWidth})),
    text: clone.innerText,
    mathErrors: article.querySelectorAll('mjx-merror').length,
    math: article.querySelectorAll('mjx-container').length,
    stderr: article.querySelectorAll('.output.stderr').length,
    tracebacks: article.querySelectorAll('.output.traceback, .output.error').length,
    longest: outputs.reduce((m, p) => Math.max(m, p.innerText.split('\n').length), 0),
    tables: [...article.querySelectorAll('.cell_output table')].filter(t => !t.closest('details')).map(t => ({
      rows: t.querySelectorAll('tbody tr').length,
      truncated: /…|\.\.\./.test(t.innerText)})),
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    exercises: [...article.querySelectorAll('div.exercise > p.admonition-title')].map(p => p.innerText.trim()),
    exerciseRefs: [...[...article.querySelectorAll('a[href^="#"] span.std-numref')].map(s => s.parentElement),
                   ...article.querySelectorAll('div.solution > p.admonition-title a[href^="#"]')].map(a => ({
      text: a.innerText.trim(), target: a.getAttribute('href').slice(1)})),
    videos: vinfo,
  };
}
"""


@pytest.fixture(scope="module")
def reports(site: Path, browser) -> dict[str, dict]:
    """Every TOC page loaded once in Chromium: its report, and a full-page screenshot."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    out = {}
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    for rel in PAGES:
        page = ctx.new_page()
        page.goto((site / f"{rel}.html").as_uri(), wait_until="load")
        out[rel] = page.evaluate(PAGE_REPORT_JS)
        page.screenshot(path=str(SHOTS / (rel.replace("/", "__") + ".png")), full_page=True)
        page.close()
    ctx.close()
    return out


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_figure_is_on_the_page(chapter: str, reports):
    rows = drawn_vs_shown(chapter)
    missing = [(i, s, n) for i, s, n in rows if n < s]
    assert not missing, (f"{chapter}: code cells drew figures that are not in the executed notebook "
                         f"(cell, plt.show calls, images): {missing} — is the kernel on a non-inline backend?")
    expected = sum(n for _, _, n in rows)
    shown = reports[chapter]["images"]
    assert len(shown) == expected, f"{chapter}: {expected} image outputs executed, {len(shown)} on the page"
    broken = [i["src"] for i in shown if not i["ok"]]
    assert not broken, f"{chapter}: images that do not decode in the browser: {broken}"


def test_the_book_has_figures(reports):
    """Guard against a build where every chapter silently lost its figures (the MPLBACKEND=Agg trap)."""
    counts = {c: len(reports[c]["images"]) for c in CHAPTERS}
    assert sum(counts.values()) >= 50, counts
    assert sum(v > 0 for v in counts.values()) >= len(CHAPTERS) - 3, counts


def _decodes(data_uri_or_path: str, page: Path) -> int:
    """Frames ffmpeg decodes from a video source (a data: URI or a path relative to the page)."""
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory() as tmp:
        if data_uri_or_path.startswith("data:"):
            path = Path(tmp) / "v.mp4"
            path.write_bytes(base64.b64decode(data_uri_or_path.split(",", 1)[1]))
        else:
            path = (page.parent / unquote(urlsplit(data_uri_or_path).path)).resolve()
            assert path.exists(), f"video source {data_uri_or_path} does not exist"
        res = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0:v:0",
                              "-f", "null", "-"], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0 and not res.stderr.strip(), f"ffmpeg cannot decode {path.name}: {res.stderr[-500:]}"
        probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(path), "-map", "0:v:0", "-f", "null", "-"],
                               capture_output=True, text=True, timeout=120)
        frames = re.findall(r"frame=\s*(\d+)", probe.stderr)
        return int(frames[-1]) if frames else 0


class _Videos(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in {"video", "source"} and a.get("src"):
            self.sources.append(a["src"])


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_videos_load_and_decode(chapter: str, reports, site: Path):
    for v in reports[chapter]["videos"]:
        assert v["err"] == 0 and v["ready"] >= 2 and v["w"] > 0 and v["dur"] > 0, f"{chapter}: video does not play: {v}"
    page = site / f"{chapter}.html"
    parser = _Videos()
    parser.feed(page.read_text(errors="replace"))
    for src in parser.sources:
        assert _decodes(src, page) > 0, f"{chapter}: a video source decodes to no frame"


RAW = [("$$", "display math delimiters"), ("\\(", "inline math delimiter"), ("\\[", "display math delimiter"),
       ("{cite}", "a citation role"), ("{ref}", "a reference role"), ("{numref}", "a reference role"),
       ("{eq}", "an equation reference"), ("```", "a code fence")]


@pytest.mark.parametrize("page", PAGES)
def test_no_raw_markup_or_noise_on_the_page(page: str, reports):
    r = reports[page]
    leaks = [f"{what} ({token!r}) near: …{r['text'][max(0, i - 60):i + 60]!r}…"
             for token, what in RAW if (i := r["text"].find(token)) >= 0]
    inline = re.search(r"(?<![\w$])\$[^$\s][^$\n]{0,80}?[^$\s\\]\$(?![\w$])", r["text"])
    if inline:
        leaks.append(f"unrendered inline math near: {inline.group(0)!r}")
    assert not leaks, f"{page}: raw markup visible in the rendered page:\n" + "\n".join(leaks)
    assert r["mathErrors"] == 0, f"{page}: {r['mathErrors']} MathJax errors"
    assert r["stderr"] == 0, f"{page}: {r['stderr']} stderr blocks in the outputs"
    assert r["tracebacks"] == 0, f"{page}: a traceback/error output is on the page"
    assert r["longest"] <= MAX_OUTPUT_LINES, f"{page}: a text output has {r['longest']} lines (> {MAX_OUTPUT_LINES})"
    long = [t["rows"] for t in r["tables"] if t["rows"] > MAX_TABLE_ROWS]
    assert not long, f"{page}: output tables with {long} rows on the page (> {MAX_TABLE_ROWS}: collapse the rest)"
    assert not any(t["truncated"] for t in r["tables"]), f"{page}: a table is truncated with '…'"
    assert r["overflow"] <= 2, f"{page}: the page scrolls sideways by {r['overflow']} px (a long URL or wide block)"


def test_offline_build_loads_nothing_from_the_network(reports):
    """``dev.py test`` builds with ``--offline``: no page may need a CDN (MathJax is vendored)."""
    loads = {p: r["external"] for p, r in reports.items() if r["external"]}
    assert not loads, f"pages that load scripts/styles from the network: {loads}"
    assert any(r["math"] > 0 for r in reports.values()), "no MathJax output on any page"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_exercises_numbered_per_chapter(chapter: str, reports, site: Path):
    """Exercise 1, 2, … on every page, and each reference names the number its exercise shows."""
    r = reports[chapter]
    numbers = [int(m.group(1)) for t in r["exercises"] if (m := re.match(r"Exercise (\d+)", t))]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 2, \
        f"{chapter}: exercises numbered {numbers} (titles {r['exercises']})"
    el = parse((site / f"{chapter}.html").read_text())
    titles = {a["id"]: n for (t, a), n in zip([(t, a) for t, a in el.tags if t == "div" and
                                               "exercise" in a.get("class", "").split() and "id" in a],
                                              numbers)}
    for ref in r["exerciseRefs"]:
        if ref["target"] in titles:
            assert ref["text"] == f"Exercise {titles[ref['target']]}", f"{chapter}: {ref} points elsewhere"


def test_screenshots_of_every_page(reports):
    shots = {p.stem for p in SHOTS.glob("*.png") if p.stat().st_size > 10_000}
    missing = [p for p in PAGES if p.replace("/", "__") not in shots]
    assert not missing, f"no screenshot of {missing}"


# --- static checks of the HTML ---------------------------------------------------------------

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


def test_intro_page_renders(site: Path, reports):
    assert "Talking-Head Generation" in reports["book/intro"]["title"]
    el = parse((site / "book" / "intro.html").read_text())
    hrefs = [a.get("href", "") for t, a in el.tags if t == "a"]
    assert any("00_quickstart" in h for h in hrefs), "the intro must link the quickstart"
    cites = [h for h in hrefs if "bibliography.html#id" in h]
    assert len(cites) >= 3, "the intro's citations do not link into the bibliography"


def test_bibliography_lists_the_cited_works(site: Path):
    el = parse((site / "book" / "bibliography.html").read_text())
    entries = [a for t, a in el.tags if t == "div" and "citation" in a.get("class", "")]
    assert len(entries) >= 3


def test_quickstart_page_shows_plot_and_video(site: Path, reports):
    r = reports["notebooks/00_quickstart"]
    assert "Quickstart" in r["title"]
    assert r["images"] and all(i["ok"] and i["w"] > 100 for i in r["images"]), r["images"]
    assert r["videos"] and all(v["ready"] >= 2 for v in r["videos"])
    el = parse((site / "notebooks" / "00_quickstart.html").read_text())
    hrefs = [a.get("href", "") for t, a in el.tags if t == "a"]
    assert any(h.startswith("https://colab.research.google.com/github/") for h in hrefs), "no Colab link"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_launch_buttons_open_this_repository(chapter: str, site: Path):
    """Colab always, Binder as the CPU alternative; Thebe must not point at someone else's repository."""
    text = (site / f"{chapter}.html").read_text()
    hrefs = [a.get("href", "") for t, a in parse(text).tags if t == "a"]
    nb = f"{chapter}.ipynb"
    assert any(h.startswith("https://colab.research.google.com/github/") and h.endswith(nb) for h in hrefs), nb
    assert any(h.startswith("https://mybinder.org/v2/gh/") and h.endswith(nb) for h in hrefs), nb
    assert "binder-examples" not in text, "Thebe is configured for an unrelated repository"
