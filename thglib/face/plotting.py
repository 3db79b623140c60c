"""Drawing 68-point landmarks over an image, coloured by facial region."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import BadInputError
from .landmarking import Landmarks
from .regions import REGION_COLORS, REGIONS

__all__ = ["plot_landmarks"]


def plot_landmarks(image: np.ndarray, lm: Landmarks | np.ndarray, ax: Any = None, title: str | None = None) -> Any:
    """Show ``image`` with its landmarks (jaw, brows, nose, eyes, mouth in distinct colours, with a legend).

    Draws the face box too when ``lm`` is a :class:`Landmarks`. Axes are in pixels (origin top
    left). Returns the matplotlib ``Axes``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    pts = lm.points if isinstance(lm, Landmarks) else np.asarray(lm, np.float32)
    if pts.shape != (68, 2):
        raise BadInputError("lm", f"expected (68, 2) points, got {pts.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(image)
    for name, sl in REGIONS.items():
        ax.plot(pts[sl, 0], pts[sl, 1], "o", ms=3, color=REGION_COLORS[name],
                label=f"{name} ({sl.start}–{sl.stop - 1})")
    if isinstance(lm, Landmarks):
        b = lm.box
        ax.add_patch(Rectangle((b.x0, b.y0), b.width, b.height, fill=False, ec="white", lw=1, ls="--",
                               label=f"box ({lm.backend})"))
    ax.set_xlabel("x (px)")
    ax.set_ylabel("y (px)")
    ax.legend(loc="upper right", fontsize="small", framealpha=0.8)
    if title:
        ax.set_title(title)
    return ax
