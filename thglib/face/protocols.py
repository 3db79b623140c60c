"""What a face backend must provide: three small structural interfaces (:class:`typing.Protocol`).

Any object with these attributes works, so a reader can plug in a new detector without subclassing.
All images are ``(H, W, 3)`` RGB uint8 and all coordinates are pixels.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from .box import FaceBox

__all__ = ["FaceDetector", "LandmarkDetector", "IdentityEncoder"]


@runtime_checkable
class FaceDetector(Protocol):
    """Finds face boxes in an image."""

    name: str

    def detect(self, image: np.ndarray, upsample: int = 1) -> list[FaceBox]:
        """All faces found, in any order (``upsample`` doubles the image that many times first)."""
        ...


@runtime_checkable
class LandmarkDetector(Protocol):
    """Places the 68 points of :mod:`thglib.face.regions` inside a given face box."""

    name: str

    def predict(self, image: np.ndarray, box: FaceBox) -> np.ndarray:
        """``(68, 2)`` float32 ``(x, y)`` points."""
        ...


@runtime_checkable
class IdentityEncoder(Protocol):
    """Maps a face (given its 68 landmarks) to an identity descriptor."""

    name: str
    dim: int

    def encode(self, image: np.ndarray, points: np.ndarray) -> np.ndarray:
        """A ``(dim,)`` float32 descriptor (not necessarily unit-norm)."""
        ...
