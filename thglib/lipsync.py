"""Wav2Lip lip-sync inference: a face video (or one image) plus any speech → a lip-synced MP4.

Prajwal et al., "A Lip Sync Expert Is All You Need for Speech to Lip Generation In the Wild",
ACM MM 2020 (arXiv:2008.10010).  The steps follow ``inference.py`` of
https://github.com/Rudrabha/Wav2Lip (``face_detect``, ``datagen``, ``main``):

0. optional frame edits, in ``inference.py``'s order (:class:`FrameEdits`): downscale by
   ``resize_factor`` (``--resize_factor``), rotate 90° clockwise (``--rotate``), crop to
   ``crop = (top, bottom, left, right)`` (``--crop``; -1 for bottom/right: the full extent); the
   output has the edited frames' size. Unlike ``inference.py``, which edits video frames only, a still
   image is edited too;
1. face box per frame (:func:`face_boxes`): detector box, truncated to ints, padded by
   ``pads = (top, bottom, left, right)`` and clipped to the frame, then averaged over 5 frames
   (``smooth_window=1``: ``--nosmooth``); or, with ``box = (top, bottom, left, right)``
   (``--box``), that box in every frame: no detector is loaded, no padding, no smoothing;
2. one 16-column mel window per output frame, window ``i`` starting at column ``int(i·80/fps)``
   (:func:`thglib.audio.wav2lip_mel_windows`);
3. 96×96 crop, lower half zeroed, stacked on channels with the unmasked crop — in **BGR** order
   and divided by 255, because ``inference.py`` feeds ``cv2`` frames (:func:`model_inputs`);
4. batched generator forward (:class:`BatchRunner`, halving the batch on CUDA out-of-memory);
5. the 96×96 output, truncated to uint8, resized into the box and pasted back (:func:`paste_face`);
6. H.264 + AAC through :func:`thglib.pipelines.mux.write_mp4` (an untrained run says so in the MP4's
   ``comment`` tag and with "UNTRAINED WEIGHTS" in every frame's top-left corner).

Frame ``i`` of the output shows source frame ``i mod n`` (a still image: always frame 0), so audio
longer than the video loops the frames as ``inference.py`` does; a longer video is cut.

Differences from ``inference.py``, all deliberate: the output has ``round(duration · fps)`` frames
by default (``length="audio"``; ``inference.py`` stops ~3 frames short of the audio at 25 fps —
``length="wav2lip"`` reproduces it); frames are streamed (two decoding passes) instead of held in
memory; the detector is ``thglib.face`` (S3FD where its weights and a GPU are available, dlib
offline) and may run every ``detect_every`` frames with landmark tracking in between; box smoothing
keeps floats until the final truncation (the last 4 boxes may differ by < 1 px); dlib's upsampling
is chosen from the frame size (``upsample="auto"``, :mod:`thglib.face.detection`) instead of 1.

Reading the inputs, batching, paste-back and muxing are shared with the SadTalker pipeline
(:mod:`thglib.pipelines`); the names this module exported before (``BatchRunner``, ``paste_face``,
``IMAGE_SUFFIXES``) are re-exported from there.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from .errors import BadInputError, NoFaceError, UntrainedWeightsWarning, WeightsUnavailable
from .face.detection import Upsample, check_upsample
from .models.fill import FillRecipe, fill_
from .models.wav2lip import ExpertSyncNet, Wav2Lip
from .pipelines.batching import BatchRunner
from .pipelines.media import IMAGE_SUFFIXES, Clock as _Clock, Source as _Source, check_out as _check_out
from .pipelines.media import frames_for as _frames_for, looped as _looped, open_audio as _open_audio
from .pipelines.media import StageTimings, open_face as _open_face
from .pipelines.paste import paste_face

__all__ = [
    "DEFAULT_PADS", "FACE_SIZE", "UNTRAINED_FILL", "IMAGE_SUFFIXES", "BoxTrack", "FrameEdits", "SyncConfidence",
    "LipSyncResult", "BatchRunner", "load_generator", "load_expert", "frame_edits", "fixed_boxes", "face_boxes",
    "pad_boxes", "model_inputs",
    "output_faces", "paste_face", "expert_sync_confidence", "lipsync",
]

DEFAULT_PADS: tuple[int, int, int, int] = (0, 10, 0, 0)  #: inference.py ``--pads`` (top, bottom, left, right)
FACE_SIZE = 96  #: Wav2Lip's face resolution (``args.img_size``)
EXPERT_T = 5  #: frames per expert-SyncNet window (``syncnet_T``)
#: Weight fill used when real weights are unavailable and ``allow_untrained=True``: the GAIN and
#: BIAS of the fixtures ``tests/fixtures/wav2lip_generator.json`` / ``wav2lip_expert_syncnet.json``.
UNTRAINED_FILL = FillRecipe(gain=1.0, bias=0.1)
POLICIES = ("raise", "interpolate", "skip")
_GENERATOR_NAMES = ("wav2lip_gan", "wav2lip")
MINI = "mini"  #: ``weights=`` / ``expert_weights=`` name of the mini model that ships with thglib
MIN_FRAME_SIDE = 16  #: smallest frame side (px) that ``resize_factor`` / ``crop`` may leave
Region = tuple[int, int, int, int]  #: (top, bottom, left, right) in pixels, as inference.py's ``--box``/``--crop``

Weights = str | os.PathLike | nn.Module


# --------------------------------------------------------------------------- weights
def _load_net(cls: type[nn.Module], names: tuple[str, ...], weights: Weights, what: str, device: str,
              allow_untrained: bool) -> tuple[nn.Module, str, str | None]:
    """``(model in eval mode on device, description, caveat or None)``; see :func:`load_generator`."""
    from .models import load_pretrained

    if isinstance(weights, nn.Module):
        return weights.eval().to(device), f"{what}: caller-supplied {type(weights).__name__}", None
    looks_like_name = isinstance(weights, str) and os.sep not in weights and not Path(weights).suffix
    if looks_like_name and weights not in names:
        raise BadInputError("weights", f"'{weights}' is not a {what} checkpoint name",
                            f"Use one of {', '.join(names)} or the path of a .pth file")
    if not isinstance(weights, (str, os.PathLike)):
        raise BadInputError("weights", f"is {type(weights).__name__}",
                            f"Pass one of {', '.join(names)}, the path of a .pth file, or an nn.Module")
    try:
        model = load_pretrained(cls(), weights)
    except WeightsUnavailable as e:
        if not allow_untrained:
            raise e.for_arg("weights", " (a .pth path), or pass allow_untrained=True for an untrained "
                            "stand-in") from None
        caveat = (f"UNTRAINED WEIGHTS — {what}: '{weights}' could not be obtained, so a deterministic "
                  f"fill (thglib.models.fill, gain {UNTRAINED_FILL.gain}, bias {UNTRAINED_FILL.bias}) "
                  "stands in. Every step runs, but nothing it produces is Wav2Lip's: do not read it "
                  "as lip sync.")
        warnings.warn(f"{caveat} Why: {e}", UntrainedWeightsWarning, stacklevel=3)
        model = fill_(cls().eval(), UNTRAINED_FILL)
        return model.to(device), f"{what}: UNTRAINED deterministic fill ('{weights}' unavailable)", caveat
    src = f"'{weights}'" if looks_like_name else f"file {weights}"
    return model.to(device), f"{what}: weights {src}", None


def _load_mini(kind: str, device: str) -> tuple[nn.Module, str, None]:
    """The shipped mini model (:mod:`thglib.models.mini_lipsync`): the ``wav2lip_recipe`` generator
    of seed 0, or the expert it was trained against."""
    from .models.mini_lipsync import MINI_LABEL, load_mini, mini_checkpoint

    path = mini_checkpoint("wav2lip_recipe_s0" if kind == "generator" else "expert")
    what = "generator" if kind == "generator" else "lip-sync expert"
    return load_mini(path, kind, device), f"{what}: {MINI_LABEL} ({path.name})", None


def load_generator(weights: Weights = "wav2lip_gan", *, device: str = "cpu",
                   allow_untrained: bool = False) -> tuple[nn.Module, str, str | None]:
    """The Wav2Lip generator as ``(model, description, caveat)``.

    ``weights``: ``"wav2lip_gan"`` / ``"wav2lip"`` (registry, fetched and hash-checked by
    :func:`thglib.weights.fetch`), ``"mini"`` (the mini model trained on THG-Synth that ships with
    thglib, :mod:`thglib.models.mini_lipsync`), a checkpoint path, or a ready module.  When the registry file
    cannot be had, :class:`~thglib.errors.WeightsUnavailable` is raised — unless
    ``allow_untrained=True``, which substitutes the deterministic :data:`UNTRAINED_FILL`, prints a
    loud warning and returns it as ``caveat``.
    """
    if isinstance(weights, str) and weights == MINI:
        return _load_mini("generator", device)
    return _load_net(Wav2Lip, _GENERATOR_NAMES, weights, "Wav2Lip generator", device, allow_untrained)


def load_expert(weights: Weights = "wav2lip_expert", *, device: str = "cpu",
                allow_untrained: bool = False) -> tuple[nn.Module, str, str | None]:
    """The frozen lip-sync expert (``SyncNet_color``), same contract as :func:`load_generator`
    (``"mini"``: the mini model's expert)."""
    if isinstance(weights, str) and weights == MINI:
        return _load_mini("expert", device)
    return _load_net(ExpertSyncNet, ("wav2lip_expert",), weights, "expert SyncNet", device, allow_untrained)


# --------------------------------------------------------------------------- face boxes
@dataclass(frozen=True, eq=False)
class BoxTrack:
    """Per-frame crop boxes: ``boxes`` ``(T, 4)`` int ``[x0, y0, x1, y1]`` (padded, clipped, smoothed).

    ``raw`` holds the detector (or tracked) boxes before padding; ``detected[t]`` is True where
    the detector ran; ``missing`` lists frames without a face (boxes there are interpolated).
    """

    boxes: np.ndarray
    raw: np.ndarray
    detected: np.ndarray
    missing: tuple[int, ...]
    detector: str
    frame_size: tuple[int, int]  #: (width, height)

    def __len__(self) -> int:
        return len(self.boxes)


def _detect_each(frames: Iterable[np.ndarray], detector: str, upsample: Upsample, policy: str,
                 source: str) -> tuple[list[np.ndarray | None], np.ndarray, tuple[int, int], str]:
    """The largest face of every frame (``None`` where there is none, unless ``policy="raise"``)."""
    from .face import detect_faces, get_detector

    name = get_detector(detector).name
    rows: list[np.ndarray | None] = []
    shape = (0, 0)
    for i, frame in enumerate(frames):
        shape = frame.shape[:2]
        faces = detect_faces(frame, backend=name, upsample=upsample)
        if not faces and policy == "raise":
            raise NoFaceError(i, source)
        rows.append(faces[0].as_array() if faces else None)
    return rows, np.ones(len(rows), bool), (shape[1], shape[0]), name


def _detect_and_track(frames: Iterable[np.ndarray], detector: str, every: int, upsample: Upsample, policy: str,
                      source: str) -> tuple[list[np.ndarray | None], np.ndarray, tuple[int, int], str]:
    """Detect every ``every`` frames; in between move the box with the landmarks (:func:`follow_box`)."""
    from .face import FaceBox, landmarks_video
    from .face.tracking import follow_box

    shape: list[tuple[int, int]] = []

    def seen(it: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for f in it:
            shape[:] = [f.shape[:2]]
            yield f

    tr = landmarks_video(seen(frames), every=every, policy="raise" if policy == "raise" else "skip",
                         detector=detector, upsample=upsample, source=source)
    rows: list[np.ndarray | None] = [None] * tr.n_frames
    detected = np.zeros(tr.n_frames, bool)
    ref: tuple[FaceBox, np.ndarray] | None = None
    for k, i in enumerate(tr.frames):
        if tr.detected[k]:
            ref = (FaceBox.from_array(tr.boxes[k]), tr.points[k])
            rows[i], detected[i] = tr.boxes[k], True
        else:
            rows[i] = follow_box(*ref, tr.points[k]).as_array()
    return rows, detected, (shape[0][1], shape[0][0]), tr.detector


def _fill_missing(rows: list[np.ndarray | None], source: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """``(T, 4)`` boxes with the missing rows linearly interpolated (constant beyond the ends)."""
    found = [i for i, r in enumerate(rows) if r is not None]
    if not found:
        raise NoFaceError(None, source, "No frame contains a detectable face: check the input, "
                          "try detector='dlib-mmod' / upsample=2 for small faces, or pass the face's "
                          "box=(top, bottom, left, right)")
    raw = np.array([rows[i] for i in found], np.float64)
    t = np.arange(len(rows))
    full = np.stack([np.interp(t, found, raw[:, c]) for c in range(4)], axis=1)
    return full, tuple(i for i, r in enumerate(rows) if r is None)


def _check_pads(pads: object) -> tuple[int, int, int, int]:
    """Four ints (top, bottom, left, right) within ±4096 px."""
    ok = isinstance(pads, (tuple, list, np.ndarray)) and len(pads) == 4 and all(
        isinstance(p, (int, np.integer)) and not isinstance(p, (bool, np.bool_)) and -4096 <= p <= 4096 for p in pads)
    if not ok:
        raise BadInputError("pads", f"expected 4 ints (top, bottom, left, right) within ±4096 px, got {pads!r}",
                            f"Pass e.g. the default {DEFAULT_PADS}")
    return tuple(int(p) for p in pads)  # type: ignore[return-value]


def pad_boxes(raw: np.ndarray, pads: tuple[int, int, int, int], width: int, height: int) -> np.ndarray:
    """``inference.py`` ``face_detect``: ``y0 = max(0, int(top) - p_top)``, ``y1 = min(H, int(bottom) + p_bottom)``, ...

    Detector boxes are truncated to int first, as Wav2Lip's S3FD wrapper does (``map(int, d)``).
    """
    b = np.trunc(np.asarray(raw, np.float64))
    top, bottom, left, right = pads
    return np.stack([np.maximum(0, b[:, 0] - left), np.maximum(0, b[:, 1] - top),
                     np.minimum(width, b[:, 2] + right), np.minimum(height, b[:, 3] + bottom)], axis=1)


# --------------------------------------------------------------------------- frame edits, fixed box
@dataclass(frozen=True)
class FrameEdits:
    """``inference.py``'s edits of every frame, in its order: ``cv2.resize`` (bilinear) to
    ``(W // resize_factor, H // resize_factor)``, rotation by 90° clockwise (``rotate``), then
    ``frame[top:bottom, left:right]`` (``crop``, already resolved: no -1).  ``size_in`` / ``size``:
    (width, height) before and after.  Build it with :func:`frame_edits`, which checks the values.
    """

    resize_factor: int = 1
    rotate: bool = False
    crop: Region | None = None
    size_in: tuple[int, int] = (0, 0)
    size: tuple[int, int] = (0, 0)

    @property
    def active(self) -> bool:
        return self.resize_factor > 1 or self.rotate or self.crop is not None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        import cv2

        if self.resize_factor > 1:
            h, w = frame.shape[:2]
            frame = cv2.resize(frame, (w // self.resize_factor, h // self.resize_factor))
        if self.rotate:
            frame = np.rot90(frame, -1)  # cv2.ROTATE_90_CLOCKWISE
        if self.crop is not None:
            top, bottom, left, right = self.crop
            frame = frame[top:bottom, left:right]
        return np.ascontiguousarray(frame)

    def describe(self) -> str:
        """e.g. ``"resize_factor 2, rotated 90° clockwise, crop rows 0:400 columns 10:300; 1688x1688 -> 290x400"``."""
        parts = [f"resize_factor {self.resize_factor}"] if self.resize_factor > 1 else []
        parts += ["rotated 90° clockwise"] if self.rotate else []
        if self.crop is not None:
            parts.append("crop rows {0}:{1} columns {2}:{3}".format(*self.crop))
        return ", ".join(parts) + "; {}x{} -> {}x{}".format(*self.size_in, *self.size)


def _four_ints(value: object, name: str) -> list[int]:
    """``value`` as a list of 4 ints (top, bottom, left, right)."""
    if not (isinstance(value, (tuple, list, np.ndarray)) and len(value) == 4 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in value)):
        raise BadInputError(name, f"is {value!r}", "Pass 4 ints (top, bottom, left, right) in pixels")
    return [int(v) for v in value]


def _check_edit_args(box: object, resize_factor: object, crop: object, rotate: object) -> None:
    """What can be checked of the frame options before the frames' size is known."""
    from .validate import count

    count(resize_factor, "resize_factor", hi=1024, fix="Pass a positive integer, e.g. 2 to halve the frames")
    if not isinstance(rotate, (bool, np.bool_)):
        raise BadInputError("rotate", f"is {rotate!r}", "Pass True (rotate 90° clockwise) or False")
    for value, name in ((box, "box"), (crop, "crop")):
        if value is not None:
            _four_ints(value, name)


def _region(value: object, name: str, width: int, height: int, min_side: int, open_end: bool = False) -> Region:
    """(top, bottom, left, right) ints inside a ``width`` x ``height`` frame, each side >= ``min_side``;
    ``open_end``: -1 as bottom/right means the frame's edge (inference.py ``--crop``)."""
    r = _four_ints(value, name)
    if open_end:
        r[1], r[3] = (height if r[1] == -1 else r[1]), (width if r[3] == -1 else r[3])
    if not (0 <= r[0] <= r[1] - min_side and r[1] <= height and 0 <= r[2] <= r[3] - min_side and r[3] <= width):
        end = " (-1 as bottom/right: the frame's edge)" if open_end else ""
        raise BadInputError(name, f"{value!r} is not a region of at least {min_side}x{min_side} px inside the "
                            f"{width}x{height} frame", f"Pass 4 ints (top, bottom, left, right){end} with 0 <= top "
                            f"<= bottom - {min_side}, bottom <= {height}, 0 <= left <= right - {min_side} and right <= "
                            f"{width}, in pixels of the frame "
                            f"{'after resize_factor and rotate' if open_end else 'after resize_factor, rotate and crop'} "
                            "(inference.py's order)")
    return tuple(r)  # type: ignore[return-value]


def frame_edits(size: tuple[int, int], *, resize_factor: int = 1, rotate: bool = False,
                crop: Region | None = None) -> FrameEdits:
    """Checked :class:`FrameEdits` for frames of ``size`` (width, height); errors name the argument."""
    _check_edit_args(None, resize_factor, crop, rotate)
    f = int(resize_factor)
    w, h = size[0] // f, size[1] // f
    if min(w, h) < MIN_FRAME_SIDE:
        raise BadInputError("resize_factor", f"{f} turns the {size[0]}x{size[1]} frames into {w}x{h}",
                            f"Use a smaller factor: at least {MIN_FRAME_SIDE} px must remain on each side")
    w, h = (h, w) if rotate else (w, h)
    region = None if crop is None else _region(crop, "crop", w, h, MIN_FRAME_SIDE, open_end=True)
    if region is not None:
        w, h = region[3] - region[2], region[1] - region[0]
    return FrameEdits(f, bool(rotate), region, (int(size[0]), int(size[1])), (w, h))


def fixed_boxes(box: Region, n: int, edits: FrameEdits) -> BoxTrack:
    """``inference.py --box``: the same crop box in all ``n`` frames (no detector, pads or smoothing);
    ``box`` (top, bottom, left, right) must lie inside the edited frame."""
    top, bottom, left, right = _region(box, "box", *edits.size, min_side=2)
    rows = np.tile(np.array([left, top, right, bottom], np.int64), (n, 1))
    return BoxTrack(boxes=rows, raw=rows.astype(np.float32), detected=np.zeros(n, bool), missing=(),
                    detector=f"none (fixed box top {top}, bottom {bottom}, left {left}, right {right})",
                    frame_size=edits.size)


class _Edited:
    """A :class:`~thglib.pipelines.media.Source` whose frames pass through ``edits``."""

    def __init__(self, src: _Source, edits: FrameEdits) -> None:
        self.src, self.edits = src, edits
        self.name, self.n, self.fps, self.static = src.name, src.n, src.fps, src.static

    def frames(self, limit: int) -> Iterator[np.ndarray]:
        return map(self.edits, self.src.frames(limit))


def face_boxes(frames: Iterable[np.ndarray], *, pads: tuple[int, int, int, int] = DEFAULT_PADS,
               detector: str = "auto", detect_every: int = 1, policy: str = "raise",
               smooth_window: int = 5, upsample: Upsample = "auto", source: str = "video") -> BoxTrack:
    """Wav2Lip's crop box for every RGB frame: detect (or track), pad, clip, smooth, truncate.

    ``detect_every=1`` runs the detector on every frame as ``inference.py``; ``k > 1`` detects every
    ``k`` frames and moves the box with 68 landmarks in between (:func:`thglib.face.landmarks_video`).
    ``policy`` for frames without a face: ``"raise"`` (:class:`~thglib.errors.NoFaceError` naming
    the frame), ``"interpolate"`` or ``"skip"`` (both interpolate the box; :func:`lipsync` leaves
    ``"skip"`` frames untouched).  Smoothing: :func:`thglib.face.smooth_boxes` (``b_t`` = mean of
    ``b_t … b_{t+4}``), ``smooth_window=1`` turns it off.  ``upsample``: dlib's image doublings,
    ``"auto"`` chooses them from the frame size (:func:`thglib.face.detect_faces`).
    """
    from .face import smooth_boxes

    from .validate import count

    if policy not in POLICIES:
        raise BadInputError("policy", f"unknown policy {policy!r}", f"Use one of {POLICIES}")
    pads = _check_pads(pads)
    count(detect_every, "detect_every", hi=10000)
    count(smooth_window, "smooth_window", hi=1000)
    upsample = check_upsample(upsample)
    find = _detect_each if detect_every == 1 else _detect_and_track
    args = (detector, upsample, policy, source) if detect_every == 1 else (detector, detect_every, upsample,
                                                                           policy, source)
    rows, detected, (w, h), name = find(frames, *args)
    if not rows:
        raise BadInputError(source, "has no frames", "Pass a video or image with at least one frame")
    raw, missing = _fill_missing(rows, source)
    padded = pad_boxes(raw, pads, w, h)
    empty = np.flatnonzero((padded[:, 2] - padded[:, 0] < 2) | (padded[:, 3] - padded[:, 1] < 2))
    if empty.size:
        i = int(empty[0])
        raise BadInputError("pads", f"{pads} turn the face box {np.trunc(raw[i]).astype(int).tolist()} of frame {i} "
                            f"into the empty crop {padded[i].astype(int).tolist()} (frame {w}x{h})",
                            "Use pads (top, bottom, left, right) that keep the box open, e.g. the default "
                            f"{DEFAULT_PADS}; negative pads shrink the box")
    boxes = smooth_boxes(padded, window=smooth_window)
    return BoxTrack(boxes=boxes.astype(np.int64), raw=raw.astype(np.float32), detected=detected,
                    missing=missing, detector=name, frame_size=(w, h))


# --------------------------------------------------------------------------- model input / output
def model_inputs(crops: np.ndarray, reference: np.ndarray | None = None) -> torch.Tensor:
    """``(B, 96, 96, 3)`` uint8 RGB crops → ``(B, 6, 96, 96)`` float32 generator input.

    As ``inference.py`` ``datagen``: channels in **BGR** order (it reads frames with ``cv2``);
    ``x = concat([target with rows 48…95 set to 0, reference], channels) / 255``.  At inference the
    reference is the target frame itself (``reference=None``); in training it is another frame
    of the same clip.
    """
    c = np.asarray(crops)
    if c.ndim != 4 or c.shape[1:] != (FACE_SIZE, FACE_SIZE, 3) or c.dtype != np.uint8:
        raise BadInputError("crops", f"expected (B, 96, 96, 3) uint8, got {c.shape} {c.dtype}",
                            "Cut them with thglib.face.wav2lip_crop")
    ref = c if reference is None else np.asarray(reference)
    if ref.shape != c.shape:
        raise BadInputError("reference", f"expected shape {c.shape}, got {ref.shape}")
    masked = c[..., ::-1].copy()
    masked[:, FACE_SIZE // 2:] = 0
    x = np.concatenate([masked, ref[..., ::-1]], axis=3).astype(np.float32) / np.float32(255.0)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def output_faces(pred: torch.Tensor) -> np.ndarray:
    """Generator output ``(B, 3, 96, 96)`` BGR in [0, 1] → ``(B, 96, 96, 3)`` uint8 RGB.

    ``inference.py``: ``(pred * 255).astype(np.uint8)`` — truncation, not rounding.
    """
    y = pred.detach().float().cpu().numpy().transpose(0, 2, 3, 1) * np.float32(255.0)
    return np.ascontiguousarray(y.astype(np.uint8)[..., ::-1])


# --------------------------------------------------------------------------- expert sync confidence
@dataclass(frozen=True, eq=False)
class SyncConfidence:
    """Expert-SyncNet confidence of each 5-frame window of the output.

    ``cosine[k] = cos(a_k, v_k)`` for the audio embedding of mel window ``k`` and the face
    embedding of the lower halves of frames ``k … k+4`` — the ``P_sync`` whose ``-log`` is
    Wav2Lip's expert sync loss.  ``weights`` says which expert produced it; ``caveat`` is set when
    that expert is untrained.
    """

    cosine: np.ndarray
    start_frame: np.ndarray
    fps: float
    weights: str
    caveat: str | None = None
    warnings: tuple[str, ...] = ()  #: what scoring warns about (e.g. a frame rate the expert was not trained on)

    @property
    def centre_s(self) -> np.ndarray:
        """Centre time of each window in seconds: ``(k + 2.5) / fps``."""
        return (self.start_frame + EXPERT_T / 2) / self.fps

    @property
    def mean(self) -> float:
        return float(self.cosine.mean()) if len(self.cosine) else math.nan


def expert_sync_confidence(expert: nn.Module, faces: np.ndarray, mels: np.ndarray, *, device: str = "cpu",
                           batch_size: int = 64, chunk: int = 256) -> np.ndarray:
    """``cos(a_k, v_k)`` for every 5-frame window ``k`` of ``faces``, shape ``(N - 4,)``.

    ``faces``: ``(N, 96, 96, 3)`` uint8 RGB; ``mels``: ``(N, 80, 16)`` (window ``k`` starts at frame
    ``k``).  As ``get_sync_loss`` in ``hq_wav2lip_train.py``: lower halves (rows 48…95) in BGR / 255,
    the 5 frames stacked on channels frame-major; the expert returns unit embeddings, so the cosine
    is their dot product.
    """
    f, m = np.asarray(faces), np.asarray(mels, np.float32)
    if f.ndim != 4 or f.shape[1:] != (FACE_SIZE, FACE_SIZE, 3) or len(m) != len(f):
        raise BadInputError("faces/mels", f"expected (N, 96, 96, 3) faces and (N, 80, 16) mels, "
                            f"got {f.shape} and {m.shape}")
    n = len(f) - EXPERT_T + 1
    if n < 1:
        return np.zeros(0, np.float32)
    lower = torch.from_numpy(np.ascontiguousarray(f[:, FACE_SIZE // 2:, :, ::-1].transpose(0, 3, 1, 2)))
    runner = BatchRunner(lambda mel, face: (lambda a, v: (a * v).sum(1))(*expert(mel, face)),
                         batch_size, device)
    out = []
    for s in range(0, n, chunk):
        k = np.arange(s, min(s + chunk, n))
        face = (torch.cat([lower[k + j] for j in range(EXPERT_T)], dim=1).float() / 255.0).contiguous(
            memory_format=torch.channels_last)
        out.append(runner(torch.from_numpy(m[k, None]), face))
    return torch.cat(out).numpy()


# --------------------------------------------------------------------------- pipeline
@dataclass(frozen=True, eq=False)
class LipSyncResult(StageTimings):
    """What :func:`lipsync` did: the output file, per-stage timings, boxes, weights and caveats.

    ``frame_index[i]`` is the source frame shown in output frame ``i``; ``boxes.boxes[j]`` the crop
    box of source frame ``j``.  ``caveat`` is set when any network ran with untrained weights.
    """

    output: Path
    n_frames: int
    fps: float
    audio_s: float
    frame_index: np.ndarray
    boxes: BoxTrack
    mel_windows: np.ndarray
    weights: str
    device: str
    fp16: bool
    batch_size: int
    timings: dict[str, float]
    caveat: str | None = None
    sync: SyncConfidence | None = None
    crops_in: np.ndarray | None = None  #: (N, 96, 96, 3) RGB crops fed to the generator (keep_crops)
    crops_out: np.ndarray | None = None  #: (N, 96, 96, 3) RGB generator outputs (keep_crops)
    skipped: tuple[int, ...] = field(default_factory=tuple)  #: source frames left untouched (policy "skip")
    edits: FrameEdits = field(default_factory=FrameEdits)  #: resize_factor / rotate / crop applied to the frames
    box: Region | None = None  #: the fixed box (top, bottom, left, right) given instead of detection
    upsample: Upsample = "auto"  #: dlib detector upsampling asked for
    smooth_window: int = 5  #: box smoothing window in frames (1: none)

    def _boxes_line(self) -> str:
        if self.box is not None:
            return f"detector {self.boxes.detector}"
        up = f" (upsample {self.upsample})" if self.boxes.detector.startswith("dlib") else ""
        smooth = f"boxes smoothed over {self.smooth_window} frames" if self.smooth_window > 1 else "no box smoothing"
        return f"detector {self.boxes.detector}{up}, {smooth}"

    def summary(self) -> str:
        """Human-readable report: output, frames, weights, device, frame edits, boxes, stage timings, expert
        sync, caveat."""
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items())
        lines = [f"{self.output}: {self.n_frames} frames at {self.fps:g} fps, {self.audio_s:.2f} s of audio",
                 f"  {self.weights}; device {self.device}{' fp16' if self.fp16 else ''}, batch {self.batch_size}"]
        lines += [f"  frames: {self.edits.describe()}"] if self.edits.active else []
        lines.append(f"  {self._boxes_line()}; {stages}; {self.frames_per_s:.2f} frames/s overall")
        if self.sync is not None:
            lines.append(f"  expert sync confidence: mean {self.sync.mean:.3f} ({self.sync.weights})")
            lines += [f"  WARNING (sync score): {w}" for w in self.sync.warnings]
        if self.caveat:
            lines.append(f"  CAVEAT: {self.caveat}")
        return "\n".join(lines)


def _render(src: _Source, track: BoxTrack, mels: torch.Tensor, runner: BatchRunner, clock: _Clock,
            skip: set[int], keep: dict[str, list[np.ndarray]], progress: bool) -> Iterator[np.ndarray]:
    """Yield the output frames: crop → 6-channel input → generator → uint8 → paste back."""
    from .face import wav2lip_crop
    from .runtime import progress as progress_bar

    n_out, n_used = len(mels), len(track)
    frames = clock.timed("decode", _looped(src, n_used, n_out))
    step = runner.batch_size
    with progress_bar(total=n_out, desc="Wav2Lip", unit="frame", show=progress) as bar:
        for s in range(0, n_out, step):
            batch = [next(frames) for _ in range(min(step, n_out - s))]
            idx = np.arange(s, s + len(batch)) % n_used
            with clock("crop"):
                crops = np.stack([wav2lip_crop(f, track.boxes[j], pads=(0, 0, 0, 0))[0]
                                  for f, j in zip(batch, idx)])
                x = model_inputs(crops).contiguous(memory_format=torch.channels_last)
            with clock("generate"):
                faces = output_faces(runner(mels[s:s + len(batch)], x))
            if "in" in keep:
                keep["in"].append(crops)
            keep["out"].append(faces)
            with clock("paste"):
                out = [f if j in skip else paste_face(f, y, track.boxes[j]) for f, y, j in zip(batch, faces, idx)]
            bar.update(len(batch))
            yield from out


def lipsync(face: str | os.PathLike | np.ndarray, audio: Any, out: str | os.PathLike, *,
            weights: Weights = "wav2lip_gan", allow_untrained: bool = False, device: str = "auto",
            fp16: bool = False, batch_size: int | None = None, fps: float = 25.0,
            pads: tuple[int, int, int, int] = DEFAULT_PADS, detector: str = "auto", detect_every: int = 1,
            policy: str = "raise", smooth_window: int = 5, upsample: Upsample = "auto",
            box: Region | None = None, resize_factor: int = 1, crop: Region | None = None, rotate: bool = False,
            length: Literal["audio", "wav2lip"] = "audio", sync: bool = True,
            expert_weights: Weights = "wav2lip_expert", keep_crops: bool = False, overwrite: bool = False,
            progress: bool = True) -> LipSyncResult:
    """Lip-sync ``face`` (video/image path or RGB array) to ``audio`` and write ``out`` (H.264 + AAC).

    ``audio``: any file ffmpeg reads (a video's sound track too), ``(samples, sr)`` or a
    :class:`thglib.tts.Speech`; it is muxed at its own rate, and resampled to 16 kHz mono for the mel.
    ``fps`` applies to images and arrays (a video keeps its own rate).  ``batch_size`` defaults to
    128 on CUDA (as ``inference.py``), 16 on CPU; ``fp16`` enables CUDA autocast.  ``sync=True``
    also scores the output with the expert SyncNet (:class:`SyncConfidence`).  See the module
    docstring for the steps and :func:`face_boxes` for ``pads``/``detector``/``detect_every``/``policy``.

    As ``inference.py``'s options: ``resize_factor`` (int) downscales every frame first, ``rotate``
    turns it 90° clockwise, ``crop`` (top, bottom, left, right; -1 as bottom/right: the edge) cuts it
    (:class:`FrameEdits`; the output has the edited size); ``box`` (top, bottom, left, right, in the
    edited frame) is the face crop of every frame, and no detector is loaded.
    """
    from .audio import wav2lip_mel_windows, wav2lip_melspectrogram
    from .pipelines.mux import UNTRAINED_MARK, write_mp4
    from .runtime import device as pick_device

    from .validate import count, frame_rate

    if length not in ("audio", "wav2lip"):
        raise BadInputError("length", f"expected 'audio' or 'wav2lip', got {length!r}", "Use 'audio' or 'wav2lip'")
    count(batch_size, "batch_size", hi=4096, allow_none=True,
          fix="Pass a positive batch size (at most 4096), or None for 128 on CUDA / 16 on CPU")
    fps = frame_rate(fps, "fps")
    _check_pads(pads)
    if policy not in POLICIES:
        raise BadInputError("policy", f"unknown policy {policy!r}", f"Use one of {POLICIES}")
    count(detect_every, "detect_every", hi=10000)
    count(smooth_window, "smooth_window", hi=1000)
    upsample = check_upsample(upsample)
    _check_edit_args(box, resize_factor, crop, rotate)
    clock, dev = _Clock(), pick_device(device)
    dst = _check_out(out, overwrite, (face, audio))
    with clock("load"):
        src, edits = _edited_source(face, fps, resize_factor, rotate, crop)
        fixed = None if box is None else _region(box, "box", *edits.size, min_side=2)
        wav, sr, mono = _open_audio(audio)
        model, desc, caveat = load_generator(weights, device=dev, allow_untrained=allow_untrained)
    with clock("mel"):
        mel = wav2lip_melspectrogram(mono, 16000)
        n_out = (len(wav2lip_mel_windows(mel, src.fps)) if length == "wav2lip"
                 else _frames_for(len(mono), src.fps))
        mels = torch.from_numpy(wav2lip_mel_windows(mel, src.fps, n=n_out)[:, None])
    model = model.to(memory_format=torch.channels_last)  # NHWC convolutions: ~1.4x faster on CPU
    runner = BatchRunner(model, batch_size or (128 if dev.startswith("cuda") else 16), dev, fp16)
    n_used = min(src.n, n_out)
    with clock.exclusive("detect"):
        track = fixed_boxes(fixed, 1 if src.static else n_used, edits) if fixed is not None else face_boxes(
            clock.timed("decode", src.frames(1 if src.static else n_used)), pads=pads, detector=detector,
            detect_every=detect_every, policy=policy, smooth_window=smooth_window, upsample=upsample,
            source=src.name)
    keep: dict[str, list[np.ndarray]] = {"in": [], "out": []} if keep_crops else {"out": []}
    skip = set(track.missing) if policy == "skip" else set()
    with clock.exclusive("encode"):
        write_mp4(dst, _render(src, track, mels, runner, clock, skip, keep, progress), src.fps, audio=wav,
                  sample_rate=sr, overwrite=overwrite,
                  comment=caveat or (desc if isinstance(weights, str) and weights == MINI else None),
                  mark=UNTRAINED_MARK if caveat else None)
    faces_out = np.concatenate(keep["out"])
    score, caveats = None, [caveat] if caveat else []
    if sync:
        with clock("sync"):
            score, untrained = _score(faces_out, mels[:, 0].numpy(), src.fps, expert_weights, dev, allow_untrained)
        caveats += [untrained] if untrained else []
    return LipSyncResult(
        output=dst, n_frames=n_out, fps=src.fps, audio_s=len(mono) / 16000,
        frame_index=np.arange(n_out) % len(track), boxes=track, mel_windows=mels[:, 0].numpy(), weights=desc,
        device=dev, fp16=fp16, batch_size=runner.batch_size, timings=clock.t,
        caveat=" ".join(caveats) or None, sync=score, skipped=tuple(sorted(skip)),
        crops_in=np.concatenate(keep["in"]) if keep_crops else None, crops_out=faces_out if keep_crops else None,
        edits=edits, box=fixed, upsample=upsample, smooth_window=smooth_window)


def _edited_source(face: str | os.PathLike | np.ndarray, fps: float, resize_factor: int, rotate: bool,
                   crop: Region | None) -> tuple[_Source | _Edited, FrameEdits]:
    """The face source, wrapped so that its frames come out edited (when any edit was asked for)."""
    src = _open_face(face, fps)
    h, w = src.first().shape[:2]
    edits = frame_edits((w, h), resize_factor=resize_factor, rotate=rotate, crop=crop)
    return (_Edited(src, edits) if edits.active else src), edits


def _score(faces: np.ndarray, mels: np.ndarray, fps: float, weights: Weights, device: str,
           allow_untrained: bool) -> tuple[SyncConfidence, str | None]:
    """Expert SyncNet confidence of the output faces, labelled with the expert's weights (+ untrained caveat)."""
    try:
        expert, desc, untrained = load_expert(weights, device=device, allow_untrained=allow_untrained)
    except WeightsUnavailable as e:
        raise e.for_arg("expert_weights", ", or pass sync=False to skip the expert score "
                        "(or allow_untrained=True)") from None
    expert = expert.to(memory_format=torch.channels_last)
    warned = []
    if abs(fps - 25.0) > 0.01:
        warned.append(f"The expert was trained on 25 fps video; at {fps:g} fps its 5-frame windows span "
                      f"{5 / fps:.2f} s instead of 0.2 s.")
    notes = ([untrained] if untrained else []) + warned
    cos = expert_sync_confidence(expert, faces, mels, device=device)
    score = SyncConfidence(cosine=cos, start_frame=np.arange(len(cos)), fps=fps, weights=desc,
                           caveat=" ".join(notes) or None, warnings=tuple(warned))
    return score, untrained
