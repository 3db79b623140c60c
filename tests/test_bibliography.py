"""Quality checks for the two bibliographies rendered by sphinxcontrib-bibtex (book/references.bib, book/survey.bib).

Every entry must carry its real author list (never "and others"), a title, a four-digit year that is not repeated
in the venue name, a venue or a resolvable identifier, clean https URLs, and titles whose acronyms / mixed-case
names / digit-letter words are brace-protected (pybtex sentence-cases titles, so "LRS3-TED" would otherwise render
as "Lrs3-ted").
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parents[1]
BIB_FILES = ("book/references.bib", "book/survey.bib")
VENUE_FIELDS = ("journal", "booktitle", "publisher", "school", "institution", "howpublished")
ID_FIELDS = ("url", "eprint", "doi")

DATABASES = {name: parse_file(str(ROOT / name)) for name in BIB_FILES}
ENTRIES = [(name, key, entry) for name, db in DATABASES.items() for key, entry in db.entries.items()]
IDS = [f"{Path(name).stem}:{key}" for name, key, _ in ENTRIES]


def _field(entry, name: str) -> str:
    """Case-insensitive field lookup (pybtex keeps the spelling used in the file)."""
    for key, value in entry.fields.items():
        if key.lower() == name:
            return value
    return ""


def _unprotected_words(title: str) -> list[str]:
    """Alphanumeric runs outside braces that BibTeX would lowercase but should not.

    A run needs protection when it has two or more capital letters (GAN, NeRF, LRS3) or mixes digits with letters
    (3D, X2Face). Runs are split on anything that is not a letter or digit, so "Audio-Visual" is two harmless runs.
    """
    bad, depth, run = [], 0, ""

    def flush(word: str) -> None:
        if word and (sum(c.isupper() for c in word) >= 2 or (re.search(r"\d", word) and re.search(r"[A-Za-z]", word))):
            bad.append(word)

    i = 0
    while i < len(title):
        ch = title[i]
        if ch == "\\" and depth == 0:  # a LaTeX command such as \& or \'e: skip the command name
            flush(run)
            run = ""
            i += 1
            while i < len(title) and title[i].isalpha():
                i += 1
            continue
        if ch == "{":
            flush(run)
            run = ""
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and ch.isalnum() and ch.isascii():
            run += ch
        else:
            if depth == 0:
                flush(run)
            run = ""
        i += 1
    flush(run)
    return bad


def test_both_bibliographies_have_entries():
    for name, db in DATABASES.items():
        assert len(db.entries) > 0, f"{name}: no entries parsed"


def test_no_placeholder_author_lists_in_raw_text():
    for name in BIB_FILES:
        for lineno, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), 1):
            if re.match(r"\s*(author|editor)\s*=", line, flags=re.I):
                assert not re.search(r"\band\s+others\b", line, flags=re.I), f"{name}:{lineno}: 'and others' in {line.strip()}"


@pytest.mark.parametrize(("name", "key", "entry"), ENTRIES, ids=IDS)
def test_entry_has_real_authors(name, key, entry):
    authors = entry.persons.get("author", [])
    editors = entry.persons.get("editor", [])
    corporate = _field(entry, "organization") or _field(entry, "institution")
    # An edited volume (@book/@proceedings) is credited to its editors.
    assert authors or corporate or (entry.type in {"book", "proceedings"} and editors), (
        f"{key}: field 'author' is empty (and no organization/institution)"
    )
    for person in list(authors) + list(editors):
        assert str(person).strip().lower() not in {"others", "et al", "et al."}, f"{key}: field 'author' contains 'others'"
        assert person.last_names, f"{key}: field 'author' has a person without a surname: {person}"


@pytest.mark.parametrize(("name", "key", "entry"), ENTRIES, ids=IDS)
def test_entry_has_title_year_and_venue(name, key, entry):
    assert _field(entry, "title").strip(), f"{key}: field 'title' is missing"
    year = _field(entry, "year").strip()
    assert re.fullmatch(r"\d{4}", year), f"{key}: field 'year' is not a 4-digit year: {year!r}"
    venue = [f for f in VENUE_FIELDS + ID_FIELDS if _field(entry, f).strip()]
    assert venue, f"{key}: no venue field ({', '.join(VENUE_FIELDS)}) and no url/eprint/doi"


@pytest.mark.parametrize(("name", "key", "entry"), ENTRIES, ids=IDS)
def test_year_is_not_repeated_in_venue(name, key, entry):
    year = _field(entry, "year").strip()
    for field in ("booktitle", "journal"):
        value = _field(entry, field)
        assert not re.search(rf"(?<!\d){re.escape(year)}(?!\d)", value), f"{key}: field '{field}' repeats the year: {value!r}"
        assert not re.search(r"'\d\d\b", value), f"{key}: field '{field}' carries a two-digit year: {value!r}"


@pytest.mark.parametrize(("name", "key", "entry"), ENTRIES, ids=IDS)
def test_urls_are_clean(name, key, entry):
    url = _field(entry, "url")
    if url:
        assert url.startswith("https://"), f"{key}: field 'url' does not start with https://: {url!r}"
        assert not re.search(r"\s", url), f"{key}: field 'url' contains whitespace: {url!r}"
        assert "paperswithcode.com" not in url, f"{key}: field 'url' points to paperswithcode.com: {url!r}"
    for field in ("howpublished", "note"):
        assert "paperswithcode.com" not in _field(entry, field), f"{key}: field '{field}' points to paperswithcode.com"
    doi = _field(entry, "doi")
    if doi:
        assert re.fullmatch(r"10\.\d{4,9}/\S+", doi), f"{key}: field 'doi' is not a bare DOI (10.xxxx/...): {doi!r}"
    eprint = _field(entry, "eprint")
    if eprint:
        assert re.fullmatch(r"\d{4}\.\d{4,5}", eprint), f"{key}: field 'eprint' is not an arXiv identifier: {eprint!r}"


@pytest.mark.parametrize(("name", "key", "entry"), ENTRIES, ids=IDS)
def test_title_capitalisation_is_protected(name, key, entry):
    title = _field(entry, "title")
    bad = _unprotected_words(title)
    assert not bad, f"{key}: field 'title' has unbraced words {bad} (write e.g. {{{bad[0]}}}): {title!r}"


def test_capitalisation_checker_catches_and_accepts():
    assert _unprotected_words("LRS3-TED: a dataset") == ["LRS3", "TED"]
    assert _unprotected_words("Learning 3D Faces with GANs") == ["3D", "GANs"]
    assert _unprotected_words("{LRS3-TED}: a {3D} dataset for {GANs}") == []
    assert _unprotected_words("Audio-Visual Speech, Metric \\& Challenges in Real-Time") == []
    assert _unprotected_words("Version 2.1 of 300 Faces") == []
