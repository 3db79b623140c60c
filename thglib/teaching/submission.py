"""Grading submitted assignment notebooks: re-executed whole, or only their answer cells.

:func:`run_submission` re-executes a notebook with papermill in a fresh kernel while every
:func:`~thglib.teaching.grade` call appends its result to a private JSON-lines file.
:func:`grade_answers` runs only the setup cells (the code cells before the first answer) and the
cells tagged ``student`` in this process, then grades each answer named in the notebook's check
cells (``grade("a1.q1", mse)``): code a student added elsewhere in the notebook never runs.
"""

from __future__ import annotations

import json
import linecache
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from .grader import GRADES_ENV, AssignmentTotal, Check, GradeResult, grade, total

__all__ = ["run_submission", "grade_answers", "answer_cells"]

_CHECK = re.compile(r"""grade\(\s*["'](a\d+\.q\d+)["']\s*,\s*([A-Za-z_]\w*)\s*\)""")


def run_submission(path: str | Path, timeout: int = 600) -> tuple[list[AssignmentTotal], str]:
    """Execute one notebook; its totals (one per assignment it graded) and an error line ("" if none)."""
    import papermill

    path, error = Path(path), ""
    with tempfile.TemporaryDirectory() as td:
        log = Path(td) / "grades.jsonl"
        old = {k: os.environ.get(k) for k in (GRADES_ENV, "THG_HEADLESS")}
        os.environ.update({GRADES_ENV: str(log), "THG_HEADLESS": "1"})
        try:
            papermill.execute_notebook(str(path), str(Path(td) / "out.ipynb"), kernel_name="python3",
                                       cwd=str(path.resolve().parent), progress_bar=False,
                                       execution_timeout=timeout)
        except Exception as err:  # noqa: BLE001 - a broken submission is reported, not fatal
            lines = str(err).strip().splitlines()
            error = f"{type(err).__name__}: {lines[-1][:200] if lines else ''}"
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        results = []
        if log.exists():
            for line in log.read_text().splitlines():
                d = json.loads(line)
                d["checks"] = tuple(Check(**c) for c in d["checks"])
                results.append(GradeResult(**d))
    assignments = sorted({r.question.split(".")[0] for r in results})
    return [total(a, results) for a in assignments], error


def answer_cells(path: str | Path) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """(setup sources, answer sources, [(question, answer name)]) of an assignment notebook."""
    import nbformat

    nb = nbformat.read(Path(path), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    is_answer = ["student" in c.metadata.get("tags", []) for c in code]
    if not any(is_answer):
        raise ValueError(f"{path}: no cell tagged 'student'")
    first = is_answer.index(True)
    checks = [m.groups() for c in code for m in _CHECK.finditer(c.source)]
    return ([c.source for c in code[1:first]], [c.source for c, a in zip(code, is_answer) if a],
            list(dict.fromkeys(checks)))


def grade_answers(path: str | Path, *, smoke: bool = False) -> list[AssignmentTotal]:
    """Run the setup and answer cells of ``path`` in a fresh namespace and grade every answer."""
    setup, answers, checks = answer_cells(path)
    ns: dict[str, Any] = {"SMOKE": smoke, "__name__": "__submission__"}
    cwd = Path.cwd()
    os.chdir(Path(path).resolve().parent)
    try:
        for i, src in enumerate(setup + answers):
            name = f"<{Path(path).name} cell {i}>"
            linecache.cache[name] = (len(src), None, src.splitlines(True), name)  # inspect.getsource works
            exec(compile(src, name, "exec"), ns)  # noqa: S102 - running the submission is the point
        results = [grade(q, ns.get(var, ...), record=False) for q, var in checks]
    finally:
        os.chdir(cwd)
    return [total(a, results) for a in sorted({q.split(".")[0] for q, _ in checks})]
