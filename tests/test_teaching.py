"""The autograder of the Teaching part (thglib.teaching).

The reference solutions live here, not in the notebooks: the grader must give them full marks,
give specific wrong answers (uint8 overflow, off-by-one, wrong data range, wrong sign of an
offset, reversed rankings, ...) partial or zero marks with a diagnosis, and call stubs "not
attempted" without raising.
"""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter
from scipy.stats import pearsonr, rankdata

from thglib.teaching import grade, question_table, questions, reset, total
from thglib.teaching.grader import GRADES_ENV, digest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks" / "teaching").glob("assignment_*.ipynb"))


# ----------------------------------------------------------------------------- reference solutions
def mse(x, y):
    return float(np.mean((np.asarray(x, np.float64) - np.asarray(y, np.float64)) ** 2))


def psnr(x, y, data_range=255.0):
    m = mse(x, y)
    return math.inf if m == 0 else 10 * math.log10(data_range**2 / m)


def _ssim_map(x, y, data_range=255.0):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    f = lambda a: gaussian_filter(a, 1.5, truncate=3.5)  # noqa: E731 - the 11-tap window
    mx, my = f(x), f(y)
    sxx, syy, sxy = f(x * x) - mx * mx, f(y * y) - my * my, f(x * y) - mx * my
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    return (2 * mx * my + c1) * (2 * sxy + c2) / ((mx * mx + my * my + c1) * (sxx + syy + c2))


def ssim(x, y):
    return float(_ssim_map(x, y)[5:-5, 5:-5].mean())


def lse_from_table(dists, vshift=15):
    mean = np.asarray(dists, np.float64).mean(axis=0)
    j = int(np.argmin(mean))
    return float(mean[j]), float(np.median(mean) - mean[j]), vshift - j


def delay_audio(audio, k, sample_rate=16000, fps=25.0):
    shift = int(round(k * sample_rate / fps))
    out = np.zeros_like(audio)
    if shift >= 0:
        out[shift:] = audio[:len(audio) - shift]
    else:
        out[:shift] = audio[-shift:]
    return out


def estimate_audio_lag(frames, audio, sample_rate):
    from thglib.metrics import sync

    r = sync.lse(frames, audio, sample_rate=sample_rate, scorer=_expert(), crop="track", every=5)
    return r.audio_lag


_SCORER = []


def _expert():
    from thglib.metrics import sync

    if not _SCORER:
        _SCORER.append(sync.load_scorer("thgsynth_expert"))
    return _SCORER[0]


def rank_by_harm(scores, higher_is_better):
    sign = 1 if higher_is_better else -1
    return sorted(scores, key=lambda k: (sign * scores[k], k))


def spearman(x, y):
    return float(pearsonr(rankdata(x), rankdata(y)).statistic)


def rank_degradations(clean, names, metric):
    from thglib import synth
    from thglib.metrics import pixel

    f = {"psnr": pixel.psnr, "ssim": pixel.ssim}[metric]
    scores = {n: f(clean.frames, synth.degrade(clean, n).frames, progress=False).value for n in names}
    return rank_by_harm(scores, True)


REFERENCE = {"a1.q1": mse, "a1.q2": psnr, "a1.q3": ssim, "a1.q4": 20 * math.log10(255),
             "a2.q1": lse_from_table, "a2.q2": delay_audio, "a2.q3": estimate_audio_lag, "a2.q4": -4 * 40,
             "a3.q1": rank_by_harm, "a3.q2": spearman, "a3.q3": rank_degradations, "a3.q4": "offset"}


def stub(*args, **kwargs):
    raise NotImplementedError


def failed(result, fragment):
    """The messages of the failed checks whose name contains ``fragment``."""
    return [c.message for c in result.checks if fragment in c.name and not c.passed]


# ----------------------------------------------------------------------------- full marks, stubs
def test_every_question_has_a_reference_solution_here():
    assert sorted(REFERENCE) == sorted(q.id for q in questions())
    assert question_table("a2")["points"].sum() == 12


@pytest.mark.parametrize("qid", sorted(REFERENCE))
def test_reference_solution_gets_full_marks(qid):
    r = grade(qid, REFERENCE[qid], seed=1234, record=False)
    assert r.status == "graded"
    assert r.points == r.max_points, str(r)


