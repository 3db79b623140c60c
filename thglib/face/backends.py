"""Choosing a face backend by name, with ``"auto"`` = the best one that works here.

============  ==========================  =====================  ===========================
role          offline (pip only)          online (weights)       auto order
============  ==========================  =====================  ===========================
detector      ``dlib-hog``, ``dlib-mmod``  ``s3fd``               s3fd (GPU only), dlib-hog
landmarks     ``dlib`` (68-pt trees)      ``fan`` (2DFAN4)       fan (GPU only), dlib
identity      ``dlib`` (ResNet, 128-D)    ``arcface`` (512-D)    arcface, dlib
============  ==========================  =====================  ===========================

S3FD and FAN are skipped by ``"auto"`` on a CPU-only machine, where they are roughly ten times
slower than dlib per frame; name them explicitly to use them anyway. ``dlib-mmod`` is never chosen
automatically (seconds per frame on a CPU). A backend counts as unavailable when its package is
missing (:class:`~thglib.errors.BackendUnavailable`) or its weights cannot be had
(:class:`~thglib.errors.WeightsUnavailable`); the choice is made once per process and cached —
call :func:`reset` after installing something.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ..errors import BackendUnavailable, BadInputError, WeightsUnavailable
from .protocols import FaceDetector, IdentityEncoder, LandmarkDetector

__all__ = ["DETECTORS", "LANDMARKERS", "ENCODERS", "get_detector", "get_landmarker", "get_encoder",
           "available", "reset"]


def _hog() -> Any:
    from .dlib_backend import DlibHOG

    return DlibHOG()


def _mmod() -> Any:
    from .dlib_backend import DlibMMOD

    return DlibMMOD()


def _shape68() -> Any:
    from .dlib_backend import DlibShape68

    return DlibShape68()


def _resnet() -> Any:
    from .dlib_backend import DlibResNet

    return DlibResNet()


def _s3fd() -> Any:
    from .fan_backend import S3FD

    return S3FD()


def _fan() -> Any:
    from .fan_backend import FAN68

    return FAN68()


def _arcface() -> Any:
    from .arcface_backend import ArcFace

    return ArcFace()


DETECTORS: dict[str, Callable[[], Any]] = {"s3fd": _s3fd, "dlib-hog": _hog, "dlib-mmod": _mmod}
LANDMARKERS: dict[str, Callable[[], Any]] = {"fan": _fan, "dlib": _shape68}
ENCODERS: dict[str, Callable[[], Any]] = {"arcface": _arcface, "dlib": _resnet}
_AUTO = {"detector": ("s3fd", "dlib-hog"), "landmarks": ("fan", "dlib"), "identity": ("arcface", "dlib")}
_GPU_ONLY = {"s3fd", "fan"}
_TABLES = {"detector": DETECTORS, "landmarks": LANDMARKERS, "identity": ENCODERS}


def _has_gpu() -> bool:
    """CUDA usable? Skips the (seconds-long) torch import when no NVIDIA device node exists."""
    import sys
    from pathlib import Path

    if "torch" not in sys.modules and not any(Path("/dev").glob("nvidia[0-9]*")):
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@lru_cache(maxsize=None)
def _build(role: str, name: str) -> Any:
    table = _TABLES[role]
    if name == "auto":
        errors = []
        for cand in _AUTO[role]:
            if cand in _GPU_ONLY and not _has_gpu():
                continue
            try:
                return _build(role, cand)
            except (BackendUnavailable, WeightsUnavailable) as e:
                errors.append(str(e))
        raise BackendUnavailable(f"any {role}", "pip install dlib-bin face-recognition-models"
                                 + ("  [" + " | ".join(errors) + "]" if errors else ""))
    if name not in table:
        raise BadInputError("backend", f"unknown {role} backend {name!r}",
                            f"Use 'auto' or one of {sorted(table)}")
    try:
        return table[name]()
    except WeightsUnavailable as e:  # the face functions take a backend name, not a weights path
        raise e.instead_("or set $THG_HOME to a folder whose weights/ subfolder holds it; or use an offline "
                         "backend: 'dlib-hog' for detection, 'dlib' for landmarks and identity.") from None


def get_detector(name: str = "auto") -> FaceDetector:
    """The face detector called ``name`` (see the module table); loaded once and cached."""
    return _build("detector", name)


def get_landmarker(name: str = "auto") -> LandmarkDetector:
    """The 68-point landmark detector called ``name``; loaded once and cached."""
    return _build("landmarks", name)


def get_encoder(name: str = "auto") -> IdentityEncoder:
    """The identity encoder called ``name``; loaded once and cached."""
    return _build("identity", name)


def available() -> dict[str, list[str]]:
    """For each role, the backend names that load here (may download weights when online)."""
    out: dict[str, list[str]] = {}
    for role, table in _TABLES.items():
        out[role] = []
        for name in table:
            try:
                _build(role, name)
                out[role].append(name)
            except (BackendUnavailable, WeightsUnavailable):
                pass
    return out


def reset() -> None:
    """Forget loaded backends and the ``"auto"`` choices (e.g. after ``pip install``)."""
    _build.cache_clear()
    from . import arcface_backend, dlib_backend

    dlib_backend._model.cache_clear()
    arcface_backend._session.cache_clear()
