"""The face bounding box every detector returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

__all__ = ["FaceBox"]


@dataclass(frozen=True)
class FaceBox:
    """An axis-aligned face box in pixel-edge coordinates: columns ``x0 <= x < x1``, rows ``y0 <= y < y1``.

    ``score`` is the detector's own confidence (dlib HOG: SVM margin; MMOD and S3FD: network score;
    ``nan`` for a box that was tracked rather than detected). ``backend`` names what produced it and
    ``n_faces`` is how many faces the detector found in that image (set by :func:`detect_face`).
    """

    x0: float
    y0: float
    x1: float
    y1: float
    score: float = math.nan
    backend: str = ""
    n_faces: int = 1

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    def as_array(self) -> np.ndarray:
        """``[x0, y0, x1, y1]`` as float32."""
        return np.array([self.x0, self.y0, self.x1, self.y1], np.float32)

    def clipped(self, height: int, width: int) -> FaceBox:
        """The box intersected with an image of ``height`` x ``width`` pixels."""
        return replace(self, x0=min(max(self.x0, 0.0), width), y0=min(max(self.y0, 0.0), height),
                       x1=min(max(self.x1, 0.0), width), y1=min(max(self.y1, 0.0), height))

    def iou(self, other: FaceBox) -> float:
        """Intersection over union with ``other`` (0 when disjoint)."""
        ix = max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0.0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    @classmethod
    def from_array(cls, xyxy: object, score: float = math.nan, backend: str = "") -> FaceBox:
        """Build from any ``[x0, y0, x1, y1]`` sequence (a FaceBox is returned unchanged)."""
        if isinstance(xyxy, FaceBox):
            return xyxy
        from ..errors import BadInputError

        a = np.asarray(xyxy, dtype=np.float64).ravel()
        if a.size not in (4, 5) or not np.all(np.isfinite(a[:4])) or a[2] <= a[0] or a[3] <= a[1]:
            raise BadInputError("box", f"expected [x0, y0, x1, y1] with x1 > x0 and y1 > y0, got {a.tolist()}",
                                "Pass a FaceBox from detect_face() or four finite pixel coordinates")
        if a.size == 5 and math.isnan(score):
            score = float(a[4])
        return cls(float(a[0]), float(a[1]), float(a[2]), float(a[3]), score, backend)
