"""Audio files and samples: load, resample, downmix, save.

WAV/FLAC/OGG go through ``soundfile`` (libsndfile); anything else (mp3, m4a, the audio track of an
mp4) through the bundled ffmpeg, decoded to 32-bit float.  Resampling uses ``soxr`` at "HQ"
quality (Chris Bagwell's SoX resampler, python-soxr).  Samples are float32 in [-1, 1], mono ``(n,)``
or channels-last ``(n, ch)`` as in ``soundfile.read``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np

from ..errors import BackendUnavailable, BadInputError, MediaError
from .video import PathLike, _channels, _stderr_tail, atomic_output, ff_path, ffmpeg_exe, require_file

__all__ = ["load_audio", "save_audio", "resample", "to_mono", "to_float32", "decode_with_ffmpeg"]

#: Suffixes read and written with soundfile; everything else is decoded with ffmpeg.
SOUNDFILE_SUFFIXES = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}


def to_float32(x: np.ndarray, name: str = "x") -> np.ndarray:
    """Samples as float32 in [-1, 1]: int16 / 32768, int32 / 2**31, uint8 (x - 128) / 128, floats as is
    (NaN or inf refused: encoders would write them as full-scale clicks)."""
    x = np.asarray(x)
    if x.dtype == np.int16:
        return x.astype(np.float32) / 32768.0
    if x.dtype == np.int32:
        return (x.astype(np.float64) / 2**31).astype(np.float32)
    if x.dtype == np.uint8:
        return (x.astype(np.float32) - 128.0) / 128.0
    if np.issubdtype(x.dtype, np.floating):
        from ..validate import finite

        return finite(x, name, fix="Clean the signal first, e.g. np.nan_to_num(x)").astype(np.float32, copy=False)
    raise BadInputError(name, f"has dtype {x.dtype}", "Pass float, int16, int32 or uint8 samples")


def to_mono(x: np.ndarray, name: str = "x") -> np.ndarray:
    """Average the channels of channels-last ``(n, ch)`` samples; 1-D input is returned as float32."""
    x = to_float32(x, name)
    if x.ndim == 1:
        return x
    if x.ndim != 2:
        raise BadInputError(name, f"has shape {x.shape}", "Pass mono (n,) or channels-last (n, ch) samples")
    if x.shape[1] > 16 and x.shape[0] <= 16:
        raise BadInputError(name, f"has shape {x.shape}, which looks channels-first",
                            "Pass channels-last samples, e.g. x.T")
    return x.mean(axis=1, dtype=np.float32)


def resample(x: np.ndarray, sr_in: int, sr_out: int, quality: str = "HQ") -> np.ndarray:
    """Resample ``(n,)`` or ``(n, ch)`` samples from ``sr_in`` to ``sr_out`` Hz with soxr (band-limited)."""
    from ..validate import one_of, sample_rate

    sr_in, sr_out = sample_rate(sr_in, "sr_in"), sample_rate(sr_out, "sr_out")
    one_of(quality, "quality", ("QQ", "LQ", "MQ", "HQ", "VHQ"))
    x = to_float32(x)
    if sr_in == sr_out or x.shape[0] == 0:
        return x
    try:
        import soxr
    except ImportError as e:
        raise BackendUnavailable("soxr", "pip install soxr") from e
    return soxr.resample(x, int(sr_in), int(sr_out), quality=quality).astype(np.float32, copy=False)


def decode_with_ffmpeg(path: PathLike) -> tuple[np.ndarray, int]:
    """Decode the first audio track of any media file to float32 ``(n, ch)`` at its native rate."""
    p = require_file(path)
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", ff_path(p), "-map", "0:a:0", "-vn", "-sn",
           "-c:a", "pcm_f32le", "-f", "f32le", "pipe:1"]
    r = subprocess.run(cmd, capture_output=True)
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode != 0:
        if "Input #0" in err and "matches no streams" in err:
            raise MediaError(p, "has no audio track",
                             "Pass a file with sound, or add audio with thglib.io.mux_audio")
        raise MediaError(p, f"could not be decoded as audio (ffmpeg: {_stderr_tail(err)})",
                         "Check that it is a complete audio/video file (wav, flac, mp3, m4a, mp4)")
    out = err.split("\nOutput #0")[-1]
    m = re.search(r"Audio: pcm_f32le[^,]*, (\d+) Hz, ([^,]+)", out)
    if m is None:
        raise MediaError(p, "audio stream format not understood", "Convert it to WAV and load that")
    sr, ch = int(m.group(1)), _channels(m.group(2), strict=True)
    if ch is None:
        raise MediaError(p, f"has an audio channel layout thglib does not know ({m.group(2).strip()})",
                         f"Convert it first, e.g. ffmpeg -i {p.name} -ac 2 out.wav")
    x = np.frombuffer(r.stdout, dtype="<f4")
    return x[: len(x) // ch * ch].reshape(-1, ch).copy(), sr


def _read_soundfile(p: Path) -> tuple[np.ndarray, int] | None:
    try:
        import soundfile as sf
    except ImportError:
        return None
    try:
        x, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError):
        return None  # e.g. an mp3 renamed .wav: let ffmpeg try
    return x, int(sr)


def load_audio(path: PathLike, sr: int | None = None, mono: bool = True) -> tuple[np.ndarray, int]:
    """Load audio as float32: ``(n,)`` if ``mono`` else ``(n, ch)``, resampled to ``sr`` (None: native).

    WAV/FLAC/OGG are read with soundfile, other formats (mp3, m4a, mp4 tracks) decoded by ffmpeg.
    """
    from ..validate import sample_rate

    sr = sample_rate(sr, "sr", allow_none=True)
    p = require_file(path)
    got = _read_soundfile(p) if p.suffix.lower() in SOUNDFILE_SUFFIXES else None
    x, native = got if got is not None else decode_with_ffmpeg(p)
    if x.shape[0] == 0:
        raise MediaError(p, "contains zero audio samples", "Pass a file with sound in it")
    bad = ~np.isfinite(x)
    if bad.any():  # float WAVs can hold NaN/inf; every use of them (mono or not) would be garbage
        first = int(np.flatnonzero(bad.any(axis=1))[0])
        raise MediaError(p, f"contains {int(bad.sum())} NaN or inf sample(s) (the first at "
                         f"{first / native:.3f} s)", "Repair the file, e.g. re-export it as 16-bit PCM WAV "
                         "(ffmpeg -i IN -c:a pcm_s16le OUT.wav), or load it with soundfile and np.nan_to_num")
    if mono:
        x = to_mono(x)
    if sr is not None:
        x = resample(x, native, sr)
    return x, int(sr or native)


def save_audio(path: PathLike, x: np.ndarray, sr: int, overwrite: bool = False,
               subtype: str | None = None) -> Path:
    """Write ``(n,)``/``(n, ch)`` samples to WAV (16-bit PCM by default), FLAC or OGG, atomically.

    Floats beyond [-1, 1] are clipped (with a warning).  An existing ``path`` is refused unless
    ``overwrite=True``.
    """
    import soundfile as sf

    dst = Path(path).expanduser()
    fmt = SOUNDFILE_SUFFIXES.get(dst.suffix.lower())
    if fmt is None:
        raise BadInputError(f"'{dst}'", f"has unsupported suffix '{dst.suffix}'",
                            "Use .wav, .flac or .ogg (to put AAC audio in a video, use thglib.io.mux_audio)")
    from ..validate import peak_limited, sample_rate, samples

    sr = sample_rate(sr, "sr")
    y = peak_limited(samples(x, "x"), f"'{dst}'")
    with atomic_output(dst, overwrite=overwrite, suffix=dst.suffix) as tmp:
        sf.write(str(tmp), y, int(sr), format=fmt, subtype=subtype)
    return dst
