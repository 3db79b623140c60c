"""Alignment before comparison, so that a shifted or re-cropped output is compared fairly.

* **temporal, generated vs reference**: the frame lag ``k`` maximising the normalised cross-correlation
  of the two landmark trajectories (mouth opening and width, eye opening and the face centre, each in
  inter-ocular distances and z-scored), ``r(k) = mean_t z_ref(t) · z_gen(t + k)`` over the overlap,
  ``|k| ≤ max_lag``; ``k > 0``: the generated clip lags the reference by ``k`` frames;
* **temporal, audio vs video**: found by the sync scorer's offset search (:func:`thglib.metrics.sync.lse`;
  its ``offset`` goes on the LSE card), not repeated here;
* **spatial**: one similarity transform (Umeyama least squares, :func:`thglib.face.similarity_matrix`)
  from the generated landmarks of the eyes and nose (points 27–47) to the reference's, over all frames,
  applied to the generated frames (``cv2.warpAffine``, bilinear) and landmarks.

Every step returns what it did as a sentence, which the runner puts on the cards of the metrics it affects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BadInputError
from ..metrics.landmark import ALIGN_POINTS, inter_ocular

__all__ = ["trajectory_signals", "frame_lag", "apply_lag", "Similarity", "estimate_similarity", "warp_frames"]


def trajectory_signals(points: np.ndarray) -> np.ndarray:
    """``(T, 3)`` speech-driven signals of ``(T, 68, 2)`` landmarks, in inter-ocular distances: inner-lip
    opening (62↔66), outer-lip opening (51↔57) and mouth width (48↔54). (Eyes and head position move
    too little and too independently of speech to pin a lag down.)"""
    p = np.asarray(points, np.float64)
    if p.ndim != 3 or p.shape[1:] != (68, 2):
        raise BadInputError("points", f"expected (T, 68, 2) landmarks, got {p.shape}")
    iod = np.maximum(inter_ocular(p), 1e-6)
    d = lambda a, b: np.linalg.norm(p[:, a] - p[:, b], axis=1)  # noqa: E731
    return np.stack([d(62, 66), d(51, 57), d(48, 54)], axis=1) / iod[:, None]


def _z(x: np.ndarray) -> np.ndarray:
    s = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(s > 1e-9, s, 1.0)


def frame_lag(reference: np.ndarray, generated: np.ndarray, max_lag: int = 10, min_overlap: int = 8,
              margin: float = 0.05) -> tuple[int, np.ndarray]:
    """``(k, r)``: the lag of the generated landmarks behind the reference's and the correlation
    ``r[j]`` for ``k = j − max_lag``. Each lag is scored on its own overlap (z-scored there), so a
    lag is only trusted with ``min_overlap`` frames of it; ``r`` is NaN where there are fewer. A lag
    other than 0 is chosen only when it beats lag 0 by ``margin`` (landmark noise shifts the peak by a
    frame on clips that are in sync)."""
    a, b = trajectory_signals(reference), trajectory_signals(generated)
    r = np.full(2 * max_lag + 1, np.nan)
    for j, k in enumerate(range(-max_lag, max_lag + 1)):
        x, y = (a[: len(b) - k], b[k:]) if k >= 0 else (a[-k:], b[: len(a) + k])
        n = min(len(x), len(y))
        if n >= min_overlap:
            r[j] = float((_z(x[:n]) * _z(y[:n])).mean())
    if np.isnan(r).all():
        raise BadInputError("reference/generated", f"{len(a)} and {len(b)} frames are too short to align",
                            f"Pass clips with at least {min_overlap} frames")
    best = int(np.nanargmax(r))
    if np.isfinite(r[max_lag]) and r[best] - r[max_lag] < margin:
        best = max_lag
    return best - max_lag, r


def apply_lag(reference: np.ndarray, generated: np.ndarray, lag: int) -> tuple[slice, slice]:
    """Slices of equal length pairing ``reference[t]`` with ``generated[t + lag]``."""
    n_ref, n_gen = len(reference), len(generated)
    if lag >= 0:
        n = min(n_ref, n_gen - lag)
        return slice(0, n), slice(lag, lag + n)
    n = min(n_ref + lag, n_gen)
    return slice(-lag, -lag + n), slice(0, n)


@dataclass(frozen=True)
class Similarity:
    """``matrix`` (3, 3) taking generated pixels to reference pixels, and its parameters."""

    matrix: np.ndarray
    scale: float
    rotation_deg: float
    shift: tuple[float, float]

    def is_identity(self, tol_scale: float = 0.03, tol_deg: float = 1.0, tol_px: float = 2.0) -> bool:
        """Within the noise of fitted landmarks (dlib on a ~60 px face: ~2 % scale, ~1 px): not worth a warp,
        whose interpolation would cost more fidelity than the misalignment."""
        return (abs(self.scale - 1) < tol_scale and abs(self.rotation_deg) < tol_deg
                and max(abs(self.shift[0]), abs(self.shift[1])) < tol_px)

    def describe(self) -> str:
        return (f"similarity generated→reference on landmarks 27–47: scale {self.scale:.4f}, rotation "
                f"{self.rotation_deg:+.2f}°, shift ({self.shift[0]:+.1f}, {self.shift[1]:+.1f}) px")

    def points(self, pts: np.ndarray) -> np.ndarray:
        """Landmarks ``(..., 2)`` carried by the transform."""
        return pts @ self.matrix[:2, :2].T + self.matrix[:2, 2]


def estimate_similarity(reference: np.ndarray, generated: np.ndarray) -> Similarity:
    """The least-squares similarity from all frames' generated points 27–47 to the reference's."""
    from ..face import similarity_matrix

    ref, gen = np.asarray(reference, np.float64), np.asarray(generated, np.float64)
    if ref.shape != gen.shape:
        raise BadInputError("generated", f"{gen.shape} landmarks vs {ref.shape}", "Align the clips in time first")
    idx = list(ALIGN_POINTS)
    m = similarity_matrix(gen[:, idx].reshape(-1, 2), ref[:, idx].reshape(-1, 2))
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    return Similarity(m, scale, float(np.degrees(np.arctan2(m[1, 0], m[0, 0]))), (float(m[0, 2]), float(m[1, 2])))


def warp_frames(frames: np.ndarray, sim: Similarity, size: tuple[int, int]) -> np.ndarray:
    """``frames`` warped by ``sim`` into a ``size = (width, height)`` canvas (bilinear, edge replicated)."""
    import cv2

    m = sim.matrix[:2].astype(np.float64)
    return np.stack([cv2.warpAffine(f, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                     for f in frames])
