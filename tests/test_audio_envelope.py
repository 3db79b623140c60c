"""thglib.audio.envelope on synthetic tone bursts and clicks."""

from __future__ import annotations

import numpy as np
import pytest

from thglib.audio import energy_envelope, onsets
from thglib.errors import BadInputError


@pytest.mark.parametrize("sr,fps", [(16000, 25), (16000, 30), (22050, 25)])
def test_energy_envelope_peaks_on_tone_burst(sr: int, fps: float) -> None:
    t = np.arange(int(2 * sr)) / sr
    burst = (t >= 0.8) & (t < 1.2)
    wav = np.where(burst, 0.5 * np.sin(2 * np.pi * 440 * t), 0.0).astype(np.float32)
    env = energy_envelope(wav, sr, fps)
    assert env.shape == (int(np.ceil(2 * fps)),) and env.dtype == np.float32
    inside = np.arange(int(np.ceil(0.8 * fps)), int(1.2 * fps))
    assert set(np.nonzero(env > 0.3)[0]) == set(inside)
    assert env[inside] == pytest.approx(0.5 / np.sqrt(2), rel=0.02)  # RMS of a 0.5 sine
    db = energy_envelope(wav, sr, fps, db=True)
    assert db[inside] == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.2)
    assert db.min() == pytest.approx(-100.0)


def test_energy_envelope_partial_last_frame_and_int16() -> None:
    wav = np.full(16000 + 100, 8192, dtype=np.int16)  # 1 s + 100 samples at 0.25 full scale
    env = energy_envelope(wav, 16000, 25)
    assert env.shape == (26,)
    np.testing.assert_allclose(env, 0.25, rtol=1e-6)


@pytest.mark.parametrize("sr, fps", [(16000, 30000 / 1001), (48000, 30000 / 1001), (44100, 24.0)])
def test_energy_envelope_has_one_value_per_frame_of_a_trimmed_clip(sr: int, fps: float) -> None:
    """Audio cut to round(k · sr / fps) samples (what read_video(max_frames=k) returns) gives k values."""
    for k in range(1, 41):
        wav = np.full(int(round(k * sr / fps)), 0.1, np.float32)
        env = energy_envelope(wav, sr, fps)
        assert env.shape == (k,) and np.all(np.isfinite(env)), k


def test_unsigned_8_bit_pcm_is_centred() -> None:
    silence = np.full(1600, 128, np.uint8)                 # 8-bit WAV silence
    assert np.all(energy_envelope(silence, 16000, 25) == 0)


def test_onsets_near_clicks() -> None:
    sr, fps = 22050, 25
    rng = np.random.default_rng(0)
    wav = rng.standard_normal(3 * sr) * 1e-4
    clicks = [0.5, 1.0, 1.5, 2.0, 2.5]
    for c in clicks:
        k = int(c * sr)
        wav[k:k + 256] += np.hanning(256) * np.sin(0.9 * np.arange(256))
    out = onsets(wav, sr, fps)
    assert out["strength"].shape == (75,)
    found = out["onset_frames"]
    assert len(found) == len(clicks)
    for c in clicks:
        assert np.min(np.abs(found - c * fps)) <= 1, c
    # strength is highest at the clicks, and a 2 Hz click train is a 120 bpm beat
    assert set(np.argsort(out["strength"])[-5:]) <= {f + d for f in found for d in (-1, 0, 1)}
    assert out["tempo_bpm"] == pytest.approx(120, rel=0.05)
    assert all(np.min(np.abs(found - b)) <= 1 for b in out["beat_frames"])


def test_envelope_bad_input() -> None:
    with pytest.raises(BadInputError, match="wav"):
        energy_envelope(np.zeros((100, 2)), 16000)
    with pytest.raises(BadInputError, match="fps"):
        energy_envelope(np.zeros(100), 16000, fps=0)
    with pytest.raises(BadInputError, match="sr"):
        onsets(np.zeros(100), -1)
