"""``thg eval`` memory: a long 1080p clip evaluated streamed, in bounded memory, against the whole-clip path.

    python benchmarks/bench_eval_memory.py                       # 10 minutes of 1080p (the issue's setting)
    python benchmarks/bench_eval_memory.py --minutes 1 --short 5 # quicker

Makes a reference and a "generated" (blurred) 1080p, 25 fps clip with speech by looping a THG-Synth
clip (256², upscaled by ffmpeg; not timed), then evaluates each run in a child process and reports the
child's own peak RSS (``getrusage(RUSAGE_SELF)`` inside it: Python, numpy and torch; the ffmpeg
decoders it pipes from are separate processes with fixed-size buffers and are not counted — their
``RUSAGE_CHILDREN`` peak would include the pages a forked child shares with its parent):

* **streamed**, ``--minutes`` long (PSNR and LSE-D/C under ``wav2lip-lrs2``: the official JPEG round trip
  of the file and SyncNet v2; ``--fill`` for the untrained stand-in offline), and the same on a
  ``--short``-second clip, so the two peaks show memory does not grow with length;
* **whole** (``stream=False``) on the ``--short``-second clip: the peer, whose peak grows with length.

The numbers of the streamed and whole runs on the short clip must agree (printed). A 10-minute 1080p
clip is 93 GB of decoded RGB frames (x2 with the reference): the whole-clip path cannot run it at all.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHILD = """
import json, resource, sys, time
from dataclasses import replace
from thglib.eval import evaluate, get_protocol
gen, ref, out, stream, fill = sys.argv[1:6]
proto = get_protocol("wav2lip-lrs2")
if fill == "1":
    proto = replace(proto, name="wav2lip-lrs2-fill", sync_scorer="syncnet_v2_fill")
t = time.perf_counter()
run = evaluate(gen, ref, out=out, protocol=proto, metrics="psnr,lse", progress=False,
               stream={"on": True, "off": False}[stream], memory_mb=1e9 if stream == "off" else 2048)
r = run.reports[0]
print(json.dumps({"s": time.perf_counter() - t, "status": r["status"], "errors": r["errors"],
                  "streamed": r["streamed"], "values": {k: v["value"] for k, v in r["metrics"].items()},
                  "frames": r["metrics"].get("psnr", {}).get("card", {}).get("samples"),
                  "self_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_long(src: Path, dst: Path, seconds: float) -> None:
    """``src`` looped to ``seconds`` and scaled to 1920x1080 (H.264 ultrafast, AAC)."""
    from thglib.io import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", "-1", "-i", str(src), "-t", f"{seconds:g}",
                    "-vf", "scale=1920:1080:flags=bicubic", "-r", "25", "-c:v", "libx264", "-preset", "ultrafast",
                    "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ar", "16000", str(dst)], check=True)


def child(gen: Path, ref: Path, out: Path, stream: str, fill: bool) -> dict:
    """Run one evaluation in a fresh interpreter; its own peak RSS (Python + torch) is measured inside it."""
    p = subprocess.run([sys.executable, "-c", CHILD, str(gen), str(ref), str(out), stream, "1" if fill else "0"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"child failed:\n{p.stderr[-3000:]}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res["peak_mib"] = res["self_mib"]
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--short", type=float, default=10.0, help="seconds of the short clip (whole vs streamed)")
    p.add_argument("--fill", action="store_true", help="untrained SyncNet v2 (offline)")
    args = p.parse_args(argv)
    from thglib import synth

    with tempfile.TemporaryDirectory() as td:
        root = Path(td)
        t0 = time.perf_counter()
        words = " ".join(synth.grid_sentence(j).spoken for j in range(4))
        clip = synth.make_clip(words, identity="grace_hopper", seed=0, params=synth.SynthParams(size=256))
        synth.save_clip(clip, root / "ref256", overwrite=True)
        synth.save_clip(synth.degrade(clip, "blur", 1.5), root / "gen256", overwrite=True)
        for name, sec in (("short", args.short), ("long", args.minutes * 60)):
            for side in ("ref", "gen"):
                make_long(root / f"{side}256.mp4", root / f"{side}_{name}.mp4", sec)
        print(f"clips made in {time.perf_counter() - t0:.0f} s (not timed): 1920x1080 at 25 fps, "
              f"{args.short:g} s and {args.minutes:g} min, reference + blurred copy")
        rows = []
        for label, name, mode in (("whole", "short", "off"), ("streamed", "short", "on"), ("streamed", "long", "on")):
            r = child(root / f"gen_{name}.mp4", root / f"ref_{name}.mp4", root / f"out_{label}_{name}", mode, args.fill)
            rows.append((label, name, r))
            print(f"{label:<9} {name:<6} {r['frames']!s:>7} frames  {r['s']:7.1f} s  peak RSS {r['peak_mib']:7.0f} MiB "
                  f"{r['status']}  " + "  ".join(f"{k}={v:.6g}" for k, v in r["values"].items() if v is not None))
    (_, _, whole), (_, _, short), (_, _, long_) = rows
    agree = all(abs(whole["values"][k] - short["values"][k]) <= 1e-9 * max(1.0, abs(whole["values"][k]))
                for k in whole["values"] if whole["values"][k] is not None)
    print(f"streamed equals whole on the short clip: {agree}")
    print(f"peak RSS ratio: streamed {args.minutes:g} min / streamed {args.short:g} s = "
          f"{long_['peak_mib'] / short['peak_mib']:.2f}; whole {args.short:g} s / streamed {args.minutes:g} min = "
          f"{whole['peak_mib'] / long_['peak_mib']:.2f}")
    frames = (long_["frames"] or 0) * 1920 * 1080 * 3 * 2 / 2**30
    print(f"the {args.minutes:g}-min pair decoded whole would take {frames:.0f} GiB of frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
