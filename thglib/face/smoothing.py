"""Temporal smoothing of face boxes and landmarks (detectors jitter by a few pixels frame to frame).

* :func:`smooth_boxes`: Wav2Lip's box smoothing, ``get_smoothened_boxes`` in ``inference.py``
  (Prajwal et al., ACM MM 2020): each box becomes the mean of a 5-frame window.
* :func:`savgol_smooth`: Savitzky–Golay filter (local least-squares polynomial; offline, zero lag).
* :func:`one_euro_smooth`: the 1€ filter (Casiez, Roussel & Vogel, CHI 2012): a causal low-pass
  whose cut-off rises with speed, so slow jitter is removed while fast motion keeps little lag.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import BadInputError

__all__ = ["smooth_boxes", "savgol_smooth", "one_euro_smooth", "smooth_landmarks"]


def _series(x: object, what: str, min_len: int = 1) -> np.ndarray:
    a = np.array(x, dtype=np.float64)  # a copy: the input is never modified
    if a.ndim < 1 or len(a) < min_len or not np.all(np.isfinite(a)):
        raise BadInputError(what, f"expected a finite (T, ...) array with T >= {min_len}, got shape {a.shape}",
                            "Drop or interpolate missing frames first (landmarks_video(policy='interpolate'))")
    return a


def smooth_boxes(boxes: np.ndarray, window: int = 5) -> np.ndarray:
    """Wav2Lip box smoothing of ``(T, 4)`` boxes: ``b[i] = mean(b[i : i+window])``.

    Near the end the window is the last ``window`` boxes. As in the reference the update is in
    place and sequential, so those final windows already contain smoothed boxes. (The reference
    also truncates to int, its array being integer; here the result stays float. For ``T < window``
    the reference slices with a negative start; here the window is then all ``T`` boxes.)
    """
    b = _series(boxes, "boxes")
    w = min(int(window), len(b))
    if w < 1:
        raise BadInputError("window", f"expected >= 1, got {window}")
    for i in range(len(b)):
        lo = i if i + w <= len(b) else len(b) - w
        b[i] = b[lo:lo + w].mean(axis=0)
    return b


def savgol_smooth(x: np.ndarray, window: int = 7, polyorder: int = 2) -> np.ndarray:
    """Savitzky–Golay smoothing along axis 0 of a ``(T, ...)`` array (``scipy.signal.savgol_filter``, mode "interp").

    Fits a degree-``polyorder`` polynomial to each ``window``-frame neighbourhood; the window is
    shrunk to the largest odd length ≤ T when the clip is shorter.
    """
    from scipy.signal import savgol_filter

    a = _series(x, "x")
    w = min(int(window), len(a) if len(a) % 2 else len(a) - 1)
    if w <= polyorder:
        return a
    return savgol_filter(a, w, polyorder, axis=0, mode="interp")


def _alpha(cutoff: np.ndarray | float, fps: float) -> np.ndarray | float:
    """Smoothing factor of an exponential low-pass at ``cutoff`` Hz: ``1 / (1 + fps / (2π fc))``."""
    return 1.0 / (1.0 + fps / (2 * math.pi * cutoff))


def one_euro_smooth(x: np.ndarray, fps: float = 25.0, min_cutoff: float = 1.0, beta: float = 0.05,
                    d_cutoff: float = 1.0) -> np.ndarray:
    """The 1€ filter along axis 0, independently for every coordinate of a ``(T, ...)`` array.

    ``dx_t = lowpass((x_t - x̂_{t-1}) · fps, d_cutoff)``, ``fc = min_cutoff + beta · |dx_t|`` (Hz),
    ``x̂_t = x̂_{t-1} + α(fc) (x_t - x̂_{t-1})`` with ``α(f) = 1 / (1 + fps / (2π f))``.
    Lower ``min_cutoff`` removes more jitter; higher ``beta`` (per px/s) reduces lag when moving.
    """
    a = _series(x, "x")
    if fps <= 0 or min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
        raise BadInputError("fps/min_cutoff/beta/d_cutoff",
                            f"got fps={fps}, min_cutoff={min_cutoff}, beta={beta}, d_cutoff={d_cutoff}",
                            "Use fps, min_cutoff and d_cutoff > 0 and beta >= 0 (the defaults: 25, 1.0, 0.05, 1.0)")
    out = np.empty_like(a)
    out[0] = a[0]
    dx = np.zeros_like(a[0])
    for t in range(1, len(a)):
        dx = dx + _alpha(d_cutoff, fps) * ((a[t] - out[t - 1]) * fps - dx)
        fc = min_cutoff + beta * np.abs(dx)
        out[t] = out[t - 1] + _alpha(fc, fps) * (a[t] - out[t - 1])
    return out


def smooth_landmarks(points: np.ndarray, method: str = "one_euro", **kwargs: float) -> np.ndarray:
    """Smooth ``(T, 68, 2)`` landmark tracks with ``"one_euro"`` (causal) or ``"savgol"`` (offline).

    ``kwargs`` go to :func:`one_euro_smooth` or :func:`savgol_smooth`. Returns float32.
    """
    if method == "one_euro":
        out = one_euro_smooth(points, **kwargs)
    elif method == "savgol":
        out = savgol_smooth(points, **kwargs)  # type: ignore[arg-type]
    else:
        raise BadInputError("method", f"unknown smoothing method {method!r}", "Use 'one_euro' or 'savgol'")
    return out.astype(np.float32)
