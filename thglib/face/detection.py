"""Face detection: every face in an image, or the main one.

``upsample="auto"`` (the default of the Wav2Lip pipeline, :func:`thglib.lipsync.face_boxes`) picks
dlib's upsampling from the image size instead of always doubling the image (``upsample=1``, about 4x
the work of ``upsample=0``): a fast pass runs ``upsample=0`` on the image scaled by ``s = 2 · (5/6)^j``,
the smallest such factor at which a face :data:`AUTO_FACE_FRACTION` of the shorter side still gives a
box of :data:`AUTO_MIN_BOX` px. dlib's pyramid steps by 5/6, so these scales are levels of the
``upsample=1`` pyramid: the fast pass scans its coarse levels only, and finds the same boxes (IoU 0.976
to 0.990 on the portraits upscaled to 844² and 1080p) 6.6-15x faster at 844² and 15-18x at 1080p
(``benchmarks/bench_detect.py``, two runs on a shared 2-core CPU). When it finds no face that large, the full
``upsample=1`` pass runs; on images whose shorter side is below ~440 px "auto" *is* ``upsample=1``. Backends that declare no
``pyramid_step`` get ``upsample=1``: S3FD (which ignores it) and dlib's MMOD (whose fast-pass box
matched ``upsample=1``'s with IoU 0.70 only on Grace Hopper at 844², see ``DlibMMOD``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Literal

import numpy as np

from ..errors import BadInputError, NoFaceError
from ._image import as_rgb_uint8
from .backends import get_detector
from .box import FaceBox

__all__ = ["UPSAMPLES", "AUTO_FACE_FRACTION", "AUTO_MIN_BOX", "Upsample", "check_upsample", "auto_scale",
           "detect_faces", "detect_face"]

Upsample = int | Literal["auto"]
UPSAMPLES = ("auto", 0, 1, 2, 3)  #: accepted ``upsample`` values
#: ``upsample="auto"``: faces at least this fraction of the image's shorter side are found by the fast pass.
AUTO_FACE_FRACTION = 0.2
#: Smallest box (px, in the downscaled image) the fast pass accepts. dlib HOG's finest pyramid level gives
#: 73 px boxes, also to faces of only ~60 px (mis-scaled: IoU ~0.7 against ``upsample=1``); from its second
#: level (87 px boxes) on, the boxes match ``upsample=1``'s.
AUTO_MIN_BOX = 85


def check_upsample(upsample: object, name: str = "upsample") -> Upsample:
    """``upsample`` if it is ``"auto"``, 0, 1, 2 or 3 (else :class:`~thglib.errors.BadInputError` naming ``name``)."""
    if isinstance(upsample, str):
        ok = upsample == "auto"
    else:
        ok = isinstance(upsample, (int, np.integer)) and not isinstance(upsample, (bool, np.bool_)) and 0 <= upsample <= 3
    if not ok:
        raise BadInputError(name, f"expected 'auto', 0, 1, 2 or 3, got {upsample!r}",
                            "Use 'auto' (chosen from the image size), or 0-3 doublings of the image")
    return upsample if isinstance(upsample, str) else int(upsample)  # type: ignore[return-value]


def auto_scale(height: int, width: int, step: float = 5 / 6) -> float | None:
    """The fast pass's scale ``s = 2 · step^j`` (largest ``j`` with ``s · AUTO_FACE_FRACTION · min(h, w) >=
    AUTO_MIN_BOX``), or ``None`` when that needs ``s >= 1`` (small image: ``upsample=1`` runs directly)."""
    need = AUTO_MIN_BOX / (AUTO_FACE_FRACTION * min(height, width))
    s = 2 * step ** math.floor(math.log(need / 2) / math.log(step) + 1e-9)
    return None if s >= 1 else s  # s >= 1: no pyramid level below the image itself to start from


def _scaled(det: object, img: np.ndarray, s: float) -> list[FaceBox]:
    """``det`` with ``upsample=0`` on ``img`` resized by ``s`` (bilinear), boxes mapped back to ``img``."""
    import cv2

    h, w = img.shape[:2]
    small = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_LINEAR)
    fx, fy = small.shape[1] / w, small.shape[0] / h
    return [replace(b, x0=b.x0 / fx, y0=b.y0 / fy, x1=b.x1 / fx, y1=b.y1 / fy) for b in det.detect(small, 0)]


def _detect_auto(det: object, img: np.ndarray) -> list[FaceBox]:
    """The fast pass when the backend scans a 5/6 pyramid and the image is large, else ``upsample=1``."""
    step = getattr(det, "pyramid_step", None)
    s = None if step is None else auto_scale(*img.shape[:2], step)
    if s is not None:
        found = _scaled(det, img, s)
        if found and max(b.width for b in found) * s >= AUTO_MIN_BOX:
            return found
    return det.detect(img, 1)


def detect_faces(image: np.ndarray, backend: str = "auto", upsample: Upsample = 1) -> list[FaceBox]:
    """All faces in an RGB image as :class:`FaceBox` es, largest area first (ties: higher score).

    ``upsample`` doubles the image that many times before a dlib detector runs (faces smaller
    than ~80 px need 1 or 2; each step costs ~4x time); S3FD ignores it. ``"auto"`` (module
    docstring) is much faster on large images but, once it has found a face of at least
    :data:`AUTO_FACE_FRACTION` of the shorter side, may miss faces below ~80 px beside it; so the
    default here (where *all* faces are asked for) and in :func:`detect_face` (whose box is
    ``detect_faces(image)[0]``) stays 1. Each box records the ``backend`` that
    found it (see :mod:`thglib.face.backends` for what ``"auto"`` picks).
    """
    upsample = check_upsample(upsample)
    img = as_rgb_uint8(image)
    det = get_detector(backend)
    found = _detect_auto(det, img) if upsample == "auto" else det.detect(img, upsample)
    boxes = [b.clipped(*img.shape[:2]) for b in found]
    boxes = [b for b in boxes if b.area > 0]
    n = len(boxes)
    return sorted((replace(b, n_faces=n) for b in boxes), key=lambda b: (-b.area, -np.nan_to_num(b.score)))


def detect_face(image: np.ndarray, backend: str = "auto", upsample: Upsample = 1,
                source: str = "image") -> FaceBox:
    """The largest face in ``image``; its ``n_faces`` says how many were found (with
    ``upsample="auto"``: by the pass that found it, see :func:`detect_faces`).

    Raises :class:`~thglib.errors.NoFaceError` (naming ``source``) when there is none.
    """
    boxes = detect_faces(image, backend=backend, upsample=upsample)
    if not boxes:
        raise NoFaceError(None, source, no_face_fix(upsample, "upsample=2", "backend='dlib-mmod'"))
    return boxes[0]


def no_face_fix(upsample: Upsample, upsample_hint: str, detector_hint: str) -> str:
    """What to try after no face was found with ``upsample`` (hints: how the caller spells the options)."""
    if upsample == "auto" or upsample < 2:
        return NO_FACE_FIX.format(upsample=upsample_hint, detector=detector_hint)
    return NO_FACE_FIX_UPSAMPLED.format(detector=detector_hint)


#: What to try when no face is found (``{upsample}``/``{detector}``: how the calling function spells them).
NO_FACE_FIX = ("Check that a face is visible and frontal-ish; a face smaller than ~80 px needs {upsample} "
               "(or {detector}, slower but more sensitive)")
NO_FACE_FIX_UPSAMPLED = "Check that a face is visible and frontal-ish, or try {detector} (slower but more sensitive)"
