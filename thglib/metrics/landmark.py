"""LMD: the landmark distance between a reference and a generated talking-head video.

Chen et al. (ECCV 2018, "Lip Movements Generation at a Glance"; ATVGnet, CVPR 2019) compare the
68-point landmarks of the real and generated frames,

    LMD = (1/T) Σ_t (1/K) Σ_k ‖p_{t,k} − p̂_{t,k}‖₂ / d_{io,t} ,

over the K = 20 mouth points 48–67 ("M-LMD") or the K = 68 points of the whole face ("F-LMD").
Published numbers differ in choices the formula hides, so each is an argument here and goes into
the protocol card:

* **landmarks**: which detector found them (or ground truth), which boxes it ran in;
* **alignment**: ``"none"`` (frame pixels) or ``"similarity"``: each frame's landmarks are mapped
  by the similarity (Umeyama) that best fits its eyes and nose (points 27–47) to the canonical
  template of :mod:`thglib.face.template` at ``size`` pixels, removing head position, scale and roll;
* **normalisation** ``d_{io,t}``: ``"none"`` (pixels, no division) or ``"iod"``: the reference's
  inter-ocular distance (between the eye centres, means of 36–41 and 42–47) in frame ``t``;
* **mean-centring**: subtract each set's own mean over the compared points per frame (removes the
  remaining translation, e.g. of the mouth relative to the face).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..errors import BadInputError
from .card import MetricResult, ProtocolCard
from .inputs import Frames

__all__ = ["LMD_REGIONS", "ALIGN_POINTS", "inter_ocular", "align_landmarks", "lmd_points", "lmd"]

LMD_REGIONS: dict[str, tuple[int, int]] = {"mouth": (48, 68), "face": (0, 68)}
ALIGN_POINTS = tuple(range(27, 48))  #: nose and eyes: the points the similarity alignment fits

Normalise = Literal["none", "iod"]
Align = Literal["none", "similarity"]


def _points(x: object, name: str) -> np.ndarray:
    p = np.asarray(getattr(x, "points", x), np.float64)
    p = p[None] if p.ndim == 2 else p
    if p.ndim != 3 or p.shape[1:] != (68, 2) or not np.all(np.isfinite(p)):
        raise BadInputError(name, f"expected finite (T, 68, 2) landmarks, got shape {np.shape(p)}",
                            "Pass LandmarkTrack.points, a SynthClip's landmarks or a (T, 68, 2) array")
    return p


def inter_ocular(points: np.ndarray) -> np.ndarray:
    """``(T,)`` distance between the eye centres (means of points 36–41 and 42–47) of ``(T, 68, 2)`` landmarks."""
    p = _points(points, "points")
    return np.linalg.norm(p[:, 36:42].mean(axis=1) - p[:, 42:48].mean(axis=1), axis=1)


def align_landmarks(points: np.ndarray, size: int = 256) -> np.ndarray:
    """Map each frame's landmarks by the similarity fitting its points 27–47 to the ``"ffhq-like"`` template."""
    from ..face.alignment import similarity_matrix
    from ..face.template import template_points

    p = _points(points, "points")
    tpl = np.asarray(template_points("ffhq-like", size), np.float64)[list(ALIGN_POINTS)]
    out = np.empty_like(p)
    for t, q in enumerate(p):
        m = similarity_matrix(q[list(ALIGN_POINTS)], tpl)
        out[t] = q @ m[:2, :2].T + m[:2, 2]
    return out


def lmd_points(reference: object, generated: object, *, region: Literal["mouth", "face"] = "mouth",
               normalise: Normalise = "none", centre: bool = False, align: Align = "none", size: int = 256,
               source: str = "given landmarks") -> MetricResult:
    """LMD of two landmark sequences ``(T, 68, 2)`` (lower is better); ``source`` names their origin.

    The per-frame values (after alignment, centring and normalisation) are ``per_frame``.
    """
    ref, gen = _points(reference, "reference"), _points(generated, "generated")
    if ref.shape != gen.shape:
        raise BadInputError("generated", f"{gen.shape} landmarks vs. {ref.shape} in the reference",
                            "Compare clips of equal length (trim or align them first)")
    if region not in LMD_REGIONS or normalise not in ("none", "iod") or align not in ("none", "similarity"):
        raise BadInputError("region/normalise/align", f"got {region!r}, {normalise!r}, {align!r}",
                            "Use region 'mouth'|'face', normalise 'none'|'iod', align 'none'|'similarity'")
    if align == "similarity":
        ref, gen = align_landmarks(ref, size), align_landmarks(gen, size)
    scale = inter_ocular(ref) if normalise == "iod" else np.ones(len(ref))
    lo, hi = LMD_REGIONS[region]
    r, g = ref[:, lo:hi], gen[:, lo:hi]
    if centre:
        r, g = r - r.mean(axis=1, keepdims=True), g - g.mean(axis=1, keepdims=True)
    per_frame = np.linalg.norm(r - g, axis=2).mean(axis=1) / scale
    unit = "inter-ocular distances" if normalise == "iod" else ("aligned px" if align == "similarity" else "frame px")
    card = ProtocolCard(
        metric=f"LMD-{region}", colour_space="n/a (landmarks)",
        implementation=f"thglib lmd: mean L2 over points {lo}-{hi - 1} and frames; normalise={normalise}"
                       f"{' (reference inter-ocular distance per frame)' if normalise == 'iod' else ''}; "
                       f"mean-centred={centre}",
        crop="similarity-aligned on points 27-47 to the ffhq-like template" if align == "similarity"
             else "none (landmarks in frame pixels)",
        resize=f"{size}x{size} template" if align == "similarity" else "none",
        extractor=source, samples=len(per_frame), notes=f"unit: {unit}")
    return MetricResult(float(per_frame.mean()), card, higher_is_better=False, per_frame=per_frame)


def lmd(reference: Frames, generated: Frames, *, region: Literal["mouth", "face"] = "mouth",
        normalise: Normalise = "none", centre: bool = False, align: Align = "none", size: int = 256,
        backend: str = "auto", every: int = 1, policy: Literal["raise", "interpolate"] = "interpolate") -> MetricResult:
    """LMD between two videos (paths or ``(T, H, W, 3)`` uint8), landmarks found by ``backend``.

    Frames must have equal count and size (:func:`~thglib.metrics.inputs.paired_frames`). The landmark
    detector runs on every frame, the face detector every ``every`` frames (tracking in between);
    frames without a face are interpolated (``policy``). The tracks are in ``extra``.
    """
    from ..face import landmarks_video
    from .inputs import paired_frames

    if policy not in ("raise", "interpolate"):     # "skip" would pair rows of different frames
        raise BadInputError("policy", f"is {policy!r}; LMD pairs frame t with frame t",
                            "Use 'interpolate' (fill frames without a face) or 'raise'")
    ref, gen = paired_frames(reference, generated)
    tr = landmarks_video(ref, every=every, policy=policy, backend=backend, source="reference")
    tg = landmarks_video(gen, every=every, policy=policy, backend=backend, source="generated")
    source = f"{tr.backend} 68-point landmarks ({tr.detector} boxes, detection every {every} frame(s))"
    res = lmd_points(tr.points, tg.points, region=region, normalise=normalise, centre=centre, align=align,
                     size=size, source=source)
    res.extra.update(reference_track=tr, generated_track=tg)
    if tr.missing or tg.missing:
        res.card = res.card.with_(notes=res.card.notes + f"; interpolated frames: reference {list(tr.missing)}, "
                                  f"generated {list(tg.missing)}")
    return res
