"""Input checking shared by the face functions: every image becomes a contiguous RGB uint8 array."""

from __future__ import annotations

import numpy as np


def as_rgb_uint8(image: object, what: str = "image") -> np.ndarray:
    """Return ``image`` as a C-contiguous ``(H, W, 3)`` uint8 RGB array (:func:`thglib.validate.rgb_uint8`).

    Accepts ``(H, W)`` grey (replicated to 3 channels) and ``(H, W, 4)`` RGBA (alpha dropped); uint16
    is scaled by 255/65535. Float images must be finite and already scaled to [0, 255] and are refused
    otherwise, because a silent ``*255`` guess is wrong half of the time.
    """
    from ..validate import rgb_uint8

    return rgb_uint8(image, what)
