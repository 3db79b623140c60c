"""68-point facial landmarks for one image."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BadInputError
from ._image import as_rgb_uint8
from .backends import get_landmarker
from .box import FaceBox
from .detection import detect_face
from .regions import REGIONS

__all__ = ["Landmarks", "landmarks", "paired_detector"]


@dataclass(frozen=True, eq=False)
class Landmarks:
    """68 ``(x, y)`` pixel points (float32, the scheme of :mod:`thglib.face.regions`), the box they
    were fitted in, and the landmark backend that fitted them."""

    points: np.ndarray
    box: FaceBox
    backend: str

    def region(self, name: str) -> np.ndarray:
        """The points of one region: ``"jaw"``, ``"brows"``, ``"nose"``, ``"eyes"`` or ``"mouth"``."""
        if name not in REGIONS:
            raise BadInputError("name", f"unknown region {name!r}", f"Use one of {list(REGIONS)}")
        return self.points[REGIONS[name]]


def paired_detector(landmark_backend: str, detector: str = "auto") -> str:
    """The detector to use with a landmark backend: FAN was trained on S3FD boxes, dlib's trees on HOG boxes."""
    if detector != "auto":
        return detector
    return {"fan": "s3fd", "dlib": "dlib-hog"}.get(landmark_backend, "auto")


def landmarks(image: np.ndarray, box: FaceBox | object | None = None, backend: str = "auto",
              detector: str = "auto", upsample: int | str = 1) -> Landmarks:
    """The 68 landmarks of the face in ``box`` (default: the largest face :func:`detect_face` finds).

    ``box`` may be a :class:`FaceBox` or any ``[x0, y0, x1, y1]``. The detector defaults to the
    one the landmark model was trained with (:func:`paired_detector`).
    """
    from ..errors import NoFaceError
    from .detection import no_face_fix

    img = as_rgb_uint8(image)
    model = get_landmarker(backend)
    if box is None:
        try:
            box = detect_face(img, backend=paired_detector(model.name, detector), upsample=upsample)
        except NoFaceError as e:
            fix = no_face_fix(upsample, "upsample=2", "detector='dlib-mmod'")
            raise NoFaceError(None, e.what, fix + ", or pass the face's box= yourself") from None
    face = FaceBox.from_array(box)
    h, w = img.shape[:2]
    inside = face.clipped(h, w).area
    if inside < 0.5 * face.area:
        raise BadInputError("box", f"{[round(v, 1) for v in face.as_array().tolist()]} lies "
                            f"{'entirely' if inside == 0 else 'mostly'} outside the {w}x{h} image, so the "
                            "landmarks would be invented", "Pass a box inside the image (e.g. from "
                            "thglib.face.detect_face(image)), or box=None to detect the face")
    pts = np.asarray(model.predict(img, face), np.float32)
    return Landmarks(pts, face, model.name)
