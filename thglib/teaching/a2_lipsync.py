"""Assignment 2, lip sync: the LSE scores from a distance table, delaying audio, measuring a known offset.

References: :func:`thglib.metrics.sync.lse_from_distances` on random tables, THG-Synth's
``audio_offset`` degradation, and the exact ``av_offset`` of THG-Synth clips made at grading time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .grader import Check, as_number, call, number_check, probe, register, safe

# ------------------------------------------------------------------------------------- Q1


def _table(rng: np.random.Generator, vshift: int, planted: bool) -> np.ndarray:
    """A random (N, 2·vshift + 1) float32 distance table; ``planted``: one column clearly lowest."""
    n = int(rng.integers(10, 80))  # >= 9 windows: the 9-tap median filter of the confidence
    d = rng.gamma(4.0, 2.0, (n, 2 * vshift + 1))
    if planted:
        d[:, int(rng.integers(0, 2 * vshift + 1))] *= 0.5
    return d.astype(np.float32)


def _lse_ref(d: np.ndarray, vshift: int) -> tuple[float, float, int]:
    import torch

    from ..metrics.sync import lse_from_distances

    r = lse_from_distances(torch.from_numpy(d), vshift)
    return r["lse_d"], r["lse_c"], r["offset"]


def _triple(out: Any) -> tuple[float, float, int]:
    """(lse_d, lse_c, offset) from a tuple/list or a dict with those keys."""
    if isinstance(out, dict):
        out = (out["lse_d"], out["lse_c"], out["offset"])
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise TypeError(f"return (lse_d, lse_c, offset), got {type(out).__name__}")
    off = out[2]
    if isinstance(off, (float, np.floating)) and float(off).is_integer():
        off = int(off)
    if not isinstance(off, (int, np.integer)) or isinstance(off, bool):
        raise TypeError(f"the offset must be an int, got {type(off).__name__}")
    return as_number(out[0]), as_number(out[1]), int(off)


def _near(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-5 * max(1.0, abs(b))


@register("a2.q1", "LSE-D, LSE-C and offset from a distance table", 4)
def _q1(fn: Callable[..., Any], rng: np.random.Generator) -> list[Check]:
    tables = [_table(rng, 15, planted=i % 2 == 1) for i in range(6)]
    probe(fn, tables[0].copy())
    ref = [_lse_ref(d, 15) for d in tables]
    memo: list[list[tuple[float, float, int]]] = []

    def answers() -> list[tuple[float, float, int]]:  # called inside the checks, so errors are reported
        if not memo:
            memo.append([_triple(call(fn, d.copy())) for d in tables])
        return memo[0]

    def lse_d() -> Check:
        name = "LSE-D on random tables"
        got = answers()
        if all(_near(g[0], r[0]) for g, r in zip(got, ref)):
            return Check(name, 1.0, 1.0)
        if all(_near(g[0], float(d.min())) for g, d in zip(got, tables)):
            return Check(name, 0.0, 1.0,
                         "the minimum of single entries: average over windows first, then take the minimum")
        return Check(name, 0.0, 1.0, "wrong on random tables")

    def lse_c() -> Check:
        name = "LSE-C on random tables"
        got = answers()
        if all(_near(g[1], r[1]) for g, r in zip(got, ref)):
            return Check(name, 1.0, 1.0)
        means = [d.astype(np.float64).mean(0) for d in tables]
        if all(_near(g[1], float(m.mean() - m.min())) for g, m in zip(got, means)):
            return Check(name, 0.0, 1.0, "the confidence uses the median over offsets, not the mean")
        if all(_near(g[1], -r[1]) for g, r in zip(got, ref)):
            return Check(name, 0.0, 1.0, "wrong sign: the confidence is median minus minimum")
        return Check(name, 0.0, 1.0, "wrong on random tables")

    def offset() -> Check:
        name = "offset (sign and index) on random tables"
        offs, refs = [g[2] for g in answers()], [r[2] for r in ref]
        if offs == refs:
            return Check(name, 1.5, 1.5)
        if offs == [-o for o in refs]:
            return Check(name, 0.0, 1.5, "wrong sign: SyncNet's offset is positive when the audio leads")
        if all(abs(a - b) == 1 for a, b in zip(offs, refs)):
            return Check(name, 0.0, 1.5, "off by one: column j is the shift j − vshift")
        return Check(name, 0.0, 1.5, f"wrong on {sum(a != b for a, b in zip(offs, refs))}/{len(refs)} tables")

    def widths() -> Check:
        name = "other search widths (vshift ≠ 15)"
        cases = [(_table(rng, v, planted=True), v) for v in (5, 10, 7)]
        outs = [(_triple(call(fn, d.copy(), vshift=v)), _lse_ref(d, v)) for d, v in cases]
        ok = all(_near(g[0], r[0]) and _near(g[1], r[1]) and g[2] == r[2] for g, r in outs)
        return Check(name, 0.5 if ok else 0.0, 0.5,
                     "" if ok else "use the vshift argument (the table has 2·vshift + 1 columns)")

    return [safe("LSE-D on random tables", 1.0, lse_d), safe("LSE-C on random tables", 1.0, lse_c),
            safe("offset (sign and index) on random tables", 1.5, offset),
            safe("other search widths (vshift ≠ 15)", 0.5, widths)]


# ------------------------------------------------------------------------------------- Q2
def _delay_ref(audio: np.ndarray, k: int, sr: float, fps: float) -> np.ndarray:
    """THG-Synth's audio_offset on a bare array: delay by round(k·sr/fps) samples, zeros shifted in."""
    shift = int(round(k * sr / fps))
    out = np.zeros_like(audio)
    if shift >= 0:
        out[shift:] = audio[: len(audio) - shift]
    else:
        out[:shift] = audio[-shift:]
    return out


