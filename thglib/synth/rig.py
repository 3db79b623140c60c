"""A 2-D face rig: 68 neutral landmarks moved by mouth, eyelid and head-pose parameters.

Deformations act in a face frame: origin at the midpoint of the eye centres, ``x`` along the eye
line, ``y`` perpendicular to it (down), unit = inter-ocular distance (IOD). With ``(o, w, r, h)``
the mouth parameters of :mod:`thglib.synth.visemes` and ``g_0`` the neutral inner-lip gap:

* lips scale horizontally about the mouth centre by ``(1 + w)(1 - k r)`` (``k`` = 0.25 outer,
  0.3 inner lip; the mesh would fold only beyond r ~ 2) and pout by ``0.04 r`` (outer lips move
  away from the midline);
* the upper lip rises by ``h`` (outer-lip ends by 0.6 h);
* each lower inner-lip point (67, 66, 65) is placed below its upper partner (61, 62, 63) at a gap
  of ``(0.85, 1, 0.85) o``, so the midline gap is exactly ``o`` and ``o = 0`` closes the lips;
  the outer lower lip moves with it (keeping its thickness);
* with ``drop = max(o - g_0, 0)`` the opening beyond the neutral one, the mouth corners move down
  by ``0.35 drop`` and the jaw (points 3–13, tapering from the chin) by ``0.9 drop``;
* a blink of closure ``c`` moves each upper-lid point (37, 38, 43, 44) and its lower partner
  (41, 40, 47, 46) toward a meeting point 30 % of the way up from the lower lid.

Head pose ``(ψ, b_x, b_y, ζ)`` (roll, translation in IOD units, scale; parameters ``roll_deg``,
``tx``, ``ty``, ``scale``) is a similarity about the neutral chin ``p_c`` (point 8), in image axes:
``p' = p_c + ζ R(ψ) (p − p_c) + d_io (b_x, b_y)ᵀ``.
"""

from __future__ import annotations

import numpy as np

from ..errors import BadInputError

__all__ = ["face_frame", "expression_landmarks", "pose_matrices", "apply_pose", "POSE_PIVOT"]

POSE_PIVOT = 8  #: landmark index of the pose pivot (the chin)
_UPPER_OUT, _W_UPPER_OUT = [49, 50, 51, 52, 53], np.array([0.6, 1, 1, 1, 0.6])
_LOWER_OUT, _W_LOWER_OUT = [55, 56, 57, 58, 59], np.array([0.8, 1, 1, 1, 0.8])
_UPPER_IN, _LOWER_IN, _CORNERS = [61, 62, 63], [67, 66, 65], [48, 54, 60, 64]  # lower[i] faces upper[i]
_GAP = np.array([0.85, 1.0, 0.85])  # inner-lip gap across the mouth, relative to the midline gap
_OUT_FROM_IN = [2, 2, 1, 0, 0]  # outer lower lip 55..59 follows inner 65, 65, 66, 67, 67
_JAW, _W_JAW = list(range(3, 14)), 0.9 * np.array([0.1, 0.3, 0.55, 0.8, 0.95, 1, 0.95, 0.8, 0.55, 0.3, 0.1])
_LIDS_UP, _LIDS_LO = [37, 38, 43, 44], [41, 40, 47, 46]


def face_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """``(origin (2,), axes (2, 2) rows x/y, iod)`` of 68 landmarks (see the module docstring)."""
    p = np.asarray(points, dtype=np.float64)
    if p.shape != (68, 2):
        raise BadInputError("points", f"expected (68, 2) landmarks, got {p.shape}")
    left, right = p[36:42].mean(axis=0), p[42:48].mean(axis=0)
    iod = float(np.linalg.norm(right - left))
    if iod < 1e-6:
        raise BadInputError("points", "the two eye centres coincide", "Pass real 68-point landmarks")
    ux = (right - left) / iod
    return (left + right) / 2, np.stack([ux, [-ux[1], ux[0]]]), iod


