"""Non-speech motion of a synthetic talking head: eye blinks and head pose, sampled per video frame.

* Blinks occur at random times (a minimum gap of 0.8 s plus an exponential wait, about
  ``per_minute`` blinks a minute; adults blink ~15–20 times a minute at rest) and last 100–150 ms:
  a quick close over the first 40 % and a slower reopening, as measured eyelid profiles show.
* Head pose ``(roll_deg, tx, ty, scale)`` (translations in inter-ocular distances, scale
  multiplicative) is a smooth random walk (Gaussian-filtered white noise) plus a component driven
  by speech loudness: the head dips (``ty`` grows) and leans in (``scale`` grows) as the voice gets
  louder, weighted by ``coupling``. Yehia et al. (2002) measured that head motion and voice
  loudness/pitch are correlated; ``coupling=0`` makes pose independent of the audio.
* Yaw and pitch (``(T, 2)`` degrees, :func:`rotation_track`) are a random walk of the same kind,
  drawn from their own random stream so that switching them on leaves every other track unchanged;
  real talkers' yaw varies with a standard deviation of ~3–16° and pitch by a few degrees.

Frame ``i`` is sampled at its centre, ``t_i = (i + 0.5) / fps``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BadInputError

__all__ = ["POSE_PARAMS", "ROTATION_PARAMS", "Motion", "blink_track", "speech_drive", "head_track",
           "rotation_track"]

POSE_PARAMS: tuple[str, ...] = ("roll_deg", "tx", "ty", "scale")
ROTATION_PARAMS: tuple[str, ...] = ("yaw_deg", "pitch_deg")


@dataclass
class Motion:
    """Per-frame animation parameters: ``mouth`` (T, 4), ``eye_closure`` (T,) in [0, 1], ``pose`` (T, 4),
    and ``rotation`` (T, 2) yaw/pitch degrees (``None``: a frontal head, no 3-D rotation)."""

    mouth: np.ndarray
    eye_closure: np.ndarray
    pose: np.ndarray
    rotation: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.mouth)
        bad_rot = self.rotation is not None and np.shape(self.rotation) != (n, 2)
        if self.mouth.shape != (n, 4) or self.eye_closure.shape != (n,) or self.pose.shape != (n, 4) or bad_rot:
            raise BadInputError("Motion", f"inconsistent shapes {self.mouth.shape}, {self.eye_closure.shape}, "
                                f"{self.pose.shape}", "Pass mouth (T, 4), eye_closure (T,) and pose (T, 4)")

    @property
    def n_frames(self) -> int:
        """Number of frames ``T``."""
        return len(self.mouth)


def _blink_profile(tau: np.ndarray, dur: float) -> np.ndarray:
    """Closure at ``tau`` s after a blink starts: sine ramp up over 0.4 dur, cosine ramp down over 0.6 dur."""
    up, down = 0.4 * dur, 0.6 * dur
    c = np.where(tau < up, np.sin(0.5 * np.pi * tau / up), np.cos(0.5 * np.pi * (tau - up) / down))
    return np.where((tau >= 0) & (tau <= dur), c, 0.0)


def blink_track(n_frames: int, fps: float, rng: np.random.Generator, per_minute: float = 17.0,
                duration_ms: tuple[float, float] = (100.0, 150.0)) -> tuple[np.ndarray, np.ndarray]:
    """Eye closure per frame ``(n_frames,)`` float32 and the blinks as ``(k, 2)`` [start_s, duration_s].

    Gaps between blink starts are ``0.8 + Exp(60 / per_minute - 0.8)`` s; durations are uniform
    in ``duration_ms``. Closure 1 = lids touching.
    """
    if per_minute < 0 or not 0 < duration_ms[0] <= duration_ms[1]:
        raise BadInputError("per_minute/duration_ms", f"got {per_minute}, {duration_ms}",
                            "Use per_minute >= 0 and 0 < min <= max duration")
    t_end, blinks = n_frames / fps, []
    mean_gap = max(60.0 / per_minute - 0.8, 0.05) if per_minute > 0 else np.inf
    t = rng.uniform(0.2, 0.8 + mean_gap) if per_minute > 0 else np.inf
    while t < t_end:
        blinks.append((t, rng.uniform(*duration_ms) / 1000.0))
        t += 0.8 + rng.exponential(mean_gap)
    times = (np.arange(n_frames) + 0.5) / fps
    closure = np.zeros(n_frames)
    for start, dur in blinks:
        closure = np.maximum(closure, _blink_profile(times - start, dur))
    return closure.astype(np.float32), np.array(blinks, dtype=np.float64).reshape(-1, 2)


def speech_drive(audio: np.ndarray, sr: int, fps: float, n_frames: int) -> np.ndarray:
    """Loudness per frame in [0, 1.5]: RMS energy / its 95th percentile, smoothed (Gaussian, 1 frame)."""
    from scipy.ndimage import gaussian_filter1d

    from ..audio import energy_envelope

    env = np.zeros(n_frames)
    e = energy_envelope(audio, sr, fps)[:n_frames]
    env[: len(e)] = e
    ref = np.percentile(env, 95)
    drive = np.clip(env / ref, 0.0, 1.5) if ref > 1e-6 else np.zeros(n_frames)
    return gaussian_filter1d(drive, 1.0, mode="nearest").astype(np.float32)


def _smooth_noise(rng: np.random.Generator, n: int, channels: int, sigma: float) -> np.ndarray:
    """Unit-variance Gaussian-filtered white noise ``(n, channels)`` (filtered longer, then cropped)."""
    from scipy.ndimage import gaussian_filter1d

    pad = int(np.ceil(4 * sigma))
    white = rng.standard_normal((n + 2 * pad, channels))
    smooth = gaussian_filter1d(white, sigma, axis=0, mode="wrap")[pad:pad + n]
    return smooth * np.sqrt(2.0 * sigma * np.sqrt(np.pi))  # 1 / sqrt(sum g^2) of the Gaussian kernel


def head_track(n_frames: int, fps: float, rng: np.random.Generator, drive: np.ndarray | None = None, *,
               roll_deg: float = 1.5, shift: float = 0.04, scale: float = 0.01, smooth_s: float = 0.6,
               coupling: float = 1.0, nod: float = 0.05, lean: float = 0.01) -> np.ndarray:
    """Head pose per frame ``(n_frames, 4)``: ``(roll_deg, tx, ty, scale)``.

    ``pose = walk + coupling * drive * (0, 0, nod, lean)`` where ``walk`` has standard deviations
    ``(roll_deg, shift, shift, scale)`` and correlation time ``smooth_s`` seconds, and ``drive`` is
    :func:`speech_drive` (``None``: no speech coupling). ``scale`` is stored as ``1 + ...``.
    """
    if smooth_s <= 0 or fps <= 0:
        raise BadInputError("smooth_s/fps", f"must be positive, got {smooth_s}, {fps}")
    walk = _smooth_noise(rng, n_frames, 4, smooth_s * fps) * np.array([roll_deg, shift, shift, scale])
    pose = walk + np.array([0.0, 0.0, 0.0, 1.0])
    if drive is not None:
        d = np.asarray(drive, dtype=np.float64)
        if d.shape != (n_frames,):
            raise BadInputError("drive", f"has shape {d.shape}, expected ({n_frames},)")
        pose[:, 2] += coupling * nod * d
        pose[:, 3] += coupling * lean * d
    return pose.astype(np.float32)


def rotation_track(n_frames: int, fps: float, rng: np.random.Generator, *, yaw_deg: float = 8.0,
                   pitch_deg: float = 3.0, smooth_s: float = 0.6) -> np.ndarray:
    """Yaw and pitch per frame ``(n_frames, 2)`` degrees: a random walk with standard deviations
    ``(yaw_deg, pitch_deg)`` and correlation time ``smooth_s`` seconds, clipped to ±35° / ±25°."""
    if smooth_s <= 0 or fps <= 0 or yaw_deg < 0 or pitch_deg < 0:
        raise BadInputError("yaw_deg/pitch_deg/smooth_s/fps", f"got {yaw_deg}, {pitch_deg}, {smooth_s}, {fps}",
                            "Use standard deviations >= 0 degrees, a positive smooth_s and a positive fps")
    walk = _smooth_noise(rng, n_frames, 2, smooth_s * fps) * np.array([yaw_deg, pitch_deg])
    return np.clip(walk, [-35.0, -25.0], [35.0, 25.0]).astype(np.float32)
