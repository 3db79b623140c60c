"""The ``thg synth`` sub-command: synthetic talking-head clips with exact ground truth.

    thg synth --grid-seed 7 --identity grace_hopper --out out/
    thg synth --text "Hello there" --degrade offset=3 --degrade blur=2 --out out/
    thg synth --dataset 200 --out data/synth --degrade lip_damp=0.5

A single clip is written as ``OUT/NAME.{mp4,wav,npz,json}`` (``--name``, default ``clip``); with
``--degrade`` also ``OUT/NAME_degraded.*``, whose reference is the clean clip. Existing files are
never replaced without ``--overwrite``.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_synth_parser", "run"]


def add_synth_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``synth`` on the ``thg`` sub-parsers; returns the new parser."""
    from ..validate import SYNTH_FPS, SYNTH_SIZE, cli_type

    p = sub.add_parser("synth", help="make synthetic talking-head clips with exact ground truth",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", help="what the face says")
    what.add_argument("--grid-seed", type=cli_type(lo=0, integer=True),
                      help="say the GRID-corpus sentence drawn with this seed")
    what.add_argument("--dataset", type=cli_type(lo=1, hi=100000, integer=True), metavar="N",
                      help="make N clips of GRID sentences and a manifest.csv")
    p.add_argument("--identity", help="astronaut (default), grace_hopper or a face image path; "
                   "--dataset alternates the two portraits unless this is given")
    p.add_argument("--seed", type=cli_type(lo=0, integer=True),
                   help="seed of blinks and head motion (default: grid seed, else 0)")
    p.add_argument("--degrade", action="append", default=[], metavar="NAME[=STRENGTH]",
                   help="also write a degraded copy; repeatable. Names: " + ", ".join(_names()))
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--name", default="clip", help="file stem of a single clip (default: clip)")
    p.add_argument("--size", type=cli_type(lo=SYNTH_SIZE[0], hi=SYNTH_SIZE[1], integer=True), default=None,
                   help=f"frame side in pixels, {SYNTH_SIZE[0]}..{SYNTH_SIZE[1]} (default 256; 512 with --realistic)")
    p.add_argument("--realistic", action="store_true",
                   help="the realism preset (SynthParams.realistic): yaw/pitch, eyelids, sealed lips, larger faces; "
                        "--dataset also varies identities, voices and rates")
    p.add_argument("--fps", type=cli_type(lo=SYNTH_FPS[0], hi=SYNTH_FPS[1]), default=25.0,
                   help=f"frame rate, {SYNTH_FPS[0]:g}..{SYNTH_FPS[1]:g} (default 25)")
    p.add_argument("--voice", default="en-us", help="eSpeak NG voice (default en-us)")
    p.add_argument("--rate", type=cli_type(lo=80, hi=450, integer=True), default=160,
                   help="words per minute, 80..450 (default 160)")
    p.add_argument("--coupling", type=cli_type(lo=0, hi=10), default=1.0,
                   help="speech-driven head motion weight, 0..10 (0 = none)")
    p.add_argument("--processes", type=cli_type(lo=1, hi=64, integer=True), default=2,
                   help="worker processes for --dataset (default 2)")
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    p.set_defaults(func=run, cli_flags=CLI_FLAGS)
    return p


#: Library parameter -> the ``thg synth`` option that sets it (error messages are written in these).
CLI_FLAGS = {"identity": "--identity", "identities": "--identity", "size": "--size", "fps": "--fps",
             "voice": "--voice", "rate": "--rate", "coupling": "--coupling", "processes": "--processes",
             "overwrite": "--overwrite", "seed": "--seed", "grid_seed": "--grid-seed", "text": "--text",
             "n": "--dataset", "out_dir": "--out", "path": "--out"}


def _names() -> list[str]:
    from .degrade import DEGRADATIONS

    return sorted(DEGRADATIONS)


def run(args: argparse.Namespace) -> int:
    """Execute ``thg synth`` with parsed ``args``; returns the exit status."""
    from pathlib import Path

    from .clip import SynthParams, make_clip, save_clip
    from .dataset import make_dataset
    from .degrade import apply_degradations, parse_degradation

    from ..errors import BadInputError
    from ..validate import writable_folder

    specs = [parse_degradation(s) for s in args.degrade]
    base = {"fps": args.fps, "voice": args.voice, "rate": args.rate, "coupling": args.coupling}
    base |= {} if args.size is None else {"size": args.size}
    params = SynthParams.realistic(**base) if args.realistic else SynthParams(**({"size": 256} | base))
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise BadInputError("--out", f"'{out}' is an existing file, but thg synth writes into a folder",
                            "Pass a folder path (it is created if missing); --overwrite replaces clip files "
                            "inside it, never a file standing where the folder should be")
    name = args.name
    if not name or name in (".", "..") or any(c in name for c in "/\\\0") or len(name) > 200:
        raise BadInputError("--name", f"{name!r} is not a file stem", "Pass a plain name such as clip (no folders)")
    writable_folder(out, "--out", fix="Pass --out a folder you can write to")  # before minutes of rendering
    if args.dataset is not None:
        ids = (args.identity,) if args.identity else ("astronaut", "grace_hopper")
        manifest = make_dataset(args.dataset, out, seed=args.seed or 0, identities=ids, params=params,
                                degradations=specs, processes=args.processes, overwrite=args.overwrite)
        print(manifest)
        return 0
    targets = [out / name] + ([out / f"{name}_degraded"] if specs else [])
    for path in targets:  # refuse before rendering anything
        taken = [str(path) + s for s in (".mp4", ".wav", ".npz", ".json") if Path(str(path) + s).exists()]
        if taken and not args.overwrite:
            print(f"thg synth: error: would overwrite {', '.join(taken)} (pass --overwrite)", file=sys.stderr)
            return 1
    seed = args.seed if args.seed is not None else (args.grid_seed or 0)
    clip = make_clip(args.text, grid_seed=args.grid_seed, identity=args.identity or "astronaut", seed=seed,
                     params=params)
    clips = [clip] + ([apply_degradations(clip, specs)] if specs else [])
    for c, path in zip(clips, targets):
        for p in save_clip(c, path, overwrite=args.overwrite).values():
            print(p)
    return 0
