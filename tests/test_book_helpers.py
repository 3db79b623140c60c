"""thglib.book: figures reach the page whatever $MPLBACKEND says; tables and notices for the page."""

from __future__ import annotations

import base64
import os

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient

from thglib import book

PLOT = "import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.title('t')\nplt.show()"


def run_notebook(cells: list[str], env_backend: str | None) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    old = os.environ.get("MPLBACKEND")
    try:
        if env_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backend
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    finally:
        if old is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = old
    return nb


def images(nb) -> list[dict]:
    return [o for c in nb.cells for o in c.outputs if "image/png" in o.get("data", {})]


@pytest.mark.notebook
def test_agg_backend_in_the_environment_loses_figures_unless_setup_runs():
    """The trap CI fell into (MPLBACKEND=Agg → no image), and the set-up cell that avoids it."""
    assert images(run_notebook([PLOT], "Agg")) == []  # the kernel keeps Agg: the figure is lost
    nb = run_notebook([book.install_cell(), PLOT], "Agg")
    shown = images(nb)
    assert len(shown) == 1, "the set-up cell must bring figures back under MPLBACKEND=Agg"
    png = base64.b64decode(shown[0]["data"]["image/png"])
    meta = shown[0].get("metadata", {}).get("image/png", {})
    width = int.from_bytes(png[16:20], "big")
    assert meta.get("width") and width >= 2 * int(meta["width"]) - 2, "figures must be 2x (retina) PNGs"
    assert len(images(run_notebook([book.install_cell(), PLOT], None))) == 1


def test_setup_outside_a_kernel_applies_the_style_only():
    import matplotlib

    before = matplotlib.get_backend()
    assert book.setup() is None
    assert matplotlib.get_backend() == before  # plain Python: the backend is the caller's business
    assert matplotlib.rcParams["axes.spines.top"] is False
    assert pd.get_option("display.max_colwidth") is None


def test_show_table_rounds_and_collapses_the_rest():
    df = pd.DataFrame({"PSNR (dB)": np.linspace(20, 40, 40) + 1e-7, "name": [f"clip{i}" for i in range(40)]})
    html = book.show_table(df, max_rows=15, digits=2, name="psnr").data
    head, rest = html.split("<details", 1)
    assert head.count("<tr>") == 15  # 15 body rows (the header row has a style)
    assert "20.51" in head and "20.5128" not in head
    assert "All 40 rows" in rest and rest.count("<tr>") == 40
    assert "download='psnr.csv'" in rest and "…" not in html
    csv = base64.b64decode(rest.split("base64,", 1)[1].split("'", 1)[0]).decode()
    assert len(csv.strip().splitlines()) == 41 and "20.0000001" in csv  # the download keeps full precision
    short = book.show_table(df.head(5)).data
    assert "<details" not in short and "Download" not in short
    with pytest.raises(ValueError, match="max_rows"):
        book.show_table(df, max_rows=0)


def test_untrained_notice_once_per_page(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda v: shown.append(v))
    book.reset_notices()
    assert not book.untrained_notice("")  # trained weights: nothing
    assert not book.untrained_notice(None)
    assert book.untrained_notice("<b>untrained</b> backbone: illustrates mechanics only.")
    assert not book.untrained_notice("untrained backbone: illustrates mechanics only")
    assert not book.untrained_notice("untrained SyncNet v2")  # a second network: still one box
    assert len(shown) == 1 and "admonition warning" in shown[0].data
    assert "&lt;b&gt;untrained" in shown[0].data and "only.." not in shown[0].data  # escaped, one full stop
    book.reset_notices()
    assert book.untrained_notice("untrained SyncNet v2")  # a new page shows it again
    book.reset_notices()


def test_untrained_weights_warning_becomes_the_page_notice(monkeypatch):
    """In a kernel, UntrainedWeightsWarning goes to the page notice, other warnings to stderr."""
    import warnings

    from thglib.book import figures
    from thglib.errors import UntrainedWeightsWarning

    shown, passed = [], []
    monkeypatch.setattr("IPython.display.display", lambda v: shown.append(v))
    monkeypatch.setattr(warnings, "showwarning", lambda *a, **k: passed.append(a[0]))
    book.reset_notices()
    figures._route_untrained_warnings()
    figures._route_untrained_warnings()  # idempotent: routes once
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("UNTRAINED WEIGHTS — x. Why: offline", UntrainedWeightsWarning)
        warnings.warn("something else", UserWarning)
    assert len(shown) == 1 and "Why: offline" not in shown[0].data and "UNTRAINED WEIGHTS — x" in shown[0].data
    assert [str(m) for m in passed] == ["something else"]
    book.reset_notices()
