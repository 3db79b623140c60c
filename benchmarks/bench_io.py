"""Benchmark thglib.io video reading against the bundled ffmpeg decoding to rawvideo alone.

It makes a 250-frame 256x256 H.264 clip, then times (best of 3, same run):

* peer:     ``ffmpeg -i clip -f rawvideo -pix_fmt rgb24 -`` into a numpy array (nothing else);
* thglib A: ``iter_frames(clip, gray=True)``, touching every grayscale frame (probe included);
* thglib B: ``read_video(clip, audio=False)`` then a per-frame BT.601 luma in numpy;
* thglib C: as B with ``accurate_color=True`` (exact YUV->RGB rounding, for reference).

Target: A / peer <= 1.5.  Run: ``python benchmarks/bench_io.py``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from thglib.io import iter_frames, probe, read_video, write_video  # noqa: E402
from thglib.io.video import ffmpeg_exe  # noqa: E402

T, H, W, FPS = 250, 256, 256, 25
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def make_clip(path: Path) -> Path:
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    rng = np.random.default_rng(0)

    def frames():
        for t in range(T):
            r = 128 + 90 * np.sin(2 * np.pi * (xx / 64 + t / 50))
            g = 128 + 90 * np.cos(2 * np.pi * (yy / 48 - t / 40))
            b = 128 + 60 * np.sin(2 * np.pi * (xx + yy) / 96)
            f = np.stack([r, g, b], -1) + rng.normal(0, 6, (H, W, 3))
            yield np.clip(f, 0, 255).astype(np.uint8)

    return write_video(path, frames(), FPS)


def peer(path: Path) -> int:
    cmd = [ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(out, np.uint8).reshape(-1, H, W, 3).shape[0]


def thglib_gray_stream(path: Path) -> int:
    n = 0
    for chunk in iter_frames(path, gray=True):
        for frame in chunk:
            n += frame.shape[0] > 0
    return n


def thglib_read_then_gray(path: Path, accurate: bool = False) -> int:
    clip = read_video(path, audio=False, accurate_color=accurate)
    return sum(int((f @ LUMA).shape[0] > 0) for f in clip.frames)


def thglib_read_accurate_then_gray(path: Path) -> int:
    return thglib_read_then_gray(path, accurate=True)


def best_of(fn, path: Path, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = fn(path)
        times.append(time.perf_counter() - t0)
        assert n == T, (fn.__name__, n)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as td:
        clip = make_clip(Path(td) / "bench.mp4")
        best_of(peer, clip, 1)  # warm the page cache and the binary
        t_peer = best_of(peer, clip)
        t_probe = best_of(lambda p: T if probe(p) else 0, clip)
        t_a = best_of(thglib_gray_stream, clip)
        t_b = best_of(thglib_read_then_gray, clip)
        t_c = best_of(thglib_read_accurate_then_gray, clip)
    print(f"clip: {T} frames {W}x{H} H.264, best of 3")
    print(f"  peer  ffmpeg -> rawvideo rgb24          {t_peer * 1e3:7.1f} ms")
    print(f"  thglib probe alone                      {t_probe * 1e3:7.1f} ms")
    print(f"  A     iter_frames(gray=True)            {t_a * 1e3:7.1f} ms   ratio {t_a / t_peer:4.2f}x"
          "  (target <= 1.5x)")
    print(f"  B     read_video + numpy luma per frame {t_b * 1e3:7.1f} ms   ratio {t_b / t_peer:4.2f}x")
    print(f"  C     B with accurate_color=True        {t_c * 1e3:7.1f} ms   ratio {t_c / t_peer:4.2f}x")


if __name__ == "__main__":
    main()
