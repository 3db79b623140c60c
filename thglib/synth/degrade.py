"""Controlled degradations of a clean synthetic clip, with the ground truth kept consistent.

A degraded clip plays the part of a *generated* video whose reference is the clean clip, so a
metric can be checked against a known cause. Every degradation is ``fn(clip, strength) -> clip``
(a new :class:`~.clip.SynthClip`; strength 0 leaves the clip as it was) and is registered in
:data:`DEGRADATIONS` with its unit and the ground-truth fields it changes (``changes``): e.g. an
audio offset changes the audio, its phoneme timings and ``av_offset`` but not one pixel, and a blur
changes the pixels but not the landmarks.

Kinds run in this order: ``motion`` (re-rendered from modified motion: they need clean pixels),
``audio``, ``temporal`` (frame drops), ``pixel`` (filters and codecs). Random choices come from
``numpy.random.default_rng([clip.seed, crc32(name)])``, so they are repeatable.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from ..errors import BadInputError
from ..tts import PAUSE, Phoneme
from .animate import Motion
from .clip import SynthClip, padded_speech, render_motion

__all__ = ["Degradation", "DEGRADATIONS", "degrade", "apply_degradations", "parse_degradation",
           "audio_offset", "lip_damp", "lip_exaggerate", "wrong_audio", "identity_swap", "head_freeze", "head_jitter",
           "frame_drop", "blur", "noise", "jpeg", "h264", "downscale", "flicker"]

_KIND_ORDER = ("motion", "audio", "temporal", "pixel")
_NEUTRAL_POSE = np.array([0.0, 0.0, 0.0, 1.0], np.float32)


def _rng(clip: SynthClip, name: str) -> np.random.Generator:
    return np.random.default_rng([clip.seed, zlib.crc32(name.encode())])


def _done(clip: SynthClip, name: str, strength: float, **changes: object) -> SynthClip:
    return replace(clip, degradations=[*clip.degradations, (name, float(strength))], **changes)


def _check(name: str, strength: float, lo: float, hi: float = np.inf) -> float:
    s = float(strength)
    if not lo <= s <= hi:
        raise BadInputError(f"{name} strength", f"{strength!r} is outside [{lo}, {hi}]")
    return s


def _rerender(clip: SynthClip, name: str, motion: Motion, mix: tuple[str, float] | None) -> dict:
    """Frames/landmarks/matrices of new motion; refuses clips already changed after rendering."""
    later = [d for d, _ in clip.degradations if DEGRADATIONS[d].kind in ("temporal", "pixel")]
    if later:
        raise BadInputError(name, f"re-renders the clip, which would undo {later}",
                            "Apply motion degradations first (apply_degradations sorts them for you)")
    frames, lms, mats, iod = render_motion(clip.identity, motion, clip.params, mix)
    return {"frames": frames, "landmarks": lms, "pose_matrices": mats, "iod": iod}


# ----------------------------------------------------------------------------- motion
def _lip_scale(clip: SynthClip, name: str, s: float, gain: float) -> SynthClip:
    mouth = (gain * clip.mouth).astype(np.float32)
    new = _rerender(clip, name, replace(clip.motion, mouth=mouth), clip.identity_mix)
    return _done(clip, name, s, mouth=mouth, **new)


def lip_damp(clip: SynthClip, strength: float) -> SynthClip:
    """Damp lip motion: ``mouth' = (1 - s) mouth``; ``s = 1`` freezes the mouth closed. Re-rendered."""
    s = _check("lip_damp", strength, 0, 1)
    return _lip_scale(clip, "lip_damp", s, 1 - s)


def lip_exaggerate(clip: SynthClip, strength: float) -> SynthClip:
    """Exaggerate lip motion: ``mouth' = (1 + s) mouth``; ``s = 1`` doubles it. Re-rendered."""
    s = _check("lip_exaggerate", strength, 0)
    return _lip_scale(clip, "lip_exaggerate", s, 1 + s)


