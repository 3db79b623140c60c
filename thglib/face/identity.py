"""Identity embeddings: one vector per face, close for the same person, far for different people."""

from __future__ import annotations

import numpy as np

from ..errors import BadInputError
from ._image import as_rgb_uint8
from .backends import get_encoder
from .landmarking import Landmarks, landmarks

__all__ = ["Embedding", "DLIB_THRESHOLD", "identity_embedding", "identity_distance", "cosine_similarity"]

#: dlib's decision rule: raw (not normalised) ResNet descriptors closer than this are the same person
#: (dlib ``dnn_face_recognition_ex.cpp``; 99.38 % on LFW).
DLIB_THRESHOLD = 0.6


class Embedding(np.ndarray):
    """A 1-D float32 array that also records the ``backend`` that produced it."""

    backend: str = ""

    def __array_finalize__(self, obj: object) -> None:
        self.backend = getattr(obj, "backend", "")


def identity_embedding(image: np.ndarray, points: Landmarks | np.ndarray | None = None,
                       backend: str = "auto", normalize: bool = True) -> Embedding:
    """The identity vector of the (largest) face: 128-D for ``dlib``, 512-D for ``arcface``.

    ``points`` (a :class:`Landmarks` or a ``(68, 2)`` array) are computed with
    :func:`~thglib.face.landmarks` unless given. ``normalize=True`` returns ``e / ||e||``; ``normalize=False`` returns
    the raw descriptor, the one :data:`DLIB_THRESHOLD` is calibrated for.
    """
    img = as_rgb_uint8(image)
    if points is None:
        from ..errors import NoFaceError

        try:
            points = landmarks(img)
        except NoFaceError as e:
            raise NoFaceError(None, e.what, "Check that a face is visible; for a small face pass "
                              "points=thglib.face.landmarks(image, upsample=2)") from None
    from ..validate import finite

    pts = points.points if isinstance(points, Landmarks) else finite(points, "points", dtype=np.float32)
    if pts.shape != (68, 2):
        raise BadInputError("points", f"expected (68, 2) points, got {pts.shape}",
                            "Pass the Landmarks from thglib.face.landmarks(image), or None")
    enc = get_encoder(backend)
    v = np.asarray(enc.encode(img, pts), np.float32)
    if normalize:
        v = v / max(float(np.linalg.norm(v)), 1e-12)
    out = v.view(Embedding)
    out.backend = enc.name
    return out


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise BadInputError("a, b", f"expected two 1-D embeddings of equal length, got {a.shape} and {b.shape}",
                            "Compare embeddings from the same backend")
    return a, b


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance ``||a - b||`` (for unit vectors, ``sqrt(2 - 2 cos ω)``, ω the angle between them)."""
    a, b = _pair(a, b)
    return float(np.linalg.norm(a - b))


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """``a·b / (||a|| ||b||)`` in [-1, 1]; the usual ArcFace score (same person above ~0.3–0.4)."""
    a, b = _pair(a, b)
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
