"""Public-domain sample portraits, and a moving-camera clip made from one.

Two real faces ship with libraries the book already depends on, so every chapter can show a
detector, a landmark fit or an identity distance without downloading anything:

* ``"astronaut"``: Eileen Collins, NASA photograph, via :func:`skimage.data.astronaut`;
* ``"grace_hopper"``: Rear Admiral Grace Hopper, U.S. Navy photograph, via matplotlib's sample
  data (``matplotlib.cbook.get_sample_data("grace_hopper.jpg")``).

Both are works of the U.S. federal government and in the public domain.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .errors import BadInputError

__all__ = ["PORTRAITS", "portrait", "moving_portrait"]

PORTRAITS: dict[str, dict[str, str]] = {
    "astronaut": {
        "subject": "Eileen Collins, NASA astronaut",
        "credit": "NASA (Great Images in NASA), via scikit-image `skimage.data.astronaut()`",
        "licence": "Public domain (work of the U.S. federal government)",
        "size": "512x512",
    },
    "grace_hopper": {
        "subject": "Rear Admiral Grace M. Hopper",
        "credit": "U.S. Navy / James S. Davis, via matplotlib sample data `grace_hopper.jpg`",
        "licence": "Public domain (work of the U.S. federal government)",
        "size": "512x600 (W x H)",
    },
}


@lru_cache(maxsize=2)
def _load(name: str) -> np.ndarray:
    if name == "astronaut":
        import skimage.data

        img = skimage.data.astronaut()
    else:
        import matplotlib.cbook as cbook
        import matplotlib.image as mimage

        with cbook.get_sample_data("grace_hopper.jpg") as f:
            img = mimage.imread(f, format="jpg")
    img = np.ascontiguousarray(img[..., :3], dtype=np.uint8)
    img.setflags(write=False)
    return img


def portrait(name: str = "astronaut") -> np.ndarray:
    """Return the sample portrait ``name`` as an ``(H, W, 3)`` RGB ``uint8`` array (a fresh copy).

    ``name`` is one of :data:`PORTRAITS` (credits and licence are listed there).
    """
    if name not in PORTRAITS:
        raise BadInputError("name", f"unknown portrait {name!r}", f"Use one of {sorted(PORTRAITS)}")
    return _load(name).copy()


def moving_portrait(
    name: str = "grace_hopper",
    n_frames: int = 50,
    size: int = 256,
    shift: float = 0.08,
    zoom: float = 0.15,
    period: float = 50.0,
) -> np.ndarray:
    """A synthetic talking-head-like clip: a square camera window drifting and zooming over a portrait.

    Frame ``t`` is the similarity warp of the portrait that shows a square window of side
    ``L / z_t`` centred at ``c + shift * L * (sin(2πt/P), cos(2πt/P) - 1)`` with
    ``z_t = 1 + zoom * sin(2πt/P + π/3)``, where ``L`` is the shorter image side, ``c`` its centre
    and ``P`` = ``period`` frames. Returns ``(n_frames, size, size, 3)`` uint8; borders are reflected.
    """
    if n_frames < 1 or size < 16:
        raise BadInputError("n_frames/size", f"need n_frames >= 1 and size >= 16, got {n_frames}, {size}")
    import cv2

    img = portrait(name)
    h, w = img.shape[:2]
    side, cx, cy = min(h, w), w / 2.0, h / 2.0
    frames = np.empty((n_frames, size, size, 3), np.uint8)
    for t in range(n_frames):
        phase = 2 * np.pi * t / period
        z = 1.0 + zoom * np.sin(phase + np.pi / 3)
        mx = cx + shift * side * np.sin(phase)
        my = cy + shift * side * (np.cos(phase) - 1.0)
        s = size * z / side  # output pixels per input pixel
        m = np.array([[s, 0.0, size / 2 - s * mx], [0.0, s, size / 2 - s * my]])
        frames[t] = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT101)
    return frames
