"""Putting a generated face back into the frame it was cut from.

* :func:`paste_face` — resize into an axis-aligned box and overwrite it (Wav2Lip ``inference.py``);
* :func:`seamless_paste` — resize into the box and Poisson-blend it with ``cv2.seamlessClone``
  (``NORMAL_CLONE``, an all-255 mask, centred on the box and kept inside the frame), as SadTalker's
  ``src/utils/paste_pic.py`` does for ``--preprocess full``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ..errors import BadInputError

__all__ = ["paste_face", "seamless_paste", "clone_centre"]


def _box(box: Iterable[int], frame: np.ndarray) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (int(v) for v in box)
    if not (0 <= x0 < x1 <= frame.shape[1] and 0 <= y0 < y1 <= frame.shape[0]):
        raise BadInputError("box", f"{(x0, y0, x1, y1)} is not inside the {frame.shape[1]}x{frame.shape[0]} frame")
    return x0, y0, x1, y1


def paste_face(frame: np.ndarray, face: np.ndarray, box: Iterable[int]) -> np.ndarray:
    """A copy of ``frame`` with ``face`` resized (bilinear, ``cv2.resize``) into ``box = (x0, y0, x1, y1)``."""
    import cv2

    x0, y0, x1, y1 = _box(box, frame)
    out = frame.copy()
    out[y0:y1, x0:x1] = cv2.resize(face, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    return out


def clone_centre(box: Iterable[int], frame_size: tuple[int, int]) -> tuple[int, int]:
    """Where ``paste_pic.py`` centres the clone: the box centre, moved left / up so the patch ends
    inside the ``(width, height)`` frame."""
    x0, y0, x1, y1 = (int(v) for v in box)
    w, h = frame_size
    return min((x0 + x1) // 2, w - (x1 - x0) // 2), min((y0 + y1) // 2, h - (y1 - y0) // 2)


def seamless_paste(frame: np.ndarray, face: np.ndarray, box: Iterable[int]) -> np.ndarray:
    """``frame`` with ``face`` resized to ``box`` and blended in by ``cv2.seamlessClone`` (RGB uint8 in and out).

    The box may reach past the right or bottom edge (SadTalker's crop box does for faces near the
    border): the patch is then shifted back inside, as ``paste_pic.py`` does.  A patch larger than
    the frame is shrunk to fit.
    """
    import cv2

    x0, y0, x1, y1 = (int(v) for v in box)
    h, w = frame.shape[:2]
    if x1 <= x0 or y1 <= y0 or x0 < 0 or y0 < 0:
        raise BadInputError("box", f"{(x0, y0, x1, y1)} is empty or starts outside the {w}x{h} frame")
    bw, bh = min(x1 - x0, w), min(y1 - y0, h)
    if bw >= w - 2 or bh >= h - 2:  # no room left to blend: the patch is the frame
        return cv2.resize(np.ascontiguousarray(face), (w, h), interpolation=cv2.INTER_LINEAR)
    if bw < 4 or bh < 4:  # too small to blend (cv2 needs an interior): overwrite the box
        return paste_face(frame, face, (x0, y0, x0 + bw, y0 + bh))
    patch = cv2.resize(np.ascontiguousarray(face), (bw, bh), interpolation=cv2.INTER_LINEAR)
    mask = np.full(patch.shape, 255, np.uint8)
    cx, cy = clone_centre((x0, y0, x0 + bw, y0 + bh), (w, h))
    # seamlessClone asserts that the patch lies strictly inside the frame: clamp the centre to that
    cx = min(max(cx, (bw + 1) // 2), w - bw // 2 - 1)
    cy = min(max(cy, (bh + 1) // 2), h - bh // 2 - 1)
    return cv2.seamlessClone(patch, np.ascontiguousarray(frame), mask, (int(cx), int(cy)), cv2.NORMAL_CLONE)
