"""Face crops exactly as two reference pipelines cut them.

* :func:`wav2lip_crop`: Wav2Lip ``inference.py`` ``face_detect`` + ``datagen`` (Prajwal et al. 2020):
  pad the detector box by ``pads = (top, bottom, left, right)`` pixels, clip to the image, resize to 96².
* :func:`syncnet_crop`: syncnet_python ``run_pipeline.py`` ``crop_video`` (Chung & Zisserman 2016):
  a square around the box, enlarged by ``crop_scale``, on a frame padded with grey 110, resized to 224².
"""

from __future__ import annotations

import numpy as np

from ..errors import BadInputError
from ._image import as_rgb_uint8
from .box import FaceBox

__all__ = ["wav2lip_crop", "syncnet_crop"]


def wav2lip_crop(frame: np.ndarray, box: FaceBox | object, pads: tuple[int, int, int, int] = (0, 10, 0, 0),
                 size: int = 96) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Wav2Lip's face crop: ``(size, size, 3)`` uint8 and the padded box ``(x0, y0, x1, y1)`` it came from.

    ``y0 = max(0, top - pads[0])``, ``y1 = min(H, bottom + pads[1])``, ``x0 = max(0, left - pads[2])``,
    ``x1 = min(W, right + pads[3])``; the default ``(0, 10, 0, 0)`` adds 10 px below to keep the chin.
    The box is then resized with bilinear interpolation (``cv2.resize``), aspect ratio not kept.
    Paste a generated face back with ``cv2.resize(face, (x1 - x0, y1 - y0))`` into that box.
    """
    import cv2

    img = as_rgb_uint8(frame, "frame")
    if len(pads) != 4:
        raise BadInputError("pads", f"expected (top, bottom, left, right), got {pads!r}")
    b = FaceBox.from_array(box)
    h, w = img.shape[:2]
    top, bottom, left, right = (int(p) for p in pads)
    y0, y1 = max(0, int(b.y0) - top), min(h, int(b.y1) + bottom)
    x0, x1 = max(0, int(b.x0) - left), min(w, int(b.x1) + right)
    if x1 <= x0 or y1 <= y0:
        raise BadInputError("box", f"box {b.as_array().tolist()} does not overlap the {w}x{h} frame")
    crop = cv2.resize(img[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_LINEAR)
    return crop, (x0, y0, x1, y1)


def syncnet_crop(frame: np.ndarray, box: FaceBox | object, crop_scale: float = 0.4,
                 size: int = 224) -> np.ndarray:
    """syncnet_python's face crop, ``(size, size, 3)`` uint8.

    With box centre ``(mx, my)`` and half-size ``bs = max(w, h) / 2``, the frame is padded by
    ``int(bs (1 + 2 cs))`` pixels of grey 110 and the square rows ``[my - bs, my + bs (1 + 2 cs))``,
    columns ``[mx - bs (1 + cs), mx + bs (1 + cs))`` are cut: side ``2 bs (1 + cs)``, centred
    horizontally, anchored at the box top so the extra room goes to the mouth and chin.
    (syncnet_python also median-filters ``mx, my, bs`` over 13 frames of the track first.)
    """
    import cv2

    img = as_rgb_uint8(frame, "frame")
    if crop_scale < 0:
        raise BadInputError("crop_scale", f"expected >= 0, got {crop_scale}")
    b = FaceBox.from_array(box)
    bs = max(b.width, b.height) / 2
    mx, my = b.center
    pad = int(bs * (1 + 2 * crop_scale))
    padded = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(110, 110, 110))
    my, mx = my + pad, mx + pad
    face = padded[int(my - bs):int(my + bs * (1 + 2 * crop_scale)),
                  int(mx - bs * (1 + crop_scale)):int(mx + bs * (1 + crop_scale))]
    return cv2.resize(face, (size, size), interpolation=cv2.INTER_LINEAR)