def _mouth(local: np.ndarray, mouth: np.ndarray) -> None:
    """Apply mouth parameters (T, 4) in place to face-frame points ``local`` (T, 68, 2)."""
    o, w, r, u = (mouth[:, i:i + 1] for i in range(4))
    g0 = local[0, 66, 1] - local[0, 62, 1]
    cx = local[0, 48:68, 0].mean()
    local[:, 48:60, 0] = cx + (local[:, 48:60, 0] - cx) * (1 + w) * (1 - 0.25 * r)
    local[:, 60:68, 0] = cx + (local[:, 60:68, 0] - cx) * (1 + w) * (1 - 0.3 * r)
    local[:, _UPPER_OUT, 1] -= (u + 0.04 * r) * _W_UPPER_OUT
    local[:, _UPPER_IN, 1] -= u
    lower = local[:, _UPPER_IN] + np.stack([np.zeros_like(o * _GAP), o * _GAP], axis=-1)
    moved = lower - local[:, _LOWER_IN]  # (T, 3, 2) displacement of 67, 66, 65
    local[:, _LOWER_IN] = lower
    local[:, _LOWER_OUT, 1] += moved[:, _OUT_FROM_IN, 1] * _W_LOWER_OUT + 0.04 * r
    drop = np.maximum(o - g0, 0.0)
    local[:, _CORNERS, 1] += 0.35 * drop
    local[:, _JAW, 1] += drop * _W_JAW


def _blink(local: np.ndarray, closure: np.ndarray) -> None:
    """Close the eyelids in place by ``closure`` (T,) in [0, 1]."""
    up, lo = local[:, _LIDS_UP], local[:, _LIDS_LO]
    meet = lo + 0.3 * (up - lo)
    c = closure[:, None, None]
    local[:, _LIDS_UP] = up + c * (meet - up)
    local[:, _LIDS_LO] = lo + c * (meet - lo)


def expression_landmarks(neutral: np.ndarray, mouth: np.ndarray, eye_closure: np.ndarray) -> np.ndarray:
    """Landmarks ``(T, 68, 2)`` float32 of the neutral face with mouth (T, 4) and blink (T,) applied, before pose."""
    mouth = np.asarray(mouth, dtype=np.float64)
    closure = np.asarray(eye_closure, dtype=np.float64)
    if mouth.ndim != 2 or mouth.shape[1] != 4 or closure.shape != (len(mouth),):
        raise BadInputError("mouth/eye_closure", f"shapes {mouth.shape}, {closure.shape}",
                            "Pass mouth (T, 4) and eye_closure (T,)")
    origin, axes, iod = face_frame(neutral)
    local = np.repeat(((np.asarray(neutral, np.float64) - origin) @ axes.T / iod)[None], len(mouth), axis=0)
    _mouth(local, mouth)
    _blink(local, closure)
    return (origin + iod * local @ axes).astype(np.float32)


def pose_matrices(pose: np.ndarray, pivot: np.ndarray, iod: float) -> np.ndarray:
    """``(T, 2, 3)`` similarity matrices of poses ``(roll_deg, tx, ty, scale)`` = ``(ψ, b_x, b_y, ζ)``
    about ``pivot`` ``p_c`` (2,)."""
    pose = np.asarray(pose, dtype=np.float64)
    if pose.ndim != 2 or pose.shape[1] != 4:
        raise BadInputError("pose", f"expected (T, 4), got {pose.shape}")
    a = np.deg2rad(pose[:, 0])
    sc, sn = pose[:, 3] * np.cos(a), pose[:, 3] * np.sin(a)
    c = np.asarray(pivot, dtype=np.float64)
    m = np.empty((len(pose), 2, 3))
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = sc, -sn, sn, sc
    m[:, 0, 2] = c[0] - sc * c[0] + sn * c[1] + iod * pose[:, 1]
    m[:, 1, 2] = c[1] - sn * c[0] - sc * c[1] + iod * pose[:, 2]
    return m


def apply_pose(points: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Transform points ``(T, N, 2)`` by per-frame matrices ``m`` ``(T, 2, 3)``: ``p' = m[:, :2] p + m[:, 2]``."""
    p = np.asarray(points, dtype=np.float64)
    return (p @ matrices[:, :, :2].transpose(0, 2, 1) + matrices[:, None, :, 2]).astype(np.float32)