def _as_audio(out: Any, like: np.ndarray) -> np.ndarray:
    a = np.asarray(out)
    if a.shape != like.shape:
        raise ValueError(f"returned shape {a.shape} for audio of shape {like.shape}: keep the length")
    return a


def _delay_diagnosis(got: np.ndarray, audio: np.ndarray, k: int, sr: float, fps: float) -> str:
    if np.array_equal(got, _delay_ref(audio, -k, sr, fps)):
        return "wrong sign: a positive k delays the audio (silence first, speech later)"
    shift = int(round(k * sr / fps))
    if np.array_equal(got, np.roll(audio, shift)):
        return "np.roll wraps the end of the speech round to the start: shift silence in instead"
    for s in (shift - 1, shift + 1):
        if np.array_equal(got, _delay_ref(audio, 1, s, 1)):
            return "off by one sample"
    if np.array_equal(got, _delay_ref(audio, k, 1, 1)):
        return "k counts video frames, not samples: shift by k·sample_rate/fps samples"
    return "wrong samples"


@register("a2.q2", "Delay the audio by k frames", 3)
def _q2(fn: Callable[..., Any], rng: np.random.Generator) -> list[Check]:
    def audio() -> np.ndarray:
        return rng.uniform(-1, 1, int(rng.integers(8000, 20000))).astype(np.float32)

    probe(fn, audio(), 1)

    def shape_dtype() -> Check:
        x = audio()
        out = _as_audio(call(fn, x.copy(), 3), x)
        ok = out.dtype == x.dtype
        return Check("length and dtype kept", 0.5 if ok else 0.0, 0.5,
                     "" if ok else f"dtype {out.dtype}: keep the input's float32")

    def direction(name: str, pts: float, ks: list[int], rates: list[tuple[float, float]]) -> Check:
        for k, (sr, fps) in zip(ks, rates):
            x = audio()
            kw = {} if (sr, fps) == (16000, 25.0) else {"sample_rate": sr, "fps": fps}
            got = _as_audio(call(fn, x.copy(), k, **kw), x)
            if not np.array_equal(got, _delay_ref(x, k, sr, fps)):
                return Check(name, 0.0, pts, _delay_diagnosis(got, x, k, sr, fps))
        return Check(name, pts, pts)

    def on_clip() -> Check:
        from .. import synth

        clip = synth.make_clip("bin blue at f two now", identity="astronaut", seed=int(rng.integers(100)),
                               params=synth.SynthParams(size=48))
        k = int(rng.choice([-5, -2, 2, 4, 6]))
        got = _as_audio(call(fn, clip.audio.copy(), k, sample_rate=clip.sample_rate, fps=clip.fps), clip.audio)
        ok = np.array_equal(got, synth.degrade(clip, "offset", k).audio)
        return Check("agrees with THG-Synth's offset degradation on a clip", 0.5 if ok else 0.0, 0.5,
                     "" if ok else _delay_diagnosis(got, clip.audio, k, clip.sample_rate, clip.fps))

    pos = [int(k) for k in rng.integers(1, 9, 3)]
    neg = [-int(k) for k in rng.integers(1, 9, 3)]
    std = [(16000, 25.0)] * 3
    return [safe("length and dtype kept", 0.5, shape_dtype),
            safe("positive k delays, silence shifted in", 1.0,
                 lambda: direction("positive k delays, silence shifted in", 1.0, pos, std)),
            safe("negative k advances", 0.75, lambda: direction("negative k advances", 0.75, neg, std)),
            safe("other sample rates and frame rates", 0.25,
                 lambda: direction("other sample rates and frame rates", 0.25, [3, -2],
                                   [(22050, 30.0), (48000, 29.97)])),
            safe("agrees with THG-Synth's offset degradation on a clip", 0.5, on_clip)]


