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
]

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
YEARS = (2017, 2025)  # methods only; datasets may be older (GRID 2006, BIWI 2010)
ARXIV_RE = r"\d{4}\.\d{4,5}"
BIBKEY_RE = r"[a-z]+\d{4}[a-z0-9]+"
URL_RE = r"https://[^\s;,]+"
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
    Column("chapter", pattern=r"[a-z0-9-]+/[a-z0-9-]+"),
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
    "losses": (*_DESC, Column("direction", required=True, allowed=LOSS_DIRECTIONS), *_TAIL),
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