@pytest.mark.parametrize("qid", ["a1.q1", "a1.q2", "a1.q3", "a2.q1", "a2.q2", "a3.q1", "a3.q2"])
def test_reference_is_right_on_fresh_random_inputs(qid):
    for _ in range(3):
        r = grade(qid, REFERENCE[qid], record=False)  # seed drawn at grading time
        assert r.points == r.max_points, str(r)


@pytest.mark.parametrize("qid", sorted(REFERENCE))
@pytest.mark.parametrize("answer", [stub, ..., None, lambda *a, **k: None],
                         ids=["raises", "ellipsis", "none", "returns-none"])
def test_stubs_are_not_attempted(qid, answer):
    if not callable(REFERENCE[qid]) and callable(answer):
        answer = ...
    r = grade(qid, answer, record=False)
    assert (r.status, r.points) == ("not attempted", 0.0)
    assert str(r).endswith(f"not attempted: 0/{r.max_points:g} points")


def test_same_seed_same_checks():
    wrong = lambda x, y, data_range=255.0: 10 * math.log10(255**2 / mse(x, y))  # noqa: E731
    a, b = grade("a1.q2", wrong, seed=7, record=False), grade("a1.q2", wrong, seed=7, record=False)
    assert a == b and a.seed == 7


# ----------------------------------------------------------------------------- assignment 1
def test_uint8_overflow_in_mse_is_diagnosed():
    wraps = lambda x, y: float(np.mean((x - y).astype(np.float64) ** 2))  # noqa: E731 - uint8 subtraction
    r = grade("a1.q1", wraps, seed=3, record=False)
    assert 0 < r.points < r.max_points
    assert "wraps around" in failed(r, "random")[0]
    assert failed(r, "symmetric")


def test_psnr_that_ignores_the_data_range_gets_partial_marks():
    def hard(x, y, data_range=255.0):  # 255 hard-coded
        return math.inf if mse(x, y) == 0 else 10 * math.log10(255**2 / mse(x, y))
    r = grade("a1.q2", hard, seed=5, record=False)
    assert r.points == r.max_points - 0.75
    assert "data_range is ignored" in failed(r, "data_range=1")[0]


def test_psnr_with_natural_log_and_nan_for_identical_images():
    def ln(x, y, data_range=255.0):
        m = mse(x, y)
        return math.nan if m == 0 else 10 * math.log(data_range**2 / m)
    r = grade("a1.q2", ln, seed=5, record=False)
    assert r.points == 0  # "from scratch" is only given with some correct check
    assert "natural log" in failed(r, "random")[0]
    assert "+inf" in failed(r, "identical")[0]


def test_ssim_over_the_padded_frame_and_borrowed_ssim():
    r = grade("a1.q3", lambda x, y: float(_ssim_map(x, y).mean()), seed=9, record=False)
    assert r.points == 1.0  # identical, symmetric, from scratch
    assert "whole frame" in failed(r, "random textures")[0]
    r = grade("a1.q3", lambda x, y: float(_ssim_map(x, y, data_range=1.0)[5:-5, 5:-5].mean()), seed=9, record=False)
    assert "data range" in failed(r, "random textures")[0]

    def borrowed(x, y):
        from skimage.metrics import structural_similarity

        return structural_similarity(x, y, data_range=255, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False)
    r = grade("a1.q3", borrowed, seed=9, record=False)
    assert r.points == r.max_points - 0.5
    assert "skimage" in failed(r, "scratch")[0]


def test_value_question_hides_the_answer():
    right = grade("a1.q4", 48.13, record=False)
    assert right.points == 1.0
    assert grade("a1.q4", 48.14, record=False).points == 1.0  # ±0.01
    for wrong, hint in ((-48.13, "sign"), (24.07, "squared"), (50.0, "incorrect")):
        r = grade("a1.q4", wrong, record=False)
        assert r.points == 0 and hint in str(r)
        assert "48.1" not in str(r)
    assert "TypeError: expected a number" in str(grade("a1.q4", "48.13", record=False))


# ----------------------------------------------------------------------------- assignment 2
def test_offset_with_the_wrong_sign_or_off_by_one():
    flipped = lambda d, vshift=15: (*lse_from_table(d, vshift)[:2], -lse_from_table(d, vshift)[2])  # noqa: E731
    r = grade("a2.q1", flipped, seed=11, record=False)
    assert r.points == 2.0
    assert "wrong sign" in failed(r, "offset")[0]
    shifted = lambda d, vshift=15: (*lse_from_table(d, vshift)[:2], lse_from_table(d, vshift)[2] + 1)  # noqa: E731
    assert "off by one" in failed(grade("a2.q1", shifted, seed=11, record=False), "offset")[0]
    hard15 = lambda d, vshift=15: lse_from_table(d)  # noqa: E731 - ignores vshift
    r = grade("a2.q1", hard15, seed=11, record=False)
    assert r.points == 3.5 and failed(r, "widths")


