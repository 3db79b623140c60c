"""The survey's substance as typed tables: methods, datasets, results, metrics and losses.

Each table is a UTF-8 CSV under ``data/`` with a data card in ``data/cards/<table>.md``.
:data:`SCHEMAS` is the single description of every column (type, allowed categories,
pattern); the tests and the notebooks share it.  An empty cell means "not verified",
never "zero" or "none": it loads as ``<NA>``.

>>> from thglib.survey import load_table
>>> methods = load_table("methods")
>>> methods.groupby("paradigm").size()            # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import BadInputError

__all__ = [
    "Column",
    "SCHEMAS",
    "REQUIRED_METHODS",
    "RESULT_EXTRA_METHODS",
    "SEED_NOTE",
    "DATA_DIR",
    "table_path",
    "load_table",
    "check_table",
    "bib_keys",
    "NOT_LABELLED",
    "FILTERS",
    "filter_methods",
    "category_counts",
    "resolution_short_side",
    "provenance",
    "metric_spread",
]

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
YEARS = (2017, 2025)  # methods only; datasets may be older (GRID 2006, BIWI 2010)
ARXIV_RE = r"\d{4}\.\d{4,5}"
BIBKEY_RE = r"[a-z]+\d{4}[a-z0-9]+"
URL_RE = r"https://[^\s;,]+"
#: datasets.used_in: book chapters (notebook paths without ".ipynb") joined by " ; ".
USED_IN_RE = r"notebooks/[a-z0-9_/-]+(?: ; notebooks/[a-z0-9_/-]+)*"
SEED_NOTE = "unsourced sample value from the project seed; not from a paper"

MODALITIES = ("audio", "video", "image", "text", "multimodal")
TASKS = ("lip-sync", "one-shot-portrait", "person-specific-head", "3d-mesh")
REPRESENTATIONS = ("2d-warping", "landmarks", "3dmm", "nerf", "3dgs", "latent", "mesh")
PARADIGMS = ("gan", "vae", "diffusion", "transformer", "regression", "flow")
IDENTITY = ("one-shot", "few-shot", "person-specific")
EMOTION = ("yes", "no", "text")
ACCESS = ("public", "on-request", "urls-only", "restricted")
METRIC_DIRECTIONS = ("higher", "lower", "closer-to-real", "closer-to-zero")
LOSS_DIRECTIONS = ("lower", "minimax")


@dataclass(frozen=True)
class Column:
    """One CSV column: ``kind`` is str, int, float or bool; ``allowed`` lists categories;
    ``pattern`` is a full-match regex; ``urls`` means one or more https URLs joined by " ; "."""

    name: str
    kind: str = "str"
    required: bool = False
    allowed: tuple[str, ...] | None = None
    pattern: str | None = None
    urls: bool = False


_DESC = (Column("name", required=True), Column("definition", required=True))
_TAIL = (
    Column("measures", required=True),
    Column("misses", required=True),
    Column("introduced_by"),
    Column("bibkey", pattern=BIBKEY_RE),
    Column("chapter", pattern=r"[a-z0-9_-]+/[a-z0-9_-]+"),
    Column("source", required=True, urls=True),
)

SCHEMAS: dict[str, tuple[Column, ...]] = {
    "methods": (
        Column("name", required=True),
        Column("year", "int"),
        Column("venue"),
        Column("arxiv", pattern=ARXIV_RE),
        Column("doi", pattern=r"10\.\d{4,9}/\S+"),
        Column("bibkey", pattern=BIBKEY_RE),
        Column("driving_modality", required=True, allowed=MODALITIES),
        Column("task", allowed=TASKS),
        Column("representation", allowed=REPRESENTATIONS),
        Column("paradigm", allowed=PARADIGMS),
        Column("identity_setting", allowed=IDENTITY),
        Column("code_url", urls=True),
        Column("source", required=True, urls=True),
    ),
    "datasets": (
        Column("name", required=True),
        Column("year", "int"),
        Column("identities", "int"),
        Column("clips", "int"),
        Column("hours", "float"),
        Column("resolution"),
        Column("fps", "float"),
        Column("languages"),
        Column("emotion_labels", allowed=EMOTION),
        Column("licence"),
        Column("access", allowed=ACCESS),
        Column("typical_use", required=True),
        Column("description", required=True),
        Column("how_to_get"),
        Column("used_in", pattern=USED_IN_RE),
        Column("bibkey", pattern=BIBKEY_RE),
        Column("source", required=True, urls=True),
    ),
    "results": (
        Column("method", required=True),
        Column("dataset", required=True),
        Column("metric", required=True),
        Column("value", "float", required=True),
        Column("direction", required=True, allowed=METRIC_DIRECTIONS),
        Column("source", required=True),
        Column("protocol_notes", required=True),
        Column("sourced", "bool", required=True),
    ),
    "metrics": (*_DESC, Column("direction", required=True, allowed=METRIC_DIRECTIONS), *_TAIL),
    "losses": (*_DESC, Column("direction", required=True, allowed=LOSS_DIRECTIONS), *_TAIL,
               Column("method"), Column("weight"), Column("source_file")),
}

_SEED_METHODS = (
    "Synthesizing Obama", "LMGG", "ATVGnet", "Wav2Lip", "Wav2Lip-HD", "TalkLip", "SyncTalk",
    "VideoReTalking", "HyperLips", "StyleSync", "StyleTalk", "GeneFace++", "Real3DPortrait", "DreamTalk",
    "EmoGen", "StyleTalker", "SadTalker", "Audio2Head", "StyleAvatar", "FaceFormer", "LipsFormer", "VOCA",
    "DiffTalk", "PIRender", "FOMM", "face-vid2vid", "EMO", "VASA-1", "Hallo", "EchoMimic", "LivePortrait",
    "MuseTalk", "LatentSync", "AniPortrait", "GaussianTalker", "ER-NeRF", "AD-NeRF", "MakeItTalk", "PC-AVS",
    "EAMM", "MEAD (baseline)", "GeneFace", "RAD-NeRF", "DINet", "IP-LAP", "PD-FGC", "EAT", "Hallo2", "Hallo3",
    "Loopy", "OmniHuman", "X-Portrait", "MegaPortraits", "DaGAN", "TPSMM", "LIA", "Thin-Plate Spline",
    "MCNet", "FADM", "DAE-Talker", "CodeTalker", "SelfTalk", "EmoTalk", "TalkSHOW", "Audio2Photoreal",
    "MEMO", "Sonic", "JoyVASA", "V-Express", "AniTalker", "EDTalk",
)
_ALIASES = {
    "Real3DPortrait": "Real3D-Portrait",
    "Thin-Plate Spline": "TPSMM",
    "OmniHuman": "OmniHuman-1",
    "LipsFormer": "LipFormer",  # no talking-head paper is titled "LipsFormer"; see data/cards/methods.md
}
#: Method names the project seed asks for -> the row name used in methods.csv.
REQUIRED_METHODS: dict[str, str] = {n: _ALIASES.get(n, n) for n in _SEED_METHODS}

#: Result rows may name these besides methods.csv rows (variants and references, not methods).
RESULT_EXTRA_METHODS: dict[str, str] = {
    "Wav2Lip + GAN": "Wav2Lip trained with its visual-quality discriminator (same paper, Table 1)",
    "Real videos": "ground-truth videos scored with the same metric, as a reference level",
}

_DTYPES = {"str": "string", "int": "Int64", "float": "Float64", "bool": "boolean"}


def table_path(name: str, data_dir: str | Path | None = None) -> Path:
    """Path of table ``name`` (a key of :data:`SCHEMAS`) under ``data_dir`` (default: repo ``data/``)."""
    if name not in SCHEMAS:
        raise BadInputError("name", f"unknown table {name!r}", f"Use one of: {', '.join(SCHEMAS)}")
    path = Path(data_dir) if data_dir is not None else DATA_DIR
    return path / f"{name}.csv"


def load_table(name: str, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Read table ``name`` with the dtypes of :data:`SCHEMAS` (string, Int64, Float64, boolean).

    Empty cells become ``<NA>``.  Raises :class:`BadInputError` when the file is missing
    or its header differs from the schema (names and order).
    """
    path = table_path(name, data_dir)
    if not path.is_file():
        raise BadInputError(f"'{path}'", "table file not found", "Run from the thg-book checkout or pass data_dir=")
    cols = SCHEMAS[name]
    header = pd.read_csv(path, nrows=0).columns.tolist()
    if header != [c.name for c in cols]:
        raise BadInputError(f"'{path}'", f"header {header} differs from the schema", "See thglib.survey.SCHEMAS")
    dtypes = {c.name: _DTYPES[c.kind] for c in cols}
    return pd.read_csv(path, dtype=dtypes, true_values=["true"], false_values=["false"], encoding="utf-8")


