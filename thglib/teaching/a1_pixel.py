"""Assignment 1, pixel metrics: MSE, PSNR and SSIM from scratch (hidden checks).

References are :mod:`thglib.metrics.pixel`'s tensor functions, evaluated on inputs drawn at grading
time; the value question is checked against salted digests.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .grader import Check, as_number, call, number_check, probe, register, safe

_BORROWED = re.compile(r"\b(thglib|skimage|torchmetrics|sklearn|structural_similarity|peak_signal_noise_ratio|"
                       r"mean_squared_error|pixel\.(psnr|ssim|ms_ssim)|cv2\.PSNR|tf\.image)")


def scratch_check(fn: Callable[..., Any], points: float, checks: list[Check]) -> list[Check]:
    """``checks`` plus one worth ``points``: given when some check passed and the function's own source
    calls no library metric (thglib, skimage, torchmetrics, ...)."""
    name = "implemented from scratch (no thglib/skimage/torchmetrics metric in the function)"
    if not any(c.points > 0 for c in checks):
        return [*checks, Check(name, 0.0, points, "given once the function earns points")]
    try:
        src = inspect.getsource(fn)
    except (OSError, TypeError):
        return [*checks, Check(name, points, points, "source not available; not checked")]
    body = "\n".join(line.split("#", 1)[0] for line in src.splitlines())
    hit = _BORROWED.search(body)
    if hit:
        return [*checks, Check(name, 0.0, points, f"the function calls '{hit.group(0)}': write the formula yourself")]
    return [*checks, Check(name, points, points)]


def _close(a: float, b: float, rel: float = 1e-6, abs_: float = 1e-9) -> bool:
    if np.isinf(a) or np.isinf(b):
        return bool(a == b)
    return bool(abs(a - b) <= max(abs_, rel * abs(b)))


def _pairs(rng: np.random.Generator, n: int = 6) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random uint8 image pairs, grey and RGB, of random sizes; y = x + noise (clipped), never equal."""
    out = []
    for i in range(n):
        shape = (int(rng.integers(12, 48)), int(rng.integers(12, 48))) + ((3,) if i % 2 else ())
        x = rng.integers(0, 256, shape).astype(np.uint8)
        y = np.clip(x.astype(int) + rng.integers(-40, 41, shape), 0, 255).astype(np.uint8)
        y.flat[0] = 255 - x.flat[0] if x.flat[0] == y.flat[0] else y.flat[0]
        out.append((x, y))
    return out


def _mse64(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((x.astype(np.float64) - y.astype(np.float64)) ** 2))


def _psnr_ref(x: np.ndarray, y: np.ndarray, data_range: float) -> float:
    import torch

    from ..metrics.pixel import psnr_per_image

    t = [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64)).reshape(1, 1, -1, 1) for a in (x, y)]
    return float(psnr_per_image(t[0], t[1], data_range)[0])


def _ssim_ref(x: np.ndarray, y: np.ndarray, data_range: float = 255.0, border: str = "crop") -> float:
    import torch

    from ..metrics.pixel import ssim_per_image

    t = [torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))[None, None] for a in (x, y)]
    return float(ssim_per_image(t[0], t[1], data_range, border)[0])  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------- Q1
@register("a1.q1", "MSE of two 8-bit images", 2)
def _q1(fn: Callable[..., Any], rng: np.random.Generator) -> list[Check]:
    pairs = _pairs(rng)
    probe(fn, pairs[0][0].copy(), pairs[0][1].copy())

    def identical() -> Check:
        x = pairs[1][0]
        v = as_number(call(fn, x.copy(), x.copy()))
        return Check("identical images give 0", 0.25 if v == 0 else 0.0, 0.25,
                     "" if v == 0 else "an image compared with itself must give exactly 0")

    def random_pairs() -> Check:
        got = [as_number(call(fn, x.copy(), y.copy())) for x, y in pairs]
        ok = sum(_close(g, _mse64(x, y)) for g, (x, y) in zip(got, pairs))
        if ok == len(pairs):
            return Check("random 8-bit pairs, grey and RGB", 1.0, 1.0)
        wrapped = [float(np.mean((x - y).astype(np.float64) ** 2)) for x, y in pairs]  # uint8 arithmetic
        squared = [float(np.mean((x - y) ** 2)) for x, y in pairs]  # ... squares wrap too
        if all(_close(g, w) for g, w in zip(got, wrapped)) or all(_close(g, w) for g, w in zip(got, squared)):
            msg = "uint8 subtraction wraps around (3 - 5 = 254): convert to float before subtracting"
        elif all(_close(g * g, _mse64(x, y)) for g, (x, y) in zip(got, pairs)):
            msg = "that is the root of the mean squared error, not the MSE"
        elif all(_close(g, _mse64(x, y) * x.size) for g, (x, y) in zip(got, pairs)):
            msg = "that is the sum of squared errors: divide by the number of values"
        elif all(_close(g, _mse64(x, y) / 255**2) for g, (x, y) in zip(got, pairs)):
            msg = "values rescaled to [0, 1]: the MSE of 8-bit images is in grey levels squared"
        else:
            msg = f"wrong on {len(pairs) - ok}/{len(pairs)} random pairs"
        return Check("random 8-bit pairs, grey and RGB", 0.0, 1.0, msg)

    def symmetric() -> Check:
        x, y = pairs[2]
        a, b = as_number(call(fn, x.copy(), y.copy())), as_number(call(fn, y.copy(), x.copy()))
        return Check("symmetric: mse(x, y) == mse(y, x)", 0.25 if _close(a, b) else 0.0, 0.25,
                     "" if _close(a, b) else "swapping the images changes your value")

    return scratch_check(fn, 0.5, [safe("identical images give 0", 0.25, identical),
                                   safe("random 8-bit pairs, grey and RGB", 1.0, random_pairs),
                                   safe("symmetric: mse(x, y) == mse(y, x)", 0.25, symmetric)])


