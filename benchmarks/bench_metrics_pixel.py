"""Speed of thglib's PSNR, SSIM, MS-SSIM and CPBD against their reference implementations, in one run.

Run: ``python benchmarks/bench_metrics_pixel.py [--frames 250] [--sizes 256 512] [--ref-frames 8]``.

* SSIM + PSNR: ``thglib.metrics.pixel`` (batched torch, float32 on CPU) against a per-frame
  ``skimage.metrics`` loop on the same clip, all frames (target ≥ 3× on CPU).
* CPBD: ``thglib.metrics.sharpness.cpbd`` against the ``cpbd`` 1.0.7 package. The reference costs
  ~0.3 s per 256² frame, so it is timed on the first ``--ref-frames`` frames and its rate scaled to the
  clip (stated in the output); the values of those frames are checked equal (target ≥ 20×).
* MS-SSIM: frames/s only (torchmetrics float32 as the peer, for scale).

Clip: :func:`thglib.samples.moving_portrait` (a moving window over the astronaut portrait) and a
degraded copy (Gaussian noise σ = 6 and blur σ = 0.8). Times are the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import numpy as np
import timing


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Fastest of ``repeat`` wall-clock timings, in seconds (after one untimed warm-up call)."""
    return timing.best_of(fn, repeat, warmup=True)


def row(name: str, size: int, ours: float, peer: float | None, n: int, target: float | None) -> str:
    """One table line: frames/s of each and the speed-up ``peer time / our time``."""
    fps = f"{n / ours:10.1f}"
    if peer is None:
        return f"{name:<26} {size:>5} {fps} {'':>10} {'':>8}"
    ratio = peer / ours
    verdict = "" if target is None else ("  ok" if ratio >= target else f"  BELOW TARGET {target:g}×")
    return f"{name:<26} {size:>5} {fps} {n / peer:10.1f} {ratio:7.1f}×{verdict}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=250)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--ref-frames", type=int, default=8, help="frames on which the cpbd package is timed")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="torch device of the pixel metrics (targets are for CPU)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    import cv2
    import torch
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure as tm_ms_ssim

    from thglib.metrics import pixel, sharpness
    from thglib.samples import moving_portrait

    reference_cpbd = sharpness.reference_cpbd()
    print(f"{args.frames} frames, device={args.device}, torch threads={torch.get_num_threads()}, "
          f"CPBD workers={sharpness._workers()}, best of {args.repeat}\n")
    print(f"{'metric':<26} {'size':>5} {'thglib f/s':>10} {'peer f/s':>10} {'speed-up':>8}")
    rng = np.random.default_rng(0)
    for size in args.sizes:
        ref = moving_portrait("astronaut", n_frames=args.frames, size=size)
        noisy = np.clip(ref + rng.normal(0, 6, ref.shape), 0, 255).astype(np.uint8)
        gen = np.stack([cv2.GaussianBlur(f, (0, 0), 0.8) for f in noisy])
        n = len(ref)

        def skimage_loop() -> None:
            for a, b in zip(ref, gen):
                structural_similarity(a, b, channel_axis=2, gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False, data_range=255)
                peak_signal_noise_ratio(a, b, data_range=255)

        def thglib_pair() -> None:
            pixel.ssim(ref, gen, device=args.device, progress=False)
            pixel.psnr(ref, gen, device=args.device, progress=False)

        peer, ours = best_of(skimage_loop, 1), best_of(thglib_pair, args.repeat)
        print(row("SSIM+PSNR vs skimage loop", size, ours, peer, n, 3.0))

        def torchmetrics_ms() -> None:
            for i in range(0, n, 8):
                x, y = (torch.from_numpy(a[i:i + 8]).permute(0, 3, 1, 2).float() for a in (gen, ref))
                tm_ms_ssim(x, y, data_range=255.0, reduction="none")

        ours = best_of(lambda: pixel.ms_ssim(ref, gen, device=args.device, progress=False), args.repeat)
        print(row("MS-SSIM vs torchmetrics", size, ours, best_of(torchmetrics_ms, 1), n, None))

        k = min(args.ref_frames, n)
        gray = sharpness.luma_u8(ref[:k])
        t = time.perf_counter()
        expected = np.array([reference_cpbd(g) for g in gray])
        peer = (time.perf_counter() - t) * n / k  # scaled from k frames to the clip
        result = {}
        ours = best_of(lambda: result.setdefault("r", sharpness.cpbd(ref, progress=False)), args.repeat)
        diff = np.abs(result["r"].per_frame[:k] - expected).max()
        print(row("CPBD vs cpbd 1.0.7 (*)", size, ours, peer, n, 20.0) + f"  max |Δ| = {diff:.1e}")
    print(f"\n(*) cpbd 1.0.7 timed on the first {args.ref_frames} frames, its time scaled to {args.frames} "
          "frames; max |Δ| compares the values of those frames.")


if __name__ == "__main__":
    main()
