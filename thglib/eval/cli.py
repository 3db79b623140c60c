"""The ``thg eval`` sub-command: every metric of :mod:`thglib.metrics`, on one clip or a test set.

    thg eval gen.mp4 --ref real.mp4 --out eval/                # one pair
    thg eval results/ --ref test_set/ --protocol wav2lip-lrs2  # folders, paired by file name
    thg eval manifest.csv --out eval/ --engine dask --address tcp://scheduler:8786
    thg eval --list-protocols                                  # what each protocol fixes

Writes ``OUT/clips/ID.json``, ``OUT/results.csv`` (appended), ``OUT/summary.json`` and
``OUT/report.html``. A clip that fails gets NaN and its reason; the exit status is 0 when at least one
clip was evaluated, 1 when all failed. Clips whose report exists and whose inputs did not change are
skipped (``--no-resume`` recomputes them).
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_parser", "run", "CLI_FLAGS"]

#: Library parameter -> the ``thg eval`` option that sets it (error messages are written in these).
CLI_FLAGS = {"gen": "GEN", "ref": "--ref", "audio": "--audio", "metrics": "--metrics", "protocol": "--protocol",
             "out": "--out", "engine": "--engine", "address": "--address", "workers": "--workers",
             "threads": "--threads", "overwrite": "--overwrite", "device": "--device", "memory_mb": "--memory-mb",
             "chunk": "--chunk", "stream": "--stream"}


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``eval`` on the ``thg`` sub-parsers; returns the new parser."""
    from ..metrics.protocols import PROTOCOLS
    from ..validate import cli_type
    from .runner import METRICS

    p = sub.add_parser("eval", help="evaluate generated talking-head clips (one file, a folder or a manifest)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("gen", nargs="?", metavar="GEN", help="generated clip, folder of clips, or manifest CSV "
                   "(columns gen,ref,audio,id)")
    p.add_argument("--ref", help="reference clip or folder (paired by file name)")
    p.add_argument("--audio", help="driving audio file or folder (default: the generated clip's own track)")
    p.add_argument("--metrics", default="all", help=f"comma-separated subset of: {', '.join(METRICS)} (default all)")
    p.add_argument("--protocol", default="thg-default", choices=sorted(PROTOCOLS),
                   help="named protocol fixing fps, audio rate, detector, crop, alignment, JPEG round trip")
    p.add_argument("--list-protocols", action="store_true", help="print the protocols and what they fix, then exit")
    p.add_argument("--out", default="thg-eval", help="output folder (default ./thg-eval)")
    p.add_argument("--engine", choices=["local", "dask"], default="local",
                   help="local process pool (default) or a Dask cluster")
    p.add_argument("--address", help="Dask scheduler address, e.g. tcp://host:8786 (default: a local cluster)")
    p.add_argument("--workers", type=cli_type(lo=1, hi=1024, integer=True), default=1,
                   help="worker processes (local pool, or a new local Dask cluster)")
    p.add_argument("--threads", type=cli_type(lo=1, hi=256, integer=True), default=1,
                   help="torch threads per clip job (results are identical across engines for one value)")
    p.add_argument("--device", default="cpu", help="torch device for the networks (cpu, cuda; GPU tasks "
                   "request the Dask resource GPU=1)")
    p.add_argument("--visualize", action="store_true", help="also write OUT/vis/ID.mp4 side-by-side videos")
    p.add_argument("--no-resume", action="store_true", help="recompute clips whose report already exists")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty folder thg eval did not create")
    p.add_argument("--memory-mb", type=cli_type(lo=1, hi=1e7), default=2048.0,
                   help="stream a clip whose decoded frames would take more than this many MiB (default 2048)")
    p.add_argument("--stream", choices=["auto", "on", "off"], default="auto",
                   help="evaluate chunk by chunk in bounded memory: auto (over --memory-mb), on, off")
    p.add_argument("--chunk", type=cli_type(lo=1, hi=100000, integer=True), default=128,
                   help="frames decoded at a time when streaming (default 128)")
    p.add_argument("--no-html", action="store_true", help="skip report.html (JSON and CSV reports only)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run, cli_flags=CLI_FLAGS)
    return p


def run(args: argparse.Namespace) -> int:
    """Execute ``thg eval`` with parsed ``args``; returns the exit status."""
    from ..errors import BadInputError
    from ..metrics.protocols import protocol_table
    from .api import evaluate

    if args.list_protocols:
        print(protocol_table())
        return 0
    if not args.gen:
        raise BadInputError("GEN", "is missing", "Pass a generated clip, a folder or a manifest CSV "
                            "(or --list-protocols)")
    run_ = evaluate(args.gen, args.ref, args.audio, out=args.out, protocol=args.protocol, metrics=args.metrics,
                    engine=args.engine, workers=args.workers, address=args.address, threads=args.threads,
                    device=args.device, visualize=args.visualize, resume=not args.no_resume,
                    overwrite=args.overwrite, progress=not args.quiet, memory_mb=args.memory_mb,
                    stream={"auto": None, "on": True, "off": False}[args.stream], chunk=args.chunk,
                    html=not args.no_html)
    s = run_.summary
    print(f"{s['n_clips']} clip(s): {s['n_ok']} ok, {s['n_partial']} partial, {s['n_failed']} failed "
          f"({s['n_resumed']} resumed) under protocol {s['protocol']['name']}")
    for k, v in {**s["set"], **s["means"]}.items():
        caveat = f"  [{v['card']['caveat']}]" if v["card"].get("caveat") else ""
        print(f"  {v['card']['metric']:<28} {v['value']:.6g}{caveat}")
    for clip, lines in s.get("warnings", {}).items():
        print(f"  {len(lines)} warning(s) in {clip}:")
        for line in lines:
            print(f"    {line}")
    for f in s["failures"]:
        print(f"  failed {f['id']}: {f['reason']}", file=sys.stderr)
    print(run_.html or run_.out / "summary.json")
    return 0 if s["n_failed"] < s["n_clips"] else 1
