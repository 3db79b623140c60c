"""The main face of an image: detect, decide what to do with several, fit 68 landmarks.

Detector and landmark model come from :mod:`thglib.face` (``"auto"``: S3FD + FAN from
face-alignment where a GPU and their weights are available, dlib's HOG detector and 68-point
shape predictor otherwise); :class:`FaceFit` records which ones ran.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BadInputError, NoFaceError

__all__ = ["SEVERAL", "FaceFit", "main_face"]

SEVERAL = ("largest", "refuse")  #: what to do with an image that shows several faces


@dataclass(frozen=True, eq=False)
class FaceFit:
    """The face a pipeline animates: its box, 68 landmarks (x, y pixels), the backends, how many faces
    the image holds, and a note when that was more than one."""

    box: object  #: :class:`thglib.face.FaceBox`
    points: np.ndarray
    detector: str
    landmarker: str
    n_faces: int
    note: str | None = None


def main_face(image: np.ndarray, *, detector: str = "auto", landmarks: str = "auto", upsample: int = 1,
              several: str = "largest", source: str = "image") -> FaceFit:
    """Detect the faces of ``image`` (RGB uint8), keep the largest, fit its 68 landmarks.

    ``several``: ``"largest"`` animates the largest face and says so in :attr:`FaceFit.note`;
    ``"refuse"`` raises :class:`~thglib.errors.BadInputError` naming ``source``.  No face:
    :class:`~thglib.errors.NoFaceError` naming ``source``.
    """
    from ..face import detect_faces, get_landmarker, landmarks as fit_landmarks
    from ..face.detection import NO_FACE_FIX, NO_FACE_FIX_UPSAMPLED
    from ..face.landmarking import paired_detector
    from ..validate import one_of

    one_of(several, "several", SEVERAL)
    if upsample not in (0, 1, 2, 3) or isinstance(upsample, bool):
        raise BadInputError("upsample", f"is {upsample!r}", "Use 0, 1, 2 or 3")
    model = get_landmarker(landmarks)
    det = paired_detector(model.name, detector)
    faces = detect_faces(image, backend=det, upsample=upsample)
    if not faces:
        fix = (NO_FACE_FIX if upsample < 2 else NO_FACE_FIX_UPSAMPLED).format(
            upsample="upsample=2", detector="detector='dlib-mmod'")
        raise NoFaceError(None, source, fix)
    face, note = faces[0], None
    if len(faces) > 1:
        where = [int(round(v)) for v in face.as_array()]
        if several == "refuse":
            raise BadInputError(source, f"shows {len(faces)} faces", "Crop it to the one face to animate, or pass "
                                "several='largest' to animate the largest")
        note = (f"{source} shows {len(faces)} faces; the largest (box {where}) is animated. Crop the image, or "
                "pass several='refuse' to stop instead")
    lm = fit_landmarks(image, face, backend=model.name)
    return FaceFit(box=face, points=np.asarray(lm.points, np.float32), detector=face.backend or det,
                   landmarker=lm.backend, n_faces=len(faces), note=note)
