"""Show videos and audio in notebooks, embedded in the page itself.

Each helper returns an ``IPython.display.HTML`` whose markup holds a real ``<video controls>`` or
``<audio controls>`` element with the media inlined as a base64 ``data:`` URI, so the saved
notebook (and a static Jupyter Book page built from it) plays without any side files.  Frames are
first encoded to H.264 MP4 (yuv420p, the profile every browser plays).
"""

from __future__ import annotations

import base64
import html
import io
import subprocess
import tempfile
import warnings
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np

from ..errors import BackendUnavailable, BadInputError, MediaError
from .video import Clip, PathLike, _stderr_tail, ff_path, ffmpeg_exe, probe, write_video

__all__ = ["show_video", "show_videos", "show_audio", "video_data_uri", "audio_data_uri", "wav_bytes"]

#: Embedded media larger than this triggers a warning (notebooks and pages grow by ~4/3 of it).
EMBED_WARN_BYTES = 5 * 2**20
VideoLike = Union[PathLike, np.ndarray, Clip]


def _html(markup: str) -> Any:
    try:
        from IPython.display import HTML
    except ImportError as e:
        raise BackendUnavailable("IPython", "pip install ipython") from e
    return HTML(markup)


def _data_uri(data: bytes, mime: str, what: str) -> str:
    if len(data) > EMBED_WARN_BYTES:
        warnings.warn(f"embedding {what} of {len(data) / 2**20:.1f} MB makes the notebook heavy; "
                      "show a shorter clip or a smaller width", UserWarning, stacklevel=4)
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _even_size(w: int, h: int, max_w: int) -> tuple[int, int] | None:
    """Downscaled (width, height), both even, when ``w`` exceeds ``max_w``; else None."""
    if w <= max_w:
        return None
    nw = max_w - max_w % 2
    return nw, max(2, int(round(h * nw / w / 2)) * 2)


def _mp4_bytes(src: VideoLike, fps: float | None, max_w: int, audio: np.ndarray | None,
               sample_rate: int) -> bytes:
    """H.264 MP4 bytes: frames are encoded; a browser-ready MP4 no wider than ``max_w`` is used as is."""
    if isinstance(src, Clip):
        src, fps, audio, sample_rate = src.frames, src.fps, src.audio, src.sample_rate or sample_rate
    with tempfile.TemporaryDirectory() as td:
        out = Path(td) / "embed.mp4"
        if isinstance(src, np.ndarray):
            if fps is None:
                raise BadInputError("fps", "is required when passing frames",
                                    "Pass fps=25 (or the clip's rate)")
            size = _even_size(src.shape[2], src.shape[1], max_w) if src.ndim == 4 else None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # odd sizes are padded; irrelevant for display
                write_video(out, src, fps, audio=audio, sample_rate=sample_rate, crf=23, size=size)
            return out.read_bytes()
        info = probe(src)
        if (info.codec, info.pix_fmt, info.path.suffix.lower()) == ("h264", "yuv420p", ".mp4") \
                and info.width <= max_w:
            return info.path.read_bytes()
        _transcode(info.path, out, max_w)
        return out.read_bytes()


def _transcode(src: Path, dst: Path, max_w: int) -> None:
    """Re-encode any video to browser-friendly H.264/AAC MP4, at most ``max_w`` pixels wide."""
    scale = f"scale='trunc(min(iw,{max_w})/2)*2':-2,format=yuv420p"
    cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", ff_path(src), "-map", "0:V:0",
           "-map", "0:a:0?", "-vf", scale, "-c:v", "libx264", "-crf", "23", "-c:a", "aac",
           "-movflags", "+faststart", ff_path(dst)]
    r = subprocess.run(cmd, capture_output=True)
    if r.returncode != 0:
        raise MediaError(src, f"could not be converted for display ({_stderr_tail(r.stderr)})",
                         "Check the file with thglib.io.probe")


def video_data_uri(src: VideoLike, fps: float | None = None, max_width: int = 640,
                   audio: np.ndarray | None = None, sample_rate: int = 16000) -> str:
    """``data:video/mp4;base64,...`` for a path, a (T, H, W, 3) uint8 array or a :class:`Clip`."""
    return _data_uri(_mp4_bytes(src, fps, max_width, audio, sample_rate), "video/mp4", "a video")


def _figure(media: str, label: str | None) -> str:
    cap = f"<figcaption>{html.escape(label)}</figcaption>" if label else ""
    return f'<figure style="display:inline-block;margin:4px;text-align:center">{media}{cap}</figure>'


def _video_figure(src: VideoLike, fps: float | None, width: int, label: str | None,
                  audio: np.ndarray | None, sample_rate: int) -> str:
    uri = video_data_uri(src, fps, 2 * width, audio, sample_rate)
    return _figure(f'<video controls playsinline width="{int(width)}" src="{uri}"></video>', label)


def show_video(path_or_frames: VideoLike, fps: float | None = None, width: int = 320,
               label: str | None = None, *, audio: np.ndarray | None = None,
               sample_rate: int = 16000) -> Any:
    """Embed one video (path, frames + ``fps``, or a :class:`Clip`) as ``<video controls>``.

    Frames wider than ``2 * width`` are downscaled before encoding to keep the page small.
    """
    return _html(_video_figure(path_or_frames, fps, width, label, audio, sample_rate))


def show_videos(items: Sequence[VideoLike], labels: Sequence[str] | None = None, fps: float | None = None,
                width: int = 240) -> Any:
    """Embed several videos side by side (a wrapping flex row), each with an optional caption."""
    if labels is not None and len(labels) != len(items):
        raise BadInputError("labels", f"has {len(labels)} entries for {len(items)} videos",
                            "Pass one label per video, or labels=None")
    labs = list(labels) if labels is not None else [None] * len(items)
    figs = "".join(_video_figure(it, fps, width, lb, None, 16000) for it, lb in zip(items, labs))
    return _html(f'<div style="display:flex;flex-wrap:wrap;align-items:flex-start">{figs}</div>')


def wav_bytes(x: np.ndarray, sr: int) -> bytes:
    """16-bit PCM WAV bytes of float samples ``(n,)`` or ``(n, ch)`` (stdlib ``wave``)."""
    from .audio import to_float32

    y = to_float32(x, "x")
    if y.ndim not in (1, 2) or y.shape[0] == 0:
        raise BadInputError("x", f"has shape {y.shape}",
                            "Pass non-empty mono (n,) or channels-last (n, ch) samples")
    pcm = (np.clip(y, -1.0, 1.0) * 32767).round().astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1 if y.ndim == 1 else y.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(sr))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def audio_data_uri(x: np.ndarray | PathLike, sr: int | None = None) -> str:
    """``data:audio/wav;base64,...`` for samples at ``sr`` Hz or for any audio file."""
    if not isinstance(x, np.ndarray):
        from .audio import load_audio

        x, sr = load_audio(x, mono=False)
    if not isinstance(sr, (int, np.integer)) or sr <= 0:
        raise BadInputError("sr", f"is {sr!r}", "Pass the sample rate of the samples in Hz, e.g. 16000")
    return _data_uri(wav_bytes(x, int(sr)), "audio/wav", "audio")


def show_audio(x: np.ndarray | PathLike, sr: int | None = None, label: str | None = None) -> Any:
    """Embed samples (with ``sr``) or an audio file as an ``<audio controls>`` player."""
    return _html(_figure(f'<audio controls src="{audio_data_uri(x, sr)}"></audio>', label))
