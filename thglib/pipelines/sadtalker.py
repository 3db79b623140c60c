"""SadTalker: one portrait plus speech → a talking head with expression, blinks and head motion.

Zhang et al., "SadTalker: Learning Realistic 3D Motion Coefficients for Stylized Audio-Driven Single
Image Talking Face Animation", CVPR 2023 (arXiv:2211.12194).  The stages follow ``inference.py`` of
https://github.com/OpenTalker/SadTalker and the files it calls (``src/utils/preprocess.py``,
``src/generate_batch.py``, ``src/test_audio2coeff.py``, ``src/generate_facerender_batch.py``,
``src/facerender/animate.py``, ``src/utils/paste_pic.py``), on the checkpoint-compatible ports of
:mod:`thglib.models.sadtalker`:

1. **face** (:func:`prepare_source`): the main face of the image (or of a video's first frame) and
   its 68 landmarks (:func:`thglib.pipelines.faces.main_face`); the FFHQ-style crop, resized to
   ``size × size`` (:mod:`~thglib.pipelines.sadtalker_crop`); landmarks again on the crop, the 224²
   alignment and the ResNet-50 regressor → 257 3DMM coefficients, of which SadTalker keeps 73
   (``coeff_3dmm``: expression 64, angles 3, translation 3, crop scale and shift 3);
2. **audio** (:func:`mel_windows`): 25 fps, ``T = ⌊samples / 640⌋`` frames, one 16-column window of
   Wav2Lip's mel spectrogram per frame starting 2 frames early (edges clamped);
3. **motion** (:func:`audio_to_motion`): ExpNet → 64 expression coefficients per frame from the
   window, the source expression and a blink ratio (random blinks, seedable here); PoseVAE →
   head pose (3 angles + 3 translations) in one of 46 styles from 32-frame windows and a random
   latent per window (seedable here), Savitzky–Golay smoothed; optional reference videos for the
   blinks (their expression) or the head motion (added relative to their first frame);
4. **render** (:func:`render`): per frame, a 27-frame window of coefficients → MappingNet → pose and
   keypoint offsets → driving keypoints; the face-vid2vid renderer warps the crop from the source to
   the driving keypoints (with an occlusion map) and decodes the frame;
5. **paste** and **mux**: ``crop`` keeps the animated crop; ``full`` Poisson-blends each frame back
   into the whole image; ``still`` is ``full`` with the source head pose (no head motion, no
   random blinks: ``inference.py --preprocess full --still``); H.264 + AAC
   (:func:`thglib.pipelines.mux.write_mp4`).

Differences from the official code, all deliberate: landmarks come from :mod:`thglib.face` (dlib's
68-point model offline, FAN online) where SadTalker runs its own 98-point WFLW FAN and maps it to 68
points, so crops can differ by a few pixels; where no face is found on the crop the image's
landmarks are mapped into it (the official falls back to the mean face); blinks and pose latents are
drawn from ``seed`` (upstream: unseeded ``random`` and ``torch.randn``); clips of fewer than 3
frames or of exactly 21, which crash the official code, run; the ``full`` paste-back scales the
box back when a very large image was shrunk, and pastes into the region the crop was actually cut
from; frames are rendered in batches of any size (upstream: 2) and written once, without the
intermediate crop video.  GFPGAN face enhancement is not included (optional and online-only
upstream; it would add a 330 MB download and a second network per frame).
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import BadInputError, MediaError, NoFaceError, UntrainedWeightsWarning, WeightsUnavailable
from ..models.fill import FillRecipe, fill_
from .faces import SEVERAL, FaceFit
from .media import StageTimings
from .sadtalker_crop import CropGeometry

__all__ = [
    "FPS", "SAMPLES_PER_FRAME", "SEMANTIC_RADIUS", "MODES", "SIZES", "NUM_POSE_STYLES", "UNTRAINED_FILL",
    "WEIGHTS", "MAPPING_WEIGHTS", "SadTalkerModels", "SourceFace", "MotionCoefficients", "RenderStages",
    "SadTalkerResult", "load_models", "prepare_source", "mel_windows", "blink_sequence", "audio_to_motion",
    "target_coefficients", "semantic_windows", "render", "animate", "keypoints_to_pixels",
]

FPS = 25.0  #: SadTalker's frame rate (its mel windows, PoseVAE and blinks assume it)
SAMPLES_PER_FRAME = 640  #: 16 kHz samples per frame at 25 fps
SEMANTIC_RADIUS = 13  #: MappingNet reads frames t-13 … t+13 (27)
MODES = ("crop", "full", "still")
SIZES = (128, 256, 384, 512)  #: renderer sides that its 5-level hourglasses divide; the weights are 256 (and 512)
NUM_POSE_STYLES = 46
MIN_SAMPLES = 3200  #: 0.2 s at 16 kHz (5 frames)
#: The deterministic fill used when the weights are unavailable and ``allow_untrained=True``: the
#: GAIN and BIAS of the fixtures ``tests/fixtures/sadtalker_<network>.json`` (checked against the
#: official code with exactly these weights).
UNTRAINED_FILL: dict[str, FillRecipe] = {
    "face_3drecon": FillRecipe(1.0, 0.1), "audio2exp": FillRecipe(1.0, 0.1), "audio2pose": FillRecipe(1.0, 0.1),
    "kp_extractor": FillRecipe(1.4, 0.1), "generator": FillRecipe(1.0, 1.0), "mapping_crop": FillRecipe(1.0, 0.1),
    "mapping_full": FillRecipe(1.0, 0.1),
}
#: Registry name of the single-file weights by renderer size (:mod:`thglib.weights`).
WEIGHTS = {256: "sadtalker_256", 512: "sadtalker_512"}
#: Registry name of the MappingNet file by kind: ``crop`` (mapping_00229, 70 coefficients) for the
#: crop mode, ``full`` (mapping_00109, 73: + crop parameters) for ``full`` and ``still``.
MAPPING_WEIGHTS = {"crop": "sadtalker_mapping_crop", "full": "sadtalker_mapping_full"}
_NETS = ("face_3drecon", "audio2exp", "audio2pose", "kp_extractor", "generator")
_LEGACY = {"face_3drecon": ("epoch_20.pth", "net_recon"), "audio2exp": ("auido2exp_00300-model.pth", "model"),
           "audio2pose": ("auido2pose_00140-model.pth", "model"),
           "kp_extractor": ("facevid2vid_00189-model.pth.tar", "kp_detector"),
           "generator": ("facevid2vid_00189-model.pth.tar", "generator")}


def _kind(mode: str) -> str:
    """MappingNet kind of a mode: ``crop`` or ``full`` (``full`` and ``still``)."""
    return "crop" if mode == "crop" else "full"


# --------------------------------------------------------------------------- weights
@dataclass(eq=False)
class SadTalkerModels:
    """The networks one run needs, in eval mode: the five of the safetensors file and the MappingNets.

    ``mapping`` holds the MappingNet per kind (``"crop"``: 70 coefficients, ``"full"``: 73).
    ``description`` says where the weights came from; ``caveat`` is set when any network is an
    untrained stand-in.
    """

    face_3drecon: nn.Module
    audio2exp: nn.Module
    audio2pose: nn.Module
    kp_extractor: nn.Module
    generator: nn.Module
    mapping: dict[str, nn.Module]
    description: str = ""
    caveat: str | None = None
    untrained: tuple[str, ...] = ()

    def to(self, device: str | torch.device) -> SadTalkerModels:
        """Move every network to ``device``; returns ``self``."""
        for name in _NETS:
            getattr(self, name).to(device)
        for m in self.mapping.values():
            m.to(device)
        return self

    def mapping_for(self, mode: str) -> nn.Module:
        kind = _kind(mode)
        if kind not in self.mapping:
            raise BadInputError("weights", f"holds no {kind} MappingNet (mode '{mode}')",
                                f"Load it with load_models(..., modes=('{mode}',)) or pass the weights by name")
        return self.mapping[kind]


_FILLED: dict[str, nn.Module] = {}


def _untrained(name: str, device: str) -> nn.Module:
    """The filled network ``name`` (built once per process on the CPU; a copy on other devices)."""
    from ..models import sadtalker as st

    if name not in _FILLED:
        build = {"face_3drecon": st.Face3DRecon, "audio2exp": st.ExpNet, "audio2pose": st.Audio2Pose,
                 "kp_extractor": st.KPDetector, "generator": st.OcclusionAwareSPADEGenerator,
                 "mapping_crop": st.MappingNet.crop, "mapping_full": st.MappingNet.full}[name]
        net = fill_(build().eval(), UNTRAINED_FILL[name])
        for p in net.parameters():
            p.requires_grad_(False)
        _FILLED[name] = net
    net = _FILLED[name]
    if next(net.parameters()).device.type != "cpu":  # a caller moved the shared copy: keep the cache on the CPU
        net = _FILLED[name] = copy.deepcopy(net).cpu()
    return net if str(device) == "cpu" else copy.deepcopy(net).to(device)


def _safetensors_in(folder: Path, size: int) -> Path | None:
    from ..models.sadtalker import SAFETENSORS_FILE

    for name in (SAFETENSORS_FILE.replace("_256", f"_{size}"), SAFETENSORS_FILE):
        if (folder / name).is_file():
            return folder / name
    found = sorted(folder.glob("*.safetensors"))
    return found[0] if found else None


def _resolve_main(weights: Any, size: int) -> tuple[str, Path | None, Path | None]:
    """``(description, safetensors file or None, legacy folder or None)``; WeightsUnavailable if absent."""
    from .. import weights as registry

    if isinstance(weights, str) and weights in WEIGHTS.values():
        return f"'{weights}'", registry.fetch(weights), None
    if not isinstance(weights, (str, os.PathLike)):
        raise BadInputError("weights", f"is {type(weights).__name__}",
                            "Pass 'sadtalker_256', a .safetensors file, a SadTalker checkpoints/ folder, "
                            "or load_models(...)")
    p = Path(weights).expanduser()
    if isinstance(weights, str) and not p.suffix and os.sep not in weights and not p.exists():
        raise BadInputError("weights", f"'{weights}' is not a SadTalker weights name",
                            f"Use one of {', '.join(WEIGHTS.values())}, a .safetensors file or a checkpoints/ folder")
    if p.is_dir():
        st = _safetensors_in(p, size)
        if st is not None:
            return f"file {st}", st, None
        if all((p / f).is_file() for f, _ in _LEGACY.values()):
            return f"old-version files in {p}", None, p
        raise BadInputError("weights", f"folder '{p}' holds neither SadTalker_V0.0.2_{size}.safetensors nor the "
                            "old-version .pth files", "Download the weights with `thg weights fetch sadtalker_256` "
                            "or SadTalker's scripts/download_models.sh")
    if not p.is_file():
        raise MediaError(p, "no such file", "Pass the path of SadTalker_V0.0.2_256.safetensors or of a checkpoints/ "
                         "folder, or weights='sadtalker_256' to download it")
    return f"file {p}", p, None


def _resolve_mapping(kind: str, near: Path | None) -> tuple[str, Path]:
    from .. import weights as registry
    from ..models.sadtalker import MAPPING_FILES

    if near is not None and (near / MAPPING_FILES[kind]).is_file():
        return f"file {near / MAPPING_FILES[kind]}", near / MAPPING_FILES[kind]
    return f"'{MAPPING_WEIGHTS[kind]}'", registry.fetch(MAPPING_WEIGHTS[kind])


def load_models(weights: Any = "sadtalker_256", *, modes: Sequence[str] = ("crop",), size: int = 256,
                device: str = "cpu", allow_untrained: bool = False) -> SadTalkerModels:
    """Every network a run in ``modes`` needs, loaded strictly, in eval mode on ``device``.

    ``weights``: ``"sadtalker_256"`` / ``"sadtalker_512"`` (registry: downloaded once, checked, cached),
    the path of ``SadTalker_V0.0.2_256.safetensors``, a SadTalker ``checkpoints/`` folder (the
    safetensors file, or the old-version ``.pth`` files), or a ready :class:`SadTalkerModels`.  The
    MappingNet files are taken from beside the safetensors file when they are there, else from the
    registry.  When a file cannot be had, :class:`~thglib.errors.WeightsUnavailable` is raised —
    unless ``allow_untrained=True``: the missing networks are then the deterministic fill
    :data:`UNTRAINED_FILL`, a loud :class:`~thglib.errors.UntrainedWeightsWarning` is issued and the
    result's ``caveat`` says so.
    """
    from ..models import sadtalker as st

    for m in modes:
        if m not in MODES:
            raise BadInputError("mode", f"is {m!r}", f"Use one of {', '.join(MODES)}")
    if isinstance(weights, SadTalkerModels):
        missing = [k for k in {_kind(m) for m in modes} if k not in weights.mapping]
        if missing:
            raise BadInputError("weights", f"holds no {', '.join(missing)} MappingNet",
                                f"Load the models with modes={tuple(modes)!r}")
        return weights.to(device)
    kinds = sorted({_kind(m) for m in modes})
    nets: dict[str, nn.Module] = {}
    mapping: dict[str, nn.Module] = {}
    where, why, untrained = [], [], []
    try:
        desc, st_file, legacy = _resolve_main(weights, size)
        if st_file is not None:
            loaded = st.load_sadtalker_safetensors(st_file, device=device)
            nets = {n: getattr(loaded, n) for n in _NETS}
        else:
            for n, (fname, key) in _LEGACY.items():
                build = {"face_3drecon": st.Face3DRecon, "audio2exp": st.ExpNet, "audio2pose": st.Audio2Pose,
                         "kp_extractor": st.KPDetector, "generator": st.OcclusionAwareSPADEGenerator}[n]
                nets[n] = st.load_torch_checkpoint(build(), legacy / fname, key, device=device)
        where.append(f"networks: {desc}")
        near = (st_file.parent if st_file is not None else legacy)
    except WeightsUnavailable as e:
        if not allow_untrained:
            raise e.for_arg("weights", " (a .safetensors file or a checkpoints/ folder), or pass "
                            "allow_untrained=True for an untrained stand-in") from None
        nets = {n: _untrained(n, device) for n in _NETS}
        untrained += list(_NETS)
        why.append(str(e))
        where.append("networks: UNTRAINED deterministic fill")
        near = None
    if isinstance(weights, (str, os.PathLike)) and near is None and Path(weights).expanduser().is_dir():
        near = Path(weights).expanduser()
    for kind in kinds:
        try:
            desc, path = _resolve_mapping(kind, near)
            mapping[kind] = st.load_mapping(path, full=kind == "full", device=device)
            where.append(f"{kind} MappingNet: {desc}")
        except WeightsUnavailable as e:
            if not allow_untrained:
                raise e.for_arg("weights", f" (a checkpoints/ folder holding {st.MAPPING_FILES[kind]}), or pass "
                                "allow_untrained=True") from None
            mapping[kind] = _untrained(f"mapping_{kind}", device)
            untrained.append(f"mapping_{kind}")
            why.append(str(e))
            where.append(f"{kind} MappingNet: UNTRAINED deterministic fill")
    for net in [*nets.values(), *mapping.values()]:
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
    caveat = None
    if untrained:
        caveat = (f"UNTRAINED WEIGHTS — SadTalker: {', '.join(untrained)} could not be obtained, so a deterministic "
                  "fill (thglib.models.fill, the recipes of the sadtalker fixtures) stands in. Every stage runs, "
                  "but nothing it produces is SadTalker's: the face is not animated by the speech.")
        warnings.warn(f"{caveat} Why: {why[0]}", UntrainedWeightsWarning, stacklevel=2)
    return SadTalkerModels(**nets, mapping=mapping, description="; ".join(where), caveat=caveat,
                           untrained=tuple(untrained))


# --------------------------------------------------------------------------- 1. source face
@dataclass(frozen=True, eq=False)
class SourceFace:
    """The portrait as SadTalker sees it.

    ``image``: the source frame; ``face``: its main face and 68 landmarks; ``geometry``: the crop;
    ``crop``: the ``size × size`` renderer input; ``crop_points``: the landmarks the 3DMM alignment
    used, in crop pixels (68, or the mean face's 5 when nothing else was found), and where they came
    from (``crop_points_from``: ``"detected"`` on the crop, ``"mapped"`` from the image, ``"template"``);
    ``aligned``: the 224² regressor input; ``trans_params``: ``[w0, h0, s, tx, ty]``; ``coeffs``: the
    257 coefficients; ``coeff_3dmm``: SadTalker's 73 (exp 64, angle 3, trans 3, s tx ty).
    """

    image: np.ndarray
    face: FaceFit
    geometry: CropGeometry
    crop: np.ndarray
    crop_points: np.ndarray
    crop_points_from: str
    aligned: np.ndarray
    trans_params: np.ndarray
    coeffs: np.ndarray
    coeff_3dmm: np.ndarray

    @property
    def size(self) -> int:
        return int(self.crop.shape[0])


def _crop_points(crop: np.ndarray, mapped: np.ndarray, landmarks: str) -> tuple[np.ndarray, str]:
    """Landmarks re-detected on the crop as ``preprocess.py`` does, else the image's mapped into it."""
    from .faces import main_face

    try:
        fit = main_face(crop, landmarks=landmarks, several="largest", source="face crop")
        return fit.points.astype(np.float64), "detected"
    except NoFaceError:
        return mapped, "mapped"


def _coefficients(crop: np.ndarray, points: np.ndarray, net: nn.Module,
                  device: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(trans_params, aligned 224², coeffs 257, coeff_3dmm 73)`` of one ``size × size`` crop."""
    from .sadtalker_crop import align_img

    h = crop.shape[0]
    lm = np.asarray(points, np.float64).copy()
    if len(lm) == 68:
        lm[:, 1] = h - 1 - lm[:, 1]  # preprocess.py: y up
    trans, aligned, _ = align_img(crop, lm)
    x = torch.from_numpy(aligned.astype(np.float32) / np.float32(255.0)).permute(2, 0, 1)[None].to(device)
    with torch.no_grad():
        full = net(x).float().cpu().numpy()[0]
    c3 = np.concatenate([full[80:144], full[224:227], full[254:257], trans[2:]]).astype(np.float32)
    return trans, aligned, full.astype(np.float32), c3


def prepare_source(image: np.ndarray, models: SadTalkerModels, *, size: int = 256, detector: str = "auto",
                   landmarks: str = "auto", upsample: int = 1, several: str = "largest", device: str = "cpu",
                   source: str = "image") -> SourceFace:
    """Stage 1: face, landmarks, crop and 3DMM coefficients of an RGB portrait (see the module docstring)."""
    from .faces import main_face
    from .sadtalker_crop import align_face, crop_landmarks, cut_face, template_landmarks

    img = np.ascontiguousarray(image)
    face = main_face(img, detector=detector, landmarks=landmarks, upsample=upsample, several=several, source=source)
    geom = align_face(face.points, (img.shape[1], img.shape[0]))
    crop = cut_face(img, geom, size)
    points, origin = _crop_points(crop, crop_landmarks(face.points, geom, size), landmarks)
    if not np.isfinite(points).all():
        points, origin = template_landmarks(size, size), "template"
    trans, aligned, full, c3 = _coefficients(crop, points, models.face_3drecon, device)
    return SourceFace(image=img, face=face, geometry=geom, crop=crop, crop_points=points.astype(np.float32),
                      crop_points_from=origin, aligned=aligned, trans_params=trans, coeffs=full, coeff_3dmm=c3)


def reference_coefficients(video: Any, models: SadTalkerModels, *, size: int = 256, detector: str = "auto",
                           landmarks: str = "auto", upsample: int = 1, device: str = "cpu",
                           name: str = "ref_pose") -> np.ndarray:
    """``(T, 73)`` ``coeff_3dmm`` of every frame of a reference video (its first frame decides the crop)."""
    from .faces import main_face
    from .media import open_face
    from .sadtalker_crop import align_face, crop_landmarks, cut_face

    src = open_face(video, FPS, name=name)
    rows, geom, first = [], None, None
    for frame in src.frames(src.n):
        if geom is None:
            first = main_face(frame, detector=detector, landmarks=landmarks, upsample=upsample, source=name)
            geom = align_face(first.points, (frame.shape[1], frame.shape[0]))
        crop = cut_face(frame, geom, size)
        points, _ = _crop_points(crop, crop_landmarks(first.points, geom, size), landmarks)
        rows.append(_coefficients(crop, points, models.face_3drecon, device)[3])
    if not rows:
        raise BadInputError(name, "has no frames", "Pass a video of a talking face")
    return np.stack(rows)


# --------------------------------------------------------------------------- 2. audio
def n_frames_for(n_samples: int) -> int:
    """``generate_batch.py``: ``T = int(samples / 640)`` frames of 16 kHz audio."""
    return int(n_samples / SAMPLES_PER_FRAME)


def mel_windows(mono16k: np.ndarray) -> np.ndarray:
    """``(T, 80, 16)`` mel windows, one per 25 fps frame, as ``generate_batch.py`` ``get_data`` cuts them.

    The audio is cut or zero-padded to ``T·640`` samples; its Wav2Lip mel spectrogram
    (:func:`thglib.audio.wav2lip_melspectrogram`, 80 columns per second) gives window ``i`` the
    columns ``int(80·(i − 2)/25) … +15``, each clamped to the spectrogram.
    """
    from ..audio import wav2lip_melspectrogram

    x = np.asarray(mono16k, np.float32)
    t = n_frames_for(len(x))
    if t < 1:
        raise BadInputError("audio", f"has {len(x)} samples, less than one frame", "Pass at least 0.2 s of speech")
    n = t * SAMPLES_PER_FRAME
    x = x[:n] if len(x) >= n else np.pad(x, (0, n - len(x)))
    mel = wav2lip_melspectrogram(x, 16000)  # (80, columns)
    starts = np.array([int(80.0 * ((i - 2) / FPS)) for i in range(t)])
    idx = np.clip(starts[:, None] + np.arange(16)[None], 0, mel.shape[1] - 1)
    return np.ascontiguousarray(mel[:, idx].transpose(1, 0, 2)).astype(np.float32)


def blink_sequence(n_frames: int, rng: np.random.Generator) -> np.ndarray:
    """``generate_blink_seq_randomly``: ``(T,)`` eye-blink ratios, 5-frame blinks ``[.5, .9, 1, .9, .5]``
    starting a random 10 … min(T/2, 70) − 1 frames after the previous one (none for T ≤ 20).

    Drawn from ``rng`` (upstream: Python's unseeded ``random``).  Where the official draw range is
    empty (T = 21, where it raises) there is no blink.
    """
    ratio = np.zeros(n_frames, np.float32)
    if n_frames <= 20:
        return ratio
    lo, hi = min(10, n_frames), min(int(n_frames / 2), 70)
    frame_id = 0
    while frame_id < n_frames and hi > lo:
        start = int(rng.integers(lo, hi))
        if frame_id + start + 5 > n_frames - 1:
            break
        ratio[frame_id + start:frame_id + start + 5] = [0.5, 0.9, 1.0, 0.9, 0.5]
        frame_id += start + 5
    return ratio


@dataclass(frozen=True, eq=False)
class MotionCoefficients:
    """What speech becomes: per frame 64 expression coefficients and a 6-D head pose.

    ``exp`` (T, 64) from ExpNet; ``pose_raw`` (T, 6) from PoseVAE (angles yaw/pitch/roll in radians,
    then translation) and ``pose`` after smoothing (and a reference video's motion); ``blink`` (T,)
    the eye-blink ratio fed to ExpNet; ``z`` the PoseVAE latent of each window; ``seed`` the seed
    that drew blinks and latents (``None``: caller-supplied).
    """

    exp: np.ndarray
    pose_raw: np.ndarray
    pose: np.ndarray
    blink: np.ndarray
    z: np.ndarray
    pose_style: int
    seed: int | None

    @property
    def coeffs(self) -> np.ndarray:
        """``(T, 70)``: ``[exp 64, pose 6]``, what ``test_audio2coeff.py`` saves."""
        return np.concatenate([self.exp, self.pose], axis=1).astype(np.float32)

    @property
    def n_frames(self) -> int:
        return len(self.exp)


def _tiled(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` repeated along time and cut to ``n`` rows (``generate_batch.py`` / ``using_refpose``)."""
    reps = -(-n // len(x))
    return np.concatenate([x] * reps)[:n]


def _pose(models: SadTalkerModels, mels: torch.Tensor, ref: torch.Tensor, style: int,
          gen: torch.Generator) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``Audio2Pose.test`` for any T: (1, T, 6) pose and the latents drawn."""
    from ..models.sadtalker.audio2pose import LATENT_SIZE, SEQ_LEN

    t = mels.shape[1]
    net = models.audio2pose
    if t < 2:  # no window after the reference frame: the reference pose throughout
        return ref[:, :1, -6:].repeat(1, t, 1), []
    if t - 1 < SEQ_LEN:
        # the official pads the audio embeddings of a short clip at the front with the first one; the
        # encoder works frame by frame, so repeating that mel window is the same
        pad = SEQ_LEN + 1 - t
        padded = torch.cat([mels[:, :1], mels[:, 1:2].repeat(1, pad, 1, 1, 1), mels[:, 1:]], dim=1)
        z = [torch.randn(1, LATENT_SIZE, generator=gen).to(mels)]
        out = net.test(padded, ref, style, z=z)
        return torch.cat([out[:, :1], out[:, -(t - 1):]], dim=1), z
    z = [torch.randn(1, LATENT_SIZE, generator=gen).to(mels) for _ in net.windows(t)]
    return net.test(mels, ref, style, z=z), z


def audio_to_motion(mels: np.ndarray, source_coeff: np.ndarray, models: SadTalkerModels, *, pose_style: int = 0,
                    blink: bool | np.ndarray = True, ref_blink: np.ndarray | None = None,
                    ref_pose: np.ndarray | None = None, still: bool = False, seed: int | None = 0,
                    device: str = "cpu") -> MotionCoefficients:
    """Stage 3: ExpNet and PoseVAE on the mel windows (``Audio2Coeff.generate``).

    ``source_coeff``: the portrait's ``coeff_3dmm`` (≥ 70 values).  ``blink``: random blinks
    (``True``), none (``False``), or a ``(T,)`` ratio.  ``ref_blink`` / ``ref_pose``: ``(T', ≥ 64)``
    / ``(T', ≥ 70)`` coefficients of reference videos (:func:`reference_coefficients`): the first gives
    the per-frame expression reference with blinks off, the second adds its head motion relative to its
    first frame.  ``still`` turns the blinks off, as ``inference.py --still`` does.  ``seed`` draws the
    blinks and the PoseVAE latents.
    """
    from ..models.sadtalker import smooth_pose
    from ..validate import count, finite

    m = finite(mels, "mels", dtype=np.float32)
    if m.ndim != 3 or m.shape[1:] != (80, 16) or len(m) < 1:
        raise BadInputError("mels", f"expected (T, 80, 16) windows, got {m.shape}", "Use mel_windows(audio)")
    t = len(m)
    src = finite(source_coeff, "source_coeff", dtype=np.float32).reshape(-1)
    if len(src) < 70:
        raise BadInputError("source_coeff", f"has {len(src)} values", "Pass the portrait's coeff_3dmm (73 values)")
    count(pose_style, "pose_style", lo=0, hi=NUM_POSE_STYLES - 1)
    seeds = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(seeds[0])
    gen = torch.Generator().manual_seed(int(seeds[1].generate_state(1, np.uint64)[0] >> np.uint64(1)))

    if isinstance(blink, np.ndarray):
        ratio = finite(blink, "blink", dtype=np.float32).reshape(-1)
        if len(ratio) != t:
            raise BadInputError("blink", f"has {len(ratio)} values for {t} frames", "Pass one ratio per frame")
    elif blink is True or blink is False:
        ratio = blink_sequence(t, rng) if blink else np.zeros(t, np.float32)
    else:
        raise BadInputError("blink", f"is {blink!r}", "Pass True, False or a (T,) array of ratios in [0, 1]")
    ref_exp = np.repeat(src[None, :64], t, axis=0)
    if ref_blink is not None:
        rb = finite(ref_blink, "ref_blink", dtype=np.float32)
        if rb.ndim != 2 or rb.shape[1] < 64:
            raise BadInputError("ref_blink", f"expected (T, >= 64) coefficients, got {rb.shape}",
                                "Use reference_coefficients(video)")
        ratio = np.zeros(t, np.float32)
        ref_exp = _tiled(rb[:, :64], t)
    if still:
        ratio = np.zeros(t, np.float32)

    x = torch.from_numpy(m)[:, None].to(device)  # (T, 1, 80, 16)
    with torch.no_grad():
        exp = torch.cat([models.audio2exp(x[i:i + 200], torch.from_numpy(ref_exp[None, i:i + 200]).to(device),
                                          torch.from_numpy(ratio[None, i:i + 200, None]).to(device))[0]
                         for i in range(0, t, 200)]).float().cpu().numpy()
        ref = torch.from_numpy(np.repeat(src[None, None, :70], t, axis=1)).to(device)
        pose_t, z = _pose(models, x[None], ref, int(pose_style), gen)
    pose_raw = pose_t.float().cpu().numpy()
    pose = smooth_pose(pose_raw)[0] if t >= 3 else pose_raw[0]
    pose = pose.astype(np.float32)
    if ref_pose is not None:
        rp = finite(ref_pose, "ref_pose", dtype=np.float32)
        if rp.ndim != 2 or rp.shape[1] < 70:
            raise BadInputError("ref_pose", f"expected (T, >= 70) coefficients, got {rp.shape}",
                                "Use reference_coefficients(video)")
        rp = _tiled(rp[:, 64:70], t)
        pose = pose + (rp - rp[:1])
    zs = torch.cat(z).cpu().numpy() if z else np.zeros((0, 64), np.float32)
    return MotionCoefficients(exp=exp.astype(np.float32), pose_raw=pose_raw[0].astype(np.float32), pose=pose,
                              blink=ratio, z=zs, pose_style=int(pose_style), seed=seed)


# --------------------------------------------------------------------------- 4. render
def target_coefficients(motion: MotionCoefficients, source_coeff: np.ndarray, mode: str = "crop", *,
                        still: bool | None = None, expression_scale: float = 1.0) -> np.ndarray:
    """``get_facerender_data``: the ``(T, 70 | 73)`` coefficients the MappingNet reads per frame.

    Expression scaled by ``expression_scale``; the ``full`` kinds append the source crop parameters;
    ``still`` (default: ``mode == "still"``) replaces pose (and crop parameters) by the source's.
    """
    src = np.asarray(source_coeff, np.float32).reshape(-1)
    still = mode == "still" if still is None else bool(still)
    gen = motion.coeffs.copy()
    gen[:, :64] *= np.float32(expression_scale)
    c = 70 if _kind(mode) == "crop" else 73
    if c == 73:
        gen = np.concatenate([gen, np.repeat(src[None, 70:73], len(gen), axis=0)], axis=1)
    if still:
        gen[:, 64:] = src[None, 64:c]
    return gen


def semantic_windows(coeffs: np.ndarray, radius: int = SEMANTIC_RADIUS) -> np.ndarray:
    """``transform_semantic_target`` for every frame: ``(T, C, 2·radius + 1)``, rows clamped to the clip."""
    c = np.asarray(coeffs, np.float32)
    t = len(c)
    idx = np.clip(np.arange(t)[:, None] + np.arange(-radius, radius + 1)[None], 0, t - 1)
    return np.ascontiguousarray(c[idx].transpose(0, 2, 1))


@dataclass(eq=False)
class RenderStages:
    """What the renderer saw and made: keypoints (x, y, z in the [-1, 1] frame of the crop) and occlusion.

    ``kp_canonical`` (15, 3) of the source; ``kp_source`` (15, 3) posed as the source; ``kp_driving``
    (T, 15, 3) per frame; ``occlusion`` (T, h, w) float16 in [0, 1] (64² for a 256² renderer);
    ``frames`` (T, size, size, 3) uint8 rendered crops when kept.
    """

    kp_canonical: np.ndarray
    kp_source: np.ndarray
    kp_driving: list[np.ndarray] = field(default_factory=list)
    occlusion: list[np.ndarray] = field(default_factory=list)
    frames: list[np.ndarray] | None = None

    def stacked(self) -> RenderStages:
        """The per-frame lists as arrays."""
        cat = (lambda x: np.concatenate(x) if isinstance(x, list) and x else x)
        return RenderStages(self.kp_canonical, self.kp_source, cat(self.kp_driving), cat(self.occlusion),
                            cat(self.frames) if self.frames is not None else None)


def keypoints_to_pixels(kp: np.ndarray, size: int) -> np.ndarray:
    """Renderer keypoints (x, y in [-1, 1]) → crop pixels ``(x + 1) / 2 · size``, ``(y + 1) / 2 · size``."""
    return (np.asarray(kp)[..., :2] + 1.0) / 2.0 * size


def render(source: SourceFace, targets: np.ndarray, models: SadTalkerModels, mode: str = "crop", *,
           batch_size: int = 2, device: str = "cpu", fp16: bool = False, stages: RenderStages | None = None,
           keep_frames: bool = False, progress: bool = False, runner: Any = None) -> Iterator[np.ndarray]:
    """Stage 4: yield the ``size × size`` RGB uint8 rendered crop of every frame (``make_animation``).

    ``targets``: :func:`target_coefficients`.  Frames are independent given their coefficient windows,
    so they go through :class:`~thglib.pipelines.batching.BatchRunner` in batches of ``batch_size``
    (halved on CUDA out-of-memory; ``fp16`` autocast); pass ``runner`` (a ``BatchRunner``, whose
    function is replaced) to read its batch size afterwards.  ``stages`` (a :class:`RenderStages`,
    filled in place) collects keypoints and occlusion maps, and the frames with ``keep_frames``.
    """
    from ..models.sadtalker import keypoint_transformation
    from ..runtime import progress as progress_bar
    from .batching import BatchRunner

    mapping = models.mapping_for(mode)
    c = 70 if _kind(mode) == "crop" else 73
    tg = np.asarray(targets, np.float32)
    if tg.ndim != 2 or tg.shape[1] != c:
        raise BadInputError("targets", f"expected (T, {c}) coefficients for mode '{mode}', got {tg.shape}",
                            "Use target_coefficients(motion, source.coeff_3dmm, mode)")
    src_img = torch.from_numpy(source.crop.astype(np.float32) / np.float32(255.0)).permute(2, 0, 1)[None].to(device)
    src_sem = torch.from_numpy(np.repeat(source.coeff_3dmm[None, :c, None], 2 * SEMANTIC_RADIUS + 1, axis=2)).to(device)
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16, enabled=fp16):
        kp_canonical = models.kp_extractor(src_img)["value"].float()
        kp_source = keypoint_transformation(kp_canonical, mapping(src_sem))["value"].float()
    if stages is not None:
        stages.kp_canonical = kp_canonical[0].cpu().numpy()
        stages.kp_source = kp_source[0].cpu().numpy()
        if keep_frames and stages.frames is None:
            stages.frames = []

    def step(win: torch.Tensor) -> dict[str, torch.Tensor]:
        b = len(win)
        kp_d = keypoint_transformation(kp_canonical.expand(b, -1, -1), mapping(win))["value"]
        out = models.generator(src_img.expand(b, -1, -1, -1), kp_driving=kp_d,
                               kp_source=kp_source.expand(b, -1, -1))
        return {"prediction": out["prediction"], "occlusion": out["occlusion_map"][:, 0], "kp": kp_d}

    run = runner or BatchRunner(step, batch_size, device, fp16)
    run.fn = step
    windows = torch.from_numpy(semantic_windows(tg))
    t = len(windows)
    with progress_bar(total=t, desc="SadTalker", unit="frame", show=progress) as bar:
        s = 0
        while s < t:
            n = min(run.batch_size, t - s)
            res = run(windows[s:s + n])
            frames = np.rint(res["prediction"].clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)
            if stages is not None:
                stages.kp_driving.append(res["kp"].numpy())
                stages.occlusion.append(res["occlusion"].numpy().astype(np.float16))
                if stages.frames is not None:
                    stages.frames.append(frames)
            bar.update(n)
            s += n
            yield from frames


def _even(n: float) -> int:
    return max(2, int(round(n / 2)) * 2)


def _crop_output(frame: np.ndarray, geom: CropGeometry, size: int) -> np.ndarray:
    """``animate.py``: the rendered crop resized to ``(size, size · h / w)`` of the crop box (height made even)."""
    import cv2

    x0, y0, x1, y1 = geom.region
    h = _even(size * (y1 - y0) / (x1 - x0))
    return frame if h == frame.shape[0] else cv2.resize(frame, (size, h))


def _pad_even(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    return img if not (h % 2 or w % 2) else np.pad(img, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


# --------------------------------------------------------------------------- the whole pipeline
@dataclass(frozen=True, eq=False)
class SadTalkerResult(StageTimings):
    """What :func:`animate` did: the output file, every stage's result, timings, weights and caveats."""

    output: Path
    n_frames: int
    fps: float
    audio_s: float
    mode: str
    still: bool
    size: int
    weights: str
    device: str
    fp16: bool
    batch_size: int
    seed: int | None
    pose_style: int
    expression_scale: float
    timings: dict[str, float]
    source: SourceFace
    motion: MotionCoefficients
    targets: np.ndarray
    stages: RenderStages
    mel_windows: np.ndarray
    caveat: str | None = None
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        """Human-readable report: output, frames, mode, weights, device, face backends, timings, notes, caveat."""
        stages = ", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items())
        f = self.source.face
        lines = [f"{self.output}: {self.n_frames} frames at {self.fps:g} fps, {self.audio_s:.2f} s of audio; "
                 f"mode {self.mode}{' (still pose)' if self.still and self.mode != 'still' else ''}, renderer "
                 f"{self.size}x{self.size}",
                 f"  {self.weights}; device {self.device}{' fp16' if self.fp16 else ''}, batch {self.batch_size}; "
                 f"seed {self.seed}, pose style {self.pose_style}, expression scale {self.expression_scale:g}",
                 f"  face: detector {f.detector}, landmarks {f.landmarker} (68 points; SadTalker's own is a 98-point "
                 f"FAN); crop landmarks {self.source.crop_points_from}",
                 f"  {stages}; {self.frames_per_s:.2f} frames/s overall"]
        lines += [f"  NOTE: {n}" for n in self.notes]
        if self.caveat:
            lines.append(f"  CAVEAT: {self.caveat}")
        return "\n".join(lines)


def _check_options(mode: str, size: int, pose_style: int, expression_scale: float, batch_size: int | None,
                   seed: int | None, several: str, still: bool | None) -> None:
    from ..validate import count, number, one_of

    one_of(mode, "mode", MODES, fix=f"Use one of {', '.join(MODES)}")
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size not in SIZES:
        raise BadInputError("size", f"is {size!r}", "Use 256 (the weights' size) or 512; 128 for quick offline runs")
    count(pose_style, "pose_style", lo=0, hi=NUM_POSE_STYLES - 1,
          fix=f"Pass a pose style (an integer 0 … {NUM_POSE_STYLES - 1})")
    number(expression_scale, "expression_scale", lo=0, hi=10, fix="Pass a factor in 0..10 (1 = as predicted)")
    count(batch_size, "batch_size", hi=1024, allow_none=True,
          fix="Pass a positive batch size (at most 1024), or None for 8 on CUDA / 2 on CPU")
    if seed is not None:
        count(seed, "seed", lo=0, hi=2**63 - 1, fix="Pass a non-negative integer seed, or None for a fresh one")
    one_of(several, "several", SEVERAL)
    if still is not None and not isinstance(still, (bool, np.bool_)):
        raise BadInputError("still", f"is {still!r}", "Pass True, False or None (None: mode == 'still')")


def animate(image: str | os.PathLike | np.ndarray, audio: Any, out: str | os.PathLike, *, mode: str = "crop",
            still: bool | None = None, weights: Any = None, allow_untrained: bool = False, size: int = 256,
            device: str = "auto", fp16: bool = False, batch_size: int | None = None, pose_style: int = 0,
            expression_scale: float = 1.0, blink: bool = True, ref_blink: Any = None, ref_pose: Any = None,
            seed: int | None = 0, detector: str = "auto", landmarks: str = "auto", upsample: int = 1,
            several: str = "largest", keep_frames: bool = False, overwrite: bool = False,
            progress: bool = True) -> SadTalkerResult:
    """Animate the portrait ``image`` with ``audio`` and write ``out`` (H.264 + AAC, 25 fps).

    ``image``: an image file, a video (its first frame is used) or an RGB array.  ``audio``: any
    file ffmpeg reads, ``(samples, sr)`` or a :class:`thglib.tts.Speech` (resampled to 16 kHz for the
    model, muxed at its own rate, cut to the ``⌊duration · 25⌋`` frames).  ``mode``: ``"crop"``
    (the animated face crop), ``"full"`` (pasted back into the whole image) or ``"still"`` (``full``
    without head motion); ``still=True`` also keeps the source pose in ``crop`` mode.  ``weights``:
    see :func:`load_models` (default ``"sadtalker_256"``, ``"sadtalker_512"`` for ``size=512``).
    ``pose_style`` 0…45 picks PoseVAE's style; ``expression_scale`` scales the expression;
    ``blink=False`` turns random blinks off; ``ref_blink`` / ``ref_pose``: videos whose expression
    (blinks) or head motion to use.  ``seed`` (``None``: a fresh one, reported) draws blinks and pose
    latents: the same seed gives the same video.  ``batch_size`` defaults to 8 on CUDA, 2 on CPU;
    ``fp16`` enables CUDA autocast.  ``several``: ``"largest"`` animates the largest of several
    faces (noted), ``"refuse"`` stops.  ``keep_frames`` keeps the rendered crops on the result.
    """
    from ..runtime import device as pick_device
    from .batching import BatchRunner
    from .media import Clock, check_out, open_audio, open_face
    from .mux import UNTRAINED_MARK, trim_audio, write_mp4
    from .paste import seamless_paste

    _check_options(mode, size, pose_style, expression_scale, batch_size, seed, several, still)
    if blink is not True and blink is not False:
        raise BadInputError("blink", f"is {blink!r}", "Pass True or False (or use audio_to_motion for custom ratios)")
    dev = pick_device(device)
    if fp16 and not dev.startswith("cuda"):
        raise BadInputError("fp16", "half-precision autocast needs a CUDA device", "Use fp16=False on CPU")
    still_pose = mode == "still" if still is None else bool(still)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**63)
    clock = Clock()
    dst = check_out(out, overwrite, (image, audio, ref_blink, ref_pose))
    notes: list[str] = []
    with clock("load"):
        src = open_face(image, FPS, name="image")
        if not src.static:
            notes.append(f"{src.name} is a video: its first frame is animated")
        wav, sr, mono = open_audio(audio, model="SadTalker", min_samples=MIN_SAMPLES, stacklevel=4)
        frame = src.first()
        models = load_models(weights if weights is not None else WEIGHTS.get(size, "sadtalker_256"), modes=(mode,),
                             size=size, device=dev, allow_untrained=allow_untrained)
    with clock("face"):
        source = prepare_source(frame, models, size=size, detector=detector, landmarks=landmarks, upsample=upsample,
                                several=several, device=dev, source=src.name)
        if source.face.note:
            notes.append(source.face.note)
        refs = {}
        for name, video in (("ref_blink", ref_blink), ("ref_pose", ref_pose)):
            if video is not None:
                refs[name] = reference_coefficients(video, models, size=size, detector=detector, landmarks=landmarks,
                                                    upsample=upsample, device=dev, name=name)
    with clock("mel"):
        mels = mel_windows(mono)
    with clock("motion"):
        motion = audio_to_motion(mels, source.coeff_3dmm, models, pose_style=pose_style, blink=blink,
                                 ref_blink=refs.get("ref_blink"), ref_pose=refs.get("ref_pose"),
                                 still=still_pose, seed=seed, device=dev)
        targets = target_coefficients(motion, source.coeff_3dmm, mode, still=still_pose,
                                      expression_scale=expression_scale)
    runner = BatchRunner(lambda x: x, batch_size or (8 if dev.startswith("cuda") else 2), dev, fp16)
    stages = RenderStages(np.zeros((15, 3), np.float32), np.zeros((15, 3), np.float32),
                          frames=[] if keep_frames else None)
    geom = source.geometry
    full_img = _pad_even(source.image)

    def frames() -> Iterator[np.ndarray]:
        rendered = clock.timed("render", render(source, targets, models, mode, device=dev, fp16=fp16, stages=stages,
                                                keep_frames=keep_frames, progress=progress, runner=runner))
        for f in rendered:
            with clock("paste"):
                if mode == "crop":
                    out_f = _crop_output(f, geom, size)
                else:
                    out_f = seamless_paste(full_img, f, geom.box)
            yield out_f

    n = motion.n_frames
    clip = trim_audio(wav, sr, n / FPS)
    with clock.exclusive("encode"):
        write_mp4(dst, frames(), FPS, audio=clip, sample_rate=sr, overwrite=overwrite, comment=models.caveat,
                  mark=UNTRAINED_MARK if models.caveat else None)
    return SadTalkerResult(
        output=dst, n_frames=n, fps=FPS, audio_s=len(mono) / 16000, mode=mode, still=still_pose, size=size,
        weights=models.description, device=dev, fp16=fp16, batch_size=runner.batch_size, seed=seed,
        pose_style=int(pose_style), expression_scale=float(expression_scale), timings=clock.t, source=source,
        motion=motion, targets=targets, stages=stages.stacked(), mel_windows=mels, caveat=models.caveat,
        notes=tuple(notes))
