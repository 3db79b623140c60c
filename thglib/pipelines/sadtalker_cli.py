"""The ``thg sadtalker`` sub-command: animate one portrait with any speech (SadTalker).

    thg sadtalker --face portrait.jpg --audio speech.m4a --out talking.mp4
    thg sadtalker --face photo.png --audio hello.wav --out full.mp4 --mode full
    thg sadtalker --face photo.png --audio hello.wav --out still.mp4 --mode still --device cuda --fp16
    thg sadtalker --face me.jpg --audio a.wav --out o.mp4 --weights ~/SadTalker/checkpoints --pose-style 12 --seed 7

``--mode crop`` (default) writes the animated face crop, ``full`` pastes it back into the whole
image, ``still`` does that without head motion.  Weights: ``thg weights fetch sadtalker_256`` and
``thg weights fetch sadtalker_mapping_crop`` (``_full`` for the full and still modes), or
``--weights`` with SadTalker's ``checkpoints/`` folder or its ``.safetensors`` file.  Without them
the command stops with the download instructions, unless ``--allow-untrained`` is given: then a
deterministic untrained fill runs every stage and the result is labelled as such (also in the MP4's
comment tag, and with "UNTRAINED WEIGHTS" in each frame's corner).  The options that ``thg lipsync`` has too mean the same here.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_parser", "run", "CLI_FLAGS"]


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``sadtalker`` on the ``thg`` sub-parsers; returns the new parser."""
    from ..validate import cli_type
    from .faces import SEVERAL
    from .sadtalker import MODES, NUM_POSE_STYLES, SIZES

    p = sub.add_parser("sadtalker", help="animate one portrait with speech (SadTalker: expression, blinks, head motion)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--face", "--image", dest="face", required=True,
                   help="portrait: an image (jpg/png) or a video (its first frame is used)")
    p.add_argument("--audio", required=True, help="speech: any audio or video file ffmpeg reads")
    p.add_argument("--out", required=True, help="output .mp4 (never replaced without --overwrite)")
    p.add_argument("--mode", default="crop", choices=MODES,
                   help="crop: the animated face crop (default); full: pasted back into the image; still: full "
                        "without head motion")
    p.add_argument("--still", action="store_true", help="keep the source head pose in crop mode too")
    p.add_argument("--weights", default=None,
                   help="sadtalker_256 (default), sadtalker_512, a .safetensors file or SadTalker's checkpoints/ folder")
    p.add_argument("--allow-untrained", action="store_true",
                   help="run with an untrained deterministic fill when the weights are unavailable")
    p.add_argument("--size", type=int, choices=SIZES, default=256,
                   help="renderer side in pixels (default 256, the weights' size; 512 with sadtalker_512)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:1, ...")
    p.add_argument("--fp16", action="store_true", help="half-precision autocast (CUDA only)")
    p.add_argument("--batch-size", type=cli_type(lo=1, hi=1024, integer=True),
                   help="renderer batch (default 8 on CUDA, 2 on CPU)")
    p.add_argument("--pose-style", type=cli_type(lo=0, hi=NUM_POSE_STYLES - 1, integer=True), default=0,
                   help=f"PoseVAE head-motion style 0..{NUM_POSE_STYLES - 1} (default 0)")
    p.add_argument("--expression-scale", type=cli_type(lo=0, hi=10), default=1.0,
                   help="scale of the predicted expression (default 1)")
    p.add_argument("--no-blink", action="store_true", help="no random eye blinks")
    p.add_argument("--ref-blink", help="a video whose expression (eye blinks) to use")
    p.add_argument("--ref-pose", help="a video whose head motion to add")
    p.add_argument("--seed", type=cli_type(lo=0, hi=2**63 - 1, integer=True), default=0,
                   help="seed of the blinks and pose latents (default 0; the same seed gives the same video)")
    p.add_argument("--detector", default="auto", help="auto, s3fd, dlib-hog or dlib-mmod")
    p.add_argument("--landmarks", default="auto", help="auto, fan or dlib (68 points)")
    p.add_argument("--upsample", type=int, choices=[0, 1, 2, 3], default=1,
                   help="dlib detector upsampling for small faces (default 1)")
    p.add_argument("--several", default="largest", choices=SEVERAL,
                   help="an image with several faces: animate the largest (default) or stop")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run, cli_flags=CLI_FLAGS)
    return p


#: Library parameter -> the ``thg sadtalker`` option that sets it (error messages are written in these).
CLI_FLAGS = {"image": "--face", "audio": "--audio", "out": "--out", "mode": "--mode", "still": "--still",
             "weights": "--weights", "allow_untrained": "--allow-untrained", "size": "--size", "device": "--device",
             "fp16": "--fp16", "batch_size": "--batch-size", "pose_style": "--pose-style",
             "expression_scale": "--expression-scale", "blink": "--no-blink", "ref_blink": "--ref-blink",
             "ref_pose": "--ref-pose", "seed": "--seed", "detector": "--detector", "landmarks": "--landmarks",
             "upsample": "--upsample", "several": "--several", "overwrite": "--overwrite"}


def run(args: argparse.Namespace) -> int:
    """Execute ``thg sadtalker`` with parsed ``args``; returns the exit status."""
    import warnings

    from ..errors import UntrainedWeightsWarning
    from .sadtalker import animate

    with warnings.catch_warnings():  # the caveat is printed once below, as one line
        warnings.simplefilter("ignore", UntrainedWeightsWarning)
        result = animate(args.face, args.audio, args.out, mode=args.mode, still=True if args.still else None,
                         weights=args.weights, allow_untrained=args.allow_untrained, size=args.size,
                         device=args.device, fp16=args.fp16, batch_size=args.batch_size, pose_style=args.pose_style,
                         expression_scale=args.expression_scale, blink=not args.no_blink, ref_blink=args.ref_blink,
                         ref_pose=args.ref_pose, seed=args.seed, detector=args.detector, landmarks=args.landmarks,
                         upsample=args.upsample, several=args.several, overwrite=args.overwrite,
                         progress=not args.quiet)
    print(result.summary())
    if result.caveat:
        print(f"thg sadtalker: warning: {result.caveat}", file=sys.stderr)
    return 0
