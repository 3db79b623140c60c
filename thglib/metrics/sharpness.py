"""Sharpness: CPBD, the cumulative probability of blur detection (Narvekar & Karam 2011).

CPBD is a *no-reference* blur metric. It measures the width ``w`` of each strong vertical edge
(Marziliano et al.'s method), compares it with the *just-noticeable-blur* width ``w_JNB`` of its 64×64
block (5 px when the block's contrast is ≤ 50 grey levels, else 3 px), turns that into a probability
of detecting blur ``P_BD = 1 - exp(-|w / w_JNB|^β)`` with β = 3.6, and reports the fraction of edges
whose ``P_BD`` is at most 63 % (``CPBD = P(P_BD ≤ P_JNB)``): 1 = every edge looks sharp, 0 = none does.

This module is a vectorised NumPy/SciPy port of the reference Python implementation, the ``cpbd``
package 1.0.7 (github.com/0x64746b/python-cpbd: ``cpbd/compute.py`` and ``cpbd/octave.py``, itself a
port of the authors' MATLAB code), including its quirks, and of :func:`skimage.feature.canny`, which
that package calls (batched here over frames, with an identical edge map). It gives the same values
(measured to ~1e-16 on portraits and synthetic frames; the tests hold it to 1e-3) at 25-45× the
speed on two CPU cores (``benchmarks/bench_metrics_pixel.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from functools import lru_cache

import numpy as np
import scipy.ndimage as ndi

from ..errors import BadInputError
from .card import MetricResult, ProtocolCard
from .inputs import Frames, as_frames

__all__ = ["BLOCK", "luma_u8", "canny_edges", "sobel_edges", "edge_widths", "cpbd_scores", "cpbd",
           "reference_cpbd"]

BLOCK = 64  # block side (px)
EDGE_BLOCK_FRACTION = 0.002  # a block is an edge block when more than 0.2 % of its pixels are Canny edges
BETA = 3.6  # slope of the psychometric function P_BD(w)
P_JNB = 63  # an edge counts as sharp when round(100 · P_BD) <= 63
_CANNY_LOW = float(np.float32(0.1))  # skimage hands the low threshold to Cython as a C float
_CANNY_HIGH = 0.2
_MAX_STEPS = 100  # the reference walks at most 101 pixels on each side of an edge
_PIXELS_PER_CHUNK = 2**18  # 4 frames of 256², 1 of 512² (~40 MB of temporaries)


def luma_u8(frames: np.ndarray) -> np.ndarray:
    """``(..., 3)`` uint8 RGB → BT.601 luma rounded to uint8, bit-identical to PIL's ``convert("L")``:
    ``(19595 R + 38470 G + 7471 B + 2^15) >> 16`` (the reference reads images with ``mode='L'``)."""
    rgb = frames.astype(np.uint32)
    return ((rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000) >> 16).astype(np.uint8)


@lru_cache(maxsize=8)
def _bleed_over(h: int, w: int) -> np.ndarray:
    """skimage's normalisation for zero-padded smoothing: the smoothed all-ones image (+ eps)."""
    out = ndi.gaussian_filter(np.ones((h, w)), 1.0, mode="constant", cval=0.0, truncate=4.0)
    out += np.finfo(np.float64).eps
    out.setflags(write=False)
    return out


def _sobel(img: np.ndarray, axis: int) -> np.ndarray:
    """``scipy.ndimage.sobel`` along ``axis`` (1 or 2) of a ``(T, H, W)`` stack, never mixing frames."""
    d = ndi.correlate1d(img, [-1, 0, 1], axis=axis, mode="reflect")
    return ndi.correlate1d(d, [1, 2, 1], axis=3 - axis, mode="reflect", output=d)