def _cell_problems(col: Column, value: object) -> list[str]:
    """Problems of one non-empty cell against its column rule."""
    text = str(value)
    if col.allowed is not None and text not in col.allowed:
        return [f"{text!r} not in {col.allowed}"]
    if col.pattern is not None and not re.fullmatch(col.pattern, text):
        return [f"{text!r} does not match {col.pattern}"]
    if col.urls and not all(re.fullmatch(URL_RE, u) for u in text.split(" ; ")):
        return [f"{text!r} is not https URLs joined by ' ; '"]
    return []


def check_table(name: str, df: pd.DataFrame) -> list[str]:
    """Schema problems of ``df`` as table ``name``: required cells, categories, patterns, URLs,
    unique names and (methods) years in 2017-2025.  An empty list means the table is valid."""
    problems = []
    for col in SCHEMAS[name]:
        for i, value in df[col.name].items():
            if pd.isna(value):
                problems += [f"{name} row {i} {col.name}: empty"] if col.required else []
                continue
            problems += [f"{name} row {i} {col.name}: {p}" for p in _cell_problems(col, value)]
    if "name" in df and df["name"].duplicated().any():
        problems.append(f"{name}: duplicate names {sorted(df.loc[df['name'].duplicated(), 'name'])}")
    if name == "methods":
        bad = df["year"].dropna().loc[lambda y: (y < YEARS[0]) | (y > YEARS[1])]
        problems += [f"methods row {i} year {y} outside {YEARS}" for i, y in bad.items()]
    return problems


