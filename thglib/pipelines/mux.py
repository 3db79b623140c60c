"""Writing a pipeline's result: H.264 + AAC in one MP4, optionally tagged in its metadata.

:func:`write_mp4` streams RGB frames through :func:`thglib.io.write_video` (libx264 yuv420p BT.709,
AAC 128 kb/s, faststart, written atomically).  With ``comment`` the file's ``comment`` tag carries
it (one stream copy, no re-encoding), so a result made with untrained weights says so even when it
is copied away from the notebook that made it; :func:`mp4_comment` reads it back.  With ``mark`` each
frame also shows it in its top-left corner (:func:`mark_frame`: "UNTRAINED WEIGHTS"), which survives
re-encoding, screenshots and players that hide metadata.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import BadInputError, MediaError

__all__ = ["write_mp4", "mp4_comment", "trim_audio", "UNTRAINED_MARK", "MARK_COLOUR", "mark_box",
           "mark_frame"]

#: Text drawn in the top-left corner of every frame of a result made with untrained/placeholder weights.
UNTRAINED_MARK = "UNTRAINED WEIGHTS"
MARK_COLOUR = (255, 255, 0)  #: RGB of the mark's text (yellow), on a black box


def trim_audio(x: np.ndarray, sr: int, seconds: float) -> np.ndarray:
    """The first ``seconds`` of ``x`` (``(n,)`` or ``(n, ch)`` at ``sr`` Hz), zero-padded if shorter."""
    n = int(round(seconds * sr))
    if len(x) >= n:
        return x[:n]
    pad = [(0, n - len(x))] + [(0, 0)] * (x.ndim - 1)
    return np.pad(x, pad)


def _mark_layout(height: int, width: int, text: str) -> tuple[float, int, int, int, int]:
    """``(font scale, thickness, pad, box width, box height)`` of ``text`` on a ``height × width`` frame."""
    import cv2

    font = cv2.FONT_HERSHEY_SIMPLEX
    (tw, _), _ = cv2.getTextSize(text, font, 1.0, 2)
    scale = max(0.3, 0.4 * width / tw)  # 40 % of the width, but never below a legible 0.3
    thick = max(1, int(round(2 * scale)))
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    pad = max(2, int(round(4 * scale)))
    return scale, thick, pad, min(width, tw + 2 * pad), min(height, th + base + 2 * pad)


def mark_box(height: int, width: int, text: str = UNTRAINED_MARK) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` of the corner box :func:`mark_frame` draws on a ``height × width`` frame."""
    *_, bw, bh = _mark_layout(height, width, text)
    return 0, 0, bw, bh


def mark_frame(frame: np.ndarray, text: str = UNTRAINED_MARK) -> np.ndarray:
    """A copy of the RGB ``frame`` ``(H, W, 3)`` uint8 with ``text`` in :data:`MARK_COLOUR` on a black box in
    its top-left corner (:func:`mark_box`), 40 % of the frame wide (more on small frames), so that a still or
    a re-encoded copy of the video still says how it was made."""
    import cv2

    out = np.array(frame, dtype=np.uint8, copy=True)
    if out.ndim != 3 or out.shape[2] != 3 or min(out.shape[:2]) < 8:
        raise BadInputError("frame", f"has shape {out.shape}", "Pass one RGB frame (H, W, 3), H and W at least 8")
    scale, thick, pad, bw, bh = _mark_layout(*out.shape[:2], text)
    out[:bh, :bw] = 0
    (_, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    cv2.putText(out, text, (pad, pad + th), cv2.FONT_HERSHEY_SIMPLEX, scale, MARK_COLOUR, thick, cv2.LINE_AA)
    return out


def write_mp4(dst: str | Path, frames: np.ndarray | Iterable[np.ndarray], fps: float, *,
              audio: np.ndarray | None = None, sample_rate: int = 16000, overwrite: bool = False,
              comment: str | None = None, mark: str | None = None) -> Path:
    """Encode ``frames`` (+ ``audio``) to ``dst``; with ``comment``, store it as the MP4 ``comment`` tag;
    with ``mark`` (e.g. :data:`UNTRAINED_MARK`), draw it in every frame's corner (:func:`mark_frame`)."""
    from ..io import write_video

    dst = Path(dst).expanduser()
    if mark:
        frames = (mark_frame(f, mark) for f in frames)
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
