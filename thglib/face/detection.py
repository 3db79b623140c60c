"""Face detection: every face in an image, or the main one."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import BadInputError, NoFaceError
from ._image import as_rgb_uint8
from .backends import get_detector
from .box import FaceBox

__all__ = ["detect_faces", "detect_face"]


def detect_faces(image: np.ndarray, backend: str = "auto", upsample: int = 1) -> list[FaceBox]:
    """All faces in an RGB image as :class:`FaceBox` es, largest area first (ties: higher score).

    ``upsample`` doubles the image that many times before a dlib detector runs (faces smaller
    than ~80 px need 1 or 2; each step costs ~4x time); S3FD ignores it. Each box records the
    ``backend`` that found it (see :mod:`thglib.face.backends` for what ``"auto"`` picks).
    """
    if upsample not in (0, 1, 2, 3):
        raise BadInputError("upsample", f"expected 0, 1, 2 or 3, got {upsample!r}")
    img = as_rgb_uint8(image)
    boxes = [b.clipped(*img.shape[:2]) for b in get_detector(backend).detect(img, upsample)]
    boxes = [b for b in boxes if b.area > 0]
    n = len(boxes)
    return sorted((replace(b, n_faces=n) for b in boxes), key=lambda b: (-b.area, -np.nan_to_num(b.score)))


def detect_face(image: np.ndarray, backend: str = "auto", upsample: int = 1,
                source: str = "image") -> FaceBox:
    """The largest face in ``image``; its ``n_faces`` says how many were found.

    Raises :class:`~thglib.errors.NoFaceError` (naming ``source``) when there is none.
    """
    boxes = detect_faces(image, backend=backend, upsample=upsample)
    if not boxes:
        raise NoFaceError(None, source, NO_FACE_FIX.format(upsample="upsample=2", detector="backend='dlib-mmod'")
                          if upsample < 2 else NO_FACE_FIX_UPSAMPLED.format(detector="backend='dlib-mmod'"))
    return boxes[0]


#: What to try when no face is found (``{upsample}``/``{detector}``: how the calling function spells them).
NO_FACE_FIX = ("Check that a face is visible and frontal-ish; a face smaller than ~80 px needs {upsample} "
               "(or {detector}, slower but more sensitive)")
NO_FACE_FIX_UPSAMPLED = "Check that a face is visible and frontal-ish, or try {detector} (slower but more sensitive)"
