"""Input checking shared by the face functions: every image becomes a contiguous RGB uint8 array."""

from __future__ import annotations

import numpy as np

from ..errors import BadInputError


def as_rgb_uint8(image: object, what: str = "image") -> np.ndarray:
    """Return ``image`` as a C-contiguous ``(H, W, 3)`` uint8 RGB array.

    Accepts ``(H, W)`` grey (replicated to 3 channels) and ``(H, W, 4)`` RGBA (alpha dropped).
    Float images must already be scaled to [0, 255] and are refused otherwise, because a silent
    ``*255`` guess is wrong half of the time.
    """
    if not isinstance(image, np.ndarray):
        raise BadInputError(what, f"expected a numpy array, got {type(image).__name__}",
                            "Load the image first, e.g. thglib.samples.portrait() or imageio.v3.imread(path)")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise BadInputError(what, f"expected shape (H, W, 3) RGB, got {image.shape}",
                            "Pass one frame at a time, channels last")
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise BadInputError(what, f"image of {image.shape[1]}x{image.shape[0]} px is too small to hold a face")
    if image.dtype != np.uint8:
        if not np.issubdtype(image.dtype, np.number) or image.max(initial=0) <= 1.0 or image.min(initial=0) < 0:
            raise BadInputError(what, f"expected uint8 in [0, 255], got {image.dtype} "
                                f"with range [{image.min()}, {image.max()}]",
                                "Convert with np.clip(img * 255, 0, 255).astype(np.uint8) if it is in [0, 1]")
        image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image[:, :, :3])
