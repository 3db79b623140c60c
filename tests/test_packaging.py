"""Packaging promises: pyproject, environment.yml, README commands and CI agree with each other."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def name(req: str) -> str:
    return re.split(r"[<>=!~;\[ @]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_runtime_dependencies_have_lower_bounds_only():
    for req in PYPROJECT["project"]["dependencies"]:
        assert ">=" in req and "==" not in req and "<" not in req.replace("<=", ""), req


def test_user_listed_dependencies_are_declared():
    deps = {name(r) for r in PYPROJECT["project"]["dependencies"]}
    extras = {name(r) for rs in PYPROJECT["project"]["optional-dependencies"].values() for r in rs}
    wanted = {"jupyter-book", "jupyterlab", "ipywidgets", "torch", "opencv-python", "matplotlib",
              "seaborn", "pandas", "scikit-image", "face-alignment", "lpips", "papermill"}
    assert wanted <= deps | extras, wanted - (deps | extras)
    assert "torchvision" in deps, "torch must come in through torchvision"
    assert not any("headless" in d for d in deps | extras), "opencv-python only: headless collides"


def test_jupyter_book_is_pinned_below_2():
    book = PYPROJECT["project"]["optional-dependencies"]["book"]
    jb = next(r for r in book if name(r) == "jupyter-book")
    assert "<2" in jb and ">=1.0.4.post1" in jb


def test_environment_yml_lists_every_runtime_dependency():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = {name(r): r.replace(" ", "") for r in pip if not r.startswith("-e")}
    for req in PYPROJECT["project"]["dependencies"]:
        assert name(req) in listed, f"environment.yml misses {req}"
        assert listed[name(req)] == req.replace(" ", ""), f"{req} differs in environment.yml"
    assert any(r.startswith("-e .[") and "book" in r and "dev" in r for r in pip)


def test_readme_gives_the_two_commands_and_ci_calls_the_test_one():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^\s*(python3 dev\.py \w+)\s*$", readme, re.M)
    assert commands[:2] == ["python3 dev.py book", "python3 dev.py test"], commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert "dev.py test" in ci and "CI" in ci


def test_cli_entry_point_exists():
    assert PYPROJECT["project"]["scripts"]["thg"] == "thglib.cli:main"
    from thglib import cli

    assert callable(cli.main)


def test_bibliographies_parse_and_keys_are_unique():
    from pybtex.database import parse_file

    keys = []
    for bib in ("book/references.bib", "book/survey.bib"):
        keys += list(parse_file(str(ROOT / bib)).entries.keys())  # raises on any syntax error
    assert len(keys) == len({k.lower() for k in keys}), "a BibTeX key appears twice"