def head_freeze(clip: SynthClip, strength: float) -> SynthClip:
    """Pull head pose toward the neutral pose: ``pose' = (1 - s) pose + s (0, 0, 0, 1)`` and the 3-D
    rotation toward frontal, ``(yaw, pitch)' = (1 - s) (yaw, pitch)``. Re-rendered."""
    s = _check("head_freeze", strength, 0, 1)
    pose = ((1 - s) * clip.pose + s * _NEUTRAL_POSE).astype(np.float32)
    yaw_pitch = ((1 - s) * clip.yaw_pitch).astype(np.float32)
    motion = replace(clip.motion, pose=pose, rotation=yaw_pitch if clip.motion.rotation is not None else None)
    new = _rerender(clip, "head_freeze", motion, clip.identity_mix)
    return _done(clip, "head_freeze", s, pose=pose, yaw_pitch=yaw_pitch, **new)


def head_jitter(clip: SynthClip, strength: float) -> SynthClip:
    """Add white per-frame pose noise of std ``s * (1 deg, 0.02 IOD, 0.02 IOD, 0.01)``. Re-rendered."""
    s = _check("head_jitter", strength, 0)
    noise = _rng(clip, "head_jitter").standard_normal(clip.pose.shape) * np.array([1.0, 0.02, 0.02, 0.01])
    pose = (clip.pose + s * noise).astype(np.float32)
    new = _rerender(clip, "head_jitter", replace(clip.motion, pose=pose), clip.identity_mix)
    return _done(clip, "head_jitter", s, pose=pose, **new)


def identity_swap(clip: SynthClip, strength: float, identity: str | None = None) -> SynthClip:
    """Play the same motion with another portrait (default: the other sample portrait).

    ``s = 1`` is a full swap; ``0 < s < 1`` cross-dissolves ``(1 - s) own + s other`` pixels.
    Landmarks and pose matrices become the other face's.
    """
    s = _check("identity_swap", strength, 0, 1)
    if s == 0:
        return _done(clip, "identity_swap", s)
    other = identity or ("grace_hopper" if clip.identity == "astronaut" else "astronaut")
    mix = (str(other), s)
    new = _rerender(clip, "identity_swap", clip.motion, mix)
    if s == 1:
        return _done(clip, "identity_swap", s, identity=str(other), identity_mix=None, **new)
    return _done(clip, "identity_swap", s, identity_mix=mix, **new)


# ----------------------------------------------------------------------------- audio
def _shift_phonemes(phonemes: list[Phoneme], dt: float, end: float) -> list[Phoneme]:
    """Phonemes moved by ``dt`` s and clipped to ``[0, end]``; uncovered edges become pauses."""
    out = [Phoneme(p.symbol, min(max(p.start_s + dt, 0.0), end), min(max(p.end_s + dt, 0.0), end))
           for p in phonemes]
    out = [p for p in out if p.end_s > p.start_s]
    if out[0].start_s > 0:
        out.insert(0, Phoneme(PAUSE, 0.0, out[0].start_s))
    if out[-1].end_s < end:
        out.append(Phoneme(PAUSE, out[-1].end_s, end))
    return out


def audio_offset(clip: SynthClip, strength: float) -> SynthClip:
    """Delay the audio by ``k = strength`` whole frames (negative: audio leads), length kept.

    ``audio'[n] = audio[n - k * sr / fps]`` (silence shifted in); phoneme times move by ``k / fps``;
    ``av_offset += k``. Frames and visual ground truth are untouched.
    """
    k = int(round(float(strength)))
    if k != float(strength):
        raise BadInputError("offset strength", f"{strength!r} is not a whole number of frames")
    shift = int(round(k * clip.sample_rate / clip.fps))
    if abs(shift) >= len(clip.audio):
        raise BadInputError("offset strength", f"{k} frames is longer than the clip")
    audio = np.zeros_like(clip.audio)
    if shift >= 0:
        audio[shift:] = clip.audio[: len(audio) - shift]
    else:
        audio[:shift] = clip.audio[-shift:]
    phon = _shift_phonemes(clip.phonemes, shift / clip.sample_rate, len(audio) / clip.sample_rate)
    return _done(clip, "offset", k, audio=audio, phonemes=phon, av_offset=clip.av_offset + k)


