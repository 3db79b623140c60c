"""Speed of THG-Synth: render frames/s, a 4-second clip on one core, and a 20-clip dataset.

    python benchmarks/bench_synth.py [--clips 20] [--processes 2]

The peer for the renderer is scikit-image's ``PiecewiseAffineTransform`` + ``warp`` over the same
mesh (the textbook way to do a piecewise-affine warp), timed on a few frames in the same run.
Target: a 4-second 256² clip (100 frames) in under 2 s on one core.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core for the single-clip timings
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


from timing import best_of as _best  # noqa: E402


def bench_render(clip, size: int) -> tuple[float, float]:  # noqa: ANN001
    """(our frames/s, skimage frames/s) rendering ``clip``'s motion at ``size``²."""
    from skimage.transform import PiecewiseAffineTransform, warp

    from thglib.synth import build_mesh, load_identity, pose_matrices, render_frames
    from thglib.synth.render import frame_meshes

    ident = load_identity(clip.identity, size)
    mesh = build_mesh(ident)
    mats = pose_matrices(clip.pose, ident.neutral[8], ident.iod)
    ours = clip.n_frames / _best(lambda: render_frames(ident, clip.mouth, clip.eye_closure, mats, mesh))
    dst = frame_meshes(ident, clip.mouth, clip.eye_closure, mats)
    canvas = ident.canvas.astype(np.float32) / 255
    n_peer = 3

    def peer() -> None:
        for t in range(n_peer):
            src, out = dst[t] + ident.margin, mesh.source  # output (canvas coords) -> source
            if hasattr(PiecewiseAffineTransform, "from_estimate"):  # scikit-image >= 0.26
                tf = PiecewiseAffineTransform.from_estimate(src, out)
            else:
                tf = PiecewiseAffineTransform()
                tf.estimate(src, out)
            warp(canvas, tf, output_shape=canvas.shape[:2])

    return ours, n_peer / _best(peer, repeat=1)


def bench_clip(text: str) -> dict[str, float]:
    """Seconds per stage of one 256² clip on one core (after a warm-up call)."""
    import cv2

    from thglib.synth import SynthParams, make_clip
    from thglib.synth.clip import padded_speech

    cv2.setNumThreads(1)
    params = SynthParams()
    make_clip(text, params=params)  # warm-up: dlib landmarks of the portrait, imports
    t_total = _best(lambda: make_clip(text, params=params))
    t_tts = _best(lambda: padded_speech(text, params))
    clip = make_clip(text, params=params)
    return {"frames": clip.n_frames, "seconds_of_video": clip.n_frames / clip.fps, "total_s": t_total,
            "tts_s": t_tts}


def bench_dataset(n: int, processes: int) -> float:
    """Seconds to write ``n`` clips (256², mp4 + wav + npz + json) with ``processes`` workers."""
    from thglib.synth import make_dataset

    with tempfile.TemporaryDirectory() as td:
        t = time.perf_counter()
        make_dataset(n, td, processes=processes)
        return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    from thglib.synth import make_clip

    text = "place red at J two please, then set blue by G nine now"
    r = bench_clip(text)
    print(f"4-second clip: {r['frames']} frames ({r['seconds_of_video']:.2f} s of video) at 256² in "
          f"{r['total_s']:.2f} s on one core (TTS {r['tts_s']:.3f} s); target < 2 s: "
          f"{'OK' if r['total_s'] < 2 else 'MISSED'}; {r['seconds_of_video'] / r['total_s']:.1f}x real time")
    clip = make_clip(text)
    for size in (256, 512):
        ours, peer = bench_render(clip, size)
        print(f"render {size}²: {ours:7.1f} frames/s  (skimage PiecewiseAffineTransform+warp: {peer:5.2f} "
              f"frames/s; ratio {ours / peer:6.1f}x)")
    t = bench_dataset(args.clips, args.processes)
    print(f"dataset: {args.clips} clips in {t:.1f} s with {args.processes} processes "
          f"({t / args.clips:.2f} s/clip) -> 200 clips ~ {200 * t / args.clips / 60:.1f} min")


if __name__ == "__main__":
    main()
