"""Assignment 3, metric sensitivity: rank degradations by a metric's response, compare rankings.

References: an exact sort rule on random score tables, :func:`scipy.stats.spearmanr`, and
:mod:`thglib.metrics.pixel` on THG-Synth clips made (and degraded) at grading time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .grader import Check, as_number, call, probe, register, safe, text_check

DEGRADATION_POOL = ("offset", "lip_damp", "head_jitter", "blur", "noise", "jpeg", "downscale", "flicker", "frame_drop")


def _harm_order(scores: dict[str, float], higher_is_better: bool) -> list[str]:
    """Names from most to least harmed: worst score first, ties by name (the rule of question a3.q1)."""
    sign = 1.0 if higher_is_better else -1.0
    return sorted(scores, key=lambda k: (sign * float(scores[k]), k))


def _names(rng: np.random.Generator, n: int) -> list[str]:
    words = ["blur", "noise", "jpeg", "flicker", "offset", "lip_damp", "downscale", "h264", "frame_drop",
             "head_jitter", "identity_swap", "wrong_audio"]
    return [str(w) for w in rng.choice(words, size=n, replace=False)]


def _as_order(out: Any, names: list[str]) -> list[str]:
    order = [str(x) for x in out] if isinstance(out, (list, tuple, np.ndarray)) else None
    if order is None or sorted(order) != sorted(names):
        raise ValueError("return a list holding every name exactly once")
    return order


def _kendall(a: list[str], b: list[str]) -> float:
    from scipy.stats import kendalltau

    pos = {k: i for i, k in enumerate(b)}
    return float(kendalltau(np.arange(len(a)), [pos[k] for k in a]).statistic)


# ------------------------------------------------------------------------------------- Q1
@register("a3.q1", "Rank degradations by harm", 3)
def _q1(fn: Callable[..., Any], rng: np.random.Generator) -> list[Check]:
    def table(n: int, ties: bool = False) -> dict[str, float]:
        names = _names(rng, n)
        vals = rng.integers(0, 3, n).astype(float) if ties else rng.normal(20, 8, n)
        out = dict(zip(names, (float(v) for v in vals)))
        if ties:
            out[names[0]] = float("inf")
        return out

    probe(fn, table(4), True)

    def case(name: str, pts: float, hib: bool, ties: bool) -> Check:
        for _ in range(3):
            scores = table(int(rng.integers(4, 11)), ties)
            before = dict(scores)
            got = _as_order(call(fn, scores, hib), list(scores))
            if scores != before:
                return Check(name, 0.0, pts, "your function changed the scores it was given")
            want = _harm_order(scores, hib)
            if got != want:
                if not ties and got == want[::-1]:
                    return Check(name, 0.0, pts, "reversed: put the most harmful degradation (worst score) first")
                return Check(name, 0.0, pts, "wrong order" + (" (ties go by name; +inf is no harm)" if ties else ""))
        return Check(name, pts, pts)

    return [safe("higher is better (PSNR-like)", 1.0, lambda: case("higher is better (PSNR-like)", 1.0, True, False)),
            safe("lower is better (LMD-like)", 1.0, lambda: case("lower is better (LMD-like)", 1.0, False, False)),
            safe("ties and +inf", 1.0, lambda: case("ties and +inf", 1.0, True, True))]


# ------------------------------------------------------------------------------------- Q2
@register("a3.q2", "Spearman's rank correlation", 3)
def _q2(fn: Callable[..., Any], rng: np.random.Generator) -> list[Check]:
    from scipy.stats import pearsonr, rankdata, spearmanr

    probe(fn, rng.normal(size=5), rng.normal(size=5))

    def against_scipy(name: str, pts: float, ties: bool) -> Check:
        got, want, pear, ordinal = [], [], [], []
        for _ in range(4):
            n = int(rng.integers(5, 30))
            x, y = ((rng.integers(0, 4, n).astype(float), rng.integers(0, 4, n).astype(float)) if ties
                    else (rng.normal(size=n), rng.normal(size=n)))
            y = y + 0.5 * x
            got.append(as_number(call(fn, x.copy(), y.copy())))
            want.append(float(spearmanr(x, y).statistic))
            pear.append(float(pearsonr(x, y).statistic))
            ordinal.append(float(pearsonr(rankdata(x, "ordinal"), rankdata(y, "ordinal")).statistic))
        if all(abs(g - w) <= 1e-9 for g, w in zip(got, want)):
            return Check(name, pts, pts)
        if all(abs(g - p) <= 1e-9 for g, p in zip(got, pear)):
            return Check(name, 0.0, pts, "that is Pearson's correlation of the values: correlate their ranks")
        if ties and all(abs(g - o) <= 1e-9 for g, o in zip(got, ordinal)):
            return Check(name, 0.0, pts, "tied values must share their average rank")
        return Check(name, 0.0, pts, "differs from the reference")

    def properties() -> Check:
        x = rng.normal(size=int(rng.integers(6, 20)))
        y = rng.normal(size=len(x))
        ok = [abs(as_number(call(fn, x.copy(), x.copy())) - 1) <= 1e-9,
              abs(as_number(call(fn, x.copy(), -x)) + 1) <= 1e-9,
              abs(as_number(call(fn, np.exp(x), y.copy())) - as_number(call(fn, x.copy(), y.copy()))) <= 1e-9]
        msgs = ["ρ(x, x) ≠ 1", "ρ(x, −x) ≠ −1", "not invariant to a monotone transform of x"]
        return Check("properties: ρ(x,x)=1, ρ(x,−x)=−1, invariance", sum(ok) / 3, 1.0,
                     "; ".join(m for m, o in zip(msgs, ok) if not o))

    return [safe("no ties, against scipy", 1.0, lambda: against_scipy("no ties, against scipy", 1.0, False)),
            safe("with ties, against scipy", 1.0, lambda: against_scipy("with ties, against scipy", 1.0, True)),
            safe("properties: ρ(x,x)=1, ρ(x,−x)=−1, invariance", 1.0, properties)]


# ------------------------------------------------------------------------------------- Q3
def reference_scores(clean: Any, names: list[str], metric: str) -> dict[str, float]:
    """PSNR or SSIM (thglib, RGB, defaults) of each degradation at its typical strength vs. the clean clip."""
    from .. import synth
    from ..metrics import pixel

    f = {"psnr": pixel.psnr, "ssim": pixel.ssim}[metric]
    return {n: float(f(clean.frames, synth.degrade(clean, n).frames, progress=False).value) for n in names}


@register("a3.q3", "Rank THG-Synth degradations on a hidden clip", 3)
def _q3(fn: Callable[..., Any], rng: np.random.Generator) -> list[Check]:
    from .. import synth

    probe(fn, None, [], "psnr")  # a stub is found before the costly clip is made
    clean = synth.make_clip(grid_seed=int(rng.integers(10**6)), identity=str(rng.choice(["astronaut", "grace_hopper"])),
                            seed=int(rng.integers(1000)), params=synth.SynthParams(size=96))
    names = [str(n) for n in rng.choice(DEGRADATION_POOL, size=6, replace=False)]

    def one(metric: str) -> Check:
        name = f"{metric.upper()} ranking of 6 degradations"
        got = _as_order(call(fn, clean, list(names), metric), names)
        want = _harm_order(reference_scores(clean, names, metric), True)
        if got == want:
            return Check(name, 1.5, 1.5)
        tau = _kendall(got, want)
        if tau <= -0.99:
            return Check(name, 0.0, 1.5, "reversed: most harmful (lowest score) first")
        pts = round(1.5 * max(tau, 0.0) * 0.5 * 4) / 4  # at most half the points for a nearly right order
        return Check(name, pts, 1.5, f"order differs (Kendall τ = {tau:.2f} with the reference)")

    return [safe("PSNR ranking of 6 degradations", 1.5, lambda: one("psnr")),
            safe("SSIM ranking of 6 degradations", 1.5, lambda: one("ssim"))]


# ------------------------------------------------------------------------------------- Q4
_Q4_OK = frozenset({"47e290a8c6f60047ecdd1963e8b710054824bc48780cbaf7d882be2eca178f0b",
                    "93ec072361ffb6ad4cff9d5bebf3eed4db838df2ce611964ea2598119e885ec2",
                    "b26ea67777b5e34d0f756fb52d3a284ecbb7c953a511f2cf30781d4aa0514c57"})
_Q4_MISTAKES = {
    "77d61cd1029147844b1dcef6a2e409e9f1c23486a7aa1b598f780af71f286014":
        "its frames are unchanged too, but a lip-sync search finds no shift in it",
    "194fae3110e0110439de60eda235684b81cde7ce8b7064ea898507a8069a4350": "it re-renders the mouth: PSNR and SSIM see it",
    "bd2d5ba872d3bb9412d6b963df0494a9d268acc70e5fa86338b3e2eba2a2adee": "repeated frames change SSIM",
    "b93828dde395d84fdd28d7e80d5a713c490935119b5c12a9493e15717a7b06e8": "flicker changes every pixel",
}


@register("a3.q4", "The degradation pixel metrics cannot see", 1)
def _q4(value: Any, rng: np.random.Generator) -> list[Check]:
    name = "name of the degradation"
    return [safe(name, 1.0, lambda: text_check("a3.q4", name, 1.0, value, _Q4_OK, _Q4_MISTAKES))]
