"""LSE-D / LSE-C speed and agreement: thglib.metrics.sync.lse against the official file-based loop.

    python benchmarks/bench_lse.py --weights syncnet_v2.model --video clip.mp4
    python benchmarks/bench_lse.py --fill                    # dry run: untrained deterministic weights

Scores one 25 fps video three ways in the same run — ``lse`` in memory (no JPEG), ``lse`` with the
JPEG round trip of the official loop, and :func:`thglib.metrics.sync.official_loop` (the
re-implementation of ``SyncNetInstance_calc_scores.evaluate``: JPEG files on disk, OpenCV reads,
float64 copies, Python loops) — and prints LSE-D, LSE-C, offset, frames per second and the speed
ratio. Without ``--video`` a THG-Synth clip of at least 10 s, 256×256, is made first (not timed).
``--weights`` is a torch-saved state_dict of SyncNet v2 (e.g. the official ``syncnet_v2.model``).

It also prints where the official loop's time goes (its two network calls against everything else)
and the compute floor of any float32 direct-convolution implementation: the network's
multiply-accumulates per window (counted from the layer shapes) over this CPU's float32 matrix-multiply
peak (a 2048² ``torch.mm``, measured in the same run). The ratio official / floor bounds the speed-up
that decoding once, batching and keeping frames in memory can reach on this machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from thglib.metrics import sync  # noqa: E402
from thglib.models import SyncNetV2, fill_, load_pretrained  # noqa: E402


def test_clip(folder: str, seconds: float) -> Path:
    """A THG-Synth clip of at least ``seconds`` s (GRID sentences in a row), 256×256 at 25 fps."""
    from thglib import synth

    text = [synth.grid_sentence(i).spoken for i in range(max(1, round(seconds / 2.2)))]   # ~2.2 s each
    clip = synth.make_clip(" ".join(text), identity="grace_hopper")
    while clip.n_frames < seconds * clip.fps:
        text.append(synth.grid_sentence(len(text)).spoken)
        clip = synth.make_clip(" ".join(text), identity="grace_hopper")
    return synth.save_clip(clip, Path(folder) / "bench")["mp4"]


from timing import best_of, timed  # noqa: E402


def macs_per_window(net: torch.nn.Module) -> dict[str, int]:
    """Multiply-accumulates of one 5-frame lip window and one MFCC window, from the layer shapes."""
    count = {"lip": 0, "audio": 0}

    def hook(stream: str):
        def add(m: torch.nn.Module, _inp: tuple, out: torch.Tensor) -> None:
            per_out = m.weight[0].numel()                    # in_channels/groups × kernel, or in_features
            count[stream] += per_out * out[0].numel()
        return add

    handles = [m.register_forward_hook(hook("lip" if name.startswith("netcnnlip") or name.startswith("netfclip")
                                            else "audio"))
               for name, m in net.named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.Linear))]
    with torch.no_grad():
        net.eval().forward_lip(torch.zeros(1, 3, 5, 224, 224))
        net.forward_aud(torch.zeros(1, 1, 13, 20))
    for h in handles:
        h.remove()
    return count


def sgemm_peak(n: int = 2048) -> float:
    """Float32 multiply-accumulates per second of one n×n ``torch.mm`` (best of 3)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    return n ** 3 / best_of(lambda: torch.mm(a, b), 3, warmup=True)


class NetworkTimer:
    """Wraps a SyncNet and adds up the wall-clock time of its ``forward_lip`` / ``forward_aud`` calls."""

    def __init__(self, net: torch.nn.Module) -> None:
        self.net, self.seconds = net, 0.0

    def eval(self) -> "NetworkTimer":
        self.net.eval()
        return self

    def _timed(self, fn, x: torch.Tensor) -> torch.Tensor:
        t = time.perf_counter()
        out = fn(x)
        self.seconds += time.perf_counter() - t
        return out

    def forward_lip(self, x: torch.Tensor) -> torch.Tensor:
        return self._timed(self.net.forward_lip, x)

    def forward_aud(self, x: torch.Tensor) -> torch.Tensor:
        return self._timed(self.net.forward_aud, x)


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
        rows, clock, runs = [], NetworkTimer(net), []

        def official() -> dict:
            clock.seconds, t = 0.0, time.perf_counter()
            r = sync.official_loop(video, clock)
            runs.append((time.perf_counter() - t, clock.seconds))     # (total, network) of each run
            return r

        for name, fn in (("official loop (files)", official),
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

    macs, peak = macs_per_window(net), sgemm_peak()
    windows = info.n_windows
    floor = windows * (macs["lip"] + macs["audio"]) / peak
    net_s = min(runs)[1]                      # network share of the fastest official run
    print(f"\nofficial loop: network {net_s:.2f} s of {base:.2f} s ({100 * net_s / base:.0f} %); "
          f"files, decoding and array copies {base - net_s:.2f} s")
    print(f"network per window: lip {macs['lip'] / 1e9:.3f} G + audio {macs['audio'] / 1e9:.3f} G "
          f"multiply-accumulates; float32 mm peak here {peak / 1e9:.1f} G/s")
    print(f"float32 direct-convolution floor for {windows} windows: {floor:.2f} s, so no such implementation "
          f"can be more than {base / floor:.2f}x faster than the official loop on this machine "
          f"(measured: {base / rows[2][4]:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
