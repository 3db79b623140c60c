"""The ``thg lipsync`` sub-command: Wav2Lip on a face video or image and any speech file.

    thg lipsync --face me.mp4 --audio speech.m4a --out synced.mp4
    thg lipsync --face portrait.jpg --audio hello.wav --out hello.mp4 --weights wav2lip
    thg lipsync --face clip.mp4 --audio a.wav --out o.mp4 --weights ~/ckpt/wav2lip_gan.pth --device cuda --fp16
    thg lipsync --face clip.mp4 --audio a.wav --out o.mp4 --detect-every 5 --policy interpolate
    thg lipsync --face portrait.jpg --audio hello.wav --out mini.mp4 --model mini   # offline, small
    thg lipsync --face phone.mp4 --audio a.wav --out o.mp4 --resize-factor 2 --rotate --box 40 300 60 260

Wav2Lip ``inference.py``'s frame options work the same way, in its order: ``--resize_factor N``
downscales every frame by N, ``--rotate`` turns it 90° clockwise, ``--crop TOP BOTTOM LEFT RIGHT``
cuts it (-1 as BOTTOM/RIGHT: the frame's edge); the output has the edited size.  ``--box TOP BOTTOM
LEFT RIGHT`` (in the edited frame) is the face crop of every frame: no detector runs (for faces the
detector misses; the face must stay in it).  ``--nosmooth`` is ``--smooth 1``.

``--model mini`` runs the small model of the training chapter (trained on THG-Synth faces only, in
minutes on a CPU; labelled as such in the summary and the MP4's comment tag), for when the
official weights cannot be downloaded.

Weights come from ``thg weights fetch wav2lip_gan`` (or ``--weights PATH``).  Without them the
command stops with the download instructions, unless ``--allow-untrained`` is given: then a
deterministic untrained fill runs every step and the result is labelled as such (in the summary, the
MP4's comment tag and an "UNTRAINED WEIGHTS" mark in each frame's corner).  Warnings about the expert's
sync score (e.g. a frame rate other than 25 fps) are printed in the summary.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_lipsync_parser", "run"]


def add_lipsync_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``lipsync`` on the ``thg`` sub-parsers; returns the new parser."""
    from .validate import FPS_RANGE, cli_type

    p = sub.add_parser("lipsync", help="lip-sync a face video or image to speech with Wav2Lip",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--face", required=True, help="face video or image (jpg/png)")
    p.add_argument("--audio", required=True, help="speech: any audio or video file ffmpeg reads")
    p.add_argument("--out", required=True, help="output .mp4 (never replaced without --overwrite)")
    p.add_argument("--weights", default="wav2lip_gan", help="wav2lip_gan (default), wav2lip, or a .pth path")
    p.add_argument("--model", choices=["wav2lip", "mini"], default="wav2lip",
                   help="mini: the small model trained on THG-Synth that ships with thglib (offline; sets "
                        "--weights mini and, unless given, --expert-weights mini)")
    p.add_argument("--allow-untrained", action="store_true",
                   help="run with an untrained deterministic fill when the weights are unavailable")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:1, ...")
    p.add_argument("--fp16", action="store_true", help="half-precision autocast (CUDA only)")
    p.add_argument("--batch-size", type=cli_type(lo=1, hi=4096, integer=True),
                   help="generator batch (default 128 on CUDA, 16 on CPU)")
    p.add_argument("--fps", type=cli_type(lo=FPS_RANGE[0], hi=FPS_RANGE[1]), default=25.0,
                   help="frame rate for an image input (default 25)")
    p.add_argument("--pads", type=cli_type(lo=-4096, hi=4096, integer=True), nargs=4, default=[0, 10, 0, 0], metavar=("TOP", "BOTTOM", "LEFT", "RIGHT"),
                   help="box padding in pixels (default 0 10 0 0)")
    p.add_argument("--detector", default="auto", help="auto, s3fd, dlib-hog or dlib-mmod")
    p.add_argument("--detect-every", type=cli_type(lo=1, hi=10000, integer=True), default=1,
                   help="detect every N frames, track in between")
    p.add_argument("--policy", default="raise", choices=["raise", "interpolate", "skip"],
                   help="frames without a face: stop (default), interpolate the box, or leave untouched")
    smooth = p.add_mutually_exclusive_group()
    smooth.add_argument("--smooth", type=cli_type(lo=1, hi=1000, integer=True), default=5,
                        help="box smoothing window in frames (1 = off)")
    smooth.add_argument("--nosmooth", dest="smooth", action="store_const", const=1,
                        help="no temporal smoothing of the boxes (inference.py's flag; = --smooth 1)")
    p.add_argument("--upsample", type=_upsample, default="auto", metavar="{auto,0,1,2,3}",
                   help="dlib detector image doublings (default auto: chosen from the frame size)")
    region = {"type": int, "nargs": 4, "metavar": ("TOP", "BOTTOM", "LEFT", "RIGHT")}
    p.add_argument("--box", default=None, help="fixed face box in every frame, no detection "
                   "(-1 -1 -1 -1: none, as inference.py)", **region)
    p.add_argument("--resize-factor", "--resize_factor", dest="resize_factor",
                   type=cli_type(lo=1, hi=1024, integer=True), default=1, help="downscale the frames by this integer factor first (default 1)")
    p.add_argument("--crop", default=None, help="crop the (resized, rotated) frames; -1 as BOTTOM/RIGHT: the edge",
                   **region)
    p.add_argument("--rotate", action="store_true", help="rotate the frames 90° clockwise (phone videos)")
    p.add_argument("--length", default="audio", choices=["audio", "wav2lip"],
                   help="output frames: cover the audio (default) or inference.py's count")
    p.add_argument("--no-sync", action="store_true", help="skip the expert SyncNet confidence")
    p.add_argument("--expert-weights", default=None,
                   help="expert SyncNet weights (name or path; default wav2lip_expert, or mini with --model mini)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run, cli_flags=CLI_FLAGS)
    return p


def _upsample(text: str) -> str | int:
    """``--upsample``: ``auto`` or 0-3."""
    if text == "auto" or text in ("0", "1", "2", "3"):
        return text if text == "auto" else int(text)
    raise argparse.ArgumentTypeError(f"got {text!r}: use auto, 0, 1, 2 or 3")


#: Library parameter -> the ``thg lipsync`` option that sets it (error messages are written in these).
CLI_FLAGS = {"face": "--face", "audio": "--audio", "out": "--out", "weights": "--weights",
             "allow_untrained": "--allow-untrained", "device": "--device", "fp16": "--fp16",
             "batch_size": "--batch-size", "fps": "--fps", "pads": "--pads", "detector": "--detector",
             "detect_every": "--detect-every", "policy": "--policy", "smooth_window": "--smooth",
             "length": "--length", "expert_weights": "--expert-weights", "overwrite": "--overwrite",
             "upsample": "--upsample", "box": "--box", "resize_factor": "--resize-factor", "crop": "--crop",
             "rotate": "--rotate"}


def run(args: argparse.Namespace) -> int:
    """Execute ``thg lipsync`` with parsed ``args``; returns the exit status."""
    import warnings

    from .errors import UntrainedWeightsWarning
    from .lipsync import lipsync

    with warnings.catch_warnings():  # the caveat is printed once below, as one line
        warnings.simplefilter("ignore", UntrainedWeightsWarning)
        mini = args.model == "mini"
        expert = args.expert_weights or ("mini" if mini else "wav2lip_expert")
        result = lipsync(args.face, args.audio, args.out, weights="mini" if mini else args.weights, allow_untrained=args.allow_untrained,
                         device=args.device, fp16=args.fp16, batch_size=args.batch_size, fps=args.fps,
                         pads=tuple(args.pads), detector=args.detector, detect_every=args.detect_every,
                         policy=args.policy, smooth_window=args.smooth, upsample=args.upsample,
                         box=None if args.box in (None, [-1] * 4) else tuple(args.box),
                         resize_factor=args.resize_factor, crop=None if args.crop is None else tuple(args.crop),
                         rotate=args.rotate, length=args.length,
                         sync=not args.no_sync, expert_weights=expert, overwrite=args.overwrite,
                         progress=not args.quiet)
    print(result.summary())
    if result.caveat:
        print(f"thg lipsync: warning: {result.caveat}", file=sys.stderr)
    return 0
