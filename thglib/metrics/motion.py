"""Head-motion metrics: pose diversity and the Beat Align Score.

**Diversity** (SadTalker, Zhang et al. CVPR 2023, Sec. 4.1): "the standard deviation of the head
motion feature embeddings extracted from the generated frames using Hopenet". SadTalker released
no evaluation code (OpenTalker/SadTalker issues #382, #620, #755 ask for it), so thglib computes
exactly this and records it in the card: for a trajectory ``q_{t,j}`` of shape ``(T, Q)`` (Hopenet yaw,
pitch, roll in degrees, or any per-frame pose feature), the per-channel population standard
deviation over time ``σ_j = sqrt(mean_t (q_{t,j} − q̄_j)²)`` and its mean over channels
``Div = (1/Q) Σ_j σ_j`` (higher = more varied motion).

**Beat Align Score** (Bailando, Siyao et al. CVPR 2022; ``utils/beat_align_score.py`` of
lisiyao21/Bailando): kinematic beats are the strict local minima of the motion speed
``v_t = (1/K) Σ_k ‖p_{t+1,k} − p_{t,k}‖`` (``t = 0 … T−2``, ``K`` points) after Gaussian smoothing
with σ_s = 5 frames (``scipy.ndimage.gaussian_filter``, ``argrelextrema(np.less)``); with audio beat
frames ``B_a`` and kinematic beat frames ``B_k``,

    BA = (1 / |B_a|) Σ_{b ∈ B_a} exp(−min_{b' ∈ B_k} (b' − b)² / (2 σ²)),   σ = 3 frames,

averaged over the **audio** beats (Bailando's code and paper; AIST++/FACT, Li et al. 2021, averaged
over the kinematic beats instead: the two are not comparable).

**Chance.** BA with the audio beats shifted circularly by ``s`` frames (:func:`beat_align_null`) keeps
both beat trains and destroys their timing: the mean over shifts is the chance level
(:func:`beat_align_chance`), the central 95 % the chance interval (:func:`beat_align_interval`).
On 5–8-s clips the interval is 0.2–0.4 wide, so :func:`beat_align_score` flags results from clips
with fewer than :data:`MIN_MOTION_BEATS` beats or an interval wider than :data:`MAX_NULL_WIDTH` as
not meaningful (issue #19: such clips scored below chance with their own audio, and above it with
another clip's).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..errors import BadInputError
from .card import MetricResult, ProtocolCard, untrained_name

__all__ = ["HEAD_POINTS", "MIN_MOTION_BEATS", "MAX_NULL_WIDTH", "diversity", "motion_speed", "kinematic_beats",
           "beat_align", "beat_align_null", "beat_align_chance", "beat_align_interval", "audio_beats",
           "beat_align_score"]

#: Fewest kinematic (and audio) beats for a meaningful BA: with fewer, BA is decided by a handful of positions.
MIN_MOTION_BEATS = 5
#: Widest 95 % chance interval (:func:`beat_align_interval`) for a meaningful BA. Measured on random beats at
#: 25 fps with 3 audio beats/s: the width is 0.20–0.42 for 3–8-s clips and 0.11–0.20 for 15–30-s ones, while
#: THG-Synth's speech-coupled and uncoupled heads differ by about 0.15–0.2 (tests/test_metrics_motion.py).
MAX_NULL_WIDTH = 0.2

#: 68-point indices that move with the head but not with speech or blinks: upper jaw line (0–2,
#: 14–16), nose (27–35) and eye corners (36, 39, 42, 45). Use ``landmarks[:, HEAD_POINTS]`` for head motion.
HEAD_POINTS: tuple[int, ...] = (0, 1, 2, 14, 15, 16, *range(27, 36), 36, 39, 42, 45)


def _name(metric: str, caveat: str) -> str:
    """``metric``, tagged ``(untrained)`` when the trajectory came from an untrained or stand-in network."""
    return untrained_name(metric, "untrained" in caveat.lower())


def _trajectory(x: object, name: str, min_frames: int = 2) -> np.ndarray:
    """``(T, K, D)`` float64 from ``(T,)``, ``(T, D)`` or ``(T, K, D)`` (a HeadPose's angles or landmarks)."""
    a = np.asarray(getattr(x, "angles", getattr(x, "points", x)), np.float64)
    if a.ndim in (1, 2):
        a = a.reshape(len(a), 1, -1)
    if a.ndim != 3 or len(a) < min_frames or not np.all(np.isfinite(a)):
        raise BadInputError(name, f"expected a finite (T, D) or (T, K, D) trajectory with T >= {min_frames}, "
                            f"got shape {np.shape(a)}", "Pass per-frame poses, features or landmarks")
    return a


def diversity(trajectory: object, *, names: tuple[str, ...] | None = None, source: str = "given trajectory",
              caveat: str = "") -> MetricResult:
    """SadTalker-style diversity: mean over channels of the temporal std (ddof 0) of ``(T, Q)`` ``trajectory``.

    ``trajectory``: e.g. Hopenet ``(yaw, pitch, roll)`` degrees (a :class:`~thglib.face.pose.HeadPose`
    works directly) or pooled pose features. ``source`` names what produced it (goes in the card).
    Per-channel values are in ``extra["std"]`` (keyed by ``names`` when given).
    """
    x = _trajectory(trajectory, "trajectory")
    x = x.reshape(len(x), -1)
    std = x.std(axis=0)
    default = ("yaw", "pitch", "roll") if hasattr(trajectory, "angles") else tuple(f"d{i}" for i in range(x.shape[1]))
    keys = names or default
    if len(keys) != len(std):
        raise BadInputError("names", f"{len(keys)} names for {len(std)} channels")
    caveat = caveat or getattr(trajectory, "caveat", "")
    card = ProtocolCard(metric=_name("Diversity", caveat), colour_space="n/a", crop="n/a", resize="n/a",
                        implementation="thglib diversity: mean_d std_t(x[t, d]), ddof=0 "
                                       "(SadTalker 2023 definition; its code is unreleased)",
                        extractor=getattr(trajectory, "source", source), caveat=caveat, samples=len(x),
                        notes=f"{x.shape[1]} channel(s); frames are not resampled: std depends on clip length")
    return MetricResult(float(std.mean()), card, higher_is_better=True, extra={"std": dict(zip(keys, std.tolist()))})


def motion_speed(trajectory: object) -> np.ndarray:
    """Speed ``(T − 1,)``: mean over the ``K`` points of ``‖p_{t+1,k} − p_{t,k}‖₂`` (Bailando ``calc_db``)."""
    x = _trajectory(trajectory, "trajectory")
    return np.linalg.norm(np.diff(x, axis=0), axis=2).mean(axis=1)


def kinematic_beats(trajectory: object, smooth: float = 5.0) -> np.ndarray:
    """Frames of strict local minima of the Gaussian-smoothed (σ_s = ``smooth`` frames) :func:`motion_speed`."""
    from scipy.ndimage import gaussian_filter
    from scipy.signal import argrelextrema

    if smooth < 0:
        raise BadInputError("smooth", f"must be >= 0 frames, got {smooth}")
    v = motion_speed(trajectory)
    v = gaussian_filter(v, smooth) if smooth > 0 else v
    return argrelextrema(v, np.less)[0]


def beat_align(audio_beats: np.ndarray, motion_beats: np.ndarray, sigma: float = 3.0) -> float:
    """``mean_{b ∈ audio} exp(−min_{b' ∈ motion} (b' − b)² / (2σ²))`` (Bailando ``BA``); 0 without motion beats."""
    a, m = np.asarray(audio_beats, np.float64).ravel(), np.asarray(motion_beats, np.float64).ravel()
    if a.size == 0:
        raise BadInputError("audio_beats", "no audio beat", "The score is undefined without audio beats")
    if sigma <= 0:
        raise BadInputError("sigma", f"must be > 0 frames, got {sigma}")
    if m.size == 0:
        return 0.0
    d2 = ((a[:, None] - m[None, :]) ** 2).min(axis=1)
    return float(np.exp(-d2 / (2 * sigma**2)).mean())


def beat_align_null(audio_beats: np.ndarray, motion_beats: np.ndarray, n_frames: int, sigma: float = 3.0,
                    min_shift: int | None = None) -> np.ndarray:
    """:func:`beat_align` with the audio beats shifted by each ``s`` in ``[min_shift, n_frames − min_shift]``.

    Shifting (modulo ``n_frames``; default ``min_shift = ceil(3σ)``) destroys the timing of the audio
    relative to the motion but keeps both beat densities and spacings: these values are BA's null
    distribution for this clip (deterministic, no seed).
    """
    a = np.asarray(audio_beats, np.int64).ravel()
    m = np.sort(np.asarray(motion_beats, np.float64).ravel())
    lo = int(np.ceil(3 * sigma)) if min_shift is None else int(min_shift)
    shifts = np.arange(lo, n_frames - lo + 1)
    if n_frames < 1 or lo < 0 or not shifts.size:
        raise BadInputError("n_frames/min_shift", f"no shift in [{lo}, {n_frames - lo}]", "Use a longer clip")
    beat_align(a, m, sigma)  # validates the beats and sigma
    if m.size == 0:
        return np.zeros(shifts.size)
    moved = ((a[None, :] + shifts[:, None]) % n_frames).astype(np.float64)  # (shifts, audio beats)
    k = np.searchsorted(m, moved)  # nearest motion beat: the one just below or just above
    d2 = np.minimum((moved - m[np.maximum(k - 1, 0)]) ** 2, (moved - m[np.minimum(k, m.size - 1)]) ** 2)
    return np.exp(-d2 / (2 * sigma**2)).mean(axis=1)


def beat_align_chance(audio_beats: np.ndarray, motion_beats: np.ndarray, n_frames: int, sigma: float = 3.0,
                      min_shift: int | None = None) -> float:
    """Chance level of :func:`beat_align` for these beat densities: the mean of :func:`beat_align_null`.

    ``BA − chance`` is the part of BA that timing explains.
    """
    return float(beat_align_null(audio_beats, motion_beats, n_frames, sigma, min_shift).mean())


def beat_align_interval(audio_beats: np.ndarray, motion_beats: np.ndarray, n_frames: int, sigma: float = 3.0,
                        level: float = 0.95, min_shift: int = 1) -> tuple[float, float]:
    """Central ``level`` interval of BA under chance for this clip: the ``(1 ∓ level)/2`` quantiles of
    :func:`beat_align_null` (linear interpolation) over all shifts but 0 (``min_shift = 1``: leaving
    out the shifts near 0, as the chance level does, drops the values most like the clip's own and
    made 3-s clips of random beats fall inside only 77–84 % of the time; with all shifts, 89–97 % at
    ``level = 0.95``, tests/test_motion_beats.py). A BA inside it is indistinguishable from chance
    timing; ``hi − lo`` is how far apart two BA values of such a clip can be by chance alone."""
    if not 0 < level < 1:
        raise BadInputError("level", f"must be in (0, 1), got {level}", "Pass e.g. 0.95")
    null = beat_align_null(audio_beats, motion_beats, n_frames, sigma, min_shift)
    lo, hi = np.quantile(null, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def audio_beats(audio: np.ndarray, sr: int, fps: float, kind: Literal["onset", "beat"] = "onset") -> np.ndarray:
    """Audio beat frames from :func:`thglib.audio.onsets`: librosa onsets or ``beat_track`` beats."""
    from ..audio import onsets

    if kind not in ("onset", "beat"):
        raise BadInputError("kind", f"unknown audio beat kind {kind!r}", "Use 'onset' or 'beat'")
    return np.asarray(onsets(audio, sr, fps)[f"{kind}_frames"])


def beat_align_score(trajectory: object, audio: np.ndarray | None = None, sr: int | None = None, fps: float = 25.0,
                     *, beats: np.ndarray | None = None, kind: Literal["onset", "beat"] = "onset",
                     smooth: float = 5.0, sigma: float = 3.0, source: str = "given trajectory") -> MetricResult:
    """Beat Align Score of a motion ``trajectory`` against ``audio`` (or precomputed audio ``beats``).

    ``trajectory``: landmarks ``(T, 68, 2)``, poses ``(T, Q)`` or a HeadPose, at ``fps``. Audio beats are
    librosa onsets (``kind="onset"``, suited to speech) or ``beat_track`` beats (``"beat"``, as
    Bailando's music features). ``extra`` holds the beats, the speed curve, the chance level
    (:func:`beat_align_chance`), the 95 % chance ``interval`` (:func:`beat_align_interval`),
    ``above_chance`` (BA above it) and ``meaningful``: False, with the reason in ``warnings`` (also
    issued as a ``UserWarning``), when either beat count is under :data:`MIN_MOTION_BEATS` or the
    interval is wider than :data:`MAX_NULL_WIDTH`. Untrained pose networks tag the name ``(untrained)``.
    """
    from ..validate import finite, frame_rate, number, one_of, sample_rate, samples

    fps = frame_rate(fps, "fps")
    one_of(kind, "kind", ("onset", "beat"))
    number(smooth, "smooth", lo=0, hi=1000, fix="Pass a smoothing width in frames such as 5 (0 = none)")
    number(sigma, "sigma", lo=0, lo_open=True, hi=1000, fix="Pass a tolerance in frames such as 3")
    _trajectory(trajectory, "trajectory")
    if beats is None:
        if audio is None or sr is None:
            raise BadInputError("audio/beats", "give the audio and its sample rate, or the audio beat frames",
                                "Pass audio= with sr=, or beats= (audio beat frame indices)")
        x = samples(audio, "audio", fix="Repair the audio first (np.nan_to_num(audio)), or pass beats=")
        if x.ndim != 1:
            raise BadInputError("audio", f"has shape {x.shape}; expected mono (n,)", "Average the channels first: "
                                "audio.mean(axis=1)")
        beats, beat_source = audio_beats(x, sample_rate(sr, "sr"), fps, kind), f"librosa {kind}s (thglib.audio.onsets)"
        if len(beats) == 0:
            raise BadInputError("audio", f"has no {kind} (silent or flat audio: peak {float(np.abs(x).max()):.2g})",
                                "Pass the speech that goes with the motion, or the beat frames with beats=")
    else:
        beat_source = "given beat frames"
        b = finite(beats, "beats", fix="Pass integer frame indices of the audio beats")
        if b.size == 0 or b.ndim != 1 or np.any(b < 0) or np.any(b != np.round(b)):
            raise BadInputError("beats", f"expected a non-empty 1-D array of frame indices >= 0, got {b!r:.60}",
                                "Pass integer frame indices, e.g. from thglib.audio.onsets(...)['onset_frames']")
    beats = np.asarray(beats, np.int64)
    motion = kinematic_beats(trajectory, smooth)
    value, speed = beat_align(beats, motion, sigma), motion_speed(trajectory)
    chance = beat_align_chance(beats, motion, len(speed), sigma)
    lo, hi = beat_align_interval(beats, motion, len(speed), sigma)
    warned = _few_beats(len(beats), len(motion), hi - lo)
    caveat = getattr(trajectory, "caveat", "")
    card = ProtocolCard(metric=_name("BeatAlign", caveat), colour_space="n/a", crop="n/a", resize="n/a",
                        implementation=f"thglib beat_align_score: Bailando BA, mean over audio beats, sigma={sigma:g} "
                                       f"frames; kinematic beats = minima of speed smoothed by {smooth:g} frames",
                        extractor=f"motion: {getattr(trajectory, 'source', source)}; audio beats: {beat_source}",
                        caveat=caveat, samples=int(beats.size),
                        notes=f"{beats.size} audio beats, {motion.size} kinematic beats, {fps:g} fps; chance "
                              f"{chance:.3f}, 95 % chance interval [{lo:.3f}, {hi:.3f}]"
                              + ("" if not warned else f"; NOT MEANINGFUL: {warned[0].split(': ', 1)[1]}"))
    if warned:
        import warnings

        warnings.warn(f"{card.extractor}: {warned[0]}", UserWarning, stacklevel=2)
    return MetricResult(value, card, higher_is_better=True,
                        extra={"audio_beats": beats, "kinematic_beats": motion, "speed": speed, "chance": chance,
                               "interval": (lo, hi), "meaningful": not warned, "above_chance": value > hi,
                               "warnings": warned})


def _few_beats(n_audio: int, n_motion: int, width: float) -> list[str]:
    """The reason BA is not meaningful for this clip (empty list when it is)."""
    if min(n_audio, n_motion) >= MIN_MOTION_BEATS and width <= MAX_NULL_WIDTH:
        return []
    return [f"Beat Align not meaningful: {n_audio} audio and {n_motion} kinematic beats (need >= {MIN_MOTION_BEATS} "
            f"each), 95 % chance interval {width:.2f} wide (need <= {MAX_NULL_WIDTH:g}); use a longer clip"]
