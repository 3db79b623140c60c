"""Similarity alignment of faces to a canonical 68-point template.

Each face is warped by the rotation + uniform scale + translation that best maps its 68 landmarks
onto the template in the least-squares sense (Umeyama, IEEE TPAMI 1991; scikit-image
``SimilarityTransform``). The residual left after that fit is reported per face.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import BadInputError
from ._image import as_rgb_uint8
from .landmarking import Landmarks

__all__ = ["AlignedFaces", "similarity_matrix", "align_faces"]


def similarity_matrix(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``(3, 3)`` least-squares similarity taking points ``src`` to ``dst`` (Umeyama, via scikit-image)."""
    from skimage.transform import SimilarityTransform

    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if hasattr(SimilarityTransform, "from_estimate"):  # scikit-image >= 0.26
        tf = SimilarityTransform.from_estimate(src, dst)
        if not tf:
            raise BadInputError("points", f"similarity estimation failed: {tf}",
                                "Check that the landmarks are not all on one line")
        return np.asarray(tf.params)
    tf = SimilarityTransform()
    tf.estimate(src, dst)
    return np.asarray(tf.params)


@dataclass(frozen=True, eq=False)
class AlignedFaces:
    """``images`` ``(N, S, S, 3)`` uint8, ``points`` ``(N, 68, 2)`` landmarks carried into them,
    ``matrices`` ``(N, 3, 3)`` image→aligned, ``rms`` ``(N,)`` pixel RMS distance to ``template`` ``(68, 2)``."""

    images: np.ndarray
    points: np.ndarray
    matrices: np.ndarray
    rms: np.ndarray
    template: np.ndarray


def _as_point_list(landmarks: object) -> list[np.ndarray]:
    if isinstance(landmarks, Landmarks) or (isinstance(landmarks, np.ndarray) and landmarks.ndim == 2):
        landmarks = [landmarks]
    pts = [np.asarray(lm.points if isinstance(lm, Landmarks) else lm, np.float64) for lm in landmarks]  # type: ignore[union-attr]
    for k, p in enumerate(pts):
        if p.shape != (68, 2) or not np.all(np.isfinite(p)):
            raise BadInputError(f"landmarks[{k}]", f"expected finite (68, 2) points, got {p.shape}")
    return pts


def align_faces(images: np.ndarray | Sequence[np.ndarray], landmarks: object, size: int = 256,
                template: str | np.ndarray = "ffhq-like", border: str = "reflect") -> AlignedFaces:
    """Warp each image so its 68 landmarks best match ``template`` in a ``size``² output.

    ``images``: one ``(H, W, 3)`` image or several; ``landmarks``: matching :class:`Landmarks` or
    ``(68, 2)`` arrays (one, a list, or ``(N, 68, 2)``). ``template``: a name of
    :data:`~thglib.face.template.TEMPLATES` or a ``(68, 2)`` array in output pixels.
    ``border``: ``"reflect"`` (FFHQ-like) or ``"constant"`` (black).
    """
    import cv2

    from .template import template_points

    imgs = [images] if isinstance(images, np.ndarray) and images.ndim == 3 else list(images)
    pts = _as_point_list(landmarks)
    if len(imgs) != len(pts):
        raise BadInputError("landmarks", f"{len(pts)} landmark sets for {len(imgs)} images", "Pass one per image")
    tpl = template_points(template, size) if isinstance(template, str) else np.asarray(template, np.float32)
    if tpl.shape != (68, 2):
        raise BadInputError("template", f"expected (68, 2) points, got {tpl.shape}")
    modes = {"reflect": cv2.BORDER_REFLECT101, "constant": cv2.BORDER_CONSTANT}
    if border not in modes:
        raise BadInputError("border", f"unknown border {border!r}", f"Use one of {sorted(modes)}")
    out, mats, mapped = [], [], []
    for k, (img, p) in enumerate(zip(imgs, pts, strict=True)):
        m = similarity_matrix(p, tpl)
        out.append(cv2.warpAffine(as_rgb_uint8(img, f"images[{k}]"), m[:2], (size, size),
                                  flags=cv2.INTER_LINEAR, borderMode=modes[border]))
        mats.append(m)
        mapped.append(p @ m[:2, :2].T + m[:2, 2])
    mapped_a = np.stack(mapped)
    rms = np.sqrt(((mapped_a - tpl) ** 2).sum(axis=2).mean(axis=1))
    return AlignedFaces(np.stack(out), mapped_a.astype(np.float32), np.stack(mats), rms, tpl)
