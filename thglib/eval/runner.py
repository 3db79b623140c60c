"""The per-clip evaluation job and the set-level reduction behind ``thg eval``.

:func:`collect_jobs` pairs generated clips with references and audio (files, folders paired by file
stem, or a manifest CSV with columns ``gen,ref,audio,id``). :func:`evaluate_clip` decodes each clip
once, resampled to the protocol's frame and audio rates (logged), finds the landmarks once, aligns
(:mod:`thglib.eval.align`) and runs every requested metric of :mod:`thglib.metrics` with the
arguments its :class:`~thglib.metrics.protocols.EvalProtocol` fixes. A metric that cannot run (no face,
silent or missing audio, unavailable weights) gets NaN and its reason; a clip that cannot be read gets a
failed row; the run goes on. Set-level metrics (FID/KID over the frame features, IS) are reduced by
:func:`reduce_set` from the per-clip feature files, never by re-reading the videos.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import threading
import time
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import BadInputError, THGError
from ..metrics.card import MetricResult, ProtocolCard, library_versions
from ..memo import ContentMemo
from ..metrics.protocols import EvalProtocol

__all__ = ["FORMAT", "DYNAMICS", "TRACK_METRICS", "NO_REFERENCE", "FULL_REFERENCE", "SET_LEVEL", "METRICS", "ClipJob", "EvalConfig",
           "collect_jobs", "evaluate_clip", "reduce_set", "fingerprint", "jsonable"]

FORMAT = "thg-eval/1"
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a")
#: metric keys by kind; keys are also the CSV column stems
#: THEval's no-reference dynamics (:mod:`thglib.metrics.dynamics`), from the generated landmark track
DYNAMICS = ("lip_dynamics", "eyebrow_dynamics", "head_motion_dynamics", "silent_lip_stability", "lip_sync_energy")
NO_REFERENCE = ("lse", "cpbd", "pose_diversity", "beat_align", *DYNAMICS)
#: metrics computed from the generated landmark track
TRACK_METRICS = ("pose_diversity", "beat_align", *DYNAMICS)
FULL_REFERENCE = ("psnr", "ssim", "ms_ssim", "lpips", "csim", "lmd")
SET_LEVEL = ("fid", "kid", "is")
METRICS = NO_REFERENCE + FULL_REFERENCE + SET_LEVEL


@dataclass(frozen=True)
class ClipJob:
    """One clip to evaluate: its ``id`` (file stem unless given) and paths (``ref``/``audio`` optional)."""

    id: str
    gen: str
    ref: str | None = None
    audio: str | None = None


@dataclass(frozen=True)
class EvalConfig:
    """What every job of a run shares. ``threads``: torch threads inside a job (results are bit-for-bit
    the same across engines for one value); ``device``: where networks run. A clip whose decoded frames
    (generated + reference) would exceed ``memory_mb`` MiB is evaluated streamed, ``chunk`` frames at a
    time (:mod:`thglib.eval.stream`); ``stream=True``/``False`` forces either way."""

    protocol: EvalProtocol
    metrics: tuple[str, ...]
    out: str
    threads: int = 1
    device: str = "cpu"
    visualize: bool = False
    resume: bool = True
    memory_mb: float = 2048.0
    chunk: int = 128
    stream: bool | None = None

    def key(self) -> str:
        """Hash of what changes a clip's numbers (protocol, metrics, thglib version)."""
        from .. import __version__

        blob = json.dumps([self.protocol.as_dict(), sorted(self.metrics), __version__], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------------------- jobs
def _is_manifest(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() == ".csv"


def _media(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    return {f.stem: f for f in sorted(folder.iterdir()) if f.is_file() and f.suffix.lower() in suffixes
            and not f.name.startswith(".")}


def _from_manifest(path: Path) -> list[ClipJob]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "gen" not in rows[0]:
        raise BadInputError(f"'{path}'", "is not a manifest: it needs a header with at least a 'gen' column",
                            "Write a CSV with columns gen,ref,audio,id (ref, audio and id may be empty)")
    base, jobs = path.parent, []
    for i, r in enumerate(rows):
        def where(k: str) -> str | None:
            v = (r.get(k) or "").strip()
            return str((base / v) if not Path(v).is_absolute() else Path(v)) if v else None
        gen = where("gen")
        if gen is None:
            raise BadInputError(f"'{path}' row {i + 2}", "has an empty 'gen' column", "Give every row a generated clip")
        jobs.append(ClipJob((r.get("id") or "").strip() or Path(gen).stem, gen, where("ref"), where("audio")))
    return jobs


def collect_jobs(gen: str | Path, ref: str | Path | None = None, audio: str | Path | None = None) -> list[ClipJob]:
    """Jobs from a file (with optional ``ref``/``audio`` files), a folder (``ref``/``audio`` folders are
    paired by file stem; a generated clip without a reference is evaluated without one), or a manifest CSV.

    Paths are not opened here: a missing or unreadable clip becomes a failed row when it is evaluated.
    """
    g = Path(gen).expanduser()
    if _is_manifest(g):
        if ref is not None or audio is not None:
            raise BadInputError("--ref/--audio", "cannot be combined with a manifest",
                                "Put the references and audio in the manifest's ref and audio columns")
        jobs = _from_manifest(g)
    elif g.is_dir():
        gens = _media(g, VIDEO_SUFFIXES)
        if not gens:
            raise BadInputError(f"'{g}'", f"holds no video ({', '.join(VIDEO_SUFFIXES)})",
                                "Pass a folder of generated clips, a clip, or a manifest CSV")
        refs = _paired_folder(ref, "--ref", VIDEO_SUFFIXES)
        auds = _paired_folder(audio, "--audio", AUDIO_SUFFIXES + VIDEO_SUFFIXES)
        jobs = [ClipJob(k, str(p), str(refs[k]) if k in refs else None, str(auds[k]) if k in auds else None)
                for k, p in gens.items()]
    else:
        for what, p in (("--ref", ref), ("--audio", audio)):
            if p is not None and Path(p).is_dir():
                raise BadInputError(what, f"'{p}' is a folder but GEN is a single file",
                                    "Pass a file, or pass a folder of generated clips as GEN")
        jobs = [ClipJob(g.stem, str(g), None if ref is None else str(Path(ref).expanduser()),
                        None if audio is None else str(Path(audio).expanduser()))]
    ids = [j.id for j in jobs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise BadInputError("gen", f"clip ids are not unique: {dup[:5]}", "Give each row of the manifest its own id")
    return jobs


def _paired_folder(p: str | Path | None, what: str, suffixes: tuple[str, ...]) -> dict[str, Path]:
    if p is None:
        return {}
    q = Path(p).expanduser()
    if not q.is_dir():
        raise BadInputError(what, f"'{q}' is not a folder, but GEN is one",
                            "Pass a folder whose files have the same names (stems) as the generated clips")
    return _media(q, suffixes)


# ----------------------------------------------------------------------------------------- helpers
def fingerprint(path: str | None) -> dict[str, Any] | None:
    """``{path, size, mtime_ns}`` of an input (``None`` for none; ``missing`` when it does not exist)."""
    if path is None:
        return None
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return {"path": str(p), "missing": True}
    return {"path": str(p), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def jsonable(x: Any) -> Any:
    """``x`` with arrays as lists and non-finite floats as ``None`` (strict JSON)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    return str(x)


def _reason(e: BaseException) -> str:
    kind = type(e).__name__
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{kind}: {text}" if isinstance(e, THGError) else f"unexpected {kind}: {text}"


def _result(r: MetricResult, notes: str = "", protocol: str = "") -> dict[str, Any]:
    card = r.card.with_(eval_protocol=protocol or r.card.eval_protocol)
    if notes:
        card = card.with_(notes="; ".join(n for n in (card.notes, notes) if n))
    extra = {k: v for k, v in r.extra.items() if isinstance(v, (int, float, bool, str, np.floating, np.integer))}
    if not math.isfinite(r.value):  # strict JSON has no inf/NaN: the value becomes null, its text stays
        extra["nonfinite"] = str(r.value)
    return {"value": r.value, "higher_is_better": r.higher_is_better, "card": asdict(card),
            "per_frame": None if r.per_frame is None else r.per_frame, "extra": extra}


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


@lru_cache(maxsize=4)
def _scorer(name: str) -> Any:
    """The sync scorer, loaded once per process."""
    from ..metrics.sync import load_scorer

    return load_scorer(name)  # type: ignore[arg-type]


@lru_cache(maxsize=4)
def _extractor(kind: str, device: str) -> Any:
    """The set-level feature extractor, loaded once per process."""
    from ..metrics.extractors import DlibFaceFeatures, InceptionV3Features

    if kind == "dlib128":
        return DlibFaceFeatures(on_missing="skip")
    if kind == "logits":
        return InceptionV3Features("logits", device=device)
    if kind == "inception-untrained":  # dry runs and benchmarks: the card's caveat says so
        return InceptionV3Features("pool3", device=device, allow_untrained=True)
    return InceptionV3Features("pool3", device=device)


@dataclass
class _Decoded:
    frames: np.ndarray
    fps: float
    audio: np.ndarray | None
    sr: int | None
    native_fps: float


def _rate(info: Any, proto: EvalProtocol, log: list[str], what: str, audio: bool) -> float | None:
    """The frame rate to resample ``info``'s video to (None: keep it), with what will be done logged."""
    fps = None
    if abs(info.fps - proto.fps) > 1e-3 or info.is_vfr:
        fps = proto.fps
        log.append(f"{what}: resampled {info.fps:g} fps{' (variable)' if info.is_vfr else ''} → {proto.fps:g} fps "
                   "(ffmpeg fps filter: frames duplicated/dropped), as protocol "
                   f"{proto.name} requires")
    if audio and info.has_audio and info.audio_sample_rate and info.audio_sample_rate != proto.sample_rate:
        log.append(f"{what}: audio resampled {info.audio_sample_rate} Hz → {proto.sample_rate} Hz (soxr), mono")
    return fps


def _decode(path: str, proto: EvalProtocol, log: list[str], what: str, audio: bool) -> _Decoded:
    """One decode of a clip, at the protocol's frame rate and audio rate (resampling logged)."""
    from ..io import probe, read_video

    info = probe(path)
    fps = _rate(info, proto, log, what, audio)
    clip = read_video(path, audio_sr=proto.sample_rate, fps=fps, audio=audio)
    return _Decoded(clip.frames, clip.fps, clip.audio, clip.sample_rate, info.fps)


def _audio_for(job: ClipJob, gen: _Decoded, proto: EvalProtocol, log: list[str]) -> tuple[np.ndarray | None, int]:
    from ..io import load_audio

    if job.audio is not None:
        x, sr = load_audio(job.audio, sr=proto.sample_rate)
        log.append(f"audio: {Path(job.audio).name} at {proto.sample_rate} Hz mono")
        return x, sr
    return gen.audio, proto.sample_rate


# ----------------------------------------------------------------------------------------- per clip
class _Clip:
    """State of one clip's evaluation: decoded media, landmark tracks, results and errors."""

    def __init__(self, job: ClipJob, cfg: EvalConfig) -> None:
        self.job, self.cfg, self.proto = job, cfg, cfg.protocol
        self.log: list[str] = []
        self.metrics: dict[str, dict[str, Any]] = {}
        self.errors: dict[str, str] = {}
        self.alignment: dict[str, Any] = {}
        self.features: dict[str, str] = {}
        self.series: dict[str, Any] = {}

    def run(self, key: str, fn: Any) -> Any:
        """Call ``fn()``; on an error record NaN and the reason under ``key`` and return None."""
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                out = fn()
            for w in caught:  # once each (a streamed clip runs a metric once a chunk)
                line = f"{key}: warning: {str(w.message).splitlines()[0]}"
                if line not in self.log:
                    self.log.append(line)
            return out
        except Exception as e:  # noqa: BLE001 - a metric that fails is a NaN with its reason, not a crash
            self.errors[key] = _reason(e)
            return None

    def put(self, key: str, r: MetricResult | None, notes: str = "") -> None:
        if r is not None:
            self.metrics[key] = _result(r, notes, self.proto.name)


_TRACKS = ContentMemo(64)  # landmark tracks of whole clips by content: a reference scored many times


def forget_cached() -> None:
    """Empty this process's memos of landmark tracks and face embeddings (timing runs start cold)."""
    from ..metrics.identity import forget_embeddings

    _TRACKS.clear()
    forget_embeddings()


def _track(frames: Any, proto: EvalProtocol, source: str) -> Any:
    """The clip's landmark track under ``proto``; kept for the last 64 whole clips by content (BLAKE2b of the
    pixels and every setting), so a reference paired with many generated clips is tracked once per process.
    Warnings raised while tracking are not raised again on a remembered track."""
    import copy

    from ..face import landmarks_video

    def run() -> Any:
        return landmarks_video(frames, every=proto.detect_every, policy="interpolate", backend=proto.landmarks,
                               detector=proto.detector, source=source)

    if not isinstance(frames, np.ndarray):  # streamed chunks: seen once
        return run()
    key = ContentMemo.key(frames, proto.detect_every, proto.landmarks, proto.detector, source)
    hit = _TRACKS.get(key)
    if hit is None:
        hit = run()
        _TRACKS.put(key, hit)
    return copy.deepcopy(hit)


def _no_reference(c: _Clip, gen: _Decoded, audio: np.ndarray | None, sr: int, track: Any) -> None:
    from ..metrics import sharpness, sync

    m = c.cfg.metrics
    if "lse" in m:
        def lse() -> Any:
            _need_audio(c, audio)
            use_file = _lse_from_file(c, gen.native_fps)
            src = c.job.gen if use_file else gen.frames
            return sync.lse(src, None if use_file else audio, sample_rate=sr, fps=gen.fps,
                            scorer=_scorer(c.proto.sync_scorer), protocol=c.proto, device=c.cfg.device)
        put_lse(c, c.run("lse", lse))
    if "cpbd" in m:
        c.put("cpbd", c.run("cpbd", lambda: sharpness.cpbd(gen.frames, workers=1, progress=False)))
    _track_metrics(c, track, gen.frames.shape[2:0:-1], gen.fps, audio, sr)


def _need_audio(c: _Clip, audio: np.ndarray | None) -> None:
    if audio is None:
        raise BadInputError(c.job.gen, "has no audio track and no --audio was given",
                            "LSE compares the mouth with the speech: pass the audio")


def _lse_from_file(c: _Clip, native_fps: float) -> bool:
    """Whether LSE reads the file itself (the official JPEG round trip of the file's own frames)."""
    return c.proto.jpeg_roundtrip and c.proto.sync_crop == "none" and c.job.audio is None and \
        abs(native_fps - c.proto.fps) < 1e-3


def put_lse(c: _Clip, r: Any) -> None:
    """Store an :class:`~thglib.metrics.sync.LSEResult` (or the reason there is none)."""
    if r is not None and r.lse_d.extra.get("silent_audio"):
        c.errors["lse"] = f"no speech: {r.lse_d.card.caveat.split('; ')[-1]}"
        r = None
    if r is not None:
        note = f"audio–video offset found by the scorer: {r.offset:+d} frames (positive: audio leads)"
        c.put("lse_d", r.lse_d, note)
        c.put("lse_c", r.lse_c, note)
        c.metrics["lse_d"]["extra"]["offset"] = r.offset
        c.alignment["av_offset_frames"] = r.offset
        c.series["sync_confidence"] = r.frame_confidence


def _track_metrics(c: _Clip, track: Any, size: tuple[int, int], fps: float, audio: np.ndarray | None,
                   sr: int) -> None:
    """Pose diversity, Beat Align and THEval's dynamics from the generated landmark ``track`` (``size`` = (w, h))."""
    from ..metrics import dynamics, motion

    m = c.cfg.metrics
    if track is None:
        for k in TRACK_METRICS:
            if k in m:
                c.errors[k] = c.errors.get("landmarks", "no landmarks")
        return
    if "pose_diversity" in m:
        def div() -> Any:
            from ..face.pose import pose_from_landmarks

            return motion.diversity(pose_from_landmarks(track, tuple(size)))
        c.put("pose_diversity", c.run("pose_diversity", div))
    if "beat_align" in m:
        def ba() -> Any:
            if audio is None:
                raise BadInputError(c.job.gen, "has no audio", "Beat Align needs the speech: pass --audio")
            return motion.beat_align_score(track.points, audio, sr, fps, source=f"{track.backend} landmarks")
        c.put("beat_align", c.run("beat_align", ba))
    size = tuple(size)
    fns = {"lip_dynamics": lambda: dynamics.lip_dynamics(track, size),
           "eyebrow_dynamics": lambda: dynamics.eyebrow_dynamics(track),
           "head_motion_dynamics": lambda: dynamics.head_motion_dynamics(track, size)}
    for k in ("silent_lip_stability", "lip_sync_energy"):
        fns[k] = lambda k=k: getattr(dynamics, k)(track, size, _with_audio(c, audio, k), sr, fps)
    for k, fn in fns.items():
        if k in m:
            r = c.run(k, fn)
            if r is not None and not np.isfinite(r.value) and r.extra.get("reason"):
                c.errors[k] = str(r.extra["reason"])         # THEval's NaN, with its reason
            else:
                c.put(k, r)


def _with_audio(c: _Clip, audio: np.ndarray | None, key: str) -> np.ndarray:
    if audio is None:
        raise BadInputError(c.job.gen, "has no audio", f"{key} needs the speech: pass --audio")
    return audio


@dataclass
class _Pairing:
    """Which frames are compared: ``reference[rs]`` with ``generated[gs]`` (then ``sim`` applied to the
    generated ones, resized to ``size`` (w, h)), landmarks after both steps, and the sentence for the cards."""

    rs: slice
    gs: slice
    sim: Any
    size: tuple[int, int]
    r_pts: np.ndarray | None
    g_pts: np.ndarray | None
    note: str


def _pairing(c: _Clip, n_ref: int, n_gen: int, ref_wh: tuple[int, int], gen_wh: tuple[int, int],
             gtrack: Any, rtrack: Any) -> _Pairing:
    """Temporal then spatial alignment (:mod:`thglib.eval.align`), as the protocol asks."""
    from . import align

    p = c.proto
    g_pts = None if gtrack is None else gtrack.points.astype(np.float64)
    r_pts = None if rtrack is None else rtrack.points.astype(np.float64)
    notes, rs, gs = [], None, None
    if p.temporal_align and g_pts is not None and r_pts is not None:
        lag = c.run("temporal_align", lambda: align.frame_lag(r_pts, g_pts, p.max_lag))
        if lag is not None:
            k, curve = lag
            rs, gs = align.apply_lag(r_pts, g_pts, k)
            r_pts, g_pts = r_pts[rs], g_pts[gs]
            c.alignment.update(frame_lag=k, lag_correlation=curve)
            notes.append(f"temporal: generated lags reference by {k:+d} frames (landmark cross-correlation "
                         f"r={np.nanmax(curve):.3f}); {rs.stop - rs.start} frames compared")
    if rs is None:
        n = min(n_ref, n_gen)
        rs, gs = slice(0, n), slice(0, n)
        if n_ref != n_gen:
            notes.append(f"lengths {n_ref} (reference) vs {n_gen} (generated): first {n} compared")
        r_pts = None if r_pts is None else r_pts[:n]
        g_pts = None if g_pts is None else g_pts[:n]
    sim = None
    if p.spatial_align and g_pts is not None and r_pts is not None:
        est = c.run("spatial_align", lambda: align.estimate_similarity(r_pts, g_pts))
        if est is not None:
            c.alignment["similarity"] = {"scale": est.scale, "rotation_deg": est.rotation_deg, "shift": est.shift}
            if est.is_identity() and gen_wh == ref_wh:
                notes.append("spatial: " + est.describe() + " (below tolerance: not applied)")
            else:
                sim, g_pts = est, est.points(g_pts)
                notes.append("spatial: " + est.describe() + " applied (cv2.warpAffine, bilinear)")
    if sim is None and gen_wh != ref_wh:
        notes.append("frame sizes differ: generated resized to the reference (bicubic)")
    note = "; ".join(notes)
    c.alignment["notes"] = note
    return _Pairing(rs, gs, sim, ref_wh, r_pts, g_pts, note)


def _pair_metrics(c: _Clip, r_frames: np.ndarray, g_frames: np.ndarray, pairing: _Pairing,
                  first: int = 0) -> dict[str, MetricResult | None]:
    """The frame-based full-reference metrics of aligned frame pairs ``first, first + 1, …`` (CSIM on the
    pairs whose index is a multiple of the protocol's ``fid_stride``)."""
    from ..metrics import identity, perceptual, pixel
    from . import align

    p, m, dev = c.proto, c.cfg.metrics, c.cfg.device
    if pairing.sim is not None:
        g_frames = align.warp_frames(g_frames, pairing.sim, pairing.size)
    kw: dict[str, Any] = {"size": "resize"}
    fns = {"psnr": lambda: pixel.psnr(r_frames, g_frames, progress=False, device=dev, **kw),
           "ssim": lambda: pixel.ssim(r_frames, g_frames, border=p.ssim_border, progress=False, device=dev, **kw),
           "ms_ssim": lambda: pixel.ms_ssim(r_frames, g_frames, border=p.ssim_border, progress=False, device=dev,
                                            **kw),
           "lpips": lambda: perceptual.lpips(r_frames, g_frames, net=p.lpips_net, device=dev, **kw)}
    out = {k: c.run(k, fn) for k, fn in fns.items() if k in m}
    idx = np.flatnonzero((first + np.arange(len(g_frames))) % p.fid_stride == 0)
    if "csim" in m and len(idx):
        out["csim"] = c.run("csim", lambda: identity.csim(r_frames[idx], g_frames[idx], backend=p.identity,
                                                          on_missing="nan"))
    return out


def _put_pairs(c: _Clip, results: dict[str, MetricResult | None], pairing: _Pairing, gtrack: Any,
               extra_note: str = "") -> None:
    """Store the full-reference results (and LMD, from the aligned landmarks) with the alignment note."""
    from ..metrics import landmark

    note = "; ".join(x for x in (pairing.note, extra_note) if x)
    for k, r in results.items():
        c.put(k, r, "; ".join(x for x in (note, f"every {c.proto.fid_stride}th frame pair" if k == "csim" else "")
                              if x))
    if "lmd" in c.cfg.metrics:
        if pairing.g_pts is None or pairing.r_pts is None:
            c.errors["lmd"] = c.errors.get("landmarks", "no landmarks")
        else:
            src = f"{gtrack.backend} 68-point landmarks ({gtrack.detector} boxes every {c.proto.detect_every} frames)"
            c.put("lmd", c.run("lmd", lambda: landmark.lmd_points(pairing.r_pts, pairing.g_pts, normalise="iod",
                                                                  source=src)), note)


def _full_reference(c: _Clip, gen: _Decoded, ref: _Decoded, gtrack: Any, rtrack: Any) -> None:
    wh = lambda d: (d.frames.shape[2], d.frames.shape[1])  # noqa: E731
    pairing = _pairing(c, len(ref.frames), len(gen.frames), wh(ref), wh(gen), gtrack, rtrack)
    _put_pairs(c, _pair_metrics(c, ref.frames[pairing.rs], gen.frames[pairing.gs], pairing), pairing, gtrack)


def _feature_kinds(c: _Clip) -> list[str]:
    m = c.cfg.metrics
    return ([c.proto.fid_extractor] if ({"fid", "kid"} & set(m)) else []) + (["logits"] if "is" in m else [])


def _save_features(c: _Clip, kind: str, side: str, features: Any, ex: Any, out: Path) -> None:
    """Write one side's features as ``OUT/features/ID.KIND.SIDE.npy`` (atomically) and the extractor's spec."""
    from ..io.video import atomic_output

    path = out / "features" / f"{c.job.id}.{kind}.{side}.npy"
    with atomic_output(path, overwrite=True, suffix=".npy") as tmp:
        np.save(tmp, np.asarray(features, np.float64))
    c.features[f"{kind}.{side}"] = str(path.relative_to(out))
    c.features[f"{kind}.spec"] = json.dumps({"name": ex.name, "short": ex.short, "dim": ex.dim,
                                             "weights": ex.weights, "caveat": ex.caveat,
                                             "crop": getattr(ex, "crop", "none (full frame)"),
                                             "resize": getattr(ex, "resize", "none")})


def _set_features(c: _Clip, gen: _Decoded, ref: _Decoded | None, out: Path) -> None:
    """Features of every ``fid_stride``-th frame for FID/KID (and logits for IS), saved as .npy files."""
    for kind in _feature_kinds(c):
        ex = c.run(f"features_{kind}", lambda: _extractor(kind, c.cfg.device))
        if ex is None:
            continue
        for side, d in (("gen", gen), ("ref", ref)):
            if d is None or (kind == "logits" and side == "ref"):
                continue
            f = c.run(f"features_{kind}", lambda: ex(d.frames[::c.proto.fid_stride]))
            if f is not None:
                _save_features(c, kind, side, f, ex, out)


def clip_report_path(out: str | Path, clip_id: str) -> Path:
    return Path(out) / "clips" / f"{clip_id}.json"


def _cached(job: ClipJob, cfg: EvalConfig, inputs: dict[str, Any]) -> dict[str, Any] | None:
    p = clip_report_path(cfg.out, job.id)
    if not cfg.resume or not p.is_file():
        return None
    try:
        rep = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    feats_ok = all((Path(cfg.out) / v).is_file() for k, v in rep.get("features", {}).items() if not k.endswith(".spec"))
    if rep.get("format") == FORMAT and rep.get("inputs") == inputs and rep.get("config") == cfg.key() and feats_ok:
        rep["resumed"] = True
        return rep
    return None


_JOB_LOCK = threading.Lock()


def evaluate_clip(job: ClipJob, cfg: EvalConfig) -> dict[str, Any]:
    """:func:`_evaluate_clip` one at a time per process (threads of a Dask worker share torch's thread
    count, the warning filters and dlib's models)."""
    with _JOB_LOCK:
        return _evaluate_clip(job, cfg)


def _needs_tracks(cfg: EvalConfig, has_ref: bool) -> bool:
    return bool({*TRACK_METRICS, "lmd"} & set(cfg.metrics)) or \
        (has_ref and (cfg.protocol.temporal_align or cfg.protocol.spatial_align))


def _status(c: _Clip) -> tuple[str, str]:
    """``("ok" | "partial" | "failed", reason)`` from what was measured and what failed."""
    failed = [k for k in ("decode", "decode_reference") if k in c.errors]
    if failed:
        return "failed", c.errors[failed[0]]
    wanted = [k for k in c.errors if not k.startswith(("features", "decode", "audio"))]
    if c.errors and not c.metrics:
        return "failed", "; ".join(f"{k}: {c.errors[k]}" for k in wanted[:2]) or next(iter(c.errors.values()))
    return ("partial" if c.errors else "ok"), ""


def _evaluate_whole(c: _Clip, out: Path) -> tuple[str, str]:
    """Decode the clip (and its reference) whole, then measure; returns :func:`_status`."""
    job, cfg = c.job, c.cfg
    gen = c.run("decode", lambda: _decode(job.gen, cfg.protocol, c.log, "generated", True))
    ref = None
    if gen is not None and job.ref is not None:
        ref = c.run("decode_reference", lambda: _decode(job.ref, cfg.protocol, c.log, "reference", False))
    if gen is None or (job.ref is not None and ref is None):
        return _status(c)
    aud = c.run("audio", lambda: _audio_for(job, gen, cfg.protocol, c.log))
    audio, sr = aud if aud is not None else (None, cfg.protocol.sample_rate)
    need_tracks = _needs_tracks(cfg, ref is not None)
    gtrack = c.run("landmarks", lambda: _track(gen.frames, cfg.protocol, "generated")) if need_tracks else None
    _no_reference(c, gen, audio, sr, gtrack)
    if ref is not None and set(FULL_REFERENCE) & set(cfg.metrics):
        rtrack = c.run("landmarks_reference", lambda: _track(ref.frames, cfg.protocol, "reference")) \
            if need_tracks else None
        _full_reference(c, gen, ref, gtrack, rtrack)
    if set(SET_LEVEL) & set(cfg.metrics):
        _set_features(c, gen, ref, out)
    if cfg.visualize:
        from .visualize import clip_video

        c.run("visualize", lambda: clip_video(
            out / "vis" / f"{job.id}.mp4", gen.frames, gen.fps, ref=None if ref is None else ref.frames,
            track=gtrack, audio=audio, sr=sr, confidence=c.series.get("sync_confidence"), overwrite=True))
    return _status(c)


def _evaluate_clip(job: ClipJob, cfg: EvalConfig) -> dict[str, Any]:
    """Evaluate one clip and write ``OUT/clips/ID.json`` (atomically); return the report.

    Skipped (the existing report returned, ``resumed: True``) when a report with the same inputs
    (path, size, mtime) and configuration exists. Never raises for a bad clip: the report's ``status``
    is ``"failed"`` with the ``reason``, or ``"partial"`` when some metrics failed (``errors``).
    """
    from ..io.video import atomic_output

    inputs = {k: fingerprint(getattr(job, k)) for k in ("gen", "ref", "audio")}
    cached = _cached(job, cfg, inputs)
    if cached is not None:
        return cached
    t0 = time.perf_counter()
    c = _Clip(job, cfg)
    out = Path(cfg.out)
    with _torch_threads(cfg.threads):
        from .stream import evaluate_streamed, stream_plan

        plan = stream_plan(c)
        status, reason = _evaluate_whole(c, out) if plan is None else evaluate_streamed(c, out, plan)
    report = jsonable({
        "format": FORMAT, "id": job.id, "inputs": inputs, "config": cfg.key(), "protocol": cfg.protocol.as_dict(),
        "metrics_requested": list(cfg.metrics), "status": status, "reason": reason, "log": c.log,
        "metrics": c.metrics, "errors": c.errors, "alignment": c.alignment, "series": c.series,
        "features": c.features, "versions": library_versions(), "threads": cfg.threads,
        "streamed": plan is not None, "elapsed_s": round(time.perf_counter() - t0, 3), "resumed": False})
    path = clip_report_path(out, job.id)
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(report, indent=1, allow_nan=False))
    return report


# ----------------------------------------------------------------------------------------- set level
@dataclass(frozen=True)
class _Spec:
    """The stored description of a feature extractor (what its results' cards need)."""

    name: str
    short: str
    dim: int
    weights: str
    caveat: str
    crop: str = "none (full frame)"
    resize: str = "none"
    output: str = "pool3"

    def __call__(self, frames: np.ndarray) -> np.ndarray:  # never called: features come from files
        raise BadInputError("frames", "set-level metrics are reduced from feature files")


def _stack(reports: Sequence[dict[str, Any]], out: Path, key: str) -> tuple[np.ndarray | None, int]:
    parts = [np.load(out / r["features"][key]) for r in reports if key in r.get("features", {})]
    parts = [p for p in parts if len(p)]
    return (np.concatenate(parts) if parts else None), len(parts)


def reduce_set(reports: Sequence[dict[str, Any]], cfg: EvalConfig) -> tuple[dict[str, Any], dict[str, str]]:
    """FID, KID (generated vs reference features) and IS (generated logits) over the whole set, from the
    per-clip feature files, in job order. Returns ``(results, errors)``."""
    from ..metrics import distribution

    out, p, m = Path(cfg.out), cfg.protocol, cfg.metrics
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    kind = p.fid_extractor
    spec_json = next((r["features"][f"{kind}.spec"] for r in reports if f"{kind}.spec" in r.get("features", {})), None)
    if {"fid", "kid"} & set(m):
        gen, n_gen = _stack(reports, out, f"{kind}.gen")
        ref, n_ref = _stack(reports, out, f"{kind}.ref")
        if spec_json is None or gen is None:
            why = next((r["errors"].get(f"features_{kind}") for r in reports if f"features_{kind}" in r.get("errors", {})),
                       "no clip produced features")
            for k in ("fid", "kid"):
                if k in m:
                    errors[k] = why
        elif ref is None:
            for k in ("fid", "kid"):
                if k in m:
                    errors[k] = "needs references (--ref): FID/KID compare generated with real frames"
        else:
            spec = _Spec(**json.loads(spec_json))
            note = (f"features of every {p.fid_stride}th frame, {n_gen} generated and {n_ref} reference clips, "
                    "reduced from per-clip feature files")
            for k, fn in (("fid", lambda: distribution.fid(ref, gen, spec)),
                          ("kid", lambda: distribution.kid(ref, gen, spec, subsets=100, subset_size=1000))):
                if k not in m:
                    continue
                try:
                    results[k] = _result(fn(), note, p.name)
                except Exception as e:  # noqa: BLE001
                    errors[k] = _reason(e)
    if "is" in m:
        logits, n = _stack(reports, out, "logits.gen")
        spec_json = next((r["features"]["logits.spec"] for r in reports if "logits.spec" in r.get("features", {})), None)
        if logits is None or spec_json is None:
            errors["is"] = next((r["errors"].get("features_logits") for r in reports
                                 if "features_logits" in r.get("errors", {})), "no clip produced logits")
        else:
            spec = _Spec(**json.loads(spec_json), output="logits")
            try:
                results["is"] = _result(distribution.inception_score(logits, spec, splits=min(10, len(logits))),
                                        f"{n} clips", p.name)
            except Exception as e:  # noqa: BLE001
                errors["is"] = _reason(e)
    for r in results.values():
        r.pop("per_frame", None)
    return jsonable(results), errors


def card_of(d: dict[str, Any]) -> ProtocolCard:
    """A :class:`ProtocolCard` back from its JSON form."""
    return ProtocolCard(**d)
