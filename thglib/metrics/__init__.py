"""THG metrics, one module per family: pixel, perceptual, sharpness, distribution, identity, sync, motion,
dynamics (THEval, landmarks) and iqa (THEval image quality through the optional pyiqa).

Every metric returns a :class:`~thglib.metrics.card.MetricResult` carrying a protocol card.
Import a family explicitly (``from thglib.metrics import pixel``); this package imports nothing heavy.
"""

from __future__ import annotations

from .card import MetricResult, ProtocolCard, ProtocolMismatch
from .dynamics import (THEVAL_GT, eyebrow_dynamics, head_motion_dynamics, lip_dynamics, lip_sync_energy,
                       silent_lip_stability, theval_scores, voice_activity)
from .inputs import as_frames, paired_frames
from .iqa import face_quality, global_aesthetic, image_quality, mouth_quality

__all__ = ["MetricResult", "ProtocolCard", "ProtocolMismatch", "as_frames", "paired_frames"]
__all__ += ["lip_dynamics", "eyebrow_dynamics", "silent_lip_stability", "lip_sync_energy", "head_motion_dynamics",
            "voice_activity", "theval_scores", "THEVAL_GT"]
__all__ += ["image_quality", "global_aesthetic", "mouth_quality", "face_quality"]  # THEval video quality (pyiqa)