def _nonmax_suppression(gi: np.ndarray, gj: np.ndarray, mag: np.ndarray) -> np.ndarray:
    """skimage's bilinear non-maximum suppression (``feature/_canny_cy.pyx``) with its low threshold;
    True where a pixel is kept. The 1-px frame border is never kept."""
    h, w = mag.shape[1:]

    def at(di: int, dj: int) -> np.ndarray:
        return mag[:, 1 + di:h - 1 + di, 1 + dj:w - 1 + dj]

    m, i, j = at(0, 0), gi[:, 1:-1, 1:-1], gj[:, 1:-1, 1:-1]
    same = (i > 0) == (j > 0)  # both gradient components positive, or both not
    ai, aj = np.abs(i), np.abs(j)
    steep = np.where(same, ai > aj, ai >= aj)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 only where m == 0, which is dropped
        wt = np.where(steep, aj, ai) / np.where(steep, ai, aj)
    rest = 1.0 - wt
    n11 = np.where(steep, np.where(same, at(1, 0), at(-1, 0)), at(0, 1))
    n21 = np.where(steep, np.where(same, at(-1, 0), at(1, 0)), at(0, -1))
    n12, n22 = np.where(same, at(1, 1), at(-1, 1)), np.where(same, at(-1, -1), at(1, -1))
    keep = (m >= _CANNY_LOW) & (n12 * wt + n11 * rest <= m) & (n22 * wt + n21 * rest <= m)
    return np.pad(keep, ((0, 0), (1, 1), (1, 1)))


def canny_edges(img: np.ndarray) -> np.ndarray:
    """Canny edges of each frame of a ``(T, H, W)`` float64 stack, identical to
    ``skimage.feature.canny(frame)`` with its defaults (σ = 1, zero padding renormalised, thresholds
    0.1 / 0.2 on the Sobel magnitude, 8-connected hysteresis)."""
    smooth = ndi.gaussian_filter(img, (0, 1.0, 1.0), mode="constant", cval=0.0, truncate=4.0)
    smooth /= _bleed_over(*img.shape[1:])
    gj, gi = _sobel(smooth, 2), _sobel(smooth, 1)
    mag = gi * gi
    mag += gj * gj
    np.sqrt(mag, out=mag)
    low = _nonmax_suppression(gi, gj, mag)
    within_frame = np.zeros((3, 3, 3), bool)
    within_frame[1] = True
    labels, count = ndi.label(low, within_frame)
    good = np.zeros(count + 1, bool)
    good[labels[low & (mag >= _CANNY_HIGH)]] = True
    good[0] = False
    return good[labels]


def sobel_edges(img: np.ndarray) -> np.ndarray:
    """The reference's Octave-style vertical Sobel edges (``cpbd/octave.py``): ``S = (I ∗ h)²`` with
    ``h = [[1, 0, -1], [2, 0, -2], [1, 0, -1]] / 8``, zeroed where ``S <= 2·sqrt(mean S)``, then thinned
    to pixels greater than both horizontal or both vertical neighbours."""
    p = np.pad(img, ((0, 0), (1, 1), (1, 1)), mode="symmetric")  # = scipy.ndimage mode 'reflect'
    dx = p[:, :, 2:] - p[:, :, :-2]
    s = ((dx[:, :-2] + 2 * dx[:, 1:-1] + dx[:, 2:]) / 8) ** 2
    s[s <= 2 * np.sqrt(s.mean(axis=(1, 2), keepdims=True))] = 0
    z = np.pad(s, ((0, 0), (1, 1), (1, 1)))  # zero padding for the thinning
    horiz = (s > z[:, 1:-1, :-2]) & (s > z[:, 1:-1, 2:])
    vert = (s > z[:, :-2, 1:-1]) & (s > z[:, 2:, 1:-1])
    return horiz | vert


def _steps(d: np.ndarray, t: np.ndarray, r: np.ndarray, start: np.ndarray, direction: int,
           sign: np.ndarray) -> np.ndarray:
    """How many consecutive ``j = start, start + direction, ...`` inside the row have ``sign · d[t, r, j] > 0``
    (at most ``_MAX_STEPS + 1``): the reference's walk away from an edge, for all edges at once."""
    count = np.zeros(len(t), np.int64)
    live, width = np.arange(len(t)), d.shape[2]
    row = (t * d.shape[1] + r) * width
    flat = d.ravel()
    for k in range(_MAX_STEPS + 1):
        j = start[live] + direction * k
        inside = (j >= 0) & (j < width)
        live, j = live[inside], j[inside]
        live = live[sign[live] * flat[row[live] + j] > 0]
        if not len(live):
            break
        count[live] += 1
    return count


