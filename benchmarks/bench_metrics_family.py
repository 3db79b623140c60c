"""CPU throughput (frames/s) of LPIPS, FD-dlib128 and CSIM-dlib, with PSNR (scikit-image) as the peer.

Run: ``python benchmarks/bench_metrics_family.py [--frames 16] [--size 256]``. Each metric is timed
on the same synthetic talking-head clip (:func:`thglib.samples.moving_portrait`) after one warm-up
call (model loading excluded). LPIPS runs with an *untrained* AlexNet backbone here (no weights
offline): its speed is that of the real metric, its values are not.
"""

from __future__ import annotations

import argparse
import os
import warnings
from collections.abc import Callable

import numpy as np
from timing import best_of


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    os.environ.setdefault("THG_OFFLINE", "1")

    import torch
    from skimage.metrics import peak_signal_noise_ratio

    from thglib.metrics import distribution, identity, perceptual
    from thglib.metrics.extractors import DlibFaceFeatures
    from thglib.samples import moving_portrait

    ref = moving_portrait("grace_hopper", n_frames=args.frames, size=args.size)
    rng = np.random.default_rng(0)
    gen = np.clip(ref + rng.normal(0, 6, ref.shape), 0, 255).astype(np.uint8)
    dlib_features = DlibFaceFeatures()

    cases: dict[str, Callable[[], object]] = {
        "PSNR (skimage, peer)": lambda: [peak_signal_noise_ratio(a, b, data_range=255) for a, b in zip(ref, gen)],
        "LPIPS-alex (UNTRAINED backbone)": lambda: perceptual.lpips(ref, gen, allow_untrained=True),
        "FD-dlib128 (both sets)": lambda: distribution.fid(ref, gen, dlib_features),
        "CSIM-dlib": lambda: identity.csim(ref[0], gen, backend="dlib"),
    }
    frames_per_call = {"FD-dlib128 (both sets)": 2 * args.frames}
    print(f"{args.frames} frames of {args.size}×{args.size}, CPU, torch threads = {torch.get_num_threads()}, "
          f"best of {args.repeat}\n")
    rows = []
    for name, fn in cases.items():
        fn()  # warm-up: loads models, fills caches
        fps = frames_per_call.get(name, args.frames) / best_of(fn, args.repeat)
        rows.append((name, fps))
    peer = rows[0][1]
    print(f"{'metric':<34} {'frames/s':>10} {'vs PSNR':>10}")
    for name, fps in rows:
        print(f"{name:<34} {fps:>10.1f} {fps / peer:>10.4f}")


if __name__ == "__main__":
    main()
