"""The ``thg`` command line.

    thg info                         # versions, device, network, which face/TTS backends work
    thg weights list                 # the model registry (thglib.weights)
    thg weights fetch NAME [--path]  # download (or adopt a local file), verify, cache
    thg synth --grid-seed N --out D  # synthetic talking-head clip with exact ground truth

Each sub-command lives in the module it drives; this file only wires them up.
"""

from __future__ import annotations

import argparse
import sys


def _info(args: argparse.Namespace) -> int:
    import importlib.util

    from . import __version__, runtime

    print(f"thglib {__version__}")
    print(runtime.describe())
    for mod, what in [("dlib", "offline faces (dlib)"), ("face_alignment", "face-alignment (S3FD+FAN)"),
                      ("espeakng_loader", "offline TTS (eSpeak NG)"), ("imageio_ffmpeg", "ffmpeg binary"),
                      ("onnxruntime", "ArcFace (onnxruntime)")]:
        print(f"  {what:28s} {'yes' if importlib.util.find_spec(mod) else 'no'}")
    return 0


def _weights(args: argparse.Namespace) -> int:
    from . import weights

    if args.action == "list":
        print(weights.registry_table().to_string(index=False))
        return 0
    if not args.name:
        print("thg weights fetch: give a model NAME (see `thg weights list`)", file=sys.stderr)
        return 2
    print(weights.fetch(args.name, path=args.path))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="thg", description="thg-book's talking-head toolkit")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="show versions, device and available backends").set_defaults(func=_info)
    w = sub.add_parser("weights", help="list or fetch model weights")
    w.add_argument("action", choices=["list", "fetch"])
    w.add_argument("name", nargs="?")
    w.add_argument("--path", help="a local file to use instead of downloading")
    w.set_defaults(func=_weights)
    from .synth.command import add_synth_parser

    add_synth_parser(sub)
    from .lipsync_cli import add_lipsync_parser

    add_lipsync_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``thg`` console script."""
    from .errors import THGError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except THGError as e:
        print(f"thg: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
