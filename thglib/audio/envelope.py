"""Loudness and rhythm of an audio track, sampled at the video frame rate.

Talking-head and co-speech-gesture models often condition on (or are evaluated against) how loud
the speech is per frame and where its onsets and beats fall; these helpers give both on the video
time grid, so frame ``i`` covers ``[i / fps, (i + 1) / fps)`` seconds of audio.
"""

from __future__ import annotations

import numpy as np

from ..errors import BadInputError

__all__ = ["energy_envelope", "onsets"]


def _mono_float(wav: np.ndarray, sr: int, fps: float) -> np.ndarray:
    """Validate a 1-D waveform, sample rate and frame rate; return float64 samples in [-1, 1]."""
    x = np.asarray(wav)
    if x.ndim != 1 or x.size == 0:
        raise BadInputError("wav", f"expected a non-empty 1-D mono waveform, got shape {x.shape}",
                            "Average the channels first, e.g. wav.mean(axis=1)")
    if not (isinstance(sr, (int, np.integer)) and sr > 0):
        raise BadInputError("sr", f"sample rate must be a positive integer, got {sr!r}")
    if not (isinstance(fps, (int, float, np.number)) and np.isfinite(fps) and fps > 0):
        raise BadInputError("fps", f"must be a positive frame rate, got {fps!r}")
    from ..io.audio import to_float32

    if np.issubdtype(x.dtype, np.integer):
        x = to_float32(x, "wav")        # int16/int32 scaled, uint8 centred on 128
    elif np.issubdtype(x.dtype, np.floating):
        to_float32(x, "wav")            # refuses NaN/inf, which librosa would choke on
    else:
        raise BadInputError("wav", f"has dtype {x.dtype}", "Pass float, int16, int32 or uint8 samples")
    return x.astype(np.float64)


def _frame_bounds(n_samples: int, sr: int, fps: float) -> np.ndarray:
    """First sample ``round(i * sr / fps)`` of each video frame that starts inside the audio."""
    starts = np.round(np.arange(int(np.ceil(n_samples * fps / sr)) + 1) * sr / fps).astype(np.int64)
    return starts[starts < n_samples]


def _time_to_frame(t: np.ndarray, fps: float, n: int) -> np.ndarray:
    """Video frame holding each time ``t`` (seconds): ``floor(t * fps)`` clipped to ``[0, n)``."""
    return np.clip(np.floor(np.asarray(t) * fps + 1e-9), 0, n - 1).astype(np.int64)


def energy_envelope(wav: np.ndarray, sr: int, fps: float = 25, *, db: bool = False) -> np.ndarray:
    """RMS amplitude per video frame, float32: one value per frame ``i`` that starts inside the audio
    (``round(i · sr / fps) < len(wav)``, about ``len(wav) · fps / sr`` frames).

    ``rms_i = sqrt(mean(x[n]^2))`` over the samples of frame ``i`` (the last frame may be short).
    With ``db=True`` returns ``20 log10(max(rms, 1e-5))`` dB re full scale (floor −100 dBFS), via
    ``librosa.amplitude_to_db``.
    """
    x = _mono_float(wav, sr, fps)
    bounds = _frame_bounds(x.size, sr, fps)
    counts = np.diff(np.append(bounds, x.size))
    rms = np.sqrt(np.add.reduceat(x * x, bounds) / counts)
    if db:
        import librosa

        rms = librosa.amplitude_to_db(rms, ref=1.0, amin=1e-5, top_db=None)
    return rms.astype(np.float32)


def onsets(wav: np.ndarray, sr: int, fps: float = 25) -> dict[str, np.ndarray | float]:
    """Onset strength, onsets and beats on the video frame grid.

    Uses ``librosa.onset.onset_strength`` (spectral flux of a log-mel spectrogram) with a hop of
    about a quarter video frame, then:

    * ``"strength"``: ``(N,)`` float32, the maximum onset strength within each video frame
      (``N`` as in :func:`energy_envelope`);
    * ``"onset_frames"``: int array, video frames holding a peak picked by ``librosa.onset.onset_detect``;
    * ``"beat_frames"``: int array, video frames of beats from ``librosa.beat.beat_track``;
    * ``"tempo_bpm"``: the estimated tempo (0.0 when none is found).
    """
    import librosa

    x = _mono_float(wav, sr, fps)
    hop = max(1, int(round(sr / (4 * fps))))
    env = librosa.onset.onset_strength(y=x, sr=sr, hop_length=hop)
    n = len(_frame_bounds(x.size, sr, fps))
    env_frames = _time_to_frame(librosa.frames_to_time(np.arange(env.size), sr=sr, hop_length=hop), fps, n)
    strength = np.zeros(n, dtype=np.float32)
    np.maximum.at(strength, env_frames, env.astype(np.float32))
    onset_t = librosa.onset.onset_detect(onset_envelope=env, sr=sr, hop_length=hop, units="time")
    tempo, beat_t = librosa.beat.beat_track(onset_envelope=env, sr=sr, hop_length=hop, units="time")
    return {"strength": strength,
            "onset_frames": np.unique(_time_to_frame(onset_t, fps, n)),
            "beat_frames": np.unique(_time_to_frame(beat_t, fps, n)),
            "tempo_bpm": float(np.atleast_1d(tempo)[0])}
