"""Calibrate the out-of-domain guard of :func:`thglib.metrics.sync.lse` for the THG-Synth sync expert.

    python benchmarks/calibrate_sync_guard.py            # 8 held-out clips (about 5 min on 2 cores)
    python benchmarks/calibrate_sync_guard.py --clips 4

For THG-Synth clips the expert never saw (GRID seeds 200000+, portraits alternating), each under real-style
degradations (:func:`thglib.synth.degrade`: blur, JPEG, H.264, downscale, head jitter, and all of these at
once), the expert scores the face-track crops (``crop="track"``, detector every 5 frames) three times:
with the clip's own audio, with ``degrade(clip, "wrong_audio", 1.0)`` (another sentence, same voice) and
with the next clip's audio. It prints LSE-C and the offsets found per condition, then the LSE-C level
that best separates matched from mismatched audio (balanced accuracy over all conditions; ties: the
midpoint of the gap) and how often a mismatched clip's offset lands on the search edge ``±vshift``.
The numbers printed are the ones quoted in ``thglib.metrics.sync.EXPERT_MIN_CONFIDENCE``'s docstring.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from thglib import synth  # noqa: E402
from thglib.metrics import sync  # noqa: E402

CONDITIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "clean": (),
    "blur 2": (("blur", 2.0),),
    "blur 4": (("blur", 4.0),),
    "jpeg 0.9": (("jpeg", 0.9),),
    "h264 0.9": (("h264", 0.9),),
    "downscale 2": (("downscale", 2.0),),
    "downscale 3": (("downscale", 3.0),),
    "head_jitter 2": (("head_jitter", 2.0),),
    "all (jitter 1, blur 2, down 1, h264 0.7)": (("head_jitter", 1.0), ("blur", 2.0), ("downscale", 1.0),
                                                 ("h264", 0.7)),
}


def held_out(i: int) -> synth.SynthClip:
    """Held-out clip ``i``: GRID seed 200000 + i, speaking rate as scripts/train_sync_expert.py draws it."""
    seed = 200_000 + i
    rate = int(np.random.default_rng([seed, 7]).integers(140, 181))
    return synth.make_clip(grid_seed=seed, identity=("grace_hopper", "astronaut")[i % 2], seed=seed,
                           params=replace(synth.SynthParams(), rate=rate))


def fit(pcm: np.ndarray, n: int) -> np.ndarray:
    """``pcm`` cut or zero-padded to ``n`` samples."""
    return np.pad(pcm, (0, max(0, n - len(pcm))))[:n]


def score(clips: list[synth.SynthClip], expert: sync.SyncScorer) -> list[dict]:
    rows = []
    for name, steps in CONDITIONS.items():
        for i, clip in enumerate(clips):
            bad = clip
            for kind, s in steps:
                bad = synth.degrade(bad, kind, s)
            inp = sync.syncnet_inputs(bad, crop="track", every=5)
            pcms = {"matched": inp.pcm,
                    "wrong_audio": sync.pcm16(synth.degrade(clip, "wrong_audio", 1.0).audio, clip.sample_rate),
                    "other clip": sync.pcm16(clips[(i + 1) % len(clips)].audio, clip.sample_rate)}
            for audio, pcm in pcms.items():
                r = sync.lse(replace(inp, pcm=fit(pcm, len(inp.pcm))), scorer=expert)
                rows.append({"condition": name, "clip": i, "audio": audio, "lse_c": r.lse_c.value,
                             "lse_d": r.lse_d.value, "offset": r.offset})
    return rows


def best_level(matched: np.ndarray, wrong: np.ndarray) -> tuple[float, float]:
    """The LSE-C level maximising balanced accuracy (matched ≥ level, mismatched < level), and that accuracy."""
    cand = np.unique(np.concatenate([matched, wrong]))
    acc = [0.5 * ((matched >= c).mean() + (wrong < c).mean()) for c in cand]
    k = int(np.argmax(acc))
    below = wrong[wrong < cand[k]]
    level = 0.5 * (cand[k] + below.max()) if below.size else float(cand[k])
    return float(level), float(acc[k])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=8)
    args = ap.parse_args(argv)
    clips = [held_out(i) for i in range(args.clips)]
    rows = score(clips, sync.load_scorer("thgsynth_expert"))
    print(f"{'condition':<42} {'audio':<12} {'LSE-C min':>9} {'median':>7} {'max':>6}  offsets (0 / edge / n)")
    for name in CONDITIONS:
        for audio in ("matched", "wrong_audio", "other clip"):
            sel = [r for r in rows if r["condition"] == name and r["audio"] == audio]
            c, o = np.array([r["lse_c"] for r in sel]), np.array([r["offset"] for r in sel])
            print(f"{name:<42} {audio:<12} {c.min():9.2f} {np.median(c):7.2f} {c.max():6.2f}  "
                  f"{(o == 0).sum()} / {(np.abs(o) == sync.VSHIFT).sum()} / {len(o)}  {o.tolist()}")
    matched = np.array([r["lse_c"] for r in rows if r["audio"] == "matched"])
    wrong = np.array([r["lse_c"] for r in rows if r["audio"] != "matched"])
    level, acc = best_level(matched, wrong)
    o_w = np.array([r["offset"] for r in rows if r["audio"] != "matched"])
    o_m = np.array([r["offset"] for r in rows if r["audio"] == "matched"])
    print(f"\nmatched LSE-C: min {matched.min():.2f}, 5th pct {np.percentile(matched, 5):.2f}, median "
          f"{np.median(matched):.2f} (n={len(matched)})")
    print(f"mismatched LSE-C: median {np.median(wrong):.2f}, 95th pct {np.percentile(wrong, 95):.2f}, "
          f"max {wrong.max():.2f} (n={len(wrong)})")
    print(f"best separating level {level:.2f}: balanced accuracy {acc:.3f}; matched below it "
          f"{(matched < level).sum()}/{len(matched)}, mismatched at or above it {(wrong >= level).sum()}/{len(wrong)}")
    print(f"offsets at the edge ±{sync.VSHIFT}: matched {(np.abs(o_m) == sync.VSHIFT).sum()}/{len(o_m)}, "
          f"mismatched {(np.abs(o_w) == sync.VSHIFT).sum()}/{len(o_w)}; matched offset ≠ 0: {(o_m != 0).sum()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