def _any_angle(img: np.ndarray) -> bool:
    """The reference's ``np.any(edge_angles)``: some pixel has ``∂x ≠ 0`` and ``atan2(∂y, ∂x) ≠ 0``."""
    gy, gx = np.gradient(img)
    return bool(((gx != 0) & ((gy != 0) | (gx < 0))).any())


def edge_widths(img: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, ...]:
    """Marziliano edge widths as the reference measures them (``marziliano_method``): at interior edge
    pixels whose gradient angle ``atan2(∂y, ∂x)`` (0 where ``∂x = 0``) rounds to 0° or ±180° in steps of
    45°, walk left and right while the intensity keeps rising (0°) or falling (±180°), at most 101
    steps a side; ``width = steps_left + steps_right + 2``. Frames where every angle is 0 get no widths.
    Returns ``(t, row, col, width)`` of the measured pixels."""
    t, r, c = np.nonzero(edges[:, 1:-1, 1:-1])
    r, c = r + 1, c + 1
    gx = (img[t, r, c + 1] - img[t, r, c - 1]) / 2  # np.gradient's central differences
    gy = (img[t, r + 1, c] - img[t, r - 1, c]) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        angle = np.where(gx != 0, np.arctan2(gy, gx) * (180 / np.pi), 0.0)
    q = 45 * np.round(angle / 45)
    has_angle = np.zeros(len(img), bool)
    has_angle[t[angle != 0]] = True
    has_angle |= [not h and _any_angle(f) for h, f in zip(has_angle, img)]
    keep = ((q == 0) | (np.abs(q) == 180)) & has_angle[t]
    t, r, c, sign = t[keep], r[keep], c[keep], np.where(q[keep] == 0, 1.0, -1.0)
    d = np.diff(img, axis=2)  # d[j] = I[j+1] - I[j]
    left = _steps(d, t, r, c - 2, -1, sign)  # 0°: I keeps falling to the left and rising to the right
    right = _steps(d, t, r, c + 1, 1, sign)
    width = np.minimum(left, _MAX_STEPS) + np.minimum(right, _MAX_STEPS) + 2
    return t, r, c, width


@lru_cache(maxsize=1)
def _sharp_table() -> np.ndarray:
    """``sharp[jnb == 3, width]``: True where ``round(100 · (1 - exp(-|w / w_JNB|^β))) <= 63``."""
    w = np.arange(2 * (_MAX_STEPS + 1) + 1, dtype=np.float64)
    return np.stack([np.round((1 - np.exp(-np.abs(w / jnb) ** BETA)) * 100) <= P_JNB for jnb in (5.0, 3.0)])


def cpbd_scores(gray: np.ndarray) -> np.ndarray:
    """CPBD of each frame of a ``(T, H, W)`` (or ``(H, W)``) uint8 grey stack; equals ``cpbd.compute(frame)``.

    Only whole 64×64 blocks count (from the top-left); frames without an edge block score 0.
    """
    gray = np.asarray(gray)
    if gray.ndim not in (2, 3):
        raise BadInputError("gray", f"expected (H, W) or (T, H, W) grey frames, got shape {gray.shape}",
                            "Convert RGB frames with luma_u8(frames)")
    img = (gray[None] if gray.ndim == 2 else gray).astype(np.float64)
    n, h, w = img.shape
    bh, bw = h // BLOCK, w // BLOCK
    if bh == 0 or bw == 0:
        raise BadInputError("generated", f"frames of {w}×{h} px hold no {BLOCK}×{BLOCK} block",
                            f"CPBD needs frames of at least {BLOCK}×{BLOCK} px")
    crop = img[:, :bh * BLOCK, :bw * BLOCK].reshape(n, bh, BLOCK, bw, BLOCK)
    canny = canny_edges(img)[:, :bh * BLOCK, :bw * BLOCK].reshape(n, bh, BLOCK, bw, BLOCK)
    edge_block = canny.sum(axis=(2, 4)) > BLOCK * BLOCK * EDGE_BLOCK_FRACTION
    high_contrast = (crop.max(axis=(2, 4)) - crop.min(axis=(2, 4))) > 50  # JNB width 3, else 5
    t, r, c, width = edge_widths(img, sobel_edges(img))
    inside = (r < bh * BLOCK) & (c < bw * BLOCK)
    t, r, c, width = t[inside], r[inside] // BLOCK, c[inside] // BLOCK, width[inside]
    counted = edge_block[t, r, c]
    sharp = _sharp_table()[high_contrast[t, r, c].astype(int), width] & counted
    total = np.bincount(t[counted], minlength=n)
    return np.bincount(t[sharp], minlength=n) / np.maximum(total, 1)


