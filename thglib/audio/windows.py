"""Cutting audio features into the per-video-frame windows the reference models consume.

* Wav2Lip: a 16-column (0.2 s) mel window per video frame (``inference.py`` of
  https://github.com/Rudrabha/Wav2Lip).
* SyncNet: a 20-column (0.2 s) MFCC window per 5-frame video clip (``SyncNetInstance.evaluate`` of
  https://github.com/joonson/syncnet_python).
"""

from __future__ import annotations

import numpy as np

from ..errors import BadInputError

__all__ = ["WAV2LIP_MEL_STEP", "wav2lip_mel_windows", "syncnet_mfcc_windows"]

#: Mel columns per Wav2Lip window (16 × 12.5 ms = 0.2 s).
WAV2LIP_MEL_STEP = 16
_MEL_PER_SECOND = 80.0  # 16000 Hz / hop 200


def _wav2lip_window_count(n_cols: int, fps: float) -> int:
    """Windows Wav2Lip cuts: frames ``t`` while ``int(t*80/fps) + 16 <= N_mel``, plus one right-aligned tail."""
    mult = _MEL_PER_SECOND / fps
    i = 0
    while int(i * mult) + WAV2LIP_MEL_STEP <= n_cols:
        i += 1
    return i + 1


def wav2lip_mel_windows(mel: np.ndarray, fps: float, n: int | None = None) -> np.ndarray:
    """Per-video-frame mel windows, shape ``(N, 80, 16)``.

    Window ``t`` (video frame ``t``) is ``W_t = mel[:, j_t : j_t + 16]`` with
    ``j_t = min(int(t * 80 / fps), N_mel - 16)``, ``N_mel`` the columns of ``mel``: 80 mel columns
    per second, and windows that would run past the end are right-aligned on it.
    With ``n=None``, ``N`` is Wav2Lip's own count (``inference.py``: every full window, then one
    right-aligned window, then stop); give ``n`` (the number of video frames) to get exactly that
    many, repeating the right-aligned tail as needed.
    """
    mel = np.asarray(mel)
    if mel.ndim != 2 or mel.shape[1] < WAV2LIP_MEL_STEP:
        raise BadInputError("mel", f"expected (80, T) with T >= {WAV2LIP_MEL_STEP}, got shape {mel.shape}",
                            "Compute it with wav2lip_melspectrogram on at least 0.2 s of audio")
    if not (isinstance(fps, (int, float, np.number)) and np.isfinite(fps) and fps > 0):
        raise BadInputError("fps", f"must be a positive frame rate, got {fps!r}", "Pass e.g. fps=25")
    if n is None:
        n = _wav2lip_window_count(mel.shape[1], float(fps))
    elif int(n) < 1:
        raise BadInputError("n", f"must be at least 1, got {n!r}")
    last = mel.shape[1] - WAV2LIP_MEL_STEP
    starts = [min(int(i * (_MEL_PER_SECOND / fps)), last) for i in range(int(n))]
    return np.stack([mel[:, s:s + WAV2LIP_MEL_STEP] for s in starts])


def syncnet_mfcc_windows(mfcc: np.ndarray, n_video_frames: int, *, n_samples: int | None = None) -> np.ndarray:
    """SyncNet audio inputs, shape ``(N_w, 1, 13, 20)``: window ``t`` is ``mfcc[:, 4t : 4t + 20]``.

    Video at 25 fps and MFCCs at 100 Hz give 4 MFCC columns per frame; window ``t`` pairs with the
    5 video frames ``[t, t + 5)``. As in ``SyncNetInstance.evaluate``,
    ``N_w = min(n_video_frames, n_audio_frames) - 5`` where ``n_audio_frames = n_samples // 640``
    (16 kHz samples per 25 fps frame). Without ``n_samples``, ``n_audio_frames = (n_cols + 1) // 4``
    (``n_cols`` MFCC columns), which is exact when the audio is a whole number of video frames long.
    """
    mfcc = np.asarray(mfcc)
    if mfcc.ndim != 2 or mfcc.shape[0] != 13:
        raise BadInputError("mfcc", f"expected (13, T), got shape {mfcc.shape}", "Compute it with syncnet_mfcc")
    n_cols = mfcc.shape[1]
    n_audio = n_samples // 640 if n_samples is not None else (n_cols + 1) // 4
    n = min(int(n_video_frames), n_audio) - 5
    n = min(n, (n_cols - 20) // 4 + 1)  # never read past the last column
    if n < 1:
        raise BadInputError("mfcc/n_video_frames",
                            f"too short for SyncNet ({n_video_frames} video frames, {n_cols} MFCC columns)",
                            "SyncNet needs at least 6 video frames (0.24 s at 25 fps) of audio and video")
    return np.stack([mfcc[None, :, 4 * v:4 * v + 20] for v in range(n)])
