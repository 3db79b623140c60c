"""thglib.audio.mel against the Wav2Lip golden fixture and python_speech_features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from thglib.audio import syncnet_mfcc, wav2lip_melspectrogram
from thglib.errors import BadInputError

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "wav2lip_melspectrogram.json").read_text())


def _chirp() -> np.ndarray:
    """The fixture's input recipe."""
    t = np.arange(32000) / 16000
    return (0.5 * np.sin(2 * np.pi * (120 + 400 * t) * t) + 0.1 * np.sin(2 * np.pi * 1800 * t)).astype(np.float32)


def test_wav2lip_mel_matches_fixture() -> None:
    out = FIXTURE["output"]
    mel = wav2lip_melspectrogram(_chirp())
    assert mel.shape == tuple(out["shape"]) and mel.dtype == np.float32
    assert mel.mean() == pytest.approx(out["mean"], rel=1e-4)
    # the fixture's std is the unbiased (n - 1) estimate
    assert mel.std(ddof=1) == pytest.approx(out["std"], rel=1e-4)
    assert np.abs(mel).sum() == pytest.approx(out["abs_sum"], rel=1e-4)
    flat = mel.ravel()
    for idx, value in out["samples"].items():
        assert flat[int(idx)] == pytest.approx(value, abs=1e-4), idx


def test_wav2lip_mel_range_and_reflect_padding_only_changes_edges() -> None:
    wav = _chirp()
    zero, refl = wav2lip_melspectrogram(wav), wav2lip_melspectrogram(wav, pad_mode="reflect")
    assert zero.min() >= -4 and zero.max() <= 4
    diff = np.abs(zero - refl).max(axis=0)
    assert diff[:2].max() > 1e-3 and diff[-2:].max() > 1e-3
    assert diff[2:-2].max() < 1e-6


def test_wav2lip_mel_resamples_other_rates_and_int16() -> None:
    import soxr

    wav = _chirp()
    ref = wav2lip_melspectrogram(wav)
    up = wav2lip_melspectrogram(soxr.resample(wav, 16000, 44100), sr=44100)
    assert up.shape == ref.shape
    assert np.abs(up - ref)[:, 3:-3].max() < 0.01
    pcm = np.round(wav * 32767).astype(np.int16)
    assert np.abs(wav2lip_melspectrogram(pcm) - ref).max() < 0.01


def test_silence_is_floor() -> None:
    assert np.all(wav2lip_melspectrogram(np.zeros(8000, np.float32)) == -4.0)


def test_syncnet_mfcc_is_transposed_python_speech_features_on_int16_scale() -> None:
    from python_speech_features import mfcc

    rng = np.random.default_rng(0)
    pcm = (rng.standard_normal(16000 * 2) * 3000).astype(np.int16)
    ref = mfcc(pcm, 16000).T  # SyncNetInstance.evaluate feeds wavfile.read's int16 samples
    for wav in (pcm, pcm.astype(np.float32) / 32768):
        out = syncnet_mfcc(wav)
        assert out.shape == ref.shape and out.shape[0] == 13 and out.dtype == np.float32
        np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-3)
    assert abs(ref.shape[1] - 200) <= 1  # 100 columns per second


@pytest.mark.parametrize("seconds", [60.0151, 60.0155, 150.0048])   # one frame past a block; a short tail
def test_long_audio_mfcc_in_blocks_is_bit_identical(seconds: float) -> None:
    """Past 60 s, syncnet_mfcc works in blocks of 6000 frames (bounded memory): the same float32 bits."""
    from python_speech_features import mfcc

    import thglib.audio.mel as mel

    pcm = (np.random.default_rng(1).standard_normal(int(16000 * seconds)) * 3000).astype(np.int16)
    assert len(pcm) > mel._MFCC_BLOCK * 160 + 240
    whole = np.ascontiguousarray(mfcc(pcm.astype(np.float64), 16000).T, dtype=np.float32)
    out = syncnet_mfcc(pcm)
    assert out.shape == whole.shape and np.array_equal(out, whole)


@pytest.mark.parametrize("bad", [np.zeros((2, 100)), np.zeros(0), np.array([0.0, np.nan])])
def test_bad_waveforms(bad: np.ndarray) -> None:
    with pytest.raises(BadInputError, match="wav"):
        wav2lip_melspectrogram(bad)
    with pytest.raises(BadInputError):
        syncnet_mfcc(bad)


def test_bad_sample_rate() -> None:
    with pytest.raises(BadInputError, match="sr"):
        wav2lip_melspectrogram(np.zeros(1000), sr=0)
