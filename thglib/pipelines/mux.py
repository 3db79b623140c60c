"""Writing a pipeline's result: H.264 + AAC in one MP4, optionally tagged in its metadata.

:func:`write_mp4` streams RGB frames through :func:`thglib.io.write_video` (libx264 yuv420p BT.709,
AAC 128 kb/s, faststart, written atomically).  With ``comment`` the file's ``comment`` tag carries
it (one stream copy, no re-encoding), so a result made with untrained weights says so even when it
is copied away from the notebook that made it; :func:`mp4_comment` reads it back.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import MediaError

__all__ = ["write_mp4", "mp4_comment", "trim_audio"]


def trim_audio(x: np.ndarray, sr: int, seconds: float) -> np.ndarray:
    """The first ``seconds`` of ``x`` (``(n,)`` or ``(n, ch)`` at ``sr`` Hz), zero-padded if shorter."""
    n = int(round(seconds * sr))
    if len(x) >= n:
        return x[:n]
    pad = [(0, n - len(x))] + [(0, 0)] * (x.ndim - 1)
    return np.pad(x, pad)


def write_mp4(dst: str | Path, frames: np.ndarray | Iterable[np.ndarray], fps: float, *,
              audio: np.ndarray | None = None, sample_rate: int = 16000, overwrite: bool = False,
              comment: str | None = None) -> Path:
    """Encode ``frames`` (+ ``audio``) to ``dst``; with ``comment``, store it as the MP4 ``comment`` tag."""
    from ..io import write_video

    dst = Path(dst).expanduser()
    if not comment:
        return write_video(dst, frames, fps, audio=audio, sample_rate=sample_rate, overwrite=overwrite)
    from ..io.video import atomic_output, ff_path, ffmpeg_exe

    with tempfile.TemporaryDirectory(dir=dst.parent, prefix=f".{dst.name}.") as td:
        plain = write_video(Path(td) / f"untagged{dst.suffix}", frames, fps, audio=audio, sample_rate=sample_rate)
        with atomic_output(dst, overwrite=overwrite) as tmp:
            fmt = "mov" if dst.suffix.lower() == ".mov" else "matroska" if dst.suffix.lower() == ".mkv" else "mp4"
            cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", ff_path(plain), "-map", "0", "-c", "copy",
                   "-metadata", f"comment={_one_line(comment)}"]
            cmd += (["-movflags", "+faststart"] if fmt != "matroska" else []) + ["-f", fmt, ff_path(tmp)]
            r = subprocess.run(cmd, capture_output=True)
            if r.returncode != 0:
                tail = r.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
                raise MediaError(dst, f"could not be tagged (ffmpeg: {tail[0]})", "Pass comment=None")
    return dst


def _one_line(text: str, limit: int = 1000) -> str:
    t = " ".join(str(text).split())
    return t if len(t) <= limit else t[:limit - 1] + "…"


def mp4_comment(path: str | Path) -> str | None:
    """The ``comment`` metadata tag of a media file (``None`` if it has none)."""
    from ..io.video import ff_path, ffmpeg_exe, require_file

    p = require_file(path)
    r = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", ff_path(p)], capture_output=True)
    text = r.stderr.decode("utf-8", "replace")
    m = re.search(r"^\s*comment\s*:\s?(.*)$", text, re.M)
    return m.group(1).strip() if m else None
