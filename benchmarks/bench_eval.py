"""``thg eval`` end to end against the anchors' chain, on the same clips, in one run.

    python benchmarks/bench_eval.py --fill                    # offline: untrained SyncNet v2 and Inception
    python benchmarks/bench_eval.py --clips 10 --seconds 10   # the issue's setting (needs the real weights cached)

Makes ``--clips`` THG-Synth reference clips of ``--seconds`` s at ``--size``² and a blurred copy of each
(the "generated" clips; not timed), then times, on the same files:

* **thg eval** (``thglib.eval.evaluate``, in-process, protocol ``wav2lip-lrs2`` with the scorer and
  Inception chosen here, no alignment): PSNR, SSIM, CPBD, LSE-D/C, FID; decoding once per clip;
* **the anchors' chain, as their users run it**: the official file-based LSE loop per clip
  (:func:`thglib.metrics.sync.official_loop`: ffmpeg writes JPEGs and a WAV, OpenCV reads them back,
  Python loops), a per-frame ``skimage.metrics`` loop for PSNR and SSIM over frames decoded by
  ``imageio-ffmpeg``, the ``cpbd`` package per frame, and pytorch-fid's ``calculate_fid_given_paths``
  over frames dumped as PNG files.

It prints each side's numbers (they must agree: same weights, same frames) and the end-to-end ratio
anchors / thg eval, plus the peak RSS of this process. FID features are taken from every
``--fid-stride``-th frame on both sides. ``--fill`` uses deterministic untrained weights for both
sides (numbers then show agreement and speed only, and are labelled so).

Memory is measured by ``benchmarks/bench_eval_memory.py`` (a 10-minute 1080p clip, streamed).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_set(root: Path, n: int, seconds: float, size: int) -> None:
    """``root/ref/bNN.mp4`` clean clips (GRID sentences in a row, at least ``seconds`` long) and
    ``root/gen/bNN.mp4`` blurred copies (THG-Synth)."""
    from thglib import synth

    for d in ("ref", "gen"):
        (root / d).mkdir(parents=True, exist_ok=True)
    params = synth.SynthParams(size=size)
    for i in range(n):
        words = [synth.grid_sentence(100 * i + j).spoken for j in range(max(1, round(seconds / 2.2)))]
        clip = synth.make_clip(" ".join(words), identity=("grace_hopper", "astronaut")[i % 2], seed=i, params=params)
        while clip.n_frames < seconds * clip.fps:
            words.append(synth.grid_sentence(100 * i + len(words)).spoken)
            clip = synth.make_clip(" ".join(words), identity=("grace_hopper", "astronaut")[i % 2], seed=i,
                                   params=params)
        synth.save_clip(clip, root / "ref" / f"b{i:02d}", overwrite=True)
        synth.save_clip(synth.degrade(clip, "blur", 1.5), root / "gen" / f"b{i:02d}", overwrite=True)


def anchors(root: Path, fill: bool, stride: int, work: Path) -> tuple[dict[str, float], float]:
    """The anchors' chain over the set; returns (numbers, seconds)."""
    import cv2
    import imageio_ffmpeg
    import pytorch_fid.fid_score as fs
    import torch
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from thglib.metrics import sync
    from thglib.metrics.extractors import _fid_inception
    from thglib.metrics.sharpness import luma_u8, reference_cpbd
    from thglib.models import SyncNetV2, fill_, load_pretrained
    from thglib.weights import fetch

    t0 = time.perf_counter()
    net = SyncNetV2().eval()
    net = fill_(net, {"GAIN": 1.0, "BIAS": 0.1}) if fill else load_pretrained(net, fetch("syncnet_v2"))
    compute_cpbd = reference_cpbd()
    psnr, ssim, cpbd, lse_d, lse_c = [], [], [], [], []
    dumps = {d: work / f"frames_{d}" for d in ("ref", "gen")}
    for d in dumps.values():
        d.mkdir()
    for gen in sorted((root / "gen").glob("*.mp4")):
        ref = root / "ref" / gen.name
        frames = {}
        for side, path in (("ref", ref), ("gen", gen)):
            reader = imageio_ffmpeg.read_frames(str(path))
            meta = next(reader)
            w, h = meta["size"]
            frames[side] = [np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in reader]
            for t, f in enumerate(frames[side][::stride]):
                cv2.imwrite(str(dumps[side] / f"{gen.stem}_{t:05d}.png"), f[..., ::-1])
        psnr.append(np.mean([peak_signal_noise_ratio(a, b, data_range=255) for a, b in zip(frames["ref"], frames["gen"])]))
        ssim.append(np.mean([structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                                   channel_axis=2, data_range=255)
                             for a, b in zip(frames["ref"], frames["gen"])]))
        cpbd.append(np.mean([compute_cpbd(luma_u8(f[None])[0]) for f in frames["gen"]]))
        r = sync.official_loop(gen, net)
        lse_d.append(r["lse_d"])
        lse_c.append(r["lse_c"])
    model = _fid_inception(None if fill else str(fetch("fid_inception")), 0)[0]
    orig = fs.InceptionV3

    class Same:  # pytorch-fid builds InceptionV3(...) itself: hand it the network (and weights) thglib uses
        BLOCK_INDEX_BY_DIM = orig.BLOCK_INDEX_BY_DIM

        def __new__(cls, *a: object, **k: object) -> object:
            return model

    fs.InceptionV3 = Same
    try:
        fid = fs.calculate_fid_given_paths([str(dumps["ref"]), str(dumps["gen"])], batch_size=50, device="cpu",
                                           dims=2048, num_workers=0)
    finally:
        fs.InceptionV3 = orig
    del torch
    return {"psnr": float(np.mean(psnr)), "ssim": float(np.mean(ssim)), "cpbd": float(np.mean(cpbd)),
            "lse_d": float(np.mean(lse_d)), "lse_c": float(np.mean(lse_c)), "fid": float(fid)}, time.perf_counter() - t0


