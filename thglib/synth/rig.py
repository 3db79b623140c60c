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

**Yaw and pitch** (``SynthParams.head_yaw_deg``/``head_pitch_deg`` > 0) need depth: every point
gets a depth ``z`` toward the camera (:data:`LANDMARK_DEPTH`, IOD, relative to the eye plane; rough
average-adult values chosen for this rig: nose tip +0.45, lips ~+0.2, eye corners ~−0.1, face
outline down to −1.15 at ear level). In OpenCV camera axes (``Z = −z`` away from the camera, camera
``d`` = :data:`CAMERA_DISTANCE` IOD in front of the eye plane) a face-frame point ``(x, y)`` is
un-projected to ``P = ((d + Z)/d · x, (d + Z)/d · y, Z)``, rotated about the neck pivot ``c``
(:data:`ROTATION_PIVOT`) by ``R = R_y(yaw) R_x(pitch)`` and projected again,
``p = d / (d + Z') (X', Y')``, ``P' = c + R (P − c)`` — so zero rotation returns the points
unchanged. The signs are those of :func:`thglib.face.pose.pose_from_landmarks` (``yaw > 0`` turns
the nose toward the image's left, ``pitch > 0`` tilts it down); roll, shift and scale follow as
above, so the whole head pose is ``R_z(roll) R_y(yaw) R_x(pitch)``.
"""

from __future__ import annotations

import numpy as np

from ..errors import BadInputError

__all__ = ["face_frame", "expression_landmarks", "pose_matrices", "apply_pose", "rotate_points", "POSE_PIVOT",
           "LANDMARK_DEPTH", "ROTATION_PIVOT", "CAMERA_DISTANCE"]

POSE_PIVOT = 8  #: landmark index of the pose pivot (the chin)
_UPPER_OUT, _W_UPPER_OUT = [49, 50, 51, 52, 53], np.array([0.6, 1, 1, 1, 0.6])
_LOWER_OUT, _W_LOWER_OUT = [55, 56, 57, 58, 59], np.array([0.8, 1, 1, 1, 0.8])
_UPPER_IN, _LOWER_IN, _CORNERS = [61, 62, 63], [67, 66, 65], [48, 54, 60, 64]  # lower[i] faces upper[i]
_GAP = np.array([0.85, 1.0, 0.85])  # inner-lip gap across the mouth, relative to the midline gap
_OUT_FROM_IN = [2, 2, 1, 0, 0]  # outer lower lip 55..59 follows inner 65, 65, 66, 67, 67
_JAW, _W_JAW = list(range(3, 14)), 0.9 * np.array([0.1, 0.3, 0.55, 0.8, 0.95, 1, 0.95, 0.8, 0.55, 0.3, 0.1])
_LIDS_UP, _LIDS_LO = [37, 38, 43, 44], [41, 40, 47, 46]


def _mirrored(left: dict[int, float], pairs: dict[int, int]) -> np.ndarray:
    z = np.zeros(68)
    for i, v in left.items():
        z[i] = v
        z[pairs.get(i, i)] = v
    return z


_MIRROR = {**{i: 16 - i for i in range(8)}, **{17 + i: 26 - i for i in range(5)}, 31: 35, 32: 34,
           36: 45, 37: 44, 38: 43, 39: 42, 40: 47, 41: 46, 48: 54, 49: 53, 50: 52, 59: 55, 58: 56,
           60: 64, 61: 63, 67: 65}
#: depth of each of the 68 landmarks toward the camera (IOD, relative to the plane of the eye centres)
LANDMARK_DEPTH = _mirrored({0: -1.15, 1: -1.05, 2: -0.95, 3: -0.82, 4: -0.65, 5: -0.45, 6: -0.25, 7: -0.08, 8: 0.05,
                            17: -0.45, 18: -0.2, 19: -0.05, 20: 0.05, 21: 0.1,
                            27: 0.08, 28: 0.2, 29: 0.32, 30: 0.45, 31: 0.12, 32: 0.22, 33: 0.28,
                            36: -0.18, 37: -0.02, 38: 0.0, 39: -0.06, 40: -0.03, 41: -0.04,
                            48: 0.0, 49: 0.13, 50: 0.2, 51: 0.23, 59: 0.12, 58: 0.17, 57: 0.19,
                            60: 0.03, 61: 0.15, 62: 0.18, 67: 0.13, 66: 0.16}, _MIRROR)
LANDMARK_DEPTH.setflags(write=False)
ROTATION_PIVOT = np.array([0.0, 1.0, 1.4])  #: yaw/pitch centre (x, y, Z) in IOD, OpenCV axes: behind the mouth
CAMERA_DISTANCE = 12.0  #: camera distance from the eye plane in IOD (~75 cm for a 63 mm IOD)


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


def _rotations(yaw_pitch: np.ndarray) -> np.ndarray:
    """``(T, 3, 3)`` rotations ``R_y(yaw) R_x(pitch)`` of ``(T, 2)`` degrees (OpenCV camera axes)."""
    y, p = np.deg2rad(yaw_pitch[:, 0]), np.deg2rad(yaw_pitch[:, 1])
    cy, sy, cp, sp = np.cos(y), np.sin(y), np.cos(p), np.sin(p)
    zero, one = np.zeros_like(y), np.ones_like(y)
    ry = np.stack([np.stack([cy, zero, sy], -1), np.stack([zero, one, zero], -1), np.stack([-sy, zero, cy], -1)], 1)
    rx = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cp, -sp], -1), np.stack([zero, sp, cp], -1)], 1)
    return ry @ rx


def rotate_points(points: np.ndarray, neutral: np.ndarray, depth: np.ndarray, yaw_pitch: np.ndarray) -> np.ndarray:
    """Points ``(T, N, 2)`` px turned by ``yaw_pitch`` ``(T, 2)`` degrees in the face frame of ``neutral``.

    ``depth`` ``(N,)``: each point's depth toward the camera (IOD); see the module docstring.
    """
    p = np.asarray(points, np.float64)
    ang = np.asarray(yaw_pitch, np.float64)
    z = -np.asarray(depth, np.float64)
    if p.ndim != 3 or p.shape[2] != 2 or ang.shape != (len(p), 2) or z.shape != (p.shape[1],):
        raise BadInputError("points/yaw_pitch/depth", f"shapes {p.shape}, {ang.shape}, {z.shape}",
                            "Pass points (T, N, 2), yaw_pitch (T, 2) and depth (N,)")
    origin, axes, iod = face_frame(neutral)
    local = (p - origin) @ axes.T / iod
    d = CAMERA_DISTANCE
    depth_col = np.broadcast_to(z[None, :, None], p.shape[:2] + (1,))
    world = np.concatenate([local * ((d + z) / d)[None, :, None], depth_col], axis=2)
    turned = (world - ROTATION_PIVOT) @ _rotations(ang).transpose(0, 2, 1) + ROTATION_PIVOT
    proj = turned[..., :2] * (d / (d + turned[..., 2:]))
    return origin + iod * proj @ axes


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