def _other_sentence(clip: SynthClip, text: str | None) -> tuple[str, str]:
    """(transcript, spoken text) of the wrong utterance: ``text`` or a GRID sentence unlike the clip's."""
    from .grid import grid_sentence

    if text:
        return text, text
    seed = int(_rng(clip, "wrong_audio").integers(2**31))
    while (g := grid_sentence(seed)).text == clip.text:
        seed += 1
    return g.text, g.spoken


def wrong_audio(clip: SynthClip, strength: float, text: str | None = None) -> SynthClip:
    """Replace the last fraction ``s`` of the audio (from a frame boundary) by another utterance.

    The other utterance (``text`` or a random GRID sentence) is synthesised with the clip's voice and
    padding and laid on the same time axis; ``audio_text`` records both transcripts.
    """
    s = _check("wrong_audio", strength, 0, 1)
    if s == 0:
        return _done(clip, "wrong_audio", s)
    transcript, spoken = _other_sentence(clip, text)
    other, other_ph, _ = padded_speech(spoken, clip.params)
    n = len(clip.audio)
    other = np.pad(other, (0, max(n - len(other), 0)))[:n]
    cut_frame = int(round((1 - s) * clip.n_frames))
    cut = int(round(cut_frame * clip.sample_rate / clip.fps))
    audio = np.concatenate([clip.audio[:cut], other[cut:]]).astype(np.float32)
    t_cut, end = cut / clip.sample_rate, n / clip.sample_rate
    head = [Phoneme(p.symbol, p.start_s, min(p.end_s, t_cut)) for p in clip.phonemes if p.start_s < t_cut]
    tail = [Phoneme(p.symbol, max(p.start_s, t_cut), min(p.end_s, end)) for p in other_ph
            if p.end_s > t_cut and p.start_s < end]
    phon = _shift_phonemes(head + tail, 0.0, end)
    said = transcript if cut == 0 else f"{clip.audio_text} | {transcript}"
    return _done(clip, "wrong_audio", s, audio=audio, phonemes=phon, audio_text=said)


# ----------------------------------------------------------------------------- temporal
def frame_drop(clip: SynthClip, strength: float) -> SynthClip:
    """Drop a fraction ``s`` of the frames, each replaced by the frame before it (length and sync kept).

    Per-frame ground truth (landmarks, mouth, eyes, pose) follows the frames; ``frame_source``
    says which clean frame each output frame shows.
    """
    s = _check("frame_drop", strength, 0, 1)
    n = clip.n_frames
    dropped = _rng(clip, "frame_drop").choice(np.arange(1, n), size=int(round(s * (n - 1))), replace=False)
    keep = np.ones(n, bool)
    keep[dropped] = False
    src = np.maximum.accumulate(np.where(keep, np.arange(n), 0))
    return _done(clip, "frame_drop", s, frames=clip.frames[src], landmarks=clip.landmarks[src],
                 mouth=clip.mouth[src], eye_closure=clip.eye_closure[src], pose=clip.pose[src],
                 pose_matrices=clip.pose_matrices[src], frame_source=clip.frame_source[src],
                 yaw_pitch=clip.yaw_pitch[src])


# ----------------------------------------------------------------------------- pixel
def _per_frame(clip: SynthClip, name: str, s: float, fn: Callable[[np.ndarray], np.ndarray]) -> SynthClip:
    if s == 0:
        return _done(clip, name, s)
    return _done(clip, name, s, frames=np.stack([fn(f) for f in clip.frames]))


def blur(clip: SynthClip, strength: float) -> SynthClip:
    """Gaussian blur of standard deviation ``strength`` pixels (``cv2.GaussianBlur``)."""
    import cv2

    s = _check("blur", strength, 0)
    return _per_frame(clip, "blur", s, lambda f: cv2.GaussianBlur(f, (0, 0), s, borderType=cv2.BORDER_REFLECT101))


