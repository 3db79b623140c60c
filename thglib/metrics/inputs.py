"""Turning metric inputs (paths or arrays) into aligned uint8 RGB frame stacks."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import BadInputError, FrameRateMismatch

__all__ = ["as_frames", "paired_frames"]

Frames = np.ndarray | str | Path


def as_frames(x: Frames, name: str = "frames") -> np.ndarray:
    """``(T, H, W, 3)`` uint8 RGB from a video path, one image ``(H, W, 3)`` or a stack."""
    return _frames_and_rate(x, name)[0]


def _frames_and_rate(x: Frames, name: str) -> tuple[np.ndarray, float | None]:
    """Frames as :func:`as_frames`, and the frame rate when ``x`` is a video file (else ``None``)."""
    if isinstance(x, (str, Path)):
        from ..io import read_video

        clip = read_video(x, audio=False)
        return clip.frames, clip.fps
    if x is None or isinstance(x, (bytes, dict, set)) or np.isscalar(x):
        raise BadInputError(name, f"is {type(x).__name__}, not frames",
                            "Pass a video path or RGB frames (T, H, W, 3) / (H, W, 3) uint8")
    return _check_frames(x, name), None


def _check_frames(x: object, name: str) -> np.ndarray:
    try:
        a = np.asarray(x)
    except ValueError as e:  # ragged lists of frames
        raise BadInputError(name, f"is not one array of frames ({e})", "Pass frames of equal size") from None
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[-1] != 3:
        raise BadInputError(name, f"expected (T, H, W, 3) or (H, W, 3) RGB, got shape {a.shape}",
                            "Pass RGB frames; convert grayscale with np.repeat(x[..., None], 3, -1)")
    if a.dtype != np.uint8:
        raise BadInputError(name, f"expected uint8 frames in [0, 255], got {a.dtype}",
                            "Convert with (np.clip(x, 0, 1) * 255).round().astype(np.uint8) for [0, 1] floats")
    if len(a) == 0:
        raise BadInputError(name, "no frames", "Pass at least one frame")
    return a


def paired_frames(
    reference: Frames,
    generated: Frames,
    length: Literal["error", "truncate"] = "error",
    size: Literal["error", "resize"] = "error",
) -> tuple[np.ndarray, np.ndarray]:
    """Reference and generated frames with equal length and size, by an explicit policy.

    ``length="truncate"`` keeps the first ``min(T_ref, T_gen)`` frames of both; ``size="resize"``
    resizes the generated frames to the reference size (bicubic, cv2.INTER_CUBIC).
    """
    from ..validate import one_of

    one_of(length, "length", ("error", "truncate"))
    one_of(size, "size", ("error", "resize"))
    (ref, ref_fps), (gen, gen_fps) = _frames_and_rate(reference, "reference"), _frames_and_rate(generated, "generated")
    if ref_fps is not None and gen_fps is not None and abs(ref_fps - gen_fps) > 1e-3 * max(ref_fps, gen_fps):
        raise FrameRateMismatch(f"'{generated}'", gen_fps, f"the reference '{reference}'", ref_fps,
                                f"Resample it to the reference's rate first: pass "
                                f"thglib.io.read_video('{generated}', fps={ref_fps:g}).frames, or convert it with "
                                f"ffmpeg -i IN -r {ref_fps:g} OUT.mp4 (length='truncate' does not fix a rate "
                                "mismatch: it would pair drifting frames)")
    if len(ref) != len(gen):
        if length != "truncate":
            raise BadInputError("generated", f"{len(gen)} frames vs. {len(ref)} in the reference",
                                "Align the clips, or pass length='truncate' to compare the common prefix")
        n = min(len(ref), len(gen))
        ref, gen = ref[:n], gen[:n]
    if ref.shape[1:3] != gen.shape[1:3]:
        if size != "resize":
            raise BadInputError("generated", f"frame size {gen.shape[2]}×{gen.shape[1]} differs from the "
                                f"reference's {ref.shape[2]}×{ref.shape[1]}",
                                "Resize one of them, or pass size='resize' (generated → reference size)")
        import cv2

        h, w = ref.shape[1:3]
        gen = np.stack([cv2.resize(f, (w, h), interpolation=cv2.INTER_CUBIC) for f in gen])
    return ref, gen
