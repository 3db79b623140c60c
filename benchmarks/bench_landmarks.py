"""Frames per second of 68-point landmarking on a clip: detector on every frame vs. detect-and-track.

Usage: ``python benchmarks/bench_landmarks.py [--frames 250] [--size 256] [--every 10] [--backend auto]``

The clip is :func:`thglib.samples.moving_portrait` (a camera window drifting and zooming over a
public-domain portrait). Both runs use the same landmark model; the tracked run calls the detector
only every ``--every`` frames (:func:`thglib.face.landmarks_video`). Printed: frames/s of each, their
ratio, and how far the tracked landmarks are from the per-frame ones (mean, in pixels and in % of
the face-box width).
"""

from __future__ import annotations

import argparse

import numpy as np

from thglib import face
from thglib.samples import moving_portrait
from timing import timed


def _fps(frames: np.ndarray, repeats: int, **kwargs: object) -> tuple[float, face.LandmarkTrack]:
    track, best = timed(lambda: face.landmarks_video(frames, **kwargs), repeats)
    return len(frames) / best, track


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=250)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--portrait", default="grace_hopper")
    ap.add_argument("--repeats", type=int, default=2, help="best of this many runs")
    args = ap.parse_args()

    clip = moving_portrait(args.portrait, n_frames=args.frames, size=args.size)
    face.landmarks(clip[0], backend=args.backend)  # load the models outside the timed runs
    fps_det, per_frame = _fps(clip, args.repeats, every=1, backend=args.backend)
    fps_trk, tracked = _fps(clip, args.repeats, every=args.every, backend=args.backend)
    err = np.linalg.norm(tracked.points - per_frame.points, axis=2).mean()
    width = float(np.mean(per_frame.boxes[:, 2] - per_frame.boxes[:, 0]))
    print(f"clip: {args.frames} frames of {args.size}x{args.size} ({args.portrait}); "
          f"backend {per_frame.backend} + detector {per_frame.detector}")
    print(f"detector every frame      : {fps_det:8.1f} frames/s")
    print(f"detect every {args.every:<3d} + track  : {fps_trk:8.1f} frames/s")
    print(f"speed-up (tracked / every frame): {fps_trk / fps_det:.2f}x")
    print(f"mean landmark distance tracked vs per-frame: {err:.2f} px ({100 * err / width:.1f} % of box width)")


if __name__ == "__main__":
    main()
