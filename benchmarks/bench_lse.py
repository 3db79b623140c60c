"""LSE-D / LSE-C speed and agreement: thglib.metrics.sync.lse against the official file-based loop.

    python benchmarks/bench_lse.py --weights syncnet_v2.model --video clip.mp4
    python benchmarks/bench_lse.py --fill                    # dry run: untrained deterministic weights

Scores one 25 fps video three ways in the same run — ``lse`` in memory (no JPEG), ``lse`` with the
JPEG round trip of the official loop, and :func:`thglib.metrics.sync.official_loop` (the
re-implementation of ``SyncNetInstance_calc_scores.evaluate``: JPEG files on disk, OpenCV reads,
float64 copies, Python loops) — and prints LSE-D, LSE-C, offset, frames per second and the speed
ratio. Without ``--video`` a 10 s 256×256 THG-Synth clip is made first (not timed).
``--weights`` is a torch-saved state_dict of SyncNet v2 (e.g. the official ``syncnet_v2.model``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from thglib.metrics import sync  # noqa: E402
from thglib.models import SyncNetV2, fill_, load_pretrained  # noqa: E402


def test_clip(folder: str, seconds: float) -> Path:
    """A THG-Synth clip of about ``seconds`` s (several GRID sentences), 256×256 at 25 fps."""
    from thglib import synth

    text, i = [], 0
    while len(" ".join(text).split()) < seconds * 2.8:       # ~10 s of eSpeak speech and padding for 10 s
        text.append(synth.grid_sentence(i).spoken)
        i += 1
    clip = synth.make_clip(" ".join(text), identity="grace_hopper")
    return synth.save_clip(clip, Path(folder) / "bench")["mp4"]


from timing import timed  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    w = p.add_mutually_exclusive_group(required=True)
    w.add_argument("--weights", type=Path, help="SyncNet v2 state_dict (torch.save'd), e.g. syncnet_v2.model")
    w.add_argument("--fill", action="store_true", help="untrained deterministic weights (dry run: timings only)")
    p.add_argument("--video", type=Path, help="25 fps video to score (default: a 10 s THG-Synth clip)")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--repeat", type=int, default=2, help="best of N runs per method")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    net = SyncNetV2().eval()
    net = fill_(net, {"GAIN": 1.0, "BIAS": 0.1}) if args.fill else load_pretrained(net, args.weights)
    scorer = sync.load_scorer("syncnet_v2_fill") if args.fill else sync.load_scorer("syncnet_v2", path=args.weights)
    with tempfile.TemporaryDirectory() as td:
        video = args.video or test_clip(td, args.seconds)
        info = sync.syncnet_inputs(video)
        n = len(info.frames)
        print(f"video {video}: {n} frames ({n / 25:.1f} s); torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads, {os.cpu_count()} CPUs; {sync.ffmpeg_version()[:40]}")
        print(f"weights: {scorer.weights}" + (f"  [{scorer.caveat}]" if scorer.caveat else ""))
        rows = []
        for name, fn in (("official loop (files)", lambda: sync.official_loop(video, net)),
                         ("lse, JPEG round trip", lambda: sync.lse(video, scorer=scorer, jpeg_roundtrip=True)),
                         ("lse, in memory", lambda: sync.lse(video, scorer=scorer))):
            r, t = timed(fn, args.repeat)
            d, c, o = (r["lse_d"], r["lse_c"], r["offset"]) if isinstance(r, dict) else (
                r.lse_d.value, r.lse_c.value, r.offset)
            rows.append((name, d, c, o, t))
    base = rows[0][4]
    print(f"\n{'method':<24}{'LSE-D':>11}{'LSE-C':>10}{'offset':>8}{'time s':>9}{'frames/s':>10}{'speed-up':>10}")
    for name, d, c, o, t in rows:
        print(f"{name:<24}{d:>11.4f}{c:>10.4f}{o:>+8d}{t:>9.2f}{n / t:>10.1f}{base / t:>9.2f}x")
    print(f"\n|LSE-D(lse, JPEG) - LSE-D(official)| = {abs(rows[1][1] - rows[0][1]):.2e}; "
          f"|LSE-C(lse, JPEG) - LSE-C(official)| = {abs(rows[1][2] - rows[0][2]):.2e}")
    print(f"JPEG effect (in memory - JPEG round trip): LSE-D {rows[2][1] - rows[1][1]:+.4f}, "
          f"LSE-C {rows[2][2] - rows[1][2]:+.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
