"""``python -m thglib.teaching``: re-execute submitted assignment notebooks and tabulate their grades.

    python -m thglib.teaching questions [a1]
    python -m thglib.teaching grade alice.ipynb bob.ipynb [--csv grades.csv] [--timeout 600]
    python -m thglib.teaching grade --answers-only alice.ipynb

Each submission runs with papermill in its own kernel (``$THG_HEADLESS=1``) while every
:func:`~thglib.teaching.grade` call appends its result to a private JSON-lines file; a notebook
that stops with an error keeps the grades recorded before it, and later questions count as not
attempted. The grades come from this run, never from outputs saved in the notebook.
``--answers-only`` runs just the setup cells and the cells tagged ``student`` in this process
(:func:`~thglib.teaching.submission.grade_answers`), so nothing else a student added runs.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from .grader import questions
from .submission import grade_answers, run_submission


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    ap = argparse.ArgumentParser(prog="python -m thglib.teaching", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("questions", help="list the questions and their points")
    q.add_argument("assignment", nargs="?")
    g = sub.add_parser("grade", help="re-execute submissions and tabulate their grades")
    g.add_argument("notebooks", nargs="+", type=Path)
    g.add_argument("--csv", type=Path, help="also write one row per question here")
    g.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    g.add_argument("--answers-only", action="store_true",
                   help="run only the setup and answer cells, here, instead of the whole notebook")
    args = ap.parse_args(argv)
    if args.cmd == "questions":
        for qu in questions(args.assignment):
            print(f"{qu.id:7s} {qu.max_points:4g}  {qu.title}")
        return 0
    rows = []
    for nb in args.notebooks:
        if args.answers_only:
            try:
                totals, error = grade_answers(nb), ""
            except Exception as err:  # noqa: BLE001 - report and go on with the next submission
                totals, error = [], f"{type(err).__name__}: {err}"
        else:
            totals, error = run_submission(nb, args.timeout)
        print(f"== {nb}" + (f"  [stopped: {error}]" if error else ""))
        for t in totals:
            print(t)
            rows += [{"submission": str(nb), "question": r.question, "status": r.status, "points": r.points,
                      "max_points": r.max_points, "seed": r.seed} for r in t.results]
        if not totals:
            print("  no grade() call ran")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, ["submission", "question", "status", "points", "max_points", "seed"])
            w.writeheader()
            w.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
