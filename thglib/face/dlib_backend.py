"""Offline face backends built on dlib and the model files of ``face-recognition-models``.

* :class:`DlibHOG`: HOG + linear SVM detector (Dalal & Triggs 2005; dlib's ``get_frontal_face_detector``);
* :class:`DlibMMOD`: max-margin object detection CNN (King 2015, ``mmod_human_face_detector.dat``);
* :class:`DlibShape68`: ensemble of regression trees, 68 points (Kazemi & Sullivan 2014,
  ``shape_predictor_68_face_landmarks.dat``, trained on iBUG 300-W);
* :class:`DlibResNet`: 128-D ResNet-29 face descriptor (``dlib_face_recognition_resnet_model_v1.dat``;
  99.38 % on LFW; two faces are the same person when the Euclidean distance is below 0.6).

Install with ``pip install dlib-bin face-recognition-models``. The models package's ``__init__``
imports ``pkg_resources`` (absent from recent setuptools), so its folder is located with
:func:`importlib.util.find_spec` instead of importing it.
"""

from __future__ import annotations

import importlib.util
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendUnavailable
from .box import FaceBox

__all__ = ["MODEL_FILES", "model_path", "DlibHOG", "DlibMMOD", "DlibShape68", "DlibResNet"]

INSTALL = "pip install dlib-bin face-recognition-models"
MODEL_FILES = {
    "shape68": "shape_predictor_68_face_landmarks.dat",
    "shape5": "shape_predictor_5_face_landmarks.dat",
    "resnet": "dlib_face_recognition_resnet_model_v1.dat",
    "mmod": "mmod_human_face_detector.dat",
}


def _dlib() -> Any:
    try:
        import dlib
    except ImportError as e:
        raise BackendUnavailable("dlib", INSTALL) from e
    return dlib


def model_path(kind: str) -> Path:
    """Path of a ``face-recognition-models`` file (``kind`` is a key of :data:`MODEL_FILES`)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable("dlib", INSTALL)
    for root in spec.submodule_search_locations:
        path = Path(root) / "models" / MODEL_FILES[kind]
        if path.is_file():
            return path
    raise BackendUnavailable(f"dlib ({MODEL_FILES[kind]} missing)", f"pip install --force-reinstall {INSTALL}")


@lru_cache(maxsize=None)
def _model(kind: str) -> Any:
    """Load (once per process) the dlib object for ``kind`` ("hog" or a :data:`MODEL_FILES` key)."""
    dlib = _dlib()
    if kind == "hog":
        return dlib.get_frontal_face_detector()
    path = str(model_path(kind))
    if kind == "mmod":
        return dlib.cnn_face_detection_model_v1(path)
    if kind == "resnet":
        return dlib.face_recognition_model_v1(path)
    return dlib.shape_predictor(path)


def _rect(box: FaceBox) -> Any:
    """dlib rectangles are inclusive: ``right = x1 - 1``."""
    return _dlib().rectangle(int(round(box.x0)), int(round(box.y0)),
                             int(round(box.x1)) - 1, int(round(box.y1)) - 1)


def _box(rect: Any, score: float, backend: str) -> FaceBox:
    return FaceBox(float(rect.left()), float(rect.top()), float(rect.right() + 1),
                   float(rect.bottom() + 1), float(score), backend)


class DlibHOG:
    """dlib's HOG frontal face detector. Boxes scoring at most ``min_score`` (SVM margin) are dropped.

    The default 0.5 removes weak responses such as the mission patch on the astronaut's suit
    (margin 0.12) while keeping real frontal faces (typically > 1).
    """

    name = "dlib-hog"
    #: Scale between pyramid levels (``scan_fhog_pyramid<pyramid_down<6>>``); ``upsample=k`` first doubles
    #: the image k times, so with ``upsample=1`` level j is the image scaled by ``2 · (5/6)^j``.
    pyramid_step = 5 / 6

    def __init__(self, min_score: float = 0.5) -> None:
        self.min_score = min_score
        self._det = _model("hog")

    def detect(self, image: np.ndarray, upsample: int = 1) -> list[FaceBox]:
        rects, scores, _ = self._det.run(image, int(upsample), float(self.min_score))
        return [_box(r, s, self.name) for r, s in zip(rects, scores, strict=True)]


class DlibMMOD:
    """dlib's MMOD CNN face detector: more robust to pose than HOG, ~100x slower on a CPU."""

    name = "dlib-mmod"
    # No ``pyramid_step``: ``upsample="auto"`` runs upsample=1 here. The fast coarse-levels pass was 15x
    # faster on Grace Hopper at 844², but its box matched upsample=1's with IoU 0.70 only (MMOD keeps the
    # finer-level detection that the coarse pass never scans).

    def __init__(self, min_score: float = -math.inf) -> None:
        self.min_score = min_score
        self._det = _model("mmod")

    def detect(self, image: np.ndarray, upsample: int = 1) -> list[FaceBox]:
        found = self._det(image, int(upsample))
        return [_box(d.rect, d.confidence, self.name) for d in found if d.confidence > self.min_score]


class DlibShape68:
    """dlib's 68-point shape predictor (regression-tree cascade initialised from the box)."""

    name = "dlib"

    def __init__(self) -> None:
        self._sp = _model("shape68")

    def predict(self, image: np.ndarray, box: FaceBox) -> np.ndarray:
        shape = self._sp(image, _rect(box))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


class DlibResNet:
    """dlib's ResNet face descriptor (128-D) on the 150x150 chip dlib aligns from the 68 points."""

    name = "dlib"
    dim = 128

    def __init__(self, num_jitters: int = 0) -> None:
        self.num_jitters = num_jitters
        self._net = _model("resnet")

    def encode(self, image: np.ndarray, points: np.ndarray) -> np.ndarray:
        dlib = _dlib()
        pts = np.rint(points).astype(int)
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        shape = dlib.full_object_detection(dlib.rectangle(int(x0), int(y0), int(x1), int(y1)),
                                           [dlib.point(int(x), int(y)) for x, y in pts])
        return np.asarray(self._net.compute_face_descriptor(image, shape, self.num_jitters), np.float32)
