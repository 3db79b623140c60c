"""THG-Synth: synthetic talking-head clips with exact ground truth (see :mod:`thglib.synth.camera`)."""

from __future__ import annotations

from .camera import zoom_frames

__all__ = ["zoom_frames"]
