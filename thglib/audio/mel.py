"""Audio features exactly as the reference lip-sync models compute them.

* :func:`wav2lip_melspectrogram` — the 80-band log-mel of Wav2Lip (Prajwal et al., ACM MM 2020),
  following ``audio.py`` and ``hparams.py`` of https://github.com/Rudrabha/Wav2Lip.
* :func:`syncnet_mfcc` — the 13 MFCCs of SyncNet (Chung & Zisserman, ACCV-W 2016), following
  ``SyncNetInstance.evaluate`` of https://github.com/joonson/syncnet_python.

Both expect 16 kHz mono speech; other rates are resampled with soxr first (as the reference
pipelines do with ``librosa.load(sr=16000)`` / ``ffmpeg -ar 16000``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import BadInputError

__all__ = ["WAV2LIP_HPARAMS", "wav2lip_melspectrogram", "syncnet_mfcc"]

#: Wav2Lip ``hparams.py`` values that enter the mel-spectrogram.
WAV2LIP_HPARAMS: dict[str, float] = {
    "sample_rate": 16000, "n_fft": 800, "hop_size": 200, "win_size": 800, "num_mels": 80,
    "fmin": 55, "fmax": 7600, "preemphasis": 0.97, "ref_level_db": 20, "min_level_db": -100,
    "max_abs_value": 4.0,
}


def _mono_16k(wav: np.ndarray, sr: int, name: str = "wav") -> np.ndarray:
    """Check a 1-D waveform and return it as float64 at 16 kHz.

    Integer PCM is scaled to [-1, 1) by its dtype range (int16 → /32768).
    """
    x = np.asarray(wav)
    if x.ndim != 1:
        raise BadInputError(name, f"expected a 1-D mono waveform, got shape {x.shape}",
                            "Average the channels first, e.g. wav.mean(axis=1) for (samples, channels)")
    if x.size == 0:
        raise BadInputError(name, "the waveform is empty", "Pass at least a few milliseconds of audio")
    if not (isinstance(sr, (int, np.integer)) and sr > 0):
        raise BadInputError("sr", f"sample rate must be a positive integer, got {sr!r}")
    if np.issubdtype(x.dtype, np.integer):
        from ..io.audio import to_float32

        x = to_float32(x, name)          # int16/int32 scaled, uint8 centred on 128
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise BadInputError(name, "the waveform contains NaN or inf", "Clean the signal, e.g. np.nan_to_num(wav)")
    if sr != 16000:
        import soxr

        x = soxr.resample(x, sr, 16000)
    return x


@lru_cache(maxsize=1)
def _wav2lip_mel_basis() -> np.ndarray:
    """Slaney-normalised mel filter bank, (80, 401): ``librosa.filters.mel`` with Wav2Lip's hparams."""
    import librosa

    hp = WAV2LIP_HPARAMS
    return librosa.filters.mel(sr=hp["sample_rate"], n_fft=hp["n_fft"], n_mels=hp["num_mels"],
                               fmin=hp["fmin"], fmax=hp["fmax"])


def wav2lip_melspectrogram(wav: np.ndarray, sr: int = 16000, *, pad_mode: str = "constant") -> np.ndarray:
    """Wav2Lip's normalised log-mel spectrogram ``M``, ``(80, N_mel)``, ``N_mel = len(wav_16k) // 200 + 1``.

    Steps (Wav2Lip ``audio.melspectrogram``): pre-emphasis ``a'[n] = a[n] - 0.97 a[n-1]``;
    ``|A'| = |STFT(a')|`` (n_fft = win = 800 Hann, hop 200, centred); 80 mel bands 55–7600 Hz
    (``F_mel``); ``M_dB = 20 log10(max(1e-5, F_mel|A'|)) - 20``;
    ``M = clip(8 (M_dB + 100) / 100 - 4, -4, 4)``.

    ``pad_mode`` is the centring pad of ``librosa.stft``. The reference code does not set it, so it
    inherits librosa's default: ``"constant"`` (zeros) since librosa 0.10, which is what Wav2Lip
    gives when run today and what the golden fixture holds; librosa 0.7 (Wav2Lip's pinned version,
    used in training) padded with ``"reflect"``. The two differ only in the first and last two
    columns.
    """
    import librosa
    from scipy.signal import lfilter

    hp = WAV2LIP_HPARAMS
    y = lfilter([1.0, -hp["preemphasis"]], [1.0], _mono_16k(wav, sr))
    spec = np.abs(librosa.stft(y=y, n_fft=hp["n_fft"], hop_length=hp["hop_size"],
                               win_length=hp["win_size"], pad_mode=pad_mode))
    min_level = 10.0 ** (hp["min_level_db"] / 20)
    db = 20 * np.log10(np.maximum(min_level, _wav2lip_mel_basis() @ spec)) - hp["ref_level_db"]
    m = hp["max_abs_value"]
    norm = 2 * m * (db - hp["min_level_db"]) / -hp["min_level_db"] - m
    return np.clip(norm, -m, m).astype(np.float32)


_MFCC_BLOCK = 6000  # MFCC frames (60 s of audio) per block in syncnet_mfcc


def syncnet_mfcc(wav: np.ndarray, sr: int = 16000) -> np.ndarray:
    """SyncNet's audio input: 13 MFCCs at 100 Hz, shape ``(13, T)`` (coefficients × time).

    ``python_speech_features.mfcc`` with its defaults (25 ms rectangular window, 10 ms step,
    26 filters, nfft 512, pre-emphasis 0.97, lifter 22, c0 replaced by log frame energy),
    transposed, as ``SyncNetInstance.evaluate`` does. SyncNet reads 16-bit PCM with
    ``scipy.io.wavfile``, so float input is scaled by 32768 to that integer range first (this
    only changes c0, the log energy).
    """
    from python_speech_features import mfcc
    from python_speech_features.sigproc import preemphasis

    pcm = _mono_16k(wav, sr) * 32768.0
    if len(pcm) <= _MFCC_BLOCK * 160 + 240:
        return np.ascontiguousarray(mfcc(pcm, 16000).T, dtype=np.float32)
    # Long audio: pre-emphasis on the whole signal, then MFCCs of _MFCC_BLOCK frames (hop 160, window 400
    # samples) at a time, each block cut so its frames are exactly the whole signal's: the same numbers,
    # without python_speech_features' (frames × 512) complex spectrum of the whole signal (1 GB for 10 min).
    pre, out = preemphasis(pcm, 0.97), []
    for a in range(0, 1 + max(0, -(-(len(pre) - 400) // 160)), _MFCC_BLOCK):
        seg = pre[a * 160:(a + _MFCC_BLOCK - 1) * 160 + 400]
        out.append(mfcc(seg, 16000, preemph=0).T.astype(np.float32))
    return np.ascontiguousarray(np.concatenate(out, axis=1))