# ------------------------------------------------------------------------------------- Q2
@register("a1.q2", "PSNR with a data range", 3)
def _q2(fn: Callable[..., Any], rng: np.random.Generator) -> list[Check]:
    pairs = _pairs(rng)
    probe(fn, pairs[0][0].copy(), pairs[0][1].copy())

    def identical() -> Check:
        x = pairs[1][0]
        v = call(fn, x.copy(), x.copy())
        v = float(v) if isinstance(v, (int, float, np.number)) else v
        if v == np.inf:
            return Check("identical images give +inf", 0.5, 0.5)
        return Check("identical images give +inf", 0.0, 0.5,
                     f"got {v!r}: the MSE is 0, so the PSNR is +inf (return float('inf'), not nan or a large number)")

    def random_pairs() -> Check:
        got = [as_number(call(fn, x.copy(), y.copy())) for x, y in pairs]
        ref = [_psnr_ref(x, y, 255.0) for x, y in pairs]
        ok = sum(_close(g, r) for g, r in zip(got, ref))
        if ok == len(pairs):
            return Check("random 8-bit pairs, default data range", 1.25, 1.25)
        mse = [_mse64(x, y) for x, y in pairs]
        tests = [
            ([r * np.log(10) for r in ref], "natural log: PSNR uses log10"),
            ([2 * r for r in ref], "20·log10 of a power ratio: it is 10·log10(L² / MSE) (or 20·log10(L / RMSE))"),
            ([10 * np.log10(255 / m) for m in mse], "the data range enters squared: L², not L"),
            ([-r for r in ref], "the ratio is upside down: L² / MSE, so PSNR grows as the error shrinks"),
            ([10 * np.log10(1 / m) for m in mse], "the default data range of 8-bit images is 255, not 1"),
        ]
        msg = next((m for alt, m in tests if all(_close(g, a, 1e-4) for g, a in zip(got, alt))),
                   f"wrong on {len(pairs) - ok}/{len(pairs)} random pairs")
        return Check("random 8-bit pairs, default data range", 0.0, 1.25, msg)

    def data_range() -> Check:
        got, ref, off = [], [], 20 * np.log10(255.0)
        for x, y in pairs[:4]:
            fx, fy = x / 255.0, y / 255.0
            got.append(as_number(call(fn, fx.copy(), fy.copy(), data_range=1.0)))
            ref.append(_psnr_ref(fx, fy, 1.0))
        if all(_close(g, r) for g, r in zip(got, ref)):
            return Check("float images in [0, 1] with data_range=1", 0.75, 0.75)
        if all(_close(g, r + off, 1e-4) for g, r in zip(got, ref)):
            msg = "data_range is ignored (255 hard-coded?): use the argument"
        else:
            msg = "wrong for float images in [0, 1] with data_range=1"
        return Check("float images in [0, 1] with data_range=1", 0.0, 0.75, msg)

    return scratch_check(fn, 0.5, [safe("identical images give +inf", 0.5, identical),
                                   safe("random 8-bit pairs, default data range", 1.25, random_pairs),
                                   safe("float images in [0, 1] with data_range=1", 0.75, data_range)])


# ------------------------------------------------------------------------------------- Q3
def _textured(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """A smooth random texture in [0, 255] and a noisier, slightly darker copy (float64)."""
    from scipy.ndimage import gaussian_filter

    x = gaussian_filter(rng.normal(0, 1, (h, w)), float(rng.uniform(0.5, 3)))
    x = np.clip(128 + 60 * x / (x.std() + 1e-12), 0, 255)
    y = np.clip(x * rng.uniform(0.8, 1.0) + rng.normal(0, rng.uniform(5, 25), (h, w)), 0, 255)
    return x, y


def _portrait_pair(size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """BT.601 luma of the astronaut's face and of a JPEG (quality 20) copy, float64 in [0, 255]."""
    import cv2

    from ..metrics.pixel import BT601
    from ..samples import portrait

    img = cv2.resize(portrait("astronaut")[:384, 64:448], (size, size), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 20])
    jpg = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    luma = lambda a: a.astype(np.float64) @ np.array(BT601)  # noqa: E731
    return luma(img), luma(jpg)


def _ssim_full_frame(x: np.ndarray, y: np.ndarray, mode: str) -> float:
    """Mean of the whole SSIM map, the window padded with scipy's ``mode`` (a common mistake)."""
    from scipy.ndimage import gaussian_filter

    f = lambda a: gaussian_filter(a, 1.5, truncate=3.5, mode=mode)  # noqa: E731
    mx, my = f(x), f(y)
    vx, vy, cxy = f(x * x) - mx * mx, f(y * y) - my * my, f(x * y) - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    return float(((2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))).mean())