# ------------------------------------------------------------------------------------- Q3
@register("a2.q3", "Measure the audio lag of hidden clips", 3)
def _q3(fn: Callable[..., Any], rng: np.random.Generator) -> list[Check]:
    from .. import synth

    clean = synth.make_clip(grid_seed=int(rng.integers(10**6)), identity=str(rng.choice(["astronaut", "grace_hopper"])),
                            seed=int(rng.integers(1000)), params=synth.SynthParams(size=160))
    lags = [0, int(rng.integers(1, 9)), -int(rng.integers(1, 9))]
    rng.shuffle(lags)
    clips = [synth.degrade(clean, "offset", k) for k in lags]
    probe(fn, clips[0].frames.copy(), clips[0].audio.copy(), clips[0].sample_rate)

    def one(i: int) -> Check:
        c = clips[i]
        name = f"hidden clip {i + 1}"
        got = call(fn, c.frames.copy(), c.audio.copy(), c.sample_rate)
        if isinstance(got, (float, np.floating)) and float(got).is_integer():
            got = int(got)
        if not isinstance(got, (int, np.integer)) or isinstance(got, bool):
            raise TypeError(f"return the lag as an int (frames), got {type(got).__name__}")
        if int(got) == c.av_offset:
            return Check(name, 1.0, 1.0)
        if c.av_offset != 0 and int(got) == -c.av_offset:
            return Check(name, 0.0, 1.0,
                         "sign flipped: that is SyncNet's offset (positive = audio leads); the lag is −offset")
        return Check(name, 0.0, 1.0, "wrong lag")

    return [safe(f"hidden clip {i + 1}", 1.0, lambda i=i: one(i)) for i in range(3)]


# ------------------------------------------------------------------------------------- Q4
_Q4_OK = frozenset({"05ae7a1c5d757a04e77b0e28798e82d04d951e14213c7a9984f52e780e164be5",
                    "49339c201d6597bfd0d6082ae2de1763b71fc7f4be8c5d5f87e9c11a6ab6dc6e",
                    "f3cf856f027b6e12a3a77279b095502ee3887638a3a28f92c19744f265bf299e"})
_FRAMES = "the answer is in milliseconds, not frames"
_Q4_MISTAKES = {
    "2af5a5ded74ab54ac1261e55eab76cfb1cb787fe3853838ff8c2a184e3aea0fd":
        "wrong sign: a positive SyncNet offset means the audio leads, so its lag is negative",
    "29b18ebe3be41b3c7014990af4ed5b4a735870cd1de7aab55544d34974cc6621": _FRAMES,
    "88baa82277786160b3594570f9789d444b58810d9fa98e3df91107d524ba3c27": _FRAMES,
    "a02fc83aafa34da86b077ea9c9ca2b8b22893c1b1e934b939391d145ec110e67": "that is one frame; the offset is several",
    "31a0f35a6e46c337ed123f9a514b1f5ddb4b1868dfcdd84351aaeb7ebdf624d1": "that is one frame; the offset is several",
    "0e8603950ee60e0e239c1a3469856e978be8117558527943eda0aded1eb43955": "the answer is in milliseconds, not seconds",
    "96a97b8977652a955b1f8b0a8a9e6290bbe4a1eaff12a43e170831e3deb2aa01": "the answer is in milliseconds, not seconds",
}


@register("a2.q4", "From SyncNet's offset to milliseconds of lag", 2)
def _q4(value: Any, rng: np.random.Generator) -> list[Check]:
    name = "value (ms, ±1)"
    return [safe(name, 2.0, lambda: number_check("a2.q4", name, 2.0, value, 0, _Q4_OK, _Q4_MISTAKES))]
