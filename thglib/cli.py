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


#: ``thg weights`` options by the library parameter they set.
_WEIGHTS_FLAGS = {"path": "--path", "name": "NAME"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="thg", description="thg-book's talking-head toolkit")
    p.add_argument("--debug", action="store_true", help="show the full traceback when a command fails")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="show versions, device and available backends").set_defaults(func=_info)
    w = sub.add_parser("weights", help="list or fetch model weights")
    w.add_argument("action", choices=["list", "fetch"])
    w.add_argument("name", nargs="?")
    w.add_argument("--path", help="a local file to use instead of downloading")
    w.set_defaults(func=_weights, cli_flags=_WEIGHTS_FLAGS)
    from .synth.command import add_synth_parser

    add_synth_parser(sub)
    from .lipsync_cli import add_lipsync_parser

    add_lipsync_parser(sub)
    from .pipelines.sadtalker_cli import add_parser as add_sadtalker_parser

    add_sadtalker_parser(sub)
    from .train.cli import add_parser as add_train_parser

    add_train_parser(sub)
    from .eval.cli import add_parser as add_eval_parser
    add_eval_parser(sub)
    return p


def _in_cli_words(text: str, flags: dict[str, str]) -> str:
    """Rewrite the library's parameter spellings in ``text`` as the command's options:
    ``overwrite=True`` → ``--overwrite``, ``batch_size=`` → ``--batch-size``, `` `weights=` `` → ``--weights``."""
    import re

    for param, flag in sorted(flags.items(), key=lambda kv: -len(kv[0])):
        if not flag.startswith("-"):
            continue
        text = re.sub(rf"`{param}=`", f"`{flag}`", text)
        text = re.sub(rf"(?<![\w.-]){param}=True\b", flag, text)
        text = re.sub(rf"(?<![\w.-]){param}=(?=\S)", f"{flag} ", text)
    return text


def _report(e: BaseException, args: argparse.Namespace | None) -> str:
    """One line for a failed command: the error in the command's own words, or, for an exception
    thglib did not anticipate, its type and message plus where to look."""
    from .errors import BadInputError, THGError

    flags = getattr(args, "cli_flags", {}) if args is not None else {}
    if isinstance(e, BadInputError):
        what = flags.get(e.what, e.what)
        text = f"{what}: {e.problem}" + (f". {e.fix}" if e.fix else "")
        return _in_cli_words(text, flags)
    if isinstance(e, THGError):
        return _in_cli_words(str(e), flags)
    if isinstance(e, OSError) and e.filename:
        return (f"{e.strerror or e}: '{e.filename}'. Check the path and its permissions "
                "(rerun with --debug for the traceback)")
    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return (f"unexpected {type(e).__name__}{': ' + first[:300] if first else ''}. This input was not checked "
            "by thglib; rerun with --debug for the traceback and please report it")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``thg`` console script: exit status 0 on success, 1 when the command fails
    (one line on stderr; ``--debug`` adds the traceback), 2 for a usage error, 130 on Ctrl-C."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("thg: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the CLI's last line of defence: one line, not a traceback
        if args.debug:
            import traceback

            traceback.print_exc()
        print(f"thg: error: {_report(e, args)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
