"""Regenerate everything the training chapter loads: the expert, the loss ablation, its logs and metrics.

    python scripts/train_mini_lipsync.py                  # all of it (≈ 40 min on 2 CPU cores)
    python scripts/train_mini_lipsync.py --seeds 0 --configs l1 wav2lip_recipe   # a part
    python scripts/train_mini_lipsync.py --seeds 1 --threads 1 & python scripts/train_mini_lipsync.py --seeds 2 --threads 1

1. THG-Synth splits (:data:`thglib.train.data.SPLITS`: 48 training clips of two portraits, 8 clips of
   held-out sentences, 4 clips of a held-out real face), cached in ``$THG_HOME/mini_lipsync``.
2. The lip-sync expert (:func:`thglib.train.expert.train_expert`) → ``data/models/mini_lipsync_expert.safetensors``
   (skipped when present, unless ``--retrain-expert``).
3. Every configuration of :data:`thglib.train.loop.CONFIGS` × ``--seeds``, same data and budget →
   ``data/mini_lipsync/logs/<config>_s<seed>.csv``; seed 0's generators → ``data/models/``.
4. Held-out metrics of each run (:func:`thglib.train.evaluate.evaluate`) → ``data/mini_lipsync/results.csv``
   (one row per run and clip), plus the expert's own numbers in ``data/mini_lipsync/expert.json``.
Each run's work folder (``--work``) keeps ``last.pt``, so an interrupted regeneration resumes.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from thglib.models.mini_lipsync import load_mini, save_half  # noqa: E402
from thglib.train.data import make_split  # noqa: E402
from thglib.train.evaluate import evaluate  # noqa: E402
from thglib.train.expert import expert_accuracy, train_expert  # noqa: E402
from thglib.train.loop import CONFIGS, quick_config, train  # noqa: E402

DATA = ROOT / "data" / "mini_lipsync"
MODELS = ROOT / "data" / "models"


def _write_csv(path: Path, rows: list[dict]) -> None:
    from thglib.io.video import atomic_output

    keys = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_output(path, overwrite=True) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows)


def collect(work: Path) -> None:
    """Copy every finished run's log, seed-0 generator and metrics from ``work`` into ``data/``."""
    rows = []
    for m in sorted(work.glob("*_s*/metrics.csv")):
        run = m.parent
        name, seed = run.name.rsplit("_s", 1)
        (DATA / "logs").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(run / "log.csv", DATA / "logs" / f"{run.name}.csv")
        if seed == "0":
            shutil.copyfile(run / f"mini_lipsync_{run.name}.safetensors", MODELS / f"mini_lipsync_{run.name}.safetensors")
        with open(m, newline="") as f:
            rows += list(csv.DictReader(f))
    if rows:
        _write_csv(DATA / "results.csv", rows)
        print(f"collected {len(rows)} rows from {len({(r['config'], r['seed']) for r in rows})} runs")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--steps", type=int, help="override every configuration's steps")
    p.add_argument("--expert-steps", type=int, default=600)
    p.add_argument("--retrain-expert", action="store_true")
    p.add_argument("--work", type=Path, default=Path.home() / ".cache" / "thglib" / "mini_lipsync_runs")
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--threads", type=int, default=2, help="torch threads (1 when running seeds in parallel)")
    p.add_argument("--collect-only", action="store_true", help="only gather finished runs into data/")
    p.add_argument("--reevaluate", action="store_true", help="score finished runs again")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    t_all = time.time()
    train_clips = make_split("train", processes=args.processes)
    heldout = make_split("heldout", processes=args.processes) + make_split("heldout_identity", processes=args.processes)
    print(f"data: {len(train_clips)} training clips, {len(heldout)} held-out ({time.time() - t_all:.0f} s)", flush=True)

    expert_file = MODELS / "mini_lipsync_expert.safetensors"
    if args.retrain_expert or not expert_file.is_file():
        t = time.time()
        expert, log = train_expert(train_clips, steps=args.expert_steps, batch=32, heldout=heldout[:8], log_every=100)
        save_half(expert_file, expert=expert)
        same, other = heldout[:8], heldout[8:]
        info = {"steps": args.expert_steps, "batch": 32, "seconds": round(time.time() - t, 1), "log": log,
                "heldout_sentences": expert_accuracy(load_mini(expert_file, "expert"), same),
                "heldout_identity": expert_accuracy(load_mini(expert_file, "expert"), other)}
        DATA.mkdir(parents=True, exist_ok=True)
        (DATA / "expert.json").write_text(json.dumps(info, indent=1))
        print(f"expert: {info['heldout_sentences']} / held-out face {info['heldout_identity']}", flush=True)
    expert = load_mini(expert_file, "expert")

    for seed in args.seeds:
        for name in args.configs:
            cfg = quick_config(name, seed=seed, **({"steps": args.steps} if args.steps else {}))
            work = args.work / f"{name}_s{seed}"
            if (work / "metrics.csv").is_file() and not args.collect_only and not args.reevaluate:
                print(f"{name} seed {seed}: done before (delete {work} to redo)", flush=True)
                continue
            if args.collect_only:
                continue
            res = train(cfg, train_clips, expert, work, resume=True)
            secs, t = res.log[-1]["seconds"], time.time()
            gen = load_mini(res.weights, "generator")                  # score what ships (float16 round trip)
            rows = [{"config": name, "seed": seed, "train_seconds": round(secs, 1), **r}
                    for r in evaluate(gen, heldout, expert)]
            _write_csv(work / "metrics.csv", rows)
            print(f"{name} seed {seed}: {cfg.steps} steps in {secs:.0f} s, evaluated in {time.time() - t:.0f} s",
                  flush=True)
    collect(args.work)
    print(f"all done in {time.time() - t_all:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
