"""Sphinx extension of thg-book: the book's CSS, exercises numbered per chapter and, with
``THG_BOOK_OFFLINE=1``, a site that needs no network to read (``python3 dev.py book --offline``).

Sphinx numbers enumerable nodes (sphinx-exercise's ``exercise``) with one counter across the whole
book unless the table of contents is numbered; chapters here number their own sections, so
:func:`number_exercises_per_chapter` restarts the exercise counter in every document (Exercise 1,
2, … on each page; ``{ref}`label``` and the solutions follow).

Offline, MathJax 3 is served from the build's own ``_static/mathjax/`` (copied from the
``django-static-mathjax`` wheel on PyPI, MathJax 3.2.2, Apache-2.0) instead of a CDN.  Chapters
show no ipywidgets in the static build (``thglib.book.interact`` renders the initial state), so no
widget JavaScript is needed; ``tests/test_site.py`` checks that no page loads an external script.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output/chtml", "ui", "a11y", "adaptors", "sre")


def offline() -> bool:
    return os.environ.get("THG_BOOK_OFFLINE", "").strip().lower() in {"1", "true", "yes"}


def vendor_mathjax(dest: Path) -> Path:
    """Copy the MathJax 3 files the pages use into ``dest/mathjax/es5``; return that folder."""
    try:
        import mathjax  # the django-static-mathjax wheel
    except ImportError as e:
        raise RuntimeError("the offline build needs MathJax from PyPI: pip install django-static-mathjax "
                           "(it is in thglib's [book] extra)") from e
    src = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    out = dest / "mathjax" / "es5"
    for part in MATHJAX_PARTS:
        s, d = src / part, out / part
        if s.is_dir():
            shutil.copytree(s, d, dirs_exist_ok=True)
        else:
            d.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s, d)
    return out


def number_exercises_per_chapter(app, env) -> list[str]:
    """Renumber each document's exercises 1, 2, … in page order (runs after Sphinx's numbering)."""
    changed = []
    for docname, kinds in env.toc_fignumbers.items():
        numbers = kinds.get("exercise")
        if not numbers:
            continue
        order = sorted(numbers, key=lambda node_id: numbers[node_id])
        renumbered = {node_id: (i + 1,) for i, node_id in enumerate(order)}
        if renumbered != numbers:
            kinds["exercise"] = renumbered
            changed.append(docname)
    return changed


def _config_inited(app, config) -> None:
    config.html_static_path = [*config.html_static_path, str(HERE / "thg_static")]
    if offline():
        vendored = Path(app.outdir).parent / ".offline_static"
        vendor_mathjax(vendored)
        config.html_static_path.append(str(vendored))
        config.mathjax_path = "mathjax/es5/tex-mml-chtml.js"


def setup(app):
    app.connect("config-inited", _config_inited)
    app.connect("env-get-updated", number_exercises_per_chapter, priority=900)  # after Sphinx numbers
    app.add_css_file("thg.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