def test_lse_c_with_the_mean_instead_of_the_median():
    def mean_c(d, vshift=15):
        m = np.asarray(d, np.float64).mean(0)
        return float(m.min()), float(m.mean() - m.min()), vshift - int(np.argmin(m))
    r = grade("a2.q1", mean_c, seed=2, record=False)
    assert r.points == 2.5 and "median" in failed(r, "LSE-C")[0]  # LSE-C and the widths check fail


def test_delay_with_the_wrong_sign_or_np_roll():
    r = grade("a2.q2", lambda a, k, sample_rate=16000, fps=25.0: delay_audio(a, -k, sample_rate, fps), seed=4,
              record=False)
    assert r.points == 0.5  # length and dtype only
    assert "wrong sign" in failed(r, "positive k")[0]
    roll = lambda a, k, sample_rate=16000, fps=25.0: np.roll(a, int(round(k * sample_rate / fps)))  # noqa: E731
    assert "np.roll" in failed(grade("a2.q2", roll, seed=4, record=False), "positive k")[0]
    def one_more(a, k, sample_rate=16000, fps=25.0):  # one sample too many
        return delay_audio(a, 1, int(round(k * sample_rate / fps)) + 1, 1)
    assert "off by one" in failed(grade("a2.q2", one_more, seed=4, record=False), "positive k")[0]


def test_lag_with_syncnet_sign_scores_only_the_in_sync_clip():
    def offset_instead(frames, audio, sample_rate):
        from thglib.metrics import sync

        return sync.lse(frames, audio, sample_rate=sample_rate, scorer=_expert(), crop="track", every=5).offset
    r = grade("a2.q3", offset_instead, seed=1234, record=False)
    assert r.points == 1.0
    assert all("sign flipped" in m for m in failed(r, "hidden clip"))


def test_lag_in_ms_wrong_sign_and_units():
    assert grade("a2.q4", -160, record=False).points == 2
    assert "sign" in str(grade("a2.q4", 160, record=False))
    assert "frames" in str(grade("a2.q4", -4, record=False))


# ----------------------------------------------------------------------------- assignment 3
def test_reversed_ranking_and_pearson_instead_of_spearman():
    rev = lambda s, hib: rank_by_harm(s, not hib)  # noqa: E731
    r = grade("a3.q1", rev, seed=8, record=False)
    assert r.points == 0 and "reversed" in failed(r, "higher is better")[0]
    r = grade("a3.q2", lambda x, y: float(pearsonr(x, y).statistic), seed=8, record=False)
    assert r.points == pytest.approx(2 / 3)
    assert "Pearson" in failed(r, "no ties")[0]
    ordinal = lambda x, y: float(pearsonr(rankdata(x, "ordinal"), rankdata(y, "ordinal")).statistic)  # noqa: E731
    assert "average rank" in failed(grade("a3.q2", ordinal, seed=8, record=False), "with ties")[0]


def test_reversed_degradation_ranking_scores_zero():
    r = grade("a3.q3", lambda c, n, m: rank_degradations(c, n, m)[::-1], seed=21, record=False)
    assert r.points == 0 and "reversed" in str(r)


def test_text_answer_is_normalised():
    assert grade("a3.q4", " Audio-Offset ", record=False).points == 1
    r = grade("a3.q4", "wrong_audio", record=False)
    assert r.points == 0 and "offset" not in str(r).split(":", 2)[-1]


# ----------------------------------------------------------------------------- robustness, totals
def test_a_crashing_answer_scores_zero_without_raising():
    def boom(x, y):
        raise ValueError("shapes differ")
    r = grade("a1.q1", boom, record=False)
    assert r.status == "graded" and r.points == 0
    assert "ValueError: shapes differ" in str(r)


