"""Protocol cards and metric inputs."""

from __future__ import annotations

import numpy as np
import pytest

from thglib.errors import BadInputError
from thglib.metrics import MetricResult, ProtocolCard, ProtocolMismatch, as_frames, paired_frames


def result(value: float, **card) -> MetricResult:
    return MetricResult(value, ProtocolCard("PSNR", "thglib.metrics.pixel.psnr", data_range=255.0, **card),
                        higher_is_better=True, per_frame=np.array([value, value]))


def test_card_prints_protocol_and_caveat():
    r = result(30.0, caveat="untrained backbone: illustrates mechanics only")
    text = str(r)
    assert "PSNR ↑" in text and "30" in text and "data range" in text and "255.0" in text
    assert "UNTRAINED BACKBONE" in text and "numpy" in text and "mean over 2 frames" in text
    assert float(r) == 30.0 and r._repr_markdown_().startswith("```text")


def test_different_protocols_refuse_comparison():
    a, b = result(30.0), result(31.0)
    assert b.better_than(a) and not a.better_than(b)
    c = result(29.0, crop="mouth region")
    with pytest.raises(ProtocolMismatch, match="crop"):
        a.better_than(c)
    assert result(1.0, samples=10).card.protocol() == result(1.0, samples=99).card.protocol()


def test_lower_is_better_direction():
    card = ProtocolCard("FID", "x")
    assert MetricResult(5.0, card, False).better_than(MetricResult(7.0, card, False))


def test_as_frames_and_pairing():
    one = np.zeros((8, 6, 3), np.uint8)
    assert as_frames(one).shape == (1, 8, 6, 3)
    with pytest.raises(BadInputError, match="uint8"):
        as_frames(one.astype(float))
    with pytest.raises(BadInputError, match="shape"):
        as_frames(np.zeros((4, 4), np.uint8))
    ref, gen = np.zeros((5, 8, 6, 3), np.uint8), np.zeros((4, 16, 12, 3), np.uint8)
    with pytest.raises(BadInputError, match="truncate"):
        paired_frames(ref, gen)
    with pytest.raises(BadInputError, match="resize"):
        paired_frames(ref, gen, length="truncate")
    r, g = paired_frames(ref, gen, length="truncate", size="resize")
    assert r.shape == g.shape == (4, 8, 6, 3)
