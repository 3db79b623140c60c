"""thglib.audio.windows: Wav2Lip mel windows and SyncNet MFCC windows."""

from __future__ import annotations

import numpy as np
import pytest

from thglib.audio import syncnet_mfcc, syncnet_mfcc_windows, wav2lip_mel_windows
from thglib.errors import BadInputError


def _reference_wav2lip_chunks(mel: np.ndarray, fps: float) -> list[np.ndarray]:
    """The chunking loop of Wav2Lip inference.py, transcribed literally."""
    chunks, mult, i = [], 80.0 / fps, 0
    while True:
        start = int(i * mult)
        if start + 16 > len(mel[0]):
            chunks.append(mel[:, len(mel[0]) - 16:])
            break
        chunks.append(mel[:, start:start + 16])
        i += 1
    return chunks


def _ramp_mel(n_cols: int) -> np.ndarray:
    """A mel whose entry in column c is c, so a window's first value is its start column."""
    return np.tile(np.arange(n_cols, dtype=np.float32), (80, 1))


@pytest.mark.parametrize("fps,n_cols,expected", [(25, 161, 47), (30, 161, 56), (25, 96, 27), (29.97, 500, 0)])
def test_wav2lip_counts_and_alignment_match_inference_py(fps: float, n_cols: int, expected: int) -> None:
    mel = _ramp_mel(n_cols)
    ref = _reference_wav2lip_chunks(mel, fps)
    out = wav2lip_mel_windows(mel, fps)
    assert out.shape == (len(ref), 80, 16)
    if expected:
        assert len(ref) == expected
    for w, r in zip(out, ref):
        np.testing.assert_array_equal(w, r)
    # the last window is right-aligned on the end; the others start at int(i * 80 / fps)
    assert out[-1, 0, -1] == n_cols - 1
    assert [int(w[0, 0]) for w in out[:-1]] == [int(i * 80 / fps) for i in range(len(out) - 1)]


@pytest.mark.parametrize("fps", [25, 30])
def test_wav2lip_fixed_count_repeats_right_aligned_tail(fps: int) -> None:
    mel = _ramp_mel(100)  # 1.25 s of mel
    n = int(1.6 * fps)    # more video frames than audio
    out = wav2lip_mel_windows(mel, fps, n=n)
    assert out.shape == (n, 80, 16)
    starts = out[:, 0, 0].astype(int)
    assert np.all(np.diff(starts) >= 0) and starts.max() == 100 - 16
    for i in range(n):
        assert starts[i] == min(int(i * 80 / fps), 84)
    assert starts[-1] == starts[-2] == 84


def test_wav2lip_windows_bad_input() -> None:
    with pytest.raises(BadInputError, match="mel"):
        wav2lip_mel_windows(np.zeros((80, 10)), 25)
    with pytest.raises(BadInputError, match="fps"):
        wav2lip_mel_windows(np.zeros((80, 20)), 0)
    with pytest.raises(BadInputError, match="n"):
        wav2lip_mel_windows(np.zeros((80, 20)), 25, n=0)


def test_syncnet_windows_shape_and_content() -> None:
    seconds = 2.0
    wav = np.random.default_rng(1).standard_normal(int(16000 * seconds)).astype(np.float32) * 0.1
    mfcc = syncnet_mfcc(wav)
    n_video = int(25 * seconds)
    out = syncnet_mfcc_windows(mfcc, n_video)
    # SyncNetInstance.evaluate: min(len(images), floor(len(audio) / 640)) - 5 windows
    assert out.shape == (min(n_video, len(wav) // 640) - 5, 1, 13, 20)
    for v in (0, 7, len(out) - 1):
        np.testing.assert_array_equal(out[v, 0], mfcc[:, 4 * v:4 * v + 20])
    # fewer video frames than audio: the video decides
    assert syncnet_mfcc_windows(mfcc, 30).shape[0] == 25
    assert syncnet_mfcc_windows(mfcc, 100, n_samples=len(wav)).shape[0] == len(wav) // 640 - 5


def test_syncnet_windows_too_short() -> None:
    mfcc = syncnet_mfcc(np.zeros(16000 // 5, np.float32) + 0.01)
    with pytest.raises(BadInputError, match="SyncNet needs"):
        syncnet_mfcc_windows(mfcc, 5)
    with pytest.raises(BadInputError, match="mfcc"):
        syncnet_mfcc_windows(np.zeros((20, 100)), 50)