def noise(clip: SynthClip, strength: float) -> SynthClip:
    """Additive white Gaussian noise of standard deviation ``strength`` grey levels (clipped, rounded)."""
    s = _check("noise", strength, 0)
    if s == 0:
        return _done(clip, "noise", s)
    z = _rng(clip, "noise").standard_normal(clip.frames.shape, dtype=np.float32) * s
    return _done(clip, "noise", s, frames=np.clip(np.round(clip.frames + z), 0, 255).astype(np.uint8))


def jpeg(clip: SynthClip, strength: float) -> SynthClip:
    """JPEG-compress each frame at quality ``q = max(1, round(100 (1 - s)))`` (``s`` in [0, 1])."""
    import cv2

    s = _check("jpeg", strength, 0, 1)
    q = max(1, int(round(100 * (1 - s))))

    def code(f: np.ndarray) -> np.ndarray:
        ok, buf = cv2.imencode(".jpg", f[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
        return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])

    return _per_frame(clip, "jpeg", s, code)


def h264(clip: SynthClip, strength: float) -> SynthClip:
    """Round trip through H.264 (libx264, yuv420p) at ``crf = round(18 + 33 s)`` (``s`` in [0, 1])."""
    import tempfile
    from pathlib import Path

    from ..io import read_video, write_video

    s = _check("h264", strength, 0, 1)
    if s == 0:
        return _done(clip, "h264", s)
    with tempfile.TemporaryDirectory() as td:
        path = write_video(Path(td) / "x.mp4", clip.frames, clip.fps, crf=int(round(18 + 33 * s)))
        frames = read_video(path, audio=False, accurate_color=True).frames
    if frames.shape != clip.frames.shape:
        raise BadInputError("h264", f"the codec returned {frames.shape} for {clip.frames.shape}",
                            "Use even frame sizes (H.264 with yuv420p needs them)")
    return _done(clip, "h264", s, frames=frames)


def downscale(clip: SynthClip, strength: float) -> SynthClip:
    """Down-scale by ``2 ** s`` (area averaging), then up-scale back (bilinear): lost detail, same size."""
    import cv2

    s = _check("downscale", strength, 0)
    h, w = clip.frames.shape[1:3]
    small = (max(1, int(round(w / 2 ** s))), max(1, int(round(h / 2 ** s))))
    return _per_frame(clip, "downscale", s, lambda f: cv2.resize(
        cv2.resize(f, small, interpolation=cv2.INTER_AREA), (w, h), interpolation=cv2.INTER_LINEAR))


def flicker(clip: SynthClip, strength: float) -> SynthClip:
    """Per-frame brightness gain ``1 + s u_t``, ``u_t`` uniform in [-1, 1] (clipped to [0, 255])."""
    s = _check("flicker", strength, 0, 1)
    if s == 0:
        return _done(clip, "flicker", s)
    gain = 1 + s * _rng(clip, "flicker").uniform(-1, 1, clip.n_frames).astype(np.float32)
    frames = np.clip(np.round(clip.frames * gain[:, None, None, None]), 0, 255).astype(np.uint8)
    return _done(clip, "flicker", s, frames=frames)


# ----------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Degradation:
    """A registered degradation: function, kind, unit of its strength, a typical strength, and the
    :class:`~.clip.SynthClip` fields it changes at that strength (``identity`` covers ``identity_mix``)."""

    fn: Callable[[SynthClip, float], SynthClip]
    kind: str
    unit: str
    typical: float
    changes: tuple[str, ...]


