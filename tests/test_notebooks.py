"""The notebook contract, over every notebook in notebooks/, plus a papermill smoke run of each.

Contract: listed in _toc.yml; no outputs or execution counts; first cell a code cell tagged
``parameters`` that sets ``SMOKE = False``; the Colab badge and the first-run install cell generated
from _config.yml (thglib.book); a summary and exercises with hidden (dropdown) solutions.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml

from thglib.book import colab_badge, install_cell

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
PARTS = ["Introduction", "Taxonomy", "Datasets", "Metrics", "Losses", "Live demos",
         "Benchmarks and reproducibility", "Teaching", "References"]
IDS = [str(p.relative_to(ROOT / "notebooks")) for p in NOTEBOOKS]


def toc() -> dict:
    return yaml.safe_load((ROOT / "_toc.yml").read_text())


def toc_files(node) -> list[str]:
    out = []
    if isinstance(node, dict):
        if "file" in node:
            out.append(node["file"])
        for v in node.values():
            out += toc_files(v)
    elif isinstance(node, list):
        for v in node:
            out += toc_files(v)
    return out


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb"


def test_toc_parts_follow_the_plan_and_files_exist():
    t = toc()
    assert t["format"] == "jb-book"
    captions = [p["caption"] for p in t["parts"]]
    assert all(c in PARTS for c in captions), f"unknown part in _toc.yml: {captions}"
    assert captions == sorted(captions, key=PARTS.index), "parts out of the planned order"
    for part in t["parts"]:
        assert part.get("chapters"), f"part {part['caption']!r} is empty: list only real pages"
    for f in [t["root"]] + toc_files(t["parts"]):
        matches = [p for p in (ROOT / f).parent.glob(Path(f).name + ".*") if p.suffix in {".md", ".ipynb"}]
        assert matches, f"_toc.yml lists {f}, which does not exist"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_contract(path: Path):
    rel = path.relative_to(ROOT)
    assert rel.with_suffix("").as_posix() in toc_files(toc()), f"{rel} is not listed in _toc.yml"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"{rel} cell {i} has outputs: strip them (tools/sync_notebooks.py)"
            assert cell.execution_count is None, f"{rel} cell {i} has an execution count"

    first = nb.cells[0]
    assert first.cell_type == "code" and "parameters" in first.metadata.get("tags", []), \
        f"{rel}: the first cell must be a code cell tagged 'parameters'"
    assigns = {t.id: n.value.value for n in ast.parse(first.source).body if isinstance(n, ast.Assign)
               for t in n.targets if isinstance(t, ast.Name) and isinstance(n.value, ast.Constant)}
    assert assigns.get("SMOKE") is False, f"{rel}: the parameters cell must set SMOKE = False"

    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert colab_badge(rel) in markdown[0], f"{rel}: Colab badge missing or stale (tools/sync_notebooks.py)"
    codes = [c.source for c in nb.cells if c.cell_type == "code"]
    assert install_cell() in codes[:3], f"{rel}: first-run install cell missing or stale"

    text = "\n".join(markdown)
    assert re.search(r"^#\s+\S", markdown[0], re.M), f"{rel}: the first markdown cell needs a # title"
    assert re.search(r"^##\s+Summary", text, re.M), f"{rel}: needs a '## Summary' section"
    exercises = re.findall(r"```\{exercise\}", text)
    solutions = re.findall(r"```\{solution\}[^\n]*\n(?::[^\n]*\n)*", text)
    assert len(exercises) >= 2, f"{rel}: needs at least two exercises"
    assert len(solutions) == len(exercises), f"{rel}: every exercise needs a solution"
    assert all(":class: dropdown" in s for s in solutions), f"{rel}: solutions must be hidden (dropdown)"
    assert "{cite}" in text, f"{rel}: cite sources with {{cite}}"

    # d2l-style finish: objectives and prerequisites up front, summary then exercises at the end
    second = markdown[1] if len(markdown) > 1 else ""
    assert second.startswith("```{admonition} Learning objectives"), \
        f"{rel}: the markdown cell after the title must open with the 'Learning objectives' admonition"
    assert re.search(r"^- \S", second, re.M) and "**Prerequisites:**" in second, \
        f"{rel}: list the learning objectives as bullets and state **Prerequisites:**"
    headings = re.findall(r"^##\s+(.+)$", text, re.M)
    assert headings[-2:] == ["Summary", "Exercises"], f"{rel}: end with '## Summary' then '## Exercises'"
    labels = re.findall(r"```\{exercise\}[^\n]*\n:label: (\S+)", text)
    assert len(labels) == len(exercises) == len(set(labels)), f"{rel}: give every exercise a unique :label:"
    assert not re.search(r"\b[Ee]xercise \d+\b", text), \
        f"{rel}: refer to exercises by label ({{ref}}`label`), not by a hand-written number"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_in_smoke_mode(path: Path, tmp_path: Path):
    out = tmp_path / path.name
    papermill.execute_notebook(str(path), str(out), parameters={"SMOKE": True}, kernel_name="python3",
                               cwd=str(path.parent), progress_bar=False, execution_timeout=300)
    executed = nbformat.read(out, as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "SMOKE = True" in injected[0].source
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
