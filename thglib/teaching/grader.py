"""The autograder behind the book's assignments: questions, hidden checks, results, totals.

A question (``"a1.q2"``) is graded by hidden checks that run at grading time: property tests on
random inputs drawn from a fresh seed, comparisons with ``thglib``'s own implementation or with
THG-Synth's exact ground truth, and salted SHA-256 digests of rounded answers. No check prints
an expected value; a failed check says what kind of mistake it looks like.

An untouched stub (a function that raises :class:`NotImplementedError` or returns ``None``, or the
value ``...``) is *not attempted* and scores 0 without raising, so assignment notebooks execute in
the book build. An answer that raises anything else scores 0 for that check, with the error named.

Set ``$THG_GRADES_FILE`` to a path and every :func:`grade` call also appends its result there as one
JSON line (what ``python -m thglib.teaching grade`` reads back).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["Check", "GradeResult", "AssignmentTotal", "Question", "QUESTIONS", "register", "grade", "total",
           "questions", "reset", "implemented", "probe", "digest", "number_digests", "number_check", "text_check",
           "NotAttempted"]

Status = Literal["graded", "not attempted"]
GRADES_ENV = "THG_GRADES_FILE"


class NotAttempted(Exception):
    """Raised inside a check when the answer is still the stub."""


@dataclass(frozen=True)
class Check:
    """One hidden test: its name, the points it gave out of ``max_points``, and a message."""

    name: str
    points: float
    max_points: float
    message: str = ""

    @property
    def passed(self) -> bool:
        """True when the check gave all its points."""
        return self.points >= self.max_points


@dataclass(frozen=True)
class GradeResult:
    """The grade of one question: status, points out of ``max_points``, per-check messages, and the
    seed of the random inputs (``grade(..., seed=result.seed)`` replays them)."""

    question: str
    title: str
    status: Status
    points: float
    max_points: float
    checks: tuple[Check, ...] = ()
    seed: int | None = None

    def __str__(self) -> str:
        if self.status == "not attempted":
            return f"{self.question} {self.title}: not attempted: 0/{_num(self.max_points)} points"
        lines = [f"{self.question} {self.title}: {_num(self.points)}/{_num(self.max_points)} points (seed {self.seed})"]
        for c in self.checks:
            mark = "pass" if c.passed else ("part" if c.points > 0 else "FAIL")
            lines.append(f"  [{mark}] {c.name} ({_num(c.points)}/{_num(c.max_points)})"
                         + (f": {c.message}" if c.message else ""))
        return "\n".join(lines)

    def __repr__(self) -> str:  # the notebook shows this as plain text
        return str(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the result (checks included)."""
        return asdict(self)


@dataclass(frozen=True)
class AssignmentTotal:
    """Points per question of one assignment and their sum; questions never graded count as not attempted."""

    assignment: str
    results: tuple[GradeResult, ...]

    @property
    def points(self) -> float:
        """Sum of the points of all questions."""
        return float(sum(r.points for r in self.results))

    @property
    def max_points(self) -> float:
        """Sum of the maximum points of all questions."""
        return float(sum(r.max_points for r in self.results))

    def __str__(self) -> str:
        width = max(len(f"{r.question} {r.title}") for r in self.results)
        rows = [f"  {r.question + ' ' + r.title:<{width}}  "
                + (f"{_num(r.points):>4}/{_num(r.max_points)}" if r.status == "graded"
                   else f"   0/{_num(r.max_points)} (not attempted)") for r in self.results]
        return "\n".join([f"Assignment {self.assignment}: {_num(self.points)}/{_num(self.max_points)} points", *rows])

    def __repr__(self) -> str:
        return str(self)


@dataclass(frozen=True)
class Question:
    """A registered question: ``run(answer, rng)`` returns its checks (it may raise :class:`NotAttempted`)."""

    id: str
    title: str
    max_points: float
    run: Callable[[Any, np.random.Generator], list[Check]] = field(repr=False)


QUESTIONS: dict[str, Question] = {}
_BOOK: dict[str, GradeResult] = {}


def _num(x: float) -> str:
    return f"{x:g}"


def register(qid: str, title: str, max_points: float) -> Callable[[Callable], Callable]:
    """Decorator: register ``run(answer, rng) -> list[Check]`` as question ``qid``."""
    def deco(run: Callable[[Any, np.random.Generator], list[Check]]) -> Callable:
        QUESTIONS[qid] = Question(qid, title, float(max_points), run)
        return run
    return deco


def _load_all() -> None:
    from . import a1_pixel, a2_lipsync, a3_sensitivity  # noqa: F401  (registration side effect)


def questions(assignment: str | None = None) -> list[Question]:
    """The registered questions (of one assignment, e.g. ``"a1"``), in order."""
    _load_all()
    return [q for k, q in QUESTIONS.items() if assignment is None or k.split(".")[0] == assignment]


def is_stub(answer: Any) -> bool:
    """True for the untouched stub values ``...`` and ``None``."""
    return answer is ... or answer is None


