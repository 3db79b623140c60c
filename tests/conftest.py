"""Shared test configuration: headless plotting, offline by default, repo root on sys.path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("THG_OFFLINE", "1")
os.environ.setdefault("THG_HEADLESS", "1")  # notebooks run without a frontend (thglib.book.interact)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def portrait_faces() -> dict[str, np.ndarray]:
    """Square 200×200 crops around the faces of the two bundled portraits (face ≈ 45 % of the side)."""
    import cv2

    from thglib.face import detect_face
    from thglib.samples import portrait

    crops = {}
    for name in ("astronaut", "grace_hopper"):
        img = portrait(name)
        box = detect_face(img)
        cx, cy, half = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2, 1.1 * (box.x1 - box.x0)
        crop = img[int(max(cy - half, 0)):int(cy + half), int(max(cx - half, 0)):int(cx + half)]
        crops[name] = cv2.resize(crop, (200, 200), interpolation=cv2.INTER_AREA)
    return crops