def ours(root: Path, fill: bool, stride: int, out: Path) -> tuple[dict[str, float], float]:
    from thglib.eval import evaluate, get_protocol

    proto = replace(get_protocol("wav2lip-lrs2"), name="bench-eval", sync_scorer="syncnet_v2_fill" if fill else "syncnet_v2",
                    fid_extractor="inception-untrained" if fill else "inception", fid_stride=stride)
    t0 = time.perf_counter()
    run = evaluate(root / "gen", root / "ref", out=out, protocol=proto, metrics="psnr,ssim,cpbd,lse,fid",
                   threads=max(1, os.cpu_count() or 1), progress=False)
    dt = time.perf_counter() - t0
    return {k: run.value(k) for k in ("psnr", "ssim", "cpbd", "lse_d", "lse_c", "fid")}, dt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=10)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--fid-stride", type=int, default=5, help="FID over every N-th frame, both sides (default 5)")
    p.add_argument("--fill", action="store_true", help="untrained deterministic SyncNet v2 and Inception (offline)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as td:
        root = Path(td)
        t = time.perf_counter()
        make_set(root / "set", args.clips, args.seconds, args.size)
        print(f"{args.clips} clips of >= {args.seconds:g} s at {args.size}² made in {time.perf_counter() - t:.0f} s "
              f"(not timed); {os.cpu_count()} CPUs")
        (root / "anchors").mkdir()
        ref_numbers, t_ref = anchors(root / "set", args.fill, args.fid_stride, root / "anchors")
        our_numbers, t_ours = ours(root / "set", args.fill, args.fid_stride, root / "eval")
    label = " (untrained weights: agreement and speed only)" if args.fill else ""
    print(f"{'metric':<8} {'anchors':>14} {'thg eval':>14} {'rel. diff':>10}{label}")
    for k, a in ref_numbers.items():
        b = our_numbers[k]
        print(f"{k:<8} {a:>14.6g} {b:>14.6g} {abs(a - b) / max(abs(a), 1e-12):>10.2e}")
    print(f"end to end: anchors {t_ref:.1f} s, thg eval {t_ours:.1f} s, ratio {t_ref / t_ours:.2f}x")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
