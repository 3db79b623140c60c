"""The 68-point face scheme (Multi-PIE / iBUG 300-W) shared by dlib and FAN, and its 5-point summary.

Indices are 0-based: jaw 0–16, eyebrows 17–26, nose 27–35, eyes 36–47 (36–41 is the eye on the
image's left, i.e. the subject's right eye), mouth 48–67 (outer lip 48–59, inner lip 60–67).
"""

from __future__ import annotations

import numpy as np

__all__ = ["REGIONS", "REGION_COLORS", "five_points", "eye_centers"]

REGIONS: dict[str, slice] = {
    "jaw": slice(0, 17),
    "brows": slice(17, 27),
    "nose": slice(27, 36),
    "eyes": slice(36, 48),
    "mouth": slice(48, 68),
}

REGION_COLORS: dict[str, str] = {
    "jaw": "tab:blue",
    "brows": "tab:orange",
    "nose": "tab:green",
    "eyes": "tab:red",
    "mouth": "tab:purple",
}


def eye_centers(points: np.ndarray) -> np.ndarray:
    """``(2, 2)``: the mean of points 36–41 (image-left eye) and of 42–47 (image-right eye)."""
    return np.stack([points[36:42].mean(axis=0), points[42:48].mean(axis=0)])


def five_points(points: np.ndarray) -> np.ndarray:
    """The ArcFace/RetinaFace 5-point layout from 68 points, ``(5, 2)`` float32.

    Order: image-left eye centre, image-right eye centre, nose tip (30), mouth corners (48, 54).
    """
    p = np.asarray(points, dtype=np.float32)
    return np.concatenate([eye_centers(p), p[[30, 48, 54]]]).astype(np.float32)
