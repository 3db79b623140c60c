"""Canonical 68-point face templates for alignment.

The mean shape is OpenFace's ``TEMPLATE`` (Amos, Ludwiczuk & Satyanarayanan 2016,
``openface/align_dlib.py``, Apache-2.0): the mean of dlib 68-point landmarks over a face dataset,
in arbitrary units of about the unit square. :func:`template_points` places it in a square image:

* ``"ffhq-like"``: framed as FFHQ frames its faces (Karras et al. 2019, NVlabs ffhq-dataset
  ``recreate_aligned_images``, see :func:`ffhq_quad`), i.e. the mean face is mapped by the
  similarity that sends its own FFHQ crop square onto the output image;
* ``"openface"``: OpenFace's framing, the shape's bounding box stretched onto the image.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import BadInputError
from .regions import eye_centers

__all__ = ["MEAN_SHAPE", "TEMPLATES", "ffhq_quad", "template_points"]

# fmt: off
MEAN_SHAPE = np.array([
    (0.07924, 0.33922), (0.08292, 0.45696), (0.09679, 0.57565), (0.12214, 0.69192), (0.16869, 0.80034),
    (0.23979, 0.89573), (0.32566, 0.97707), (0.42232, 1.04329), (0.53178, 1.06080), (0.64130, 1.03982),
    (0.73811, 0.97227), (0.82444, 0.88962), (0.89479, 0.79249), (0.93940, 0.68155), (0.96112, 0.56224),
    (0.97058, 0.44176), (0.97119, 0.32212), (0.16385, 0.24915), (0.21780, 0.20426), (0.29130, 0.19237),
    (0.36746, 0.20358), (0.43929, 0.23314), (0.58645, 0.22814), (0.66015, 0.19592), (0.73747, 0.18236),
    (0.81324, 0.19283), (0.87076, 0.23529), (0.51535, 0.31864), (0.51622, 0.39620), (0.51712, 0.47380),
    (0.51816, 0.55316), (0.43370, 0.60405), (0.47550, 0.62076), (0.52071, 0.63427), (0.56587, 0.61880),
    (0.60705, 0.60158), (0.25242, 0.33105), (0.29866, 0.30265), (0.35575, 0.30302), (0.40372, 0.33868),
    (0.35251, 0.34999), (0.29679, 0.35048), (0.63133, 0.33414), (0.67907, 0.29645), (0.73597, 0.29472),
    (0.78287, 0.32131), (0.74031, 0.34185), (0.68500, 0.34373), (0.35317, 0.74619), (0.41459, 0.71905),
    (0.47768, 0.70684), (0.52273, 0.71709), (0.56983, 0.70541), (0.63520, 0.71566), (0.69952, 0.73942),
    (0.63945, 0.80524), (0.57641, 0.83544), (0.52540, 0.84171), (0.47642, 0.83751), (0.41380, 0.81005),
    (0.38008, 0.74998), (0.47796, 0.74513), (0.52339, 0.74892), (0.57106, 0.74333), (0.67241, 0.74418),
    (0.57254, 0.77661), (0.52401, 0.78337), (0.47756, 0.77848),
], dtype=np.float64)
# fmt: on

TEMPLATES = ("ffhq-like", "openface")


def ffhq_quad(points: np.ndarray) -> np.ndarray:
    """FFHQ's crop square for 68 landmarks: corners top-left, bottom-left, bottom-right, top-right ``(4, 2)``.

    ``e`` = eye-to-eye vector, ``m`` = eye-midpoint-to-mouth-midpoint vector (mouth corners 48, 54);
    ``x = (e - rot90(m)) / |·| · max(2|e|, 1.8|m|)``, ``y = rot90(x)``, centre ``c = eye_mid + 0.1 m``;
    corners ``c - x - y, c - x + y, c + x + y, c + x - y``.
    """
    p = np.asarray(points, np.float64)
    left, right = eye_centers(p)
    eye_mid, e = (left + right) / 2, right - left
    m = (p[48] + p[54]) / 2 - eye_mid
    x = e - np.array([-m[1], m[0]])
    x *= max(2.0 * np.hypot(*e), 1.8 * np.hypot(*m)) / np.hypot(*x)
    y = np.array([-x[1], x[0]])
    c = eye_mid + 0.1 * m
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


@lru_cache(maxsize=16)
def _template(name: str, size: int) -> np.ndarray:
    if name == "openface":
        lo, hi = MEAN_SHAPE.min(axis=0), MEAN_SHAPE.max(axis=0)
        return ((MEAN_SHAPE - lo) / (hi - lo) * size).astype(np.float32)
    from .alignment import similarity_matrix

    corners = np.array([[0, 0], [0, size], [size, size], [size, 0]], np.float64)
    m = similarity_matrix(ffhq_quad(MEAN_SHAPE), corners)
    return (MEAN_SHAPE @ m[:2, :2].T + m[:2, 2]).astype(np.float32)


def template_points(name: str = "ffhq-like", size: int = 256) -> np.ndarray:
    """The ``(68, 2)`` float32 template ``name`` (see :data:`TEMPLATES`) in a ``size``² image."""
    if name not in TEMPLATES:
        raise BadInputError("template", f"unknown template {name!r}", f"Use one of {TEMPLATES} or a (68, 2) array")
    if size < 16:
        raise BadInputError("size", f"expected >= 16, got {size}")
    return _template(name, int(size)).copy()
