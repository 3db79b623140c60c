"""Online identity backend: ArcFace (Deng et al., CVPR 2019, arXiv:1801.07698) from InsightFace ``buffalo_l``.

The recogniser is ``w600k_r50.onnx`` (ResNet-50 trained on WebFace600K, 512-D), run with
onnxruntime. Its input is the 112x112 crop that maps five facial points onto InsightFace's fixed
template by a least-squares similarity (``insightface/utils/face_align.py``, ``arcface_dst`` and
``norm_crop``), in RGB, normalised as ``(x / 255 - 0.5) / 0.5`` (``input_mean = input_std = 127.5``).
Weights come from :func:`thglib.weights.fetch` (``"buffalo_l"``, the zip; the ONNX member is read
from it in memory).
"""

from __future__ import annotations

import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendUnavailable, WeightsUnavailable
from ._fetch import fetch_weights
from .regions import five_points

__all__ = ["ARCFACE_TEMPLATE", "arcface_crop", "arcface_blob", "onnx_model_bytes",
           "ArcFace"]

#: Target positions (x, y) in the 112x112 crop of: image-left eye, image-right eye, nose tip, mouth corners.
ARCFACE_TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                             [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float32)
ONNX_MEMBER = "w600k_r50.onnx"


def arcface_crop(image: np.ndarray, points: np.ndarray, size: int = 112) -> np.ndarray:
    """The ``(size, size, 3)`` uint8 ArcFace input aligned from 5 points (or 68, reduced by :func:`five_points`)."""
    import cv2

    from .alignment import similarity_matrix

    pts = np.asarray(points, np.float32)
    five = five_points(pts) if len(pts) == 68 else pts
    m = similarity_matrix(five, ARCFACE_TEMPLATE * (size / 112.0))
    return cv2.warpAffine(image, m[:2], (size, size), flags=cv2.INTER_LINEAR, borderValue=0)


def arcface_blob(crops: np.ndarray) -> np.ndarray:
    """``(N, 3, H, W)`` float32 input from ``(H, W, 3)`` or ``(N, H, W, 3)`` RGB uint8: ``(x/255 - 0.5)/0.5``."""
    x = np.asarray(crops, np.float32)
    if x.ndim == 3:
        x = x[None]
    return np.ascontiguousarray(((x / 255.0 - 0.5) / 0.5).transpose(0, 3, 1, 2))


def onnx_model_bytes(path: Path, member: str = ONNX_MEMBER) -> bytes:
    """The ONNX model from ``path``: the file itself, a folder holding it, or a zip containing it."""
    path = Path(path)
    if path.is_dir():
        hits = sorted(path.rglob(member))
        if hits:
            return hits[0].read_bytes()
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.endswith(member)]
            if names:
                return z.read(names[0])
    elif path.is_file():
        return path.read_bytes()
    raise WeightsUnavailable("buffalo_l", None, path, f"'{member}' was not found in it")


@lru_cache(maxsize=2)
def _session(path: str | None) -> Any:
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise BackendUnavailable("arcface", "pip install onnxruntime  (or onnxruntime-gpu)") from e
    model = onnx_model_bytes(fetch_weights("buffalo_l", path))
    providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
                 if p in ort.get_available_providers()]
    return ort.InferenceSession(model, providers=providers)


class ArcFace:
    """ArcFace ``w600k_r50`` identity encoder (512-D) on the 5-point aligned 112x112 crop."""

    name = "arcface"
    dim = 512

    def __init__(self, path: str | Path | None = None) -> None:
        self._sess = _session(None if path is None else str(path))

    def encode(self, image: np.ndarray, points: np.ndarray) -> np.ndarray:
        blob = arcface_blob(arcface_crop(image, points))
        inp = self._sess.get_inputs()[0].name
        return np.asarray(self._sess.run(None, {inp: blob})[0][0], np.float32)