def bib_keys(*paths: str | Path) -> list[str]:
    """Entry keys of BibTeX files, in file order (duplicates kept so callers can detect them)."""
    keys: list[str] = []
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")
        keys += re.findall(r"^@\w+\s*\{\s*([^,\s]+)\s*,", text, flags=re.M)
    return keys


# ---------------------------------------------------------------------------------------------
# Queries over the tables (used by the survey chapters and thglib.survey_plots)
# ---------------------------------------------------------------------------------------------

#: Label that stands for an empty ("not verified") category cell in counts and plots.
NOT_LABELLED = "(not labelled)"

#: ``filter_methods`` keyword -> methods.csv column.
FILTERS: dict[str, str] = {
    "modality": "driving_modality",
    "task": "task",
    "representation": "representation",
    "paradigm": "paradigm",
    "identity": "identity_setting",
}


def _allowed(table: str, column: str) -> tuple[str, ...] | None:
    """Allowed categories of ``table.column`` from :data:`SCHEMAS` (``None`` when free text)."""
    return {c.name: c.allowed for c in SCHEMAS[table]}[column]


def filter_methods(methods: pd.DataFrame, *, years: tuple[int, int] | None = None,
                   **categories: str | list[str] | tuple[str, ...] | None) -> pd.DataFrame:
    """Rows of ``methods`` that match every given filter (an AND over filters, an OR within one).

    ``categories`` are keywords of :data:`FILTERS` (``modality``, ``task``, ``representation``,
    ``paradigm``, ``identity``), each one category or a list of them; ``None`` means "any".
    ``years=(first, last)`` keeps ``first <= year <= last`` and drops undated rows.
    Unknown keywords or categories raise :class:`BadInputError`.
    """
    keep = pd.Series(True, index=methods.index)
    for key, wanted in categories.items():
        if key not in FILTERS:
            raise BadInputError(key, "unknown filter", f"Use one of: {', '.join(FILTERS)}")
        if wanted is None:
            continue
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        allowed = _allowed("methods", FILTERS[key])
        bad = [w for w in wanted if w not in allowed]
        if bad:
            raise BadInputError(key, f"unknown categories {bad}", f"Use some of: {', '.join(allowed)}")
        keep &= methods[FILTERS[key]].isin(wanted).fillna(False).astype(bool)
    if years is not None:
        first, last = years
        if first > last:
            raise BadInputError("years", f"empty range {years}", "Pass (first, last) with first <= last")
        keep &= methods["year"].between(first, last).fillna(False).astype(bool)
    return methods[keep]


