"""THG metrics, one module per family: pixel, perceptual, sharpness, distribution, identity, sync, motion.

Every metric returns a :class:`~thglib.metrics.card.MetricResult` carrying a protocol card.
Import a family explicitly (``from thglib.metrics import pixel``); this package imports nothing heavy.
"""

from __future__ import annotations

from .card import MetricResult, ProtocolCard, ProtocolMismatch
from .inputs import as_frames, paired_frames

__all__ = ["MetricResult", "ProtocolCard", "ProtocolMismatch", "as_frames", "paired_frames"]
