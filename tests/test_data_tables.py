"""Validate the survey tables in data/ against thglib.survey.SCHEMAS and against each other."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest

from thglib import BadInputError
from thglib import survey

ROOT = Path(__file__).resolve().parents[1]
TABLES = tuple(survey.SCHEMAS)
SURVEY_BIB = ROOT / "book" / "survey.bib"
REFERENCES_BIB = ROOT / "book" / "references.bib"
# Tables re-checked in the 2026-12-02 pass must say so; the others were last checked no earlier than this.
CHECK_DATES = {"datasets": "2026-12-02", "methods": "2026-12-02", "results": "2026-12-02"}
OLDEST_CHECK = "2026-11-23"
# Sources that have shut down or only mirror/aggregate others: not acceptable as a fact's source.
DEAD_SOURCES = ("paperswithcode.com", "arxiv-vanity.com", "emergentmind.com", "git.mashibing.com")


# The seed's "benchmark snapshot" (method, dataset, metric, value), quoted from the project brief.
SEED_ROWS = {
    (method, dataset, metric, value)
    for method, dataset, values in (
        ("Wav2Lip", "VoxCeleb2", (0.74, 32.5, 1.21)),
        ("FOMM", "VoxCeleb1", (0.68, 29.8, 1.49)),
        ("face-vid2vid", "GRID", (0.72, 31.2, 1.33)),
    )
    for metric, value in zip(("SSIM", "PSNR", "LMD"), values)
}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return {name: survey.load_table(name) for name in TABLES}


@pytest.mark.parametrize("name", TABLES)
def test_header_matches_schema_in_order(name):
    with open(ROOT / "data" / f"{name}.csv", newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header == [c.name for c in survey.SCHEMAS[name]]


@pytest.mark.parametrize("name", TABLES)
def test_loaded_dtypes_follow_schema(name, tables):
    expected = {"str": "string", "int": "Int64", "float": "Float64", "bool": "boolean"}
    got = {col: str(dtype) for col, dtype in tables[name].dtypes.items()}
    assert got == {c.name: expected[c.kind] for c in survey.SCHEMAS[name]}


@pytest.mark.parametrize("name", TABLES)
def test_table_passes_schema_checks(name, tables):
    assert survey.check_table(name, tables[name]) == []


def test_check_table_reports_each_kind_of_error(tables):
    bad = tables["methods"].copy()
    bad.loc[0, "paradigm"] = "magic"
    bad.loc[1, "arxiv"] = "2008.1001x"
    bad.loc[2, "year"] = 2016
    bad.loc[3, "code_url"] = "http://example.org/repo"
    bad.loc[4, "name"] = bad.loc[5, "name"]
    bad.loc[6, "source"] = pd.NA
    problems = survey.check_table("methods", bad)
    for fragment in ("'magic'", "2008.1001x", "year 2016", "http://example.org", "duplicate names", "source: empty"):
        assert sum(fragment in p for p in problems) == 1, (fragment, problems)
    assert len(problems) == 6


def test_row_counts(tables):
    assert len(tables["methods"]) >= 120
    assert len(tables["datasets"]) >= 25


def test_every_seed_method_is_present(tables):
    names = set(tables["methods"]["name"])
    missing = {seed: row for seed, row in survey.REQUIRED_METHODS.items() if row not in names}
    assert not missing
    assert len(survey.REQUIRED_METHODS) >= 70


def test_method_years_are_2017_to_2025(tables):
    years = tables["methods"]["year"].dropna()
    assert years.between(2017, 2025).all()
    assert {2017, 2025} <= set(years)


def test_no_plain_http_or_malformed_url_anywhere(tables):
    for name, df in tables.items():
        for col in df.select_dtypes("string"):
            for cell in df[col].dropna():
                assert "http://" not in cell, (name, col, cell)
                for url in re.findall(r"https://\S+", cell):
                    assert re.fullmatch(r"https://[A-Za-z0-9.-]+\.[a-z]{2,}(/\S*)?", url.rstrip(",;")), url


def test_arxiv_ids_are_real_months_and_unique(tables):
    ids = tables["methods"]["arxiv"].dropna()
    assert not ids.duplicated().any()
    for arxiv_id in ids:
        yymm, number = arxiv_id.split(".")
        assert 1 <= int(yymm[2:]) <= 12 and int(yymm[:2]) >= 7, arxiv_id
        assert len(number) == (4 if int(yymm) < 1501 else 5), arxiv_id


def test_bibkeys_resolve_without_duplicates(tables):
    own, ref = survey.bib_keys(SURVEY_BIB), survey.bib_keys(REFERENCES_BIB)
    assert len(own) == len(set(own))
    assert not set(own) & set(ref)
    used = set()
    for name in ("methods", "datasets", "metrics", "losses"):
        used |= set(tables[name]["bibkey"].dropna())
    known = set(own) | set(ref)
    assert used <= known, sorted(used - known)
    assert set(own) <= used, sorted(set(own) - used)  # no orphan entries
    assert {"prajwal2020lip", "zhang2023sadtalker"} <= used


def test_no_paper_has_two_bib_entries():
    """The same paper under two keys would be listed twice in the bibliography."""
    seen: dict[str, str] = {}
    for bib in (REFERENCES_BIB, SURVEY_BIB):
        for entry in re.split(r"^(?=@)", bib.read_text(encoding="utf-8"), flags=re.M)[1:]:
            key = re.match(r"@\w+\{([^,]+),", entry).group(1)
            title = re.search(r"^\s+title\s*= \{(.*)\},?$", entry, flags=re.M).group(1)
            norm = re.sub(r"[^a-z0-9]", "", title.lower())
            assert norm not in seen, f"{key} repeats {seen[norm]}: {title}"
            seen[norm] = key
    assert len(seen) > 120


def test_method_bibkeys_carry_the_method_year(tables):
    rows = tables["methods"].dropna(subset=["bibkey", "year"])
    for key, year in zip(rows["bibkey"], rows["year"]):
        assert re.fullmatch(r"[a-z]+(\d{4})[a-z0-9]+", key).group(1) == str(year), key


def test_survey_bib_entries_are_complete():
    text = SURVEY_BIB.read_text(encoding="utf-8")
    entries = re.findall(r"^@(\w+)\{([^,]+),\n(.*?)\n\}", text, flags=re.M | re.S)
    assert len(entries) == len(survey.bib_keys(SURVEY_BIB)) > 100
    for kind, key, body in entries:
        fields = dict(re.findall(r"^\s+(\w+)\s*= \{(.*)\},?$", body, flags=re.M))
        assert {"title", "author", "year"} <= set(fields), key
        assert fields["year"] in key and kind in {"article", "inproceedings"}, key


def test_results_refer_to_known_rows(tables):
    res = tables["results"]
    methods = set(tables["methods"]["name"]) | set(survey.RESULT_EXTRA_METHODS)
    assert set(res["method"]) <= methods, set(res["method"]) - methods
    assert set(res["dataset"]) <= set(tables["datasets"]["name"])
    assert set(res["metric"]) <= set(tables["metrics"]["name"])


def test_result_directions_match_metric_table(tables):
    direction = dict(zip(tables["metrics"]["name"], tables["metrics"]["direction"]))
    res = tables["results"]
    assert (res["metric"].map(direction) == res["direction"]).all()


def test_seed_snapshot_rows_are_present_and_unsourced(tables):
    res = tables["results"]
    seed = res[~res["sourced"]]
    rows = seed[["method", "dataset", "metric", "value"]].itertuples(index=False)
    assert {(m, d, k, round(v, 4)) for m, d, k, v in rows} == SEED_ROWS
    assert (seed["protocol_notes"] == survey.SEED_NOTE).all()
    assert not (res.loc[res["sourced"], "protocol_notes"] == survey.SEED_NOTE).any()


def test_sourced_results_cite_a_public_url(tables):
    res = tables["results"]
    for source in res.loc[res["sourced"], "source"]:
        assert re.search(r"https://\S+", source), source


def test_wav2lip_lrs2_rows_present(tables):
    res = tables["results"]
    lrs2 = res[(res["dataset"] == "LRS2") & res["method"].isin(["Wav2Lip", "Wav2Lip + GAN"])]
    assert {"LSE-D", "LSE-C", "FID"} <= set(lrs2["metric"])


@pytest.mark.parametrize("name", TABLES)
def test_data_card_documents_table(name, tables):
    card = (ROOT / "data" / "cards" / f"{name}.md").read_text(encoding="utf-8")
    df = tables[name]
    checked = re.search(r"Last checked: (\d{4}-\d{2}-\d{2})", card).group(1)
    assert checked == CHECK_DATES.get(name, checked) and checked >= OLDEST_CHECK, checked
    assert re.search(r"Rows: (\d+)", card).group(1) == str(len(df))
    assert int(re.search(r"Empty cells: (\d+)", card).group(1)) == int(df.isna().sum().sum())
    for col in survey.SCHEMAS[name]:
        assert f"| {col.name} |" in card, col.name


def test_load_table_rejects_unknown_name():
    with pytest.raises(BadInputError, match="unknown table"):
        survey.load_table("papers")


def test_load_table_rejects_missing_file_and_wrong_header(tmp_path):
    with pytest.raises(BadInputError, match="not found"):
        survey.load_table("metrics", data_dir=tmp_path)
    cols = [c.name for c in survey.SCHEMAS["metrics"]]
    (tmp_path / "metrics.csv").write_text(",".join(reversed(cols)) + "\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="differs from the schema"):
        survey.load_table("metrics", data_dir=tmp_path)


def test_load_table_reads_empty_cells_as_missing(tmp_path):
    cols = [c.name for c in survey.SCHEMAS["datasets"]]
    values = {"name": "Toy", "year": "2020", "clips": "12", "hours": "1.5", "emotion_labels": "no",
              "access": "public", "typical_use": "tests", "description": "a toy row",
              "source": "https://example.org"}
    row = [values.get(c, "") for c in cols]
    (tmp_path / "datasets.csv").write_text(",".join(cols) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    df = survey.load_table("datasets", data_dir=tmp_path)
    assert pd.isna(df.loc[0, "identities"]) and df.loc[0, "clips"] == 12 and df.loc[0, "hours"] == 1.5
    assert survey.check_table("datasets", df) == []


def test_dataset_chapters_exist(tables):
    """``used_in`` names book chapters: each must be a notebook listed in the table of contents."""
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    for name, cell in tables["datasets"][["name", "used_in"]].dropna().itertuples(index=False):
        for chapter in cell.split(" ; "):
            assert (ROOT / f"{chapter}.ipynb").is_file(), (name, chapter)
            assert f"file: {chapter}\n" in toc, (name, chapter)


def test_every_dataset_says_how_to_get_it(tables):
    ds = tables["datasets"]
    assert ds["how_to_get"].notna().all(), list(ds.loc[ds["how_to_get"].isna(), "name"])
    assert ds["description"].str.len().between(20, 140).all()


def test_no_dead_or_mirror_sources(tables):
    """Shut-down sites and mirrors are not sources; an archived Papers with Code listing must say so."""
    for name in ("datasets", "methods"):
        for cell in tables[name]["source"]:
            assert not any(dead in cell for dead in DEAD_SOURCES), (name, cell)
    for cell in tables["results"]["source"]:
        if "paperswithcode.com" in cell:
            assert "archived" in cell, cell
        assert not any(dead in cell for dead in DEAD_SOURCES[1:]), cell


def test_metric_and_loss_chapters_exist(tables):
    """``chapter`` names the book chapter that teaches a metric or loss: a notebook in the TOC."""
    toc = (ROOT / "_toc.yml").read_text()
    for name in ("metrics", "losses"):
        for row, chapter in tables[name][["name", "chapter"]].dropna().itertuples(index=False):
            assert (ROOT / "notebooks" / f"{chapter}.ipynb").is_file(), (name, row, chapter)
            assert f"file: notebooks/{chapter}\n" in toc, (name, row, chapter)
    assert tables["losses"]["chapter"].notna().sum() >= 15 and tables["metrics"]["chapter"].notna().sum() >= 15
