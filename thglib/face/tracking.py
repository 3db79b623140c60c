"""Landmarks for every frame of a clip, running the (slow) detector only every ``every`` frames.

Between detections the box is *tracked*: the last detected box is moved and scaled with the
landmarks (:func:`follow_box`), so the landmark model always sees a box shaped like the
detector's. The landmark model itself runs on every frame. A face is only found missing on a
detection frame; a tracked box that leaves the image or collapses forces an immediate detection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import BadInputError, NoFaceError
from ._image import as_rgb_uint8
from .backends import get_detector, get_landmarker
from .box import FaceBox
from .detection import detect_faces
from .landmarking import paired_detector
from .protocols import LandmarkDetector

__all__ = ["LandmarkTrack", "landmarks_video", "follow_box"]

POLICIES = ("raise", "skip", "interpolate")


@dataclass(frozen=True, eq=False)
class LandmarkTrack:
    """Per-frame landmarks of one face.

    ``points`` ``(N, 68, 2)`` float32 and ``boxes`` ``(N, 4)`` ``[x0, y0, x1, y1]`` belong to the
    frame indices ``frames`` ``(N,)``; ``detected[k]`` is True where the detector ran (False: tracked
    or interpolated). ``missing`` lists frames where no face was found: absent from the rows under
    ``policy="skip"``, filled by linear interpolation under ``"interpolate"``. ``backend`` and
    ``detector`` name the landmark model and the face detector used.
    """

    points: np.ndarray
    boxes: np.ndarray
    frames: np.ndarray
    detected: np.ndarray
    missing: tuple[int, ...]
    n_frames: int
    backend: str
    detector: str

    def __len__(self) -> int:
        return len(self.frames)


def follow_box(ref_box: FaceBox, ref_points: np.ndarray, points: np.ndarray) -> FaceBox:
    """Move ``ref_box`` with the landmarks: the box the detector would give for ``points``.

    Uses the translation + uniform scale taking ``ref_points`` (fitted in ``ref_box``) to
    ``points``: ``s = rms(p - p̄) / rms(q - q̄)``, new centre ``p̄ + s (c - q̄)``, size ``s · (w, h)``.
    Keeping the detector's box shape stops a bad fit from distorting the next frame's box.
    """
    q, p = np.asarray(ref_points, np.float64), np.asarray(points, np.float64)
    qm, pm = q.mean(axis=0), p.mean(axis=0)
    s = float(np.sqrt(((p - pm) ** 2).sum() / max(((q - qm) ** 2).sum(), 1e-9)))
    cx, cy = pm + s * (np.asarray(ref_box.center) - qm)
    hw, hh = s * ref_box.width / 2, s * ref_box.height / 2
    return FaceBox(cx - hw, cy - hh, cx + hw, cy + hh, backend="track")


def _lost(box: FaceBox, shape: tuple[int, ...]) -> bool:
    cx, cy = box.center
    return min(box.width, box.height) < 8 or not (0 <= cx < shape[1] and 0 <= cy < shape[0])


def _interpolate(rows: list[tuple], n: int) -> list[tuple]:
    """Rows for all ``n`` frames, missing ones by per-coordinate linear interpolation (constant beyond the ends)."""
    idx = np.array([r[0] for r in rows])
    pts = np.stack([r[1] for r in rows]).reshape(len(rows), -1)
    box = np.stack([r[2] for r in rows])
    full = np.arange(n)
    pts_i = np.stack([np.interp(full, idx, c) for c in pts.T], axis=1).reshape(n, 68, 2)
    box_i = np.stack([np.interp(full, idx, c) for c in box.T], axis=1)
    det = {r[0]: r[3] for r in rows}
    return [(i, pts_i[i], box_i[i], det.get(i, False)) for i in full]


def _fit(model: LandmarkDetector, img: np.ndarray, box: FaceBox,
         ref: tuple[FaceBox, np.ndarray] | None, refine: int) -> np.ndarray:
    """Landmarks in ``box``, refitted ``refine`` times in the box they imply (tracked frames only)."""
    pts = np.asarray(model.predict(img, box), np.float32)
    for _ in range(refine if ref is not None else 0):
        pts = np.asarray(model.predict(img, follow_box(*ref, pts)), np.float32)
    return pts


def _check(every: object, refine: object, policy: str) -> None:
    for name, value, low in (("every", every, 1), ("refine", refine, 0)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise BadInputError(name, f"expected an integer >= {low}, got {value!r}")
    if policy not in POLICIES:
        raise BadInputError("policy", f"unknown policy {policy!r}", f"Use one of {POLICIES}")


def landmarks_video(frames: Iterable[np.ndarray], every: int = 1, policy: str = "raise",
                    backend: str = "auto", detector: str = "auto", upsample: int = 1,
                    refine: int = 1, source: str = "video") -> LandmarkTrack:
    """68 landmarks on every frame, detecting the face every ``every`` frames and tracking in between.

    With several faces the largest is taken at each detection. ``policy`` for a frame without a face:
    ``"raise"`` → :class:`~thglib.errors.NoFaceError` naming the frame index; ``"skip"`` → leave
    it out; ``"interpolate"`` → interpolate from the neighbouring frames. On tracked frames the
    landmark model runs ``1 + refine`` times, each time in the box :func:`follow_box` derives from
    the latest fit (the refit absorbs most of the lag when the head moves fast). ``frames`` may be
    a ``(T, H, W, 3)`` array or any iterable of RGB frames (e.g. a video reader), consumed once.
    """
    _check(every, refine, policy)
    model = get_landmarker(backend)
    det_name = get_detector(paired_detector(model.name, detector)).name
    rows: list[tuple] = []  # (frame index, points, box, detected)
    missing: list[int] = []
    ref: tuple[FaceBox, np.ndarray] | None = None  # last detected box and its landmarks
    last_det, n = -every, 0
    for i, frame in enumerate(frames):
        n += 1
        img = as_rgb_uint8(frame, f"{source} frame {i}")
        box = follow_box(*ref, rows[-1][1]) if ref is not None and i - last_det < every else None
        if box is None or _lost(box, img.shape):
            faces = detect_faces(img, backend=det_name, upsample=upsample)
            if not faces:
                if policy == "raise":
                    raise NoFaceError(i, source)
                missing.append(i)
                ref = None
                continue
            box, last_det, ref = faces[0], i, None
        pts = _fit(model, img, box, ref, refine)
        ref = ref or (box, pts)
        rows.append((i, pts, box.as_array(), last_det == i))
    if n == 0:
        raise BadInputError(source, "no frames were given", "Pass a (T, H, W, 3) array or a list of frames")
    if not rows:
        raise NoFaceError(None, source, "No frame of the clip contains a detectable face")
    if policy == "interpolate" and missing:
        rows = _interpolate(rows, n)
    return LandmarkTrack(
        points=np.stack([r[1] for r in rows]).astype(np.float32),
        boxes=np.stack([r[2] for r in rows]).astype(np.float32),
        frames=np.array([r[0] for r in rows], dtype=np.int64),
        detected=np.array([r[3] for r in rows], dtype=bool),
        missing=tuple(missing), n_frames=n, backend=model.name, detector=det_name)
