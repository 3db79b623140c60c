"""Seeing what the numbers measured: a side-by-side MP4 per clip and PNG figures of a clip report.

:func:`clip_video` draws, for every frame, ``reference | generated`` with the generated landmarks, the
two mouth crops enlarged under them, and a strip with the audio waveform and the per-window sync
confidence, a cursor marking the current frame; the clip's audio is muxed in. Frames are composed
with NumPy/OpenCV (no Matplotlib per frame) and streamed to the encoder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadInputError

__all__ = ["clip_video", "clip_figure"]

_STRIP = 64  #: px height of the waveform and confidence strips


def _mouth_box(points: np.ndarray, shape: tuple[int, int], pad: float = 0.35) -> tuple[int, int, int, int]:
    m = points[48:68]
    (x0, y0), (x1, y1) = m.min(axis=0), m.max(axis=0)
    side = max(x1 - x0, y1 - y0) * (1 + 2 * pad)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h, w = shape
    a, b = int(max(cx - side / 2, 0)), int(max(cy - side / 2, 0))
    return a, b, int(min(cx + side / 2, w)), int(min(cy + side / 2, h))


def _curve(values: np.ndarray, width: int, height: int, colour: tuple[int, int, int]) -> np.ndarray:
    import cv2

    img = np.full((height, width, 3), 250, np.uint8)
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)] if np.isfinite(v).any() else np.zeros(2)
    if len(v) < 2:
        return img
    lo, hi = float(v.min()), float(v.max())
    y = (height - 4) - (v - lo) / max(hi - lo, 1e-9) * (height - 8)
    x = np.linspace(0, width - 1, len(v))
    cv2.polylines(img, [np.stack([x, y], 1).astype(np.int32)], False, colour, 1, cv2.LINE_AA)
    return img


def _frames(gen: np.ndarray, ref: np.ndarray | None, track: Any, audio: np.ndarray | None, sr: int,
            fps: float, confidence: np.ndarray | None) -> Iterator[np.ndarray]:
    import cv2

    t_n, h, w = gen.shape[:3]
    panels = 2 if ref is not None else 1
    width = w * panels
    mouth = w // 2
    wave = None
    if audio is not None and len(audio):
        n_cols = width
        a = np.asarray(audio, np.float64)
        edges = np.linspace(0, len(a), n_cols + 1).astype(int)
        env = np.array([np.abs(a[i:j]).max() if j > i else 0.0 for i, j in zip(edges[:-1], edges[1:])])
        wave = np.full((_STRIP, width, 3), 250, np.uint8)
        mid = _STRIP // 2
        for x, e in enumerate(env):
            cv2.line(wave, (x, int(mid - e * (mid - 2))), (x, int(mid + e * (mid - 2))), (60, 90, 160), 1)
    conf = _curve(confidence, width, _STRIP, (200, 80, 30)) if confidence is not None else None
    for t in range(t_n):
        g = gen[t].copy()
        if track is not None and t < len(track.points):
            for x, y in track.points[t]:
                cv2.circle(g, (int(round(x)), int(round(y))), 1, (0, 255, 0), -1, cv2.LINE_AA)
        row = [ref[min(t, len(ref) - 1)], g] if ref is not None else [g]
        top = np.concatenate(row, axis=1)
        crops = []
        for img in ([ref[min(t, len(ref) - 1)]] if ref is not None else []) + [gen[t]]:
            if track is not None and t < len(track.points):
                x0, y0, x1, y1 = _mouth_box(track.points[t], (h, w))
                crop = img[y0:y1, x0:x1] if y1 > y0 and x1 > x0 else img
            else:
                crop = img
            c = cv2.resize(crop, (mouth, mouth), interpolation=cv2.INTER_CUBIC)
            crops.append(np.pad(c, ((0, 0), (0, w - mouth), (0, 0)), constant_values=255))
        parts = [top, np.concatenate(crops, axis=1)]
        cursor = int(t / max(t_n - 1, 1) * (width - 1))
        for strip in (wave, conf):
            if strip is not None:
                s = strip.copy()
                s[:, cursor] = (220, 0, 0)
                parts.append(s)
        frame = np.concatenate(parts, axis=0)
        yield np.pad(frame, ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0)), mode="edge")


def clip_video(path: str | Path, gen: np.ndarray, fps: float, *, ref: np.ndarray | None = None, track: Any = None,
               audio: np.ndarray | None = None, sr: int = 16000, confidence: np.ndarray | None = None,
               overwrite: bool = False) -> Path:
    """Write the side-by-side MP4 (``reference | generated``, landmarks, mouth crops, waveform and sync
    confidence under it) with the clip's audio. ``track``: a :class:`~thglib.face.LandmarkTrack` of ``gen``."""
    from ..io import write_video

    g = np.asarray(gen)
    if g.ndim != 4 or g.dtype != np.uint8:
        raise BadInputError("gen", f"expected (T, H, W, 3) uint8 frames, got {g.shape} {g.dtype}")
    if ref is not None and np.asarray(ref).shape[1:] != g.shape[1:]:
        import cv2

        ref = np.stack([cv2.resize(f, (g.shape[2], g.shape[1]), interpolation=cv2.INTER_AREA) for f in ref])
    return write_video(path, _frames(g, ref, track, audio, sr, fps, confidence), fps,
                       audio=None if audio is None else np.asarray(audio, np.float32), sample_rate=sr,
                       overwrite=overwrite, crf=23)


def clip_figure(report: dict[str, Any], path: str | Path | None = None, *, overwrite: bool = False) -> Any:
    """A Matplotlib figure of one clip report's per-frame series (sync confidence, PSNR, SSIM, CPBD);
    saved as PNG when ``path`` is given (atomically). Returns the figure."""
    import matplotlib.pyplot as plt

    m = report.get("metrics", {})
    panels = [("sync_confidence", report.get("series", {}).get("sync_confidence"),
               "sync confidence per 5-frame window", "confidence (distance units)"),
              ("psnr", m.get("psnr", {}).get("per_frame"), "PSNR per frame", "PSNR (dB)"),
              ("ssim", m.get("ssim", {}).get("per_frame"), "SSIM per frame", "SSIM"),
              ("cpbd", m.get("cpbd", {}).get("per_frame"), "CPBD per frame", "CPBD (probability)")]
    panels = [p for p in panels if p[1]]
    if not panels:
        raise BadInputError("report", f"clip {report.get('id')!r} has no per-frame series",
                            "Evaluate with metrics that have per-frame values (lse, psnr, ssim, cpbd)")
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 2.8), squeeze=False)
    for ax, (_, y, title, ylabel) in zip(axes[0], panels):
        ax.plot(np.array([np.nan if v is None else v for v in y], dtype=float), lw=1)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("frame (window) index")
        ax.set_ylabel(ylabel)
    fig.suptitle(f"clip {report.get('id')} ({report.get('protocol', {}).get('name', '')})")
    fig.tight_layout()
    if path is not None:
        from ..io.video import atomic_output

        with atomic_output(path, overwrite=overwrite, suffix=".png") as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    return fig
