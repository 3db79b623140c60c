"""Virtual camera moves over a still image (the simplest synthetic video)."""

from __future__ import annotations

import numpy as np

from ..errors import BadInputError

__all__ = ["zoom_frames"]


def zoom_frames(
    image: np.ndarray,
    n_frames: int,
    zoom: float = 1.5,
    center: tuple[float, float] | None = None,
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """A slow zoom ("Ken Burns" move) into ``image``: ``(n_frames, H, W, 3)`` uint8.

    Frame ``t`` shows the image scaled by ``s_t = zoom ** (t / (n_frames - 1))`` about ``center``
    (``(x, y)`` in pixels, default the image centre), i.e. the pixel ``p`` of the output comes from
    ``center + (p - c_out) / s_t``; the geometric progression makes the zoom look uniform in time.
    The view is kept inside the image by moving the centre, never by padding.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise BadInputError("image", f"expected (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}",
                            "Convert with np.asarray(img, dtype=np.uint8)")
    if n_frames < 1 or zoom < 1:
        raise BadInputError("n_frames/zoom", f"need n_frames >= 1 and zoom >= 1, got {n_frames}, {zoom}")
    import cv2

    h, w = image.shape[:2]
    out_w, out_h = size or (w, h)
    cx, cy = center if center is not None else (w / 2, h / 2)
    frames = np.empty((n_frames, out_h, out_w, 3), np.uint8)
    for t in range(n_frames):
        s = zoom ** (t / max(n_frames - 1, 1))
        half_w, half_h = w / (2 * s), h / (2 * s)  # half extent of the visible window
        x = float(np.clip(cx, half_w, w - half_w))
        y = float(np.clip(cy, half_h, h - half_h))
        k = out_w / (2 * half_w)
        m = np.array([[k, 0, out_w / 2 - k * x], [0, out_h / (2 * half_h), out_h / 2 - out_h / (2 * half_h) * y]])
        frames[t] = cv2.warpAffine(image, m, (out_w, out_h), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT)
    return frames
