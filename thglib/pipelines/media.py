"""Inputs and outputs the generation pipelines share: face media, speech, the output path, stage clocks.

* :func:`open_face` — an image path, a video path or RGB frames as a re-readable :class:`Source`;
* :func:`open_audio` — any speech (file, ``(samples, sr)``, :class:`thglib.tts.Speech`) as the
  samples to mux plus mono 16 kHz float32 for the model, refusing empty, too short or silent audio;
* :func:`check_out` — the output ``.mp4`` path, refused early if it exists or is an input;
* :class:`Clock` — wall time per named stage.

Every refusal is a :class:`~thglib.errors.BadInputError` (a file: :class:`~thglib.errors.MediaError`)
naming the argument or the file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadInputError

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "Source", "open_face", "open_audio", "check_out", "Clock",
           "looped", "frames_for"]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v")


@dataclass
class Source:
    """Frames of a face video, an image file or an array, readable any number of times."""

    name: str
    n: int
    fps: float
    static: bool
    array: np.ndarray | None = None  # (T, H, W, 3)
    path: Path | None = None

    def frames(self, limit: int) -> Iterator[np.ndarray]:
        """The first ``limit`` frames, one at a time."""
        if self.array is not None:
            yield from self.array[:limit]
            return
        from ..io import iter_frames

        k = 0
        for chunk in iter_frames(self.path, chunk=16):
            for f in chunk[:limit - k]:
                yield f
            k += len(chunk)
            if k >= limit:
                return

    def first(self) -> np.ndarray:
        """Frame 0 (a video is decoded only up to it)."""
        for f in self.frames(1):
            return np.ascontiguousarray(f)
        raise BadInputError(self.name, "has no frames", "Pass an image, or a video with at least one frame")


def read_image(p: Path, name: str = "face") -> np.ndarray:
    from ..validate import read_image as _read

    return _read(p, name, fix="Pass a JPEG/PNG file, or a video")


def open_face(face: str | os.PathLike | np.ndarray, fps: float, *, name: str = "face") -> Source:
    """Image path, video path, ``(H, W, 3)`` image or ``(T, H, W, 3)`` frames → :class:`Source`.

    ``name`` is the argument the errors name (``"face"`` for Wav2Lip, ``"image"`` for SadTalker).
    """
    if not isinstance(face, (np.ndarray, str, os.PathLike)):
        raise BadInputError(name, f"is {type(face).__name__}", "Pass a video or image path, or RGB frames")
    if isinstance(face, np.ndarray):
        a = face[None] if face.ndim == 3 else face
        if a.ndim != 4 or a.shape[-1] != 3 or a.dtype != np.uint8 or len(a) == 0:
            raise BadInputError(name, f"expected (H, W, 3) or (T, H, W, 3) uint8 RGB, got {face.shape} {face.dtype}")
        return Source(f"{name} array", len(a), fps, len(a) == 1, array=a)
    p = Path(face).expanduser()
    if p.suffix.lower() in IMAGE_SUFFIXES:
        return Source(str(p), 1, fps, True, array=read_image(p, name)[None])
    from ..io import probe, read_video

    info = probe(p)  # MediaError for missing / unreadable / audio-only files
    if info.is_vfr or not info.n_frames_exact:  # decode once at a constant rate, count exactly
        clip = read_video(p, vfr="resample", audio=False)
        return Source(str(p), clip.n_frames, clip.fps, clip.n_frames == 1, array=clip.frames)
    return Source(str(p), info.n_frames, info.fps, info.n_frames == 1, path=info.path)


def open_audio(audio: Any, *, model: str = "Wav2Lip", min_samples: int = 3000,
               stacklevel: int = 4) -> tuple[np.ndarray, int, np.ndarray]:
    """``(samples for muxing, their rate, mono 16 kHz float32)`` from a path, ``(array, sr)`` or ``Speech``.

    Refused: anything else, empty or mis-shaped samples, fewer than ``min_samples`` at 16 kHz (the
    message says ``model`` needs that much), and silent or non-finite audio.  Peaks above full scale
    are clipped with a warning (AAC would keep them).
    """
    from ..io import load_audio, resample, to_float32, to_mono

    if isinstance(audio, (str, os.PathLike)):
        x, sr = load_audio(audio, sr=None, mono=False)
        what = f"'{audio}'"
    elif hasattr(audio, "audio") and hasattr(audio, "sample_rate"):
        x, sr, what = to_float32(np.asarray(audio.audio), "audio"), int(audio.sample_rate), "audio"
    elif isinstance(audio, tuple) and len(audio) == 2:
        x, sr, what = to_float32(np.asarray(audio[0]), "audio"), audio[1], "audio"
    else:
        raise BadInputError("audio", f"got {type(audio).__name__}",
                            "Pass a file path, an (samples, sample_rate) tuple or a thglib.tts.Speech")
    from ..validate import peak_limited, sample_rate

    sr = sample_rate(sr, "audio sample rate", fix="Pass (samples, sample_rate) with the rate in Hz, e.g. 16000")
    if x.ndim not in (1, 2) or x.shape[0] == 0:
        raise BadInputError(what, f"is empty or mis-shaped ({x.shape})", "Pass at least 0.2 s of speech")
    x = peak_limited(x, what, stacklevel=stacklevel)  # AAC keeps peaks above full scale: clip them, loudly
    mono = resample(to_mono(x) if x.ndim == 2 else x, int(sr), 16000)
    if len(mono) < min_samples:
        raise BadInputError(what, f"is {len(mono) / 16000:.3f} s long",
                            f"{model} needs at least {min_samples / 16000:.1f} s of audio")
    peak = float(np.max(np.abs(mono)))
    if not np.isfinite(peak) or peak < 1e-4:
        raise BadInputError(what, f"is silent or invalid (peak amplitude {peak:.2g})",
                            "Pass speech: a silent track gives a closed, frozen mouth")
    return x, int(sr), mono.astype(np.float32)


def check_out(out: str | os.PathLike, overwrite: bool, inputs: tuple[Any, ...]) -> Path:
    """The output path, refused early if it exists (without ``overwrite``) or is one of the inputs."""
    from ..validate import output_file

    if not isinstance(out, (str, os.PathLike)):
        raise BadInputError("out", f"is {type(out).__name__}", "Pass the output .mp4 path")
    p = Path(out).expanduser()
    if p.suffix.lower() not in VIDEO_SUFFIXES:
        raise BadInputError("out", f"'{p}' is not a video path", "Use a .mp4 file name")
    for x in inputs:
        if isinstance(x, (str, os.PathLike)) and Path(x).expanduser().resolve() == p.resolve():
            raise BadInputError(f"'{p}'", "is also an input of this call", "Write the result to a new path")
    return output_file(p, "out", overwrite=overwrite)


class Clock:
    """Wall time per stage: ``with clock("mel"): ...``; ``clock.exclusive(stage)`` leaves out the
    time that nested stages (e.g. ``decode`` inside ``detect``) charge meanwhile."""

    def __init__(self) -> None:
        self.t: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.t[stage] = self.t.get(stage, 0.0) + time.perf_counter() - t0

    @contextmanager
    def exclusive(self, stage: str) -> Iterator[None]:
        t0, before = time.perf_counter(), sum(self.t.values())
        try:
            yield
        finally:
            inner = sum(self.t.values()) - before
            self.t[stage] = self.t.get(stage, 0.0) + time.perf_counter() - t0 - inner

    def timed(self, stage: str, it: Iterable[Any]) -> Iterator[Any]:
        """Re-yield ``it``, charging the time spent producing each item to ``stage``."""
        it = iter(it)
        while True:
            with self(stage):
                item = next(it, _DONE)
            if item is _DONE:
                return
            yield item


_DONE = object()


class StageTimings:
    """Mixin of the pipelines' result classes: ``n_frames`` and ``timings`` (a :class:`Clock`'s
    seconds per stage) give the totals."""

    n_frames: int
    timings: dict[str, float]

    @property
    def total_s(self) -> float:
        return float(sum(self.timings.values()))

    @property
    def frames_per_s(self) -> float:
        """Output frames per second of wall time, all stages included."""
        return self.n_frames / self.total_s if self.total_s > 0 else float("nan")


def looped(src: Source, n_used: int, n_out: int) -> Iterator[np.ndarray]:
    """Output-order frames: source frame ``i mod n_used`` for ``i < n_out``."""
    done = 0
    while done < n_out:
        for f in src.frames(min(n_used, n_out - done)):
            yield f
            done += 1


def frames_for(n_samples: int, fps: float) -> int:
    """Video frames covering ``n_samples`` of 16 kHz audio: ``floor(duration · fps + 1/2)``, at least 1."""
    return max(1, int(n_samples / 16000 * fps + 0.5))