def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the student's function; a stub (NotImplementedError, or ``None``/``...`` returned) raises
    :class:`NotAttempted`."""
    if is_stub(fn):
        raise NotAttempted
    if not callable(fn):
        raise TypeError(f"expected a function, got {type(fn).__name__}")
    try:
        out = fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted from None
    if is_stub(out):
        raise NotAttempted
    return out


def probe(fn: Any, *args: Any, **kwargs: Any) -> None:
    """Raise :class:`NotAttempted` if ``fn`` is a stub; any other error on these inputs is ignored
    (the hidden checks report it)."""
    try:
        call(fn, *args, **kwargs)
    except NotAttempted:
        raise
    except Exception:  # noqa: BLE001 - an attempt that fails here fails the checks too
        pass


def implemented(fn: Any, *args: Any, **kwargs: Any) -> bool:
    """True when ``fn(*args, **kwargs)`` runs and returns something other than a stub value."""
    try:
        call(fn, *args, **kwargs)
    except NotAttempted:
        return False
    except Exception:  # noqa: BLE001 - a wrong answer is still an attempt
        return True
    return True


def digest(qid: str, text: str) -> str:
    """Salted SHA-256 of a normalised answer (the salt is the question id)."""
    return hashlib.sha256(f"thg-book:{qid}:{text}".encode()).hexdigest()


def number_digests(qid: str, value: float, decimals: int) -> set[str]:
    """Digests of ``value`` rounded to ``decimals`` and of its two neighbours (tolerance of one unit)."""
    step = 10.0 ** -decimals
    return {digest(qid, f"{round(value + k * step, decimals):.{decimals}f}") for k in (-1, 0, 1)}


def number_check(qid: str, name: str, points: float, answer: Any, decimals: int, ok: frozenset[str] | set[str],
                 mistakes: dict[str, str] | None = None) -> Check:
    """Full points when the digest of ``answer`` rounded to ``decimals`` is in ``ok``; otherwise the hint
    of a known mistake (``mistakes``: digest -> message) or "incorrect". Never reveals the value."""
    text = f"{round(as_number(answer), decimals):.{decimals}f}"
    d = digest(qid, text)
    if d in ok:
        return Check(name, points, points)
    return Check(name, 0.0, points, (mistakes or {}).get(d, "incorrect"))


def text_check(qid: str, name: str, points: float, answer: Any, ok: frozenset[str] | set[str],
               mistakes: dict[str, str] | None = None) -> Check:
    """As :func:`number_check` for a word: compared lower-case, spaces and hyphens as underscores."""
    if not isinstance(answer, str):
        raise TypeError(f"expected a string, got {type(answer).__name__}")
    d = digest(qid, normalise_text(answer))
    if d in ok:
        return Check(name, points, points)
    return Check(name, 0.0, points, (mistakes or {}).get(d, "incorrect"))


def normalise_text(answer: str) -> str:
    """``" Audio-Offset "`` -> ``"audio_offset"``."""
    return re.sub(r"[\s\-]+", "_", answer.strip().lower()).strip("_\"'`")


def as_number(answer: Any) -> float:
    """The answer as a finite float, or a TypeError naming what it was."""
    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, (int, float, np.integer, np.floating)):
        raise TypeError(f"expected a number, got {type(answer).__name__}")
    x = float(answer)
    if not math.isfinite(x):
        raise ValueError(f"expected a finite number, got {x}")
    return x


def safe(name: str, max_points: float, fn: Callable[[], Check]) -> Check:
    """Run one check; an exception in the student's code gives 0 points and names the error."""
    try:
        return fn()
    except NotAttempted:
        raise
    except Exception as err:  # noqa: BLE001 - report, never crash the notebook
        msg = str(err).splitlines()[0][:160] if str(err) else ""
        return Check(name, 0.0, max_points, f"error: {type(err).__name__}" + (f": {msg}" if msg else ""))


def grade(question: str, answer: Any, *, seed: int | None = None, record: bool = True) -> GradeResult:
    """Grade ``answer`` (a function or a value) for ``question`` (e.g. ``"a1.q1"``) with hidden checks.

    ``seed`` fixes the random inputs (default: a fresh one, stated in the result). A stub scores
    "not attempted" (0 points) instead of failing. ``record`` keeps the result for :func:`total`.
    """
    _load_all()
    if question not in QUESTIONS:
        raise KeyError(f"unknown question {question!r}; known: {', '.join(QUESTIONS)}")
    q = QUESTIONS[question]
    seed = secrets.randbits(32) if seed is None else int(seed)
    try:
        if is_stub(answer):
            raise NotAttempted
        checks = q.run(answer, np.random.default_rng(seed))
    except NotAttempted:
        result = GradeResult(q.id, q.title, "not attempted", 0.0, q.max_points, (), seed)
    else:
        got = sum(c.max_points for c in checks)
        if abs(got - q.max_points) > 1e-9:
            raise RuntimeError(f"{q.id}: checks give {got} points, question is worth {q.max_points}")
        points = round(sum(min(max(c.points, 0.0), c.max_points) for c in checks), 6)
        result = GradeResult(q.id, q.title, "graded", points, q.max_points, tuple(checks), seed)
    if record:
        _BOOK[q.id] = result
        path = os.environ.get(GRADES_ENV)
        if path:
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps(result.to_dict()) + "\n")
    return result


def total(assignment: str, results: Iterable[GradeResult] | None = None) -> AssignmentTotal:
    """Total of ``assignment`` (e.g. ``"a1"``) over the latest recorded result of each question
    (or over ``results``); questions without a result count as not attempted."""
    latest = dict(_BOOK) if results is None else {r.question: r for r in results}
    rows = tuple(latest.get(q.id) or GradeResult(q.id, q.title, "not attempted", 0.0, q.max_points)
                 for q in questions(assignment))
    if not rows:
        raise KeyError(f"unknown assignment {assignment!r}")
    return AssignmentTotal(assignment, rows)


def reset() -> None:
    """Forget the recorded results (the next :func:`total` counts every question as not attempted)."""
    _BOOK.clear()
