"""Evaluating a clip chunk by chunk, in memory bounded by a chunk whatever the clip's length.

A 10-minute 1080p clip is 93 GB of RGB frames. :func:`evaluate_streamed` never holds more than a few
chunks of ``EvalConfig.chunk`` frames: it makes passes over the files, each a fresh ffmpeg decode at the
protocol's frame rate (:func:`thglib.io.iter_frames`):

1. **generated**: CPBD per chunk, set-level features of every ``fid_stride``-th frame, and LSE with
   whole-frame crops (:func:`thglib.metrics.sync.sync_chunks` → :func:`~thglib.metrics.sync.lse_stream`;
   the file's own JPEG round trip streams through :func:`thglib.io.jpeg.iter_jpeg_roundtrip_file`);
2. **generated landmarks**, when a metric or the alignment needs them; for LSE on face-track crops, a
   detection pass (:func:`~thglib.metrics.sync.face_track_chunks`) then a crop pass;
3. **reference**: its features and landmarks;
4. **pairs**: both files in step, aligned exactly as the whole-clip path aligns them (lag and similarity
   from the landmark tracks), the frame-based full-reference metrics per chunk.

Every per-frame metric of :mod:`thglib.metrics` is the mean of its per-frame values, so concatenating
the chunks' per-frame values and averaging gives the whole-clip number (tested equal to 1e-9 relative;
LSE bit for bit). Not streamed: the ``visualize`` video (it would hold the clip).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import THGError
from ..metrics.card import MetricResult
from .runner import (FULL_REFERENCE, SET_LEVEL, _Clip, _extractor, _feature_kinds, _lse_from_file, _need_audio,
                     _pair_metrics, _pairing, _Pairing, _put_pairs, _rate, _reason, _save_features, _scorer, _status,
                     _track, _track_metrics, _needs_tracks, put_lse)

__all__ = ["CHUNK_BYTES", "StreamPlan", "stream_plan", "evaluate_streamed", "merge_chunks"]

#: metrics whose value is the NaN-ignoring mean of their per-frame values (a frame without a face is NaN)
_NANMEAN = {"csim"}


def _frames_at(info: Any, fps: float) -> int:
    same = abs(info.fps - fps) <= 1e-3 and not info.is_vfr
    return int(info.n_frames) if same else int(math.ceil(info.duration_s * fps))


#: decoded bytes per chunk and side at most (a chunk is also at most ``EvalConfig.chunk`` frames)
CHUNK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class StreamPlan:
    """Why and how a clip is streamed: ``chunk`` frames at a time, and the sentence for the log."""

    chunk: int
    text: str


def stream_plan(c: _Clip) -> StreamPlan | None:
    """``None`` to decode the clip whole, else the :class:`StreamPlan`: chunks of ``EvalConfig.chunk``
    frames, fewer for large frames (at most :data:`CHUNK_BYTES` per chunk)."""
    from ..io import probe

    cfg = c.cfg
    if cfg.stream is False:
        return None
    try:
        infos = [probe(p) for p in (c.job.gen, c.job.ref) if p is not None]
    except THGError:
        return None  # the whole-clip path reports the unreadable file
    need = sum(_frames_at(i, cfg.protocol.fps) * i.width * i.height * 3 for i in infos)
    if not (cfg.stream or need > cfg.memory_mb * 2**20):
        return None
    chunk = max(1, min(cfg.chunk, CHUNK_BYTES // max(i.width * i.height * 3 for i in infos)))
    why = "as asked" if cfg.stream else f"over the {cfg.memory_mb:g} MiB budget"
    return StreamPlan(chunk, f"streamed in chunks of {chunk} frames: the decoded frames would take "
                             f"{need / 2**30:.2f} GiB ({why})")


def merge_chunks(key: str, parts: list[MetricResult]) -> MetricResult | None:
    """One result from the per-chunk results of a per-frame metric: per-frame values concatenated, the
    value their mean (NaN-ignoring for CSIM), counts in ``extra`` summed, ``samples`` on the card summed."""
    if not parts:
        return None
    per = np.concatenate([np.asarray(r.per_frame, np.float64) for r in parts])
    value = float(np.nanmean(per)) if key in _NANMEAN else float(per.mean())
    first = parts[0]
    extra = dict(first.extra)
    for k, v in extra.items():
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            extra[k] = int(sum(r.extra.get(k, 0) for r in parts))
    samples = [r.card.samples for r in parts]
    card = first.card.with_(samples=int(sum(samples))) if all(isinstance(n, int) for n in samples) else first.card
    return MetricResult(value, card, first.higher_is_better, per_frame=per, extra=extra)


def _rechunk(chunks: Iterable[np.ndarray], size: int, start: int = 0, n: int | None = None) -> Iterator[np.ndarray]:
    """Frames ``[start, start + n)`` of a chunk stream, re-cut into chunks of ``size`` (the last shorter)."""
    buf: list[np.ndarray] = []
    have, t, left = 0, 0, (math.inf if n is None else n)
    for ch in chunks:
        part = ch[max(0, start - t):]
        t += len(ch)
        part = part[:int(min(len(part), left))]
        if len(part):
            buf.append(part)
            have += len(part)
            left -= len(part)
        while have >= size:
            block = np.concatenate(buf) if len(buf) > 1 else buf[0]
            yield block[:size]
            buf, have = ([block[size:]] if len(block) > size else []), have - size
        if left <= 0:
            break
    if have:
        yield np.concatenate(buf)


class _Pass:
    """One decode of a file at the protocol's rate, with per-chunk ``taps`` run on every chunk it yields.

    A tap that raises is recorded under its key (NaN with the reason) and not called again; a decode
    error is kept in ``error`` and ends the pass.
    """

    def __init__(self, c: _Clip, path: str, fps: float | None, chunk: int) -> None:
        self.c, self.path, self.fps, self.chunk = c, path, fps, chunk
        self.taps: list[tuple[str, Callable[[np.ndarray, int], None]]] = []
        self.n, self.error, self.size = 0, None, (0, 0)

    def tap(self, key: str, fn: Callable[[np.ndarray, int], None]) -> None:
        self.taps.append((key, fn))

    def chunks(self) -> Iterator[np.ndarray]:
        from ..io import iter_frames

        try:
            for ch in iter_frames(self.path, chunk=self.chunk, fps=self.fps):
                self.size = (ch.shape[2], ch.shape[1])
                for key, fn in list(self.taps):
                    if key not in self.c.errors and self.c.run(key, lambda: fn(ch, self.n)) is None and \
                            key in self.c.errors:
                        self.taps.remove((key, fn))
                self.n += len(ch)
                yield ch
        except THGError as e:
            self.error = e
            raise

    def run(self, key: str = "", consumer: Callable[[Iterator[np.ndarray]], Any] | None = None) -> Any:
        """Drive the pass with ``consumer`` (its result; NaN-with-reason under ``key`` if it raises), then
        read whatever it left so every tap sees every chunk."""
        it = self.chunks()
        out = self.c.run(key, lambda: consumer(it)) if consumer is not None else None
        if self.error is None:
            try:
                for _ in it:
                    pass
            except THGError:
                pass
        return out


def _per_frame_tap(key: str, parts: dict[str, list[MetricResult]],
                   fn: Callable[[np.ndarray], MetricResult]) -> Callable[[np.ndarray, int], None]:
    def tap(ch: np.ndarray, t0: int) -> None:
        parts.setdefault(key, []).append(fn(ch))
    return tap


def _feature_taps(c: _Clip, p: _Pass, side: str, feats: dict[tuple[str, str], list[np.ndarray]]) -> dict[str, Any]:
    """Taps collecting the features of every ``fid_stride``-th frame of ``side``; returns the extractors."""
    exs = {}
    for kind in _feature_kinds(c):
        if kind == "logits" and side == "ref":
            continue
        ex = c.run(f"features_{kind}", lambda: _extractor(kind, c.cfg.device))
        if ex is None:
            continue
        exs[kind] = ex

        def tap(ch: np.ndarray, t0: int, kind: str = kind, ex: Any = ex) -> None:
            idx = np.flatnonzero((t0 + np.arange(len(ch))) % c.proto.fid_stride == 0)
            if len(idx):
                feats.setdefault((kind, side), []).append(np.asarray(ex(ch[idx]), np.float64))
        p.tap(f"features_{kind}", tap)
    return exs


def _frames_of(chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    for ch in chunks:
        yield from ch


def _lse(c: _Clip, gen_path: str, fps: float | None, native_fps: float, audio: np.ndarray | None, sr: int,
         first: _Pass) -> None:
    """LSE: on the first generated pass (whole frames), or in passes of its own (the file's own JPEG
    round trip; face-track detection then crops)."""
    from ..io.jpeg import iter_jpeg_roundtrip_file, pcm16_of_file
    from ..metrics import sync

    p = c.proto
    if audio is None:
        first.run()
        c.run("lse", lambda: _need_audio(c, audio))
        return
    if abs(float(fps or native_fps) - sync.FPS) > 1e-3:
        first.run()
        c.errors["lse"] = f"BadInputError: fps is {fps or native_fps:g}; SyncNet's windows assume 25 fps"
        return
    scorer = c.run("lse", lambda: _scorer(p.sync_scorer))
    if scorer is None:
        first.run()
        return
    if _lse_from_file(c, native_fps):
        first.run()
        put_lse(c, c.run("lse", lambda: sync.lse_stream(
            sync.sync_chunks(ch[..., ::-1] for ch in iter_jpeg_roundtrip_file(gen_path, first.chunk)),
            pcm16_of_file(gen_path), scorer=scorer, jpeg=True, source=gen_path, protocol=p, device=c.cfg.device)))
        return
    pcm = sync.pcm16(audio, sr)
    kw = p.sync_kwargs()
    if kw["crop"] == "none":
        put_lse(c, first.run("lse", lambda it: sync.lse_stream(
            sync.sync_chunks(it, jpeg_roundtrip=kw["jpeg_roundtrip"]), pcm, scorer=scorer, jpeg=kw["jpeg_roundtrip"],
            source=f"{gen_path} (streamed)", protocol=p, device=c.cfg.device)))
        return
    first.run()
    boxes = _Pass(c, gen_path, fps, first.chunk).run("lse", lambda it: sync.face_track_chunks(it, every=kw["every"],
                                                                               backend=kw["backend"]))
    if boxes is None:
        return
    from ..face import get_detector

    track = sync.smooth_track(boxes)
    how = sync.track_description(f"{get_detector(kw['backend']).name} detector every {kw['every']} frame(s)")
    put_lse(c, _Pass(c, gen_path, fps, first.chunk).run("lse", lambda it: sync.lse_stream(
        sync.sync_chunks(it, crop="track", jpeg_roundtrip=kw["jpeg_roundtrip"], track=track), pcm, scorer=scorer,
        crop=how, jpeg=kw["jpeg_roundtrip"], source=f"{gen_path} (streamed)", protocol=p,
        device=c.cfg.device)))


def _audio(c: _Clip, info: Any) -> tuple[np.ndarray | None, int]:
    from ..io import load_audio

    sr = c.proto.sample_rate
    if c.job.audio is not None:
        x, _ = load_audio(c.job.audio, sr=sr)
        c.log.append(f"audio: {Path(c.job.audio).name} at {sr} Hz mono")
        return x, sr
    if not info.has_audio:
        return None, sr
    return load_audio(c.job.gen, sr=sr)[0], sr


def evaluate_streamed(c: _Clip, out: Path, plan: StreamPlan) -> tuple[str, str]:
    """Evaluate ``c``'s clip in passes of chunks (see the module); returns ``(status, reason)``."""
    from ..io import probe
    from ..metrics import sharpness

    job, cfg, m = c.job, c.cfg, set(c.cfg.metrics)
    c.log.append(plan.text)
    gi = c.run("decode", lambda: probe(job.gen))
    ri = c.run("decode_reference", lambda: probe(job.ref)) if gi is not None and job.ref is not None else None
    if gi is None or (job.ref is not None and ri is None):
        return _status(c)
    g_fps = _rate(gi, c.proto, c.log, "generated", True)
    r_fps = _rate(ri, c.proto, c.log, "reference", False) if ri is not None else None
    fps = float(g_fps or gi.fps)
    aud = c.run("audio", lambda: _audio(c, gi))
    audio, sr = aud if aud is not None else (None, c.proto.sample_rate)
    parts: dict[str, list[MetricResult]] = {}
    feats: dict[tuple[str, str], list[np.ndarray]] = {}

    first = _Pass(c, job.gen, g_fps, plan.chunk)
    if "cpbd" in m:
        first.tap("cpbd", _per_frame_tap("cpbd", parts, lambda ch: sharpness.cpbd(ch, workers=1, progress=False)))
    exs = _feature_taps(c, first, "gen", feats) if set(SET_LEVEL) & m else {}
    if "lse" in m:
        _lse(c, job.gen, g_fps, gi.fps, audio, sr, first)
    else:
        first.run()
    if first.error is not None:
        c.errors["decode"] = _reason(first.error)
        return _status(c)
    n_gen, gen_wh = first.n, first.size
    if "cpbd" in parts and "cpbd" not in c.errors:
        c.put("cpbd", merge_chunks("cpbd", parts.pop("cpbd")), plan.text)

    need_tracks = _needs_tracks(cfg, ri is not None)
    gtrack = _Pass(c, job.gen, g_fps, plan.chunk).run("landmarks", lambda it: _track(_frames_of(it), c.proto, "generated")) \
        if need_tracks else None
    _track_metrics(c, gtrack, gen_wh, fps, audio, sr)

    full = bool(set(FULL_REFERENCE) & m)
    if ri is not None and (full or set(SET_LEVEL) & m):
        rpass = _Pass(c, job.ref, r_fps, plan.chunk)
        exs.update(_feature_taps(c, rpass, "ref", feats) if set(SET_LEVEL) & m else {})
        rtrack = rpass.run("landmarks_reference", lambda it: _track(_frames_of(it), c.proto, "reference")) \
            if need_tracks and full else rpass.run()
        if rpass.error is not None:
            c.errors["decode_reference"] = _reason(rpass.error)
            return _status(c)
        if full:
            pairing = _pairing(c, rpass.n, n_gen, rpass.size, gen_wh, gtrack, rtrack)
            c.run("full_reference", lambda: _pairs(c, job.ref, r_fps, job.gen, g_fps, pairing, plan, gtrack))
    for (kind, side), f in feats.items():
        if f"features_{kind}" not in c.errors:
            _save_features(c, kind, side, np.concatenate(f), exs[kind], out)
    if cfg.visualize:
        c.errors["visualize"] = ("not made for a streamed clip (the video would hold the whole clip): "
                                 "pass a shorter clip, or raise the memory budget (--memory-mb)")
    return _status(c)


def _pairs(c: _Clip, ref: str, r_fps: float | None, gen: str, g_fps: float | None, pairing: _Pairing,
           plan: StreamPlan, gtrack: Any) -> None:
    """The pair pass: both files in step over the aligned frames, full-reference metrics per chunk."""
    size = plan.chunk
    n = pairing.rs.stop - pairing.rs.start
    rp, gp = _Pass(c, ref, r_fps, size), _Pass(c, gen, g_fps, size)
    parts: dict[str, list[MetricResult]] = {}
    pos = 0
    for r, g in zip(_rechunk(rp.chunks(), size, pairing.rs.start, n), _rechunk(gp.chunks(), size, pairing.gs.start, n)):
        for k, res in _pair_metrics(c, r, g, pairing, first=pos).items():
            if res is not None:
                parts.setdefault(k, []).append(res)
        pos += len(r)
    results = {k: merge_chunks(k, v) for k, v in parts.items() if k not in c.errors}
    _put_pairs(c, results, pairing, gtrack, plan.text)
