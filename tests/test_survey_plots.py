"""Queries over the survey tables (thglib.survey) and the figures/explorer built on them (thglib.survey_plots)."""

from __future__ import annotations

import csv
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from thglib import BadInputError, survey
from thglib import survey_plots as sp


@pytest.fixture(scope="module")
def methods() -> pd.DataFrame:
    return survey.load_table("methods")


@pytest.fixture(scope="module")
def raw_methods() -> list[dict[str, str]]:
    """The CSV read with the csv module: an independent reference for pandas-based counts."""
    with open(survey.table_path("methods"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_filter_methods_matches_a_plain_python_filter(methods, raw_methods):
    got = survey.filter_methods(methods, modality="audio", representation=["nerf", "3dgs"], years=(2021, 2024))
    want = {r["name"] for r in raw_methods if r["driving_modality"] == "audio"
            and r["representation"] in {"nerf", "3dgs"} and r["year"] and 2021 <= int(r["year"]) <= 2024}
    assert set(got["name"]) == want and len(want) > 5


def test_filter_methods_none_means_any_and_years_drop_undated(methods):
    assert len(survey.filter_methods(methods, paradigm=None)) == len(methods)
    dated = survey.filter_methods(methods, years=(2017, 2025))
    assert len(dated) == methods["year"].notna().sum() < len(methods)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"paradigm": "magic"}, "unknown categories"),
    ({"colour": "red"}, "unknown filter"),
    ({"years": (2025, 2017)}, "empty range"),
])
def test_filter_methods_rejects_bad_filters(methods, kwargs, fragment):
    with pytest.raises(BadInputError, match=fragment):
        survey.filter_methods(methods, **kwargs)


def test_category_counts_equal_csv_counts_and_keep_zero_rows(methods, raw_methods):
    counts = survey.category_counts(methods, "driving_modality", "representation")
    assert list(counts.index) == list(survey.MODALITIES)  # "image" kept although no row uses it
    assert list(counts.columns) == list(survey.REPRESENTATIONS)
    for (mod, rep), n in counts.stack().items():
        assert n == sum(r["driving_modality"] == mod and r["representation"] == rep for r in raw_methods)
    assert counts.to_numpy().sum() == len(raw_methods)


def test_category_counts_label_empty_cells(methods, raw_methods):
    counts = survey.category_counts(methods, "year", "paradigm")
    assert counts[survey.NOT_LABELLED].sum() == sum(r["paradigm"] == "" for r in raw_methods)
    assert counts.loc[survey.NOT_LABELLED].sum() == sum(r["year"] == "" for r in raw_methods)


def test_category_counts_rejects_unknown_column(methods):
    with pytest.raises(BadInputError, match="not a column"):
        survey.category_counts(methods, "colour", "paradigm")


@pytest.mark.parametrize("text, side", [
    ("1280x720 (720p)", 720), ("720p/1080p source videos; cropped faces resized to 512x512", 720),
    ("at least 512x512", 512), ("2048x1334 raw multi-view images", 1334), ("3D face scans", math.nan),
    (None, math.nan), (pd.NA, math.nan),
])
def test_resolution_short_side(text, side):
    got = survey.resolution_short_side(text)
    assert (math.isnan(got) and math.isnan(side)) or got == side


def _results(rows: list[tuple]) -> pd.DataFrame:
    cols = ["method", "dataset", "metric", "value", "source", "protocol_notes", "sourced"]
    return pd.DataFrame(rows, columns=cols)


def test_metric_spread_on_hand_made_rows():
    res = _results([
        ("A", "D", "LSE-D", 6.0, "paper", "p", True),
        ("A", "D", "LSE-D", 7.5, "issue", "not a paper number", True),
        ("A", "D", "LSE-D", 9.0, "seed", "seed", False),
        ("A", "D", "FID", 4.0, "paper", "p", True),
    ])
    spread = survey.metric_spread(res)
    assert len(spread) == 1  # FID has one value; the seed row is excluded
    row = spread.iloc[0]
    assert (row["n"], row["min"], row["max"]) == (2, 6.0, 7.5)
    assert row["range"] == pytest.approx(1.5) and row["relative range (%)"] == pytest.approx(100 * 1.5 / 6.75)
    assert survey.metric_spread(res, sourced_only=False).iloc[0]["n"] == 3


def test_provenance_rules():
    res = _results([
        ("A", "D", "M", 1.0, "seed", "x", False),
        ("A", "D", "M", 1.0, "issue #1", "user re-run; not a paper number", True),
        ("A", "D", "M", 1.0, "paper Table 3, as quoted in issue #5", "x", True),
        ("A", "D", "M", 1.0, "Papers with Code listing", "x", True),
        ("A", "D", "M", 1.0, "arXiv paper Table 1", "x", True),
    ])
    assert survey.provenance(res).tolist() == [
        "unsourced (project seed)", "re-run by a user (not a paper)", "paper, quoted in an issue",
        "paper, via Papers with Code listing", "paper"]


def test_seed_rows_of_the_real_table_are_flagged_unsourced():
    res = survey.load_table("results")
    prov = survey.provenance(res)
    assert (prov[~res["sourced"]] == "unsourced (project seed)").all()
    assert (prov[res["sourced"]] != "unsourced (project seed)").all()


def test_plots_are_titled_and_labelled(methods):
    axes = [
        sp.plot_counts_by_year(methods, by="paradigm"),
        sp.plot_category_heatmap(methods),
        sp.plot_timeline(methods, ["Wav2Lip", "FOMM", "SadTalker", "AD-NeRF", "EMO"]),
    ]
    for ax in axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_stacked_bars_sum_to_dated_methods(methods):
    ax = sp.plot_counts_by_year(methods, by="paradigm")
    heights = sum(p.get_height() for p in ax.patches)
    assert heights == methods["year"].notna().sum()


def test_timeline_rejects_unknown_names(methods):
    with pytest.raises(BadInputError, match="not dated"):
        sp.plot_timeline(methods, ["Wav2Lip", "NoSuchMethod"])


def test_category_colors_rejects_free_text_column():
    with pytest.raises(BadInputError):
        sp.category_colors("venue")


def test_explorer_table_and_widget_follow_the_filters(methods, raw_methods, monkeypatch):
    monkeypatch.setenv("THG_HEADLESS", "0")  # a live frontend: the real widget panel
    table = sp.explorer_table(methods, modality="text")
    n_text = sum(r["driving_modality"] == "text" for r in raw_methods)
    assert len(table) == n_text and list(table.columns) == list(sp.EXPLORER_COLUMNS)
    assert table["year"].tolist() == sorted(table["year"].tolist())

    panel = sp.method_explorer(methods, max_rows=3)
    label = panel.children[2]
    n_dated = sum(r["year"] != "" for r in raw_methods)
    assert f"{n_dated} of {len(raw_methods)}" in label.value
    panel.children[0].children[0].value = "text"  # the modality drop-down
    assert f"{n_text} of {len(raw_methods)}" in label.value


def test_explorer_is_a_static_table_when_headless(methods, monkeypatch, capsys):
    monkeypatch.setenv("THG_HEADLESS", "1")
    shown = sp.method_explorer(methods, max_rows=4)
    assert list(shown.columns) == list(sp.EXPLORER_COLUMNS) and len(shown) == 4
    assert "Jupyter or Colab" in capsys.readouterr().out