def _ssim_diagnosis(got: list[float], pairs: list[tuple[np.ndarray, np.ndarray]]) -> str:
    from skimage.metrics import structural_similarity as sk

    whole = "you averaged over the whole frame (padded border): drop the 5-px border where the window sticks out"
    tests = [(lambda x, y, m=m: _ssim_full_frame(x, y, m), whole) for m in ("reflect", "mirror", "nearest", "constant")]
    tests += [
        (lambda x, y: _ssim_ref(x, y, data_range=1.0), "C1 and C2 use the data range L = 255 here, not 1"),
        (lambda x, y: sk(x, y, data_range=255),
         "a uniform 7×7 window (skimage's default): use the Gaussian, σ = 1.5"),
        (lambda x, y: sk(x, y, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=True),
         "sample (N-1) covariances: use the Gaussian-weighted population moments"),
    ]
    for alt, msg in tests:
        if all(abs(g - alt(x, y)) <= 1e-4 for g, (x, y) in zip(got, pairs)):
            return msg
    return ""


@register("a1.q3", "SSIM of two grey images", 4)
def _q3(fn: Callable[..., Any], rng: np.random.Generator) -> list[Check]:
    pairs = [_textured(rng, int(rng.integers(24, 72)), int(rng.integers(24, 72))) for _ in range(4)]
    probe(fn, pairs[0][0].copy(), pairs[0][1].copy())

    def identical() -> Check:
        x = pairs[1][0]
        v = as_number(call(fn, x.copy(), x.copy()))
        ok = abs(v - 1) <= 1e-9
        return Check("identical images give 1", 0.25 if ok else 0.0, 0.25, "" if ok else "SSIM(x, x) must be 1")

    def symmetric() -> Check:
        x, y = pairs[2]
        a, b = as_number(call(fn, x.copy(), y.copy())), as_number(call(fn, y.copy(), x.copy()))
        ok = abs(a - b) <= 1e-9
        return Check("symmetric", 0.25 if ok else 0.0, 0.25, "" if ok else "swapping the images changes your value")

    def compare(name: str, pts: float, cases: list[tuple[np.ndarray, np.ndarray]]) -> Check:
        got = [as_number(call(fn, x.copy(), y.copy())) for x, y in cases]
        bad = sum(abs(g - _ssim_ref(x, y)) > 1e-4 for g, (x, y) in zip(got, cases))
        if not bad:
            return Check(name, pts, pts)
        return Check(name, 0.0, pts, _ssim_diagnosis(got, cases) or f"differs by more than 1e-4 on {bad}/{len(cases)}")

    rand, face = "random textures of random sizes (within 1e-4)", "a face and its JPEG copy (within 1e-4)"
    return scratch_check(fn, 0.5, [safe("identical images give 1", 0.25, identical),
                                   safe("symmetric", 0.25, symmetric),
                                   safe(rand, 1.5, lambda: compare(rand, 1.5, pairs)),
                                   safe(face, 1.5, lambda: compare(face, 1.5, [_portrait_pair()]))])


# ------------------------------------------------------------------------------------- Q4
# Salted digests (grader.digest) of the answer rounded to 2 decimals, and of its neighbours (±0.01).
_Q4_OK = frozenset({"11fca38232c7b1b68899d4ffc9c347a773eb3a2f6c744a9e9d6008cb1e1b44f2",
                    "343cb06519c5837016985854dd5d03da6e2ceed0c8a0604ef646fdb1d092d83e",
                    "c1cf263aadf8a2db180aafa02c5d476537f69f38c2a901ee7b8630a543eb9eff"})
_Q4_MISTAKES = {
    "b8272c8ed72ac100d5ebfaa2747059d9c0608b545ad478ad7646152c3b021a6c":
        "right size, wrong sign: is the PSNR too high or too low when L is too large?",
    "30f8e645ec7d4ac7e2b87a6caf7c63d654451c25761768030b616f1af0d2940d":
        "the data range enters the PSNR squared (L² / MSE)",
    "82ab06d9347fb656d107df9ae98e4369cdbacc48243641792c1111c65397ec72":
        "the data range enters the PSNR squared (L² / MSE), and check the sign",
}


@register("a1.q4", "PSNR with the wrong data range", 1)
def _q4(value: Any, rng: np.random.Generator) -> list[Check]:
    name = "value (dB, two decimals, ±0.01)"
    return [safe(name, 1.0, lambda: number_check("a1.q4", name, 1.0, value, 2, _Q4_OK, _Q4_MISTAKES))]
