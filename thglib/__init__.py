"""thglib: the library behind *thg-book*, an executable companion to talking-head generation.

Submodules are imported on demand (``import thglib.face``) so that ``import thglib`` stays fast
and does not pull in torch, dlib or ffmpeg.
"""

from __future__ import annotations

from .errors import BackendUnavailable, BadInputError, MediaError, NoFaceError, THGError, WeightsUnavailable

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "THGError",
    "BadInputError",
    "MediaError",
    "NoFaceError",
    "WeightsUnavailable",
    "BackendUnavailable",
]