def category_counts(table: pd.DataFrame, rows: str, cols: str, name: str = "methods") -> pd.DataFrame:
    """Contingency table ``rows x cols`` of row counts, e.g. modality x representation.

    For columns with categories in :data:`SCHEMAS` every allowed category appears (zeros kept, in
    schema order); other columns (e.g. ``year``) list the values present, sorted.  Empty cells are
    counted under :data:`NOT_LABELLED`, so the table always sums to ``len(table)``.
    """
    def labels(column: str) -> tuple[pd.Series, list]:
        if column not in table:
            raise BadInputError(column, f"not a column of the {name} table", f"Use one of: {list(table.columns)}")
        values = table[column].astype(object).where(table[column].notna(), NOT_LABELLED)
        allowed = _allowed(name, column) if name in SCHEMAS else None
        order = list(allowed) if allowed else sorted(v for v in values.unique() if v != NOT_LABELLED)
        return values, order + ([NOT_LABELLED] if (values == NOT_LABELLED).any() else [])

    (r, r_order), (c, c_order) = labels(rows), labels(cols)
    counts = pd.crosstab(r, c).reindex(index=r_order, columns=c_order, fill_value=0)
    counts.index.name, counts.columns.name = rows, cols
    return counts


def resolution_short_side(text: str | None) -> float:
    """Short side in pixels of the first frame size stated in a free-text ``resolution`` cell.

    ``"1280x720 (720p)"`` -> 720, ``"720p/1080p source videos"`` -> 720, ``"at least 512x512"``
    -> 512; ``nan`` when no size is stated (e.g. ``"3D face scans"``) or the cell is empty.
    """
    if text is None or pd.isna(text):
        return float("nan")
    match = re.search(r"(\d{2,5})\s*[x×]\s*(\d{2,5})|(\d{3,4})p\b", str(text))
    if match is None:
        return float("nan")
    if match.group(3):
        return float(match.group(3))
    return float(min(int(match.group(1)), int(match.group(2))))


def provenance(results: pd.DataFrame) -> pd.Series:
    """Where each ``results`` row's number comes from, as one of five labels.

    Rules, first match wins: ``sourced`` false -> ``"unsourced (project seed)"``; notes saying
    "not a paper number" -> ``"re-run by a user (not a paper)"``; source or notes saying "quoted"
    -> ``"paper, quoted in an issue"``; source naming Papers with Code -> ``"paper, via Papers with
    Code listing"``; otherwise ``"paper"``.
    """
    def label(row: pd.Series) -> str:
        text = f"{row['source']} {row['protocol_notes']}"
        if not bool(row["sourced"]):
            return "unsourced (project seed)"
        if "not a paper number" in text:
            return "re-run by a user (not a paper)"
        if "quoted" in text:
            return "paper, quoted in an issue"
        if "Papers with Code" in text:
            return "paper, via Papers with Code listing"
        return "paper"

    return results.apply(label, axis=1).rename("provenance")


def metric_spread(results: pd.DataFrame, *, sourced_only: bool = True, min_values: int = 2) -> pd.DataFrame:
    """Spread of the values reported for the same (method, dataset, metric) by different sources.

    One row per group with at least ``min_values`` values: ``n``, ``min``, ``max``,
    ``range = max - min`` and ``relative range (%) = 100 * range / mean``.  Unsourced seed rows
    are left out unless ``sourced_only=False``.
    """
    rows = results[results["sourced"].astype(bool)] if sourced_only else results
    keys = ["method", "dataset", "metric"]
    grouped = rows.astype({"value": float}).groupby(keys, sort=True)["value"]
    out = grouped.agg(n="size", min="min", max="max", mean="mean")
    out = out[out["n"] >= min_values].copy()
    out["range"] = out["max"] - out["min"]
    out["relative range (%)"] = 100 * out["range"] / out["mean"].abs()
    return out.drop(columns="mean").reset_index()
