"""A synthetic talking-head clip with its exact ground truth: make it, save it, load it.

``make_clip`` runs the whole pipeline: text -> speech and phoneme timings (:mod:`thglib.tts`) ->
visemes and coarticulated mouth parameters (:mod:`.visemes`) -> blinks and head pose
(:mod:`.animate`) -> landmarks (:mod:`.rig`) -> frames (:mod:`.render`). Everything random is
drawn from ``numpy.random.default_rng`` streams spawned from ``seed``, so the same inputs give
the same clip bit for bit.

``save_clip(clip, "out/clip")`` writes ``clip.mp4`` (H.264 + AAC), ``clip.wav`` (16-bit PCM),
``clip.npz`` (per-frame arrays) and ``clip.json`` (text, identity, parameters, seed, degradations).

**Realism preset.** ``SynthParams()`` gives the original THG-Synth (frames bit-identical to earlier
releases: a frontal head with 2-D roll/shift/scale only, lids and lips closed by squeezing the
portrait's texture, faces 57 px between the eyes at 256²). ``SynthParams.realistic(**overrides)``
switches on what real talking-head data has and the default lacks: yaw/pitch random walks
(``head_yaw_deg`` = 8°, ``head_pitch_deg`` = 3° standard deviations; 3-D rig, :mod:`.rig`), painted
eyelids and sealed lips that landmark detectors see as closed more often (``eyelids``, ``lip_seal``;
:mod:`.render`), blinks of 150–250 ms (so that the lids close fully on more frames), 512² frames
(inter-ocular distance ~114 px), and for :func:`~.dataset.make_dataset` colour/shape variants of
the portraits (``identity_variants``; :mod:`.variation`), several eSpeak NG voices (``voices``) and
rates of 120–220 words/min (``rate_range``).
``benchmarks/synth_realism.py`` measures dlib against the truth for both. New ground truth:
``yaw_pitch`` (T, 2) degrees, ``lip_closure`` (T,) and ``lip_closed_frames`` (saved in the
``.npz``; clips saved before them load with zero yaw/pitch, the lip values derive from ``mouth``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from ..errors import BadInputError, MediaError
from ..tts import PAUSE, Phoneme
from .animate import POSE_PARAMS, ROTATION_PARAMS, Motion, blink_track, head_track, rotation_track, speech_drive
from .identity import load_identity
from .render import build_mesh, lip_seal_weight, render_frames
from .rig import POSE_PIVOT, pose_matrices
from .visemes import MOUTH_PARAMS, VISEMES, coarticulate, frame_visemes, viseme_segments

__all__ = ["SynthParams", "SynthClip", "padded_speech", "make_clip", "render_motion", "save_clip", "load_clip",
           "FORMAT", "REALISTIC_VOICES", "LIPS_CLOSED_IOD"]

FORMAT = "thg-synth/1"
#: eSpeak NG voices (all shipped by espeakng-loader) that the realistic preset's datasets draw from
REALISTIC_VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb-x-rp+m3", "en-us+m7", "en-gb-scotland+f2",
                    "en-029+m2", "en-us-nyc+f4")
LIPS_CLOSED_IOD = 0.01  #: a frame's lips count as closed when the inner-lip gap is below this (IOD)


@dataclass(frozen=True)
class SynthParams:
    """Generator parameters (all saved with the clip). Lengths in inter-ocular distances (IOD)."""

    size: int = 256  #: output frames are size x size pixels
    fps: float = 25.0
    sample_rate: int = 16000
    voice: str = "en-us"  #: eSpeak NG voice
    rate: int = 160  #: speaking rate, words per minute
    pad_s: float = 0.4  #: silence added before and after the speech
    crop_scale: float = 4.5  #: frame side in IOD
    articulation: float = 1.25  #: scale of all mouth-parameter targets (1.25: clearly visible lip motion)
    theta: float = 20.0  #: coarticulation dominance decay (1/s)
    lead_s: float = 0.03  #: mouth shapes lead the phoneme timings by this much (see make_clip)
    blink_per_minute: float = 17.0
    blink_ms: tuple[float, float] = (100.0, 150.0)
    head_roll_deg: float = 1.5  #: std of the random-walk roll
    head_shift: float = 0.04  #: std of the random-walk translation (IOD)
    head_scale: float = 0.01  #: std of the random-walk scale change
    head_smooth_s: float = 0.6  #: correlation time of the random walk
    coupling: float = 1.0  #: weight of the speech-driven head nod/lean (0 = none)
    head_yaw_deg: float = 0.0  #: std of the random-walk yaw (0: no 3-D rotation, the original renderer)
    head_pitch_deg: float = 0.0  #: std of the random-walk pitch
    eyelids: bool = False  #: paint eyelids over closing eyes (else the eye texture is squeezed)
    lip_seal: bool = False  #: repaint closing lips with lip colour (else the portrait's mouth shows through)
    identity_variant: int = 0  #: 0: the portrait as it is; k >= 1: its k-th colour/shape variant
    identity_variants: int = 0  #: make_dataset: clips cycle through variants 1..N (0: the plain portraits)
    voices: tuple[str, ...] = ()  #: make_dataset: each clip's voice drawn from these (empty: ``voice``)
    rate_range: tuple[int, int] = (140, 180)  #: make_dataset: each clip's rate drawn from this range (words/min)

    def __post_init__(self) -> None:
        from ..validate import SAMPLE_RATES, SYNTH_FPS, SYNTH_SIZE

        def within(v: object, lo: float, hi: float, integer: bool = False) -> bool:
            num = isinstance(v, (int, np.integer)) if integer else isinstance(v, (int, float, np.integer, np.floating))
            return num and not isinstance(v, (bool, np.bool_)) and math.isfinite(v) and lo <= v <= hi

        checks = (("size", self.size, within(self.size, *SYNTH_SIZE, integer=True)),
                  ("fps", self.fps, within(self.fps, *SYNTH_FPS)),
                  ("sample_rate", self.sample_rate, within(self.sample_rate, 8000, SAMPLE_RATES[1], integer=True)),
                  ("rate", self.rate, within(self.rate, 80, 450, integer=True)),
                  ("pad_s", self.pad_s, within(self.pad_s, 0, 10)),
                  ("articulation", self.articulation, within(self.articulation, 0, 5)),
                  ("coupling", self.coupling, within(self.coupling, 0, 10)),
                  ("crop_scale", self.crop_scale, within(self.crop_scale, 2, 12)),
                  ("head_yaw_deg", self.head_yaw_deg, within(self.head_yaw_deg, 0, 30)),
                  ("head_pitch_deg", self.head_pitch_deg, within(self.head_pitch_deg, 0, 20)),
                  ("identity_variant", self.identity_variant, within(self.identity_variant, 0, 10**6, integer=True)),
                  ("identity_variants", self.identity_variants,
                   within(self.identity_variants, 0, 10**6, integer=True)),
                  ("eyelids", self.eyelids, isinstance(self.eyelids, (bool, np.bool_))),
                  ("lip_seal", self.lip_seal, isinstance(self.lip_seal, (bool, np.bool_))),
                  ("voices", self.voices, not isinstance(self.voices, str)
                   and all(isinstance(v, str) and v for v in self.voices)),
                  ("rate_range", self.rate_range, isinstance(self.rate_range, (tuple, list)) and len(self.rate_range) == 2
                   and all(within(v, 80, 450, integer=True) for v in self.rate_range)
                   and self.rate_range[0] <= self.rate_range[1]))
        bad = [f"{k}={v}" for k, v, ok in checks if not ok]
        if bad:
            raise BadInputError("SynthParams", f"got {', '.join(bad)}",
                                f"Use size {SYNTH_SIZE[0]}..{SYNTH_SIZE[1]} px, fps {SYNTH_FPS[0]:g}..{SYNTH_FPS[1]:g}, "
                                "sample_rate 8000..384000 Hz, rate 80..450 words/min, pad_s 0..10 s, "
                                "articulation 0..5, coupling 0..10, crop_scale 2..12, head_yaw_deg 0..30, "
                                "head_pitch_deg 0..20, identity_variant(s) >= 0, eyelids/lip_seal True or False, "
                                "voices a tuple of eSpeak voice names, rate_range (lo, hi) within 80..450")
        object.__setattr__(self, "blink_ms", tuple(float(v) for v in self.blink_ms))
        object.__setattr__(self, "voices", tuple(self.voices))
        object.__setattr__(self, "rate_range", tuple(int(v) for v in self.rate_range))
        object.__setattr__(self, "eyelids", bool(self.eyelids))
        object.__setattr__(self, "lip_seal", bool(self.lip_seal))

    @classmethod
    def realistic(cls, **overrides: object) -> SynthParams:
        """The realism preset (see the module docstring); ``overrides`` replace any of its fields."""
        preset = {"size": 512, "head_yaw_deg": 8.0, "head_pitch_deg": 3.0, "eyelids": True, "lip_seal": True,
                  "blink_ms": (150.0, 250.0), "identity_variants": 8, "voices": REALISTIC_VOICES,
                  "rate_range": (120, 220)}
        return cls(**(preset | overrides))

    @property
    def rotates(self) -> bool:
        """Whether the head turns in 3-D (yaw or pitch standard deviation > 0)."""
        return self.head_yaw_deg > 0 or self.head_pitch_deg > 0

    @classmethod
    def from_dict(cls, d: dict) -> SynthParams:
        """Inverse of ``dataclasses.asdict`` (unknown keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class SynthClip:
    """A clip and its ground truth. Per-frame arrays have length ``T`` = number of frames.

    ``landmarks`` (T, 68, 2) px; ``mouth`` (T, 4) :data:`~.visemes.MOUTH_PARAMS`; ``eye_closure`` (T,);
    ``pose`` (T, 4) :data:`~.animate.POSE_PARAMS` and ``pose_matrices`` (T, 2, 3) in pixels;
    ``visemes`` (T,) indices into :data:`~.visemes.VISEMES` (what the *reference* audio says at each
    frame centre); ``phonemes`` timings of the audio *as it is now*; ``blinks`` (k, 2) [start_s,
    duration_s]; ``frame_source`` (T,) which clean frame each frame shows; ``av_offset`` frames by
    which the audio lags the video (0 when in sync); ``yaw_pitch`` (T, 2) degrees
    (:data:`~.animate.ROTATION_PARAMS`, zeros for a frontal head).
    """

    frames: np.ndarray
    audio: np.ndarray
    sample_rate: int
    fps: float
    landmarks: np.ndarray
    mouth: np.ndarray
    eye_closure: np.ndarray
    pose: np.ndarray
    pose_matrices: np.ndarray
    visemes: np.ndarray
    phonemes: list[Phoneme]
    blinks: np.ndarray
    text: str
    identity: str
    seed: int
    params: SynthParams
    iod: float
    av_offset: int = 0
    frame_source: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    audio_text: str = ""
    identity_mix: tuple[str, float] | None = None
    degradations: list[tuple[str, float]] = field(default_factory=list)
    yaw_pitch: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))

    def __post_init__(self) -> None:
        if self.frame_source.size == 0:
            self.frame_source = np.arange(len(self.landmarks))
        if self.yaw_pitch.size == 0:
            self.yaw_pitch = np.zeros((len(self.landmarks), 2), np.float32)
        if not self.audio_text:
            self.audio_text = self.text

    @property
    def n_frames(self) -> int:
        """Number of frames ``T``."""
        return len(self.landmarks)

    @property
    def blink_frames(self) -> np.ndarray:
        """Frames whose eyes are at least half closed."""
        return np.flatnonzero(self.eye_closure >= 0.5)

    @property
    def lip_closure(self) -> np.ndarray:
        """How closed the lips are per frame, ``clip(1 - open / 0.04, 0, 1)`` (the seal of ``lip_seal``)."""
        return lip_seal_weight(self.mouth[:, 0]).astype(np.float32)

    @property
    def lip_closed_frames(self) -> np.ndarray:
        """Frames whose inner-lip gap is below :data:`LIPS_CLOSED_IOD`."""
        return np.flatnonzero(self.mouth[:, 0] < LIPS_CLOSED_IOD)

    @property
    def motion(self) -> Motion:
        """The animation parameters (mouth, eye closure, pose, and yaw/pitch when the head turns)."""
        return Motion(self.mouth, self.eye_closure, self.pose, self.yaw_pitch if np.any(self.yaw_pitch) else None)