_POSED = ("frames", "landmarks", "pose", "pose_matrices")
_PER_FRAME = ("frames", "landmarks", "mouth", "eye_closure", "pose", "pose_matrices", "frame_source", "yaw_pitch")
DEGRADATIONS: dict[str, Degradation] = {
    "lip_damp": Degradation(lip_damp, "motion", "fraction of lip motion removed (1 = frozen)", 0.7,
                            ("frames", "landmarks", "mouth")),
    "lip_exaggerate": Degradation(lip_exaggerate, "motion", "extra fraction of lip motion (1 = doubled)", 0.5,
                                  ("frames", "landmarks", "mouth")),
    "head_freeze": Degradation(head_freeze, "motion", "fraction of head motion removed", 1.0,
                               (*_POSED, "yaw_pitch")),
    "head_jitter": Degradation(head_jitter, "motion", "x (1 deg, 0.02 IOD, 0.01 scale) white noise", 1.0, _POSED),
    "identity_swap": Degradation(identity_swap, "motion", "mixing weight of the other face", 1.0,
                                 ("frames", "landmarks", "pose_matrices", "identity")),
    "offset": Degradation(audio_offset, "audio", "frames the audio lags (signed)", 3,
                          ("audio", "phonemes", "av_offset")),
    "wrong_audio": Degradation(wrong_audio, "audio", "fraction of the audio replaced", 1.0,
                               ("audio", "phonemes", "audio_text")),
    "frame_drop": Degradation(frame_drop, "temporal", "fraction of frames dropped", 0.2, _PER_FRAME),
    "blur": Degradation(blur, "pixel", "Gaussian sigma (px)", 2.0, ("frames",)),
    "noise": Degradation(noise, "pixel", "noise sigma (grey levels)", 10.0, ("frames",)),
    "jpeg": Degradation(jpeg, "pixel", "1 - JPEG quality / 100", 0.9, ("frames",)),
    "h264": Degradation(h264, "pixel", "CRF = 18 + 33 s", 0.9, ("frames",)),
    "downscale": Degradation(downscale, "pixel", "log2 of the scale factor", 2.0, ("frames",)),
    "flicker": Degradation(flicker, "pixel", "brightness gain amplitude", 0.15, ("frames",)),
}


def degrade(clip: SynthClip, name: str, strength: float | None = None) -> SynthClip:
    """Apply one registered degradation (``strength`` None: its typical strength)."""
    if name not in DEGRADATIONS:
        raise BadInputError("degradation", f"unknown name {name!r}", f"Use one of {sorted(DEGRADATIONS)}")
    d = DEGRADATIONS[name]
    if strength is not None:
        from ..validate import number

        strength = number(strength, f"strength of {name}", lo=-1000, hi=1000,
                          fix=f"Pass a finite strength ({d.typical:g} is typical; unit: {d.unit})")
    return d.fn(clip, d.typical if strength is None else strength)


def apply_degradations(clip: SynthClip, specs: Iterable[tuple[str, float | None]]) -> SynthClip:
    """Apply several degradations, sorted by kind (motion, audio, temporal, pixel), stable otherwise."""
    specs = list(specs)
    for name, _ in specs:
        if name not in DEGRADATIONS:
            raise BadInputError("degradation", f"unknown name {name!r}", f"Use one of {sorted(DEGRADATIONS)}")
    for name, s in sorted(specs, key=lambda x: _KIND_ORDER.index(DEGRADATIONS[x[0]].kind)):
        clip = degrade(clip, name, s)
    return clip


def parse_degradation(spec: str) -> tuple[str, float | None]:
    """``"blur=2"`` -> ``("blur", 2.0)``; ``"blur"`` -> ``("blur", None)`` (typical strength)."""
    name, sep, value = spec.partition("=")
    name = name.strip()
    if name not in DEGRADATIONS:
        raise BadInputError("--degrade", f"unknown degradation {name!r}", f"Use one of {sorted(DEGRADATIONS)}")
    if not sep:
        return name, None
    try:
        strength = float(value)
    except ValueError:
        raise BadInputError("--degrade", f"strength {value!r} of {name} is not a number",
                            "Write NAME=STRENGTH, e.g. blur=2") from None
    if not -1000 <= strength <= 1000:  # also refuses nan and inf
        raise BadInputError("--degrade", f"strength {value!r} of {name} is not a finite number in -1000..1000",
                            f"Write NAME=STRENGTH, e.g. {name}={DEGRADATIONS[name].typical:g}")
    return name, strength
