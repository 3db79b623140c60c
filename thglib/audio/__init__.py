"""Audio features on the video time grid, as the reference talking-head models expect them.

* :mod:`thglib.audio.mel` — Wav2Lip's log-mel spectrogram and SyncNet's MFCCs;
* :mod:`thglib.audio.windows` — cutting them into per-video-frame model inputs;
* :mod:`thglib.audio.envelope` — loudness, onsets and beats per video frame.
"""

from __future__ import annotations

from .envelope import energy_envelope, onsets
from .mel import WAV2LIP_HPARAMS, syncnet_mfcc, wav2lip_melspectrogram
from .windows import WAV2LIP_MEL_STEP, syncnet_mfcc_windows, wav2lip_mel_windows

__all__ = [
    "WAV2LIP_HPARAMS",
    "WAV2LIP_MEL_STEP",
    "wav2lip_melspectrogram",
    "wav2lip_mel_windows",
    "syncnet_mfcc",
    "syncnet_mfcc_windows",
    "energy_envelope",
    "onsets",
]