def reference_cpbd() -> Callable[[np.ndarray], float]:
    """``cpbd.compute`` of the reference package (``pip install cpbd==1.0.7``), for comparisons.

    Its ``cpbd/compute.py`` imports ``scipy.ndimage.imread`` (removed in SciPy 1.2) for its command-line
    entry point only; that one name is stubbed while the package is imported.
    """
    import scipy.ndimage

    def imread(*args: object, **kwargs: object) -> None:
        raise NotImplementedError("scipy.ndimage.imread was removed in SciPy 1.2 (stub for importing cpbd)")

    missing = not hasattr(scipy.ndimage, "imread")
    if missing:
        scipy.ndimage.imread = imread
    try:
        import cpbd
    except ImportError as e:
        from ..errors import BackendUnavailable

        raise BackendUnavailable("cpbd (reference CPBD)", "pip install cpbd==1.0.7") from e
    finally:
        if missing:
            del scipy.ndimage.imread
    return cpbd.compute


def _workers() -> int:
    try:
        return max(1, min(8, len(os.sched_getaffinity(0))))
    except AttributeError:  # macOS, Windows
        return max(1, min(8, os.cpu_count() or 1))


def cpbd(generated: Frames, *, batch_size: int | None = None, workers: int | None = None,
         progress: bool | None = None) -> MetricResult:
    """Per-frame CPBD of a clip (no reference needed); the value is the mean over frames.

    Frames are converted to BT.601 luma rounded to uint8 (:func:`luma_u8`, as PIL's ``"L"``) and scored
    by :func:`cpbd_scores` in chunks of ``batch_size`` frames (default: about 2^18 pixels) on ``workers``
    threads (default: the usable CPU cores, at most 8; NumPy and SciPy release the GIL).
    """
    from ..runtime import progress as progress_bar

    frames = as_frames(generated, "generated")
    n, h, w = frames.shape[:3]
    step = batch_size or max(1, _PIXELS_PER_CHUNK // (h * w))
    chunks = [frames[i:i + step] for i in range(0, n, step)]
    show = n >= 64 if progress is None else progress
    workers = min(workers or _workers(), len(chunks))
    with ThreadPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
        scored = (pool.map if pool else map)(lambda f: cpbd_scores(luma_u8(f)), chunks)
        per = np.concatenate(list(progress_bar(iterable=scored, total=len(chunks), desc="CPBD", unit="chunk", show=show)))
    card = ProtocolCard(
        "CPBD", "thglib.metrics.sharpness.cpbd (NumPy/SciPy port of the cpbd 1.0.7 package)",
        colour_space="Y' = BT.601 luma rounded to uint8 (PIL 'L')",
        crop=f"none; whole {BLOCK}×{BLOCK} blocks from the top-left (partial blocks ignored)", data_range=255.0,
        samples=n, notes="Canny σ=1, thresholds 0.1/0.2 grey levels (skimage defaults on a 0-255 image); "
        f"edge block if > {EDGE_BLOCK_FRACTION:.1%} Canny pixels; widths at Octave-Sobel vertical edges; "
        f"w_JNB = 5 px if block contrast <= 50 else 3 px; β = {BETA}; CPBD = P(P_BD <= {P_JNB}%); "
        "frames without edge blocks score 0; mean of per-frame CPBD")
    return MetricResult(float(per.mean()), card, True, per_frame=per)