def padded_speech(text: str, params: SynthParams) -> tuple[np.ndarray, list[Phoneme], int]:
    """``(audio, phonemes, n_frames)``: ``text`` spoken with ``params``' voice and rate, with
    ``pad_s`` of silence each side, padded to a whole number of frames; phonemes cover it all."""
    from ..tts import synthesize

    sp = synthesize(text, voice=params.voice, rate=params.rate, sr=params.sample_rate)
    pad = int(round(params.pad_s * params.sample_rate))
    n_frames = int(np.ceil((len(sp.audio) + 2 * pad) * params.fps / params.sample_rate - 1e-9))
    total = int(round(n_frames * params.sample_rate / params.fps))
    audio = np.zeros(total, np.float32)
    audio[pad:pad + len(sp.audio)] = sp.audio[: total - pad]
    end = total / params.sample_rate
    phon = [Phoneme(p.symbol, p.start_s + params.pad_s, p.end_s + params.pad_s) for p in sp.phonemes]
    if phon[0].symbol == PAUSE:
        phon[0] = Phoneme(PAUSE, 0.0, phon[0].end_s)
    else:
        phon.insert(0, Phoneme(PAUSE, 0.0, phon[0].start_s))
    if phon[-1].symbol == PAUSE:
        phon[-1] = Phoneme(PAUSE, phon[-1].start_s, end)
    else:
        phon.append(Phoneme(PAUSE, phon[-1].end_s, end))
    return audio, phon, n_frames


