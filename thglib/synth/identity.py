"""The face a synthetic clip animates: a real portrait, cropped around its face, with its 68 landmarks.

The portrait is scaled so that the inter-ocular distance (IOD) is ``size / crop_scale`` pixels and
translated so that the face centre (midway between the eye midpoint and the mouth centre) lands at
``(size / 2, 0.53 size)``. A margin of ``size / 4`` pixels is kept on every side of the output
frame (the *canvas*), so the head can move without running out of picture. The neutral landmarks
come from dlib's 68-point predictor (Kazemi & Sullivan 2014) run once on the full portrait.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BadInputError

__all__ = ["Identity", "load_identity", "portrait_landmarks"]


@dataclass(frozen=True)
class Identity:
    """A portrait ready to animate.

    ``canvas`` is ``(size + 2 margin)²`` RGB uint8; output pixel ``(x, y)`` is canvas pixel
    ``(x + margin, y + margin)``. ``neutral`` are the landmarks (68, 2) in output pixels, ``iod``
    their inter-ocular distance in pixels.
    """

    name: str
    canvas: np.ndarray
    neutral: np.ndarray
    size: int
    margin: int
    iod: float


def _read_portrait(identity: str | Path) -> tuple[str, np.ndarray]:
    """``(name, RGB uint8 image)`` of a sample portrait name or an image path."""
    from ..samples import PORTRAITS, portrait

    from ..validate import read_image

    if isinstance(identity, str) and identity in PORTRAITS:
        return identity, portrait(identity)
    if not isinstance(identity, (str, Path)):
        raise BadInputError("identity", f"is {type(identity).__name__}",
                            f"Use one of {sorted(PORTRAITS)} or the path of a frontal face photo")
    path = Path(identity).expanduser()
    if not path.is_file():
        raise BadInputError("identity", f"{str(identity)!r} is neither a sample portrait nor an image file",
                            f"Use one of {sorted(PORTRAITS)} or the path of a frontal face photo")
    return str(path), read_image(path, "identity", fix="Pass a JPEG or PNG photo of a face as identity=")


_LANDMARKS: dict[tuple[str, float], np.ndarray] = {}  # (name, file mtime) -> (68, 2), see portrait_landmarks


def _file_key(identity: str | Path) -> tuple[str, float]:
    """``(name, mtime)``: sample portraits have mtime 0; a missing file raises like :func:`_read_portrait`."""
    if _is_sample(identity):
        return str(identity), 0.0
    path = Path(identity).expanduser()
    if not path.is_file():
        _read_portrait(identity)
    return str(path), path.stat().st_mtime


def _is_sample(identity: str | Path) -> bool:
    from ..samples import PORTRAITS

    return isinstance(identity, str) and identity in PORTRAITS


def _seed_cache(entries: dict[tuple[str, float], np.ndarray]) -> None:
    """Fill the landmark cache (initialiser of the worker processes of :func:`~.dataset.make_dataset`)."""
    _LANDMARKS.update(entries)


def portrait_landmarks(identity: str | Path) -> np.ndarray:
    """dlib's 68 landmarks ``(68, 2)`` of a sample portrait or image file (cached per file version).

    The cache (``_LANDMARKS``) can be handed to worker processes, so dlib runs once per portrait.
    """
    key = _file_key(identity)
    if key not in _LANDMARKS:
        from ..errors import NoFaceError
        from ..face import landmarks

        name, img = _read_portrait(identity)
        try:
            pts = landmarks(img, backend="dlib", detector="dlib-hog").points.astype(np.float64)
        except NoFaceError:
            from ..samples import PORTRAITS

            raise NoFaceError(None, f"identity '{name}'", "The portrait needs one frontal face, eyes open and "
                              f"at least ~80 px tall: pass another photo with identity=PATH, or one of "
                              f"{sorted(PORTRAITS)}") from None
        pts.setflags(write=False)
        _LANDMARKS[key] = pts
    return _LANDMARKS[key]


def _crop_matrix(points: np.ndarray, size: int, crop_scale: float, margin: int) -> np.ndarray:
    """2x3 affine (uniform scale + shift) taking portrait pixels to canvas pixels."""
    from .rig import face_frame

    _, _, iod = face_frame(points)
    centre = (points[36:48].mean(axis=0) + points[48:68].mean(axis=0)) / 2
    s = size / (crop_scale * iod)
    target = np.array([size / 2 + margin, 0.53 * size + margin])
    return np.array([[s, 0, target[0] - s * centre[0]], [0, s, target[1] - s * centre[1]]])


def load_identity(identity: str | Path = "astronaut", size: int = 256, crop_scale: float = 4.5) -> Identity:
    """Crop, scale and landmark a portrait (a :data:`thglib.samples.PORTRAITS` name or an image path).

    Downscaling is anti-aliased with a Gaussian blur of ``sigma = 0.4 / s`` before resampling.
    """
    from ..validate import SYNTH_SIZE, count, number

    count(size, "size", lo=SYNTH_SIZE[0], hi=SYNTH_SIZE[1])
    number(crop_scale, "crop_scale", lo=2.0, hi=12.0, fix="Pass a frame side of 2..12 inter-ocular distances")
    import cv2

    name, img = _read_portrait(identity)
    pts = portrait_landmarks(identity)
    margin = int(size) // 4
    m = _crop_matrix(pts, int(size), crop_scale, margin)
    if m[0, 0] < 1:
        img = cv2.GaussianBlur(img, (0, 0), 0.4 / m[0, 0])
    side = int(size) + 2 * margin
    canvas = cv2.warpAffine(img, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    neutral = pts @ m[:, :2].T + m[:, 2] - margin
    canvas.setflags(write=False)
    return Identity(name, canvas, neutral.astype(np.float32), int(size), margin, float(m[0, 0]) * _iod(pts))


def _iod(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[36:42].mean(axis=0) - points[42:48].mean(axis=0)))