def test_total_counts_missing_questions_as_not_attempted(tmp_path, monkeypatch):
    log = tmp_path / "grades.jsonl"
    monkeypatch.setenv(GRADES_ENV, str(log))
    reset()
    grade("a1.q1", mse, seed=1)
    grade("a1.q4", 0.0)
    t = total("a1")
    assert (t.points, t.max_points) == (2.0, 10.0)
    assert [r.status for r in t.results] == ["graded", "not attempted", "not attempted", "graded"]
    assert "2/10 points" in str(t)
    lines = [json.loads(s) for s in log.read_text().splitlines()]
    assert [d["question"] for d in lines] == ["a1.q1", "a1.q4"] and lines[0]["points"] == 2.0
    reset()
    assert total("a1").points == 0


def test_digest_is_salted_per_question():
    assert digest("a1.q4", "48.13") != digest("a2.q4", "48.13")


# ----------------------------------------------------------------------------- notebooks and CLI
def _is_stub(node: ast.AST) -> bool:
    """A function whose body (after a docstring) is only ``raise NotImplementedError`` or ``...``,
    or an assignment of ``...``."""
    if isinstance(node, ast.FunctionDef):
        body = node.body[1:] if ast.get_docstring(node) is not None else node.body
        return len(body) == 1 and (
            (isinstance(body[0], ast.Raise) and "NotImplementedError" in ast.unparse(body[0]))
            or (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and body[0].value.value is ...))
    return isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value is ...


def test_assignment_notebooks_hold_only_stubs_and_grade_every_question():
    assert len(NOTEBOOKS) == 3
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        a = re.match(r"assignment_(\d)", path.stem).group(1)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        for q in questions(f"a{a}"):
            assert f'grade("{q.id}"' in code, f"{path.name} never grades {q.id}"
        assert f'total("a{a}")' in code
        student = [c for c in nb.cells if "student" in c.metadata.get("tags", [])]
        assert len(student) == len(questions(f"a{a}")), f"{path.name}: one cell tagged 'student' per question"
        for cell in student:  # the answer cells ship as stubs: no solution in the notebook
            answers = [n for n in ast.parse(cell.source).body if not isinstance(n, (ast.Import, ast.ImportFrom))]
            assert answers and all(_is_stub(n) for n in answers), f"{path.name}: not a stub:\n{cell.source}"


def test_cli_regrades_a_submission(tmp_path, capsys):
    from thglib.teaching.__main__ import main

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np\nfrom thglib.teaching import grade, total"),
                nbformat.v4.new_code_cell("def mse(x, y):\n    return float(np.mean((x.astype(float) - y) ** 2))\n"
                                          "grade('a1.q1', mse)"),
                nbformat.v4.new_code_cell("grade('a1.q4', 48.13)"),
                nbformat.v4.new_code_cell("raise RuntimeError('student bug')"),
                nbformat.v4.new_code_cell("grade('a1.q2', lambda x, y, data_range=255: 1.0)")]
    path = tmp_path / "alice.ipynb"
    nbformat.write(nb, path)
    out_csv = tmp_path / "grades.csv"
    assert main(["grade", str(path), "--csv", str(out_csv), "--timeout", "120"]) == 0
    out = capsys.readouterr().out
    assert "stopped: PapermillExecutionError" in out and "Assignment a1: 3/10 points" in out
    rows = out_csv.read_text().splitlines()
    assert rows[0].startswith("submission,question,status") and len(rows) == 5


def test_answers_only_runs_setup_and_answer_cells_but_nothing_else(tmp_path, capsys):
    from thglib.teaching.__main__ import main

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("SMOKE = False", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("import numpy as np"),
                nbformat.v4.new_code_cell("def mse(x, y):\n    return float(np.mean((x.astype(float) - y) ** 2))",
                                          metadata={"tags": ["student"]}),
                nbformat.v4.new_code_cell("grade('a1.q1', mse)"),
                nbformat.v4.new_code_cell("import thglib.teaching.grader as g\ng.QUESTIONS.clear()"),  # never runs
                nbformat.v4.new_code_cell("q4_answer = 48.13", metadata={"tags": ["student"]}),
                nbformat.v4.new_code_cell('grade("a1.q4", q4_answer)\ntotal("a1")')]
    path = tmp_path / "bob.ipynb"
    nbformat.write(nb, path)
    assert main(["grade", "--answers-only", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Assignment a1: 3/10 points" in out and "not attempted" in out
    from thglib.teaching.submission import grade_answers

    (t,) = grade_answers(path)
    scratch = [c for c in t.results[0].checks if "scratch" in c.name][0]
    assert scratch.passed and "not available" not in scratch.message  # the answer's source was found