def render_motion(identity: str | Path, motion: Motion, params: SynthParams,
                  mix: tuple[str, float] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Frames, landmarks, pose matrices and IOD (px) of ``motion`` played by ``identity``.

    ``mix = (other, w)`` cross-dissolves with the same motion played by ``other``:
    ``frames = (1 - w) * own + w * other``; landmarks and matrices are then ``other``'s.
    """
    ident = load_identity(identity, params.size, params.crop_scale)
    if params.identity_variant:
        from .variation import vary_identity

        ident = vary_identity(ident, params.identity_variant)
    mats = pose_matrices(motion.pose, ident.neutral[POSE_PIVOT], ident.iod)
    frames, lms = render_frames(ident, motion.mouth, motion.eye_closure, mats, build_mesh(ident),
                                rotation=motion.rotation, eyelids=params.eyelids, lip_seal=params.lip_seal)
    if mix is None:
        return frames, lms, mats.astype(np.float32), ident.iod
    other, w = mix
    f2, lms, mats, iod = render_motion(other, motion, params)
    blend = np.round((1 - w) * frames.astype(np.float32) + w * f2.astype(np.float32))
    return blend.astype(np.uint8), lms, mats, iod


def make_clip(text: str | None = None, *, grid_seed: int | None = None, identity: str | Path = "astronaut",
              seed: int = 0, params: SynthParams | None = None) -> SynthClip:
    """Make a clean synthetic talking-head clip of ``text`` (or of GRID sentence ``grid_seed``).

    ``seed`` drives blinks and head motion; the speech is deterministic given text and voice.
    Mouth shapes are sampled ``params.lead_s`` ahead of the frame centres: eSpeak reports a vowel
    ~15–20 ms after its energy rises and the energy peaks early in the vowel, so without a lead
    the opening would trail the loudness by ~30 ms (about one frame), whereas real lips move
    before the sound. ``visemes`` (what is heard at each frame centre) are not shifted.
    """
    from .grid import grid_sentence

    params = SynthParams() if params is None else params
    if not isinstance(params, SynthParams):
        raise BadInputError("params", f"is {type(params).__name__}", "Pass thglib.synth.SynthParams(...) or None")
    if (text is None) == (grid_seed is None):
        raise BadInputError("text/grid_seed", "give exactly one of them",
                            "e.g. make_clip('hello') or make_clip(grid_seed=3)")
    if text is not None and (not isinstance(text, str) or not text.strip() or len(text) > 2000):
        raise BadInputError("text", f"is {text!r:.60}", "Pass what the face says: a non-empty string of at most "
                            "2000 characters")
    if grid_seed is not None:
        from ..validate import count

        count(grid_seed, "grid_seed", lo=0)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise BadInputError("seed", f"is {seed!r}", "Pass a non-negative integer")
    spoken = text
    if grid_seed is not None:
        sentence = grid_sentence(grid_seed)
        text, spoken = sentence.text, sentence.spoken
    audio, phonemes, n = padded_speech(spoken, params)
    times = (np.arange(n) + 0.5) / params.fps
    segments = viseme_segments(phonemes)
    mouth = coarticulate(segments, times + params.lead_s, params.theta) * np.float32(params.articulation)
    blink_rng, head_rng, turn_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    closure, blinks = blink_track(n, params.fps, blink_rng, params.blink_per_minute, params.blink_ms)
    drive = speech_drive(audio, params.sample_rate, params.fps, n)
    pose = head_track(n, params.fps, head_rng, drive, roll_deg=params.head_roll_deg, shift=params.head_shift,
                      scale=params.head_scale, smooth_s=params.head_smooth_s, coupling=params.coupling)
    rotation = rotation_track(n, params.fps, turn_rng, yaw_deg=params.head_yaw_deg, pitch_deg=params.head_pitch_deg,
                              smooth_s=params.head_smooth_s) if params.rotates else None
    motion = Motion(mouth, closure, pose, rotation)
    frames, lms, mats, iod = render_motion(identity, motion, params)
    name = identity if isinstance(identity, str) else str(identity)
    yaw_pitch = np.zeros((n, 2), np.float32) if rotation is None else rotation
    return SynthClip(frames, audio, params.sample_rate, params.fps, lms, mouth, closure, pose, mats,
                     frame_visemes(segments, times), phonemes, blinks, str(text), name, int(seed), params, iod,
                     yaw_pitch=yaw_pitch)


# ----------------------------------------------------------------------------- files
_SUFFIXES = (".mp4", ".wav", ".npz", ".json")


def _stem(path: str | Path) -> Path:
    p = Path(path).expanduser()
    return p.with_suffix("") if p.suffix.lower() in _SUFFIXES else p


def _metadata(clip: SynthClip, stem: Path) -> dict:
    return {"format": FORMAT, "text": clip.text, "audio_text": clip.audio_text, "identity": clip.identity,
            "identity_mix": list(clip.identity_mix) if clip.identity_mix else None, "seed": clip.seed,
            "params": asdict(clip.params), "fps": clip.fps, "sample_rate": clip.sample_rate,
            "size": int(clip.params.size), "n_frames": clip.n_frames, "iod_px": clip.iod,
            "av_offset_frames": clip.av_offset, "degradations": [list(d) for d in clip.degradations],
            "files": {s[1:]: stem.name + s for s in _SUFFIXES}}


def save_clip(clip: SynthClip, path: str | Path, *, overwrite: bool = False, crf: int = 15) -> dict[str, Path]:
    """Write ``STEM.mp4``, ``STEM.wav``, ``STEM.npz`` and ``STEM.json``; return their paths by suffix.

    ``path`` is the stem (a suffix among those four is dropped). Nothing is written if any of the
    files exists, unless ``overwrite=True``; each file is written to a temporary file and renamed.
    """
    from ..io import save_audio, write_video
    from ..io.video import atomic_output

    stem = _stem(path)
    out = {s[1:]: stem.with_name(stem.name + s) for s in _SUFFIXES}
    taken = [str(p) for p in out.values() if p.exists()]
    if taken and not overwrite:
        raise BadInputError("path", f"would overwrite {', '.join(taken)}", "Pass overwrite=True or another path")
    write_video(out["mp4"], clip.frames, clip.fps, audio=clip.audio, sample_rate=clip.sample_rate, crf=crf,
                overwrite=overwrite)
    save_audio(out["wav"], clip.audio, clip.sample_rate, overwrite=overwrite)
    arrays = {k: getattr(clip, k) for k in ("landmarks", "mouth", "eye_closure", "pose", "pose_matrices",
                                            "visemes", "blinks", "frame_source", "yaw_pitch", "lip_closure")}
    arrays |= {"blink_frames": clip.blink_frames, "lip_closed_frames": clip.lip_closed_frames,
               "rotation_params": np.array(ROTATION_PARAMS), "av_offset_frames": np.int64(clip.av_offset),
               "phoneme_symbols": np.array([p.symbol for p in clip.phonemes]),
               "phoneme_times": np.array([[p.start_s, p.end_s] for p in clip.phonemes]).reshape(-1, 2),
               "viseme_names": np.array(VISEMES), "mouth_params": np.array(MOUTH_PARAMS),
               "pose_params": np.array(POSE_PARAMS)}
    with atomic_output(out["npz"], overwrite=overwrite, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    with atomic_output(out["json"], overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(_metadata(clip, stem), indent=1))
    return out


def load_clip(path: str | Path, *, frames: bool = True) -> SynthClip:
    """Read a clip written by :func:`save_clip` (frames decoded from the MP4 unless ``frames=False``,
    then ``frames`` is empty); audio comes from the WAV, everything else is exact."""
    from ..io import load_audio, read_video

    stem = _stem(path)
    meta_path, npz_path = stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".npz")
    for p in (meta_path, npz_path):
        if not p.is_file():
            raise MediaError(p, "is missing", "Pass the stem of a clip written by thglib.synth.save_clip")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != FORMAT:
        raise MediaError(meta_path, f"is not a {FORMAT} file", "Re-create the clip with this thglib")
    z = np.load(npz_path)
    params = SynthParams.from_dict(meta["params"])
    audio, sr = load_audio(stem.with_name(stem.name + ".wav"), sr=None)
    size = params.size
    video = read_video(stem.with_name(stem.name + ".mp4"), audio=False).frames if frames \
        else np.zeros((0, size, size, 3), np.uint8)
    phon = [Phoneme(str(s), float(a), float(b)) for s, (a, b) in zip(z["phoneme_symbols"], z["phoneme_times"])]
    mix = meta["identity_mix"]
    return SynthClip(video, audio, sr, meta["fps"], z["landmarks"], z["mouth"], z["eye_closure"], z["pose"],
                     z["pose_matrices"], z["visemes"], phon, z["blinks"], meta["text"], meta["identity"],
                     meta["seed"], params, meta["iod_px"], int(z["av_offset_frames"]), z["frame_source"],
                     meta["audio_text"], (mix[0], float(mix[1])) if mix else None,
                     [(str(a), float(b)) for a, b in meta["degradations"]],
                     z["yaw_pitch"] if "yaw_pitch" in z else np.zeros((0, 2), np.float32))
