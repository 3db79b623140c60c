"""Autograded assignments for teaching with the book (``notebooks/teaching/``).

>>> from thglib.teaching import grade, total
>>> grade("a1.q1", my_mse)        # hidden checks; a stub scores "not attempted: 0/2 points"
>>> total("a1")                    # points per question and the sum

Questions: ``a1.*`` pixel metrics (:mod:`.a1_pixel`), ``a2.*`` lip sync (:mod:`.a2_lipsync`),
``a3.*`` metric sensitivity (:mod:`.a3_sensitivity`). ``python -m thglib.teaching grade
submission.ipynb ...`` re-executes submitted notebooks and tabulates their grades.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .grader import (QUESTIONS, AssignmentTotal, Check, GradeResult, NotAttempted, Question, grade, implemented,
                     questions, reset, total)

__all__ = ["grade", "total", "questions", "reset", "implemented", "GradeResult", "AssignmentTotal", "Check",
           "Question", "QUESTIONS", "NotAttempted", "question_table"]

if TYPE_CHECKING:
    import pandas as pd


def question_table(assignment: str) -> pd.DataFrame:
    """The questions of ``assignment`` and their points, as a table (for the top of a notebook)."""
    import pandas as pd

    qs = questions(assignment)
    return pd.DataFrame([{"question": q.id, "task": q.title, "points": q.max_points} for q in qs]).set_index("question")
