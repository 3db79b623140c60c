"""CSIM: identity preservation as the cosine similarity of face-recognition embeddings.

``CSIM_t = e(src) · e(gen_t) / (‖e(src)‖ ‖e(gen_t)‖)`` for each generated frame ``t``, where ``e`` is
an identity encoder: ArcFace (Deng et al., CVPR 2019, arXiv:1801.07698; InsightFace ``buffalo_l``
``w600k_r50``, 112×112 five-point aligned crop, RGB, ``(x/255 − 0.5)/0.5``) when its weights are
available, otherwise dlib's 128-D ResNet descriptor (offline). The value depends on the encoder
*and* on the crop, so both are recorded in the protocol card; CSIM values from different encoders
are not comparable (ArcFace's same-person threshold is ~0.3–0.4, dlib's unit vectors score ~0.9+).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..errors import BadInputError, NoFaceError
from ..memo import ContentMemo
from .card import MetricResult, ProtocolCard
from .inputs import Frames, as_frames

__all__ = ["ENCODER_PROTOCOLS", "encoder_protocol", "face_embedding", "csim"]

#: Per identity backend: (extractor description, crop description).
ENCODER_PROTOCOLS = {
    "arcface": ("ArcFace w600k_r50 (InsightFace buffalo_l), 512-D, RGB, (x/255 - 0.5)/0.5",
                "largest face; 112×112 crop, similarity-aligned from 5 points (InsightFace template)"),
    "dlib": ("dlib ResNet-29 face descriptor (dlib_face_recognition_resnet_model_v1), 128-D",
             "largest face; 150×150 chip aligned by dlib from 68 landmarks"),
}


def encoder_protocol(backend: str) -> tuple[str, str, str]:
    """``(extractor, crop, weights)`` card entries of the identity backend ``"arcface"`` or ``"dlib"``."""
    from ..weights import card, sha256_of

    if backend == "arcface":
        c = card("buffalo_l")
        weights = f"buffalo_l: {c.filename} sha256:{c.sha256}"
    else:
        from ..face.dlib_backend import model_path

        path = model_path("resnet")
        weights = f"{path.name} sha256:{sha256_of(path)}"
    return (*ENCODER_PROTOCOLS[backend], weights)


_MEMO = ContentMemo(4096)  # (embedding, landmark backend) or the NoFaceError, by image content and backend


def forget_embeddings() -> None:
    """Empty :func:`face_embedding`'s memo (so that a timing run starts cold)."""
    _MEMO.clear()


def face_embedding(image: np.ndarray, backend: str) -> tuple[np.ndarray, str]:
    """Unit-norm identity embedding of the largest face and the landmark backend used for its crop.

    The dlib encoder always gets dlib's own landmarks (its chips were made from them); ArcFace gets
    the best landmarks available here (``"auto"``: FAN on a GPU, dlib otherwise). Results are kept for
    the last 4096 images by content (BLAKE2b of the pixels), so CSIM and the FD-dlib128 features of one
    clip find each face once.
    """
    from ..face import identity_embedding, landmarks

    key = ContentMemo.key(image, backend)
    hit = _MEMO.get(key)
    if hit is None:
        try:
            lm = landmarks(image, backend="dlib" if backend == "dlib" else "auto")
            hit = np.asarray(identity_embedding(image, lm, backend=backend), np.float64), lm.backend
        except NoFaceError as e:
            hit = e.with_traceback(None)
        _MEMO.put(key, hit)
    if isinstance(hit, NoFaceError):
        raise hit
    return hit[0].copy(), hit[1]


def csim(reference: Frames, generated: Frames, *, backend: Literal["auto", "arcface", "dlib"] = "auto",
         on_missing: Literal["error", "nan"] = "error") -> MetricResult:
    """Per-frame cosine similarity between the reference identity and each generated frame (higher is better).

    ``reference``: one source image (compared with every frame) or a clip as long as ``generated``
    (frame-by-frame). ``on_missing="nan"`` gives NaN to generated frames without a face and averages
    the others; the default raises :class:`~thglib.errors.NoFaceError` naming the frame.
    """
    from ..face import get_encoder

    ref, gen = as_frames(reference, "reference"), as_frames(generated, "generated")
    if len(ref) not in (1, len(gen)):
        raise BadInputError("reference", f"{len(ref)} frames for {len(gen)} generated frames",
                            "Pass one source image, or a reference clip of the same length")
    if on_missing not in ("error", "nan"):
        raise BadInputError("on_missing", f"unknown policy {on_missing!r}", "Use 'error' or 'nan'")
    enc = get_encoder(backend).name
    src = []
    for t, r in enumerate(ref):
        try:
            e, marker = face_embedding(r, enc)
        except NoFaceError:
            raise NoFaceError(t if len(ref) > 1 else None, "reference",
                              "Pass a reference image or clip in which the face is visible and at least "
                              "~80 px tall") from None
        src.append(e)
    per_frame = np.full(len(gen), np.nan)
    for t, frame in enumerate(gen):
        try:
            e = face_embedding(frame, enc)[0]
        except NoFaceError:
            if on_missing == "error":
                raise NoFaceError(t, "generated", "Check the frame, or pass on_missing='nan'") from None
            continue
        per_frame[t] = float(src[t if len(src) > 1 else 0] @ e)
    if np.isnan(per_frame).all():
        raise NoFaceError(None, "generated", "No generated frame has a detectable face")
    extractor, crop, weights = encoder_protocol(enc)
    card = ProtocolCard(metric=f"CSIM-{enc}", implementation="thglib csim (cosine of unit-norm embeddings)",
                        crop=f"{crop}; landmarks: {marker}", extractor=extractor, weights=weights,
                        samples=int(np.isfinite(per_frame).sum()),
                        notes=f"{int(np.isnan(per_frame).sum())} frame(s) without a face (NaN). "
                              f"Reference: {'one image' if len(ref) == 1 else 'per frame'}.")
    return MetricResult(float(np.nanmean(per_frame)), card, higher_is_better=True, per_frame=per_frame)
