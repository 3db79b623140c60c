"""Colour and shape variants of a portrait: more identities from the two bundled faces.

Variant ``k >= 1`` of an :class:`~.identity.Identity` is drawn from ``numpy.random.default_rng([k,
crc32(name)])`` (so it is the same in every process) and changes

* **shape**, in the face frame (:func:`~.rig.face_frame`, unit IOD): the jaw and chin points are
  scaled about the eye midpoint by ``(1 + a, 1 + b)`` with ``a, b ~ N(0, 0.05²)`` (face width and
  length), the mouth about its centre by ``1 + c``, ``c ~ N(0, 0.06²)`` in width, and the nose
  points ``27–35`` lengthened by ``1 + e``, ``e ~ N(0, 0.05²)``; the portrait is warped onto the new
  landmarks with THG-Synth's own piecewise-affine warp (:func:`~.render.warp_frame`);
* **colour** of the face and head (the hull of the mesh points, feathered by 0.15 IOD): per-channel
  gains ``1 + N(0, 0.06²)`` times an overall brightness ``1 + N(0, 0.08²)``.

The eyes stay where they were, so the inter-ocular distance and the crop are unchanged.
"""

from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np

from ..errors import BadInputError
from .identity import Identity
from .render import Mesh, mesh_points, warp_frame
from .rig import face_frame

__all__ = ["vary_identity", "variant_landmarks"]

_JAW, _MOUTH, _NOSE = list(range(0, 17)), list(range(48, 68)), list(range(27, 36))


def variant_landmarks(neutral: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Neutral landmarks ``(68, 2)`` with face width/length, mouth width and nose length varied."""
    origin, axes, iod = face_frame(neutral)
    local = (np.asarray(neutral, np.float64) - origin) @ axes.T / iod
    a, b, c, e = rng.normal(0, [0.05, 0.05, 0.06, 0.05])
    local[_JAW] *= [1 + a, 1 + b]
    cx = local[_MOUTH, 0].mean()
    local[_MOUTH, 0] = cx + (local[_MOUTH, 0] - cx) * (1 + c)
    local[_MOUTH, 1] *= 1 + 0.5 * b
    top = local[27, 1]
    local[_NOSE, 1] = top + (local[_NOSE, 1] - top) * (1 + e)
    return origin + iod * local @ axes


def _skin_mask(points: np.ndarray, side: int, feather: float) -> np.ndarray:
    import cv2

    m = np.zeros((side, side), np.float32)
    cv2.fillConvexPoly(m, np.round(cv2.convexHull(points.astype(np.float32))[:, 0] * 16).astype(np.int32), 1.0,
                       cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(m, (0, 0), feather)[..., None]


def vary_identity(identity: Identity, variant: int) -> Identity:
    """The ``variant``-th colour/shape variant of ``identity`` (``0``: unchanged; see the module docstring)."""
    from scipy.spatial import Delaunay

    if not isinstance(variant, (int, np.integer)) or isinstance(variant, bool) or variant < 0:
        raise BadInputError("identity_variant", f"is {variant!r}", "Pass 0 (the portrait) or a variant number >= 1")
    if variant == 0:
        return identity
    rng = np.random.default_rng([int(variant), zlib.crc32(identity.name.encode())])
    new = variant_landmarks(identity.neutral, rng)
    size, m = identity.size, identity.margin
    src = mesh_points(identity.neutral, identity.neutral, size, m) + m
    dst = mesh_points(new, identity.neutral, size, m) + m
    mesh = Mesh(np.ascontiguousarray(Delaunay(src).simplices, dtype=np.int32), src)
    side = identity.canvas.shape[0]
    canvas = warp_frame(np.ascontiguousarray(identity.canvas), mesh, dst, side).astype(np.float32)
    gain = (1 + rng.normal(0, 0.06, 3)) * (1 + rng.normal(0, 0.08))
    mask = _skin_mask(dst[:84], side, 0.15 * identity.iod)
    canvas = np.clip(canvas * (1 + mask * (gain - 1)), 0, 255).round().astype(np.uint8)
    canvas.setflags(write=False)
    return replace(identity, name=f"{identity.name}#{variant}", canvas=canvas, neutral=new.astype(np.float32))
