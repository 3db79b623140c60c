"""The ``thg train`` sub-command: train the mini lip-sync model on THG-Synth, on a laptop.

    thg train --config wav2lip_recipe --out runs/recipe            # 300 steps, 2–5 min on 2 CPU cores
    thg train --config l1 --seed 1 --out runs/l1_s1 --eval          # + held-out metrics
    thg train --config l1_sync --out runs/x --resume                # continue an interrupted run
    thg train --config l1 --steps 5 --split tiny --out /tmp/smoke   # seconds

Configurations (:data:`thglib.train.loop.CONFIGS`): ``l1``, ``l1_sync``, ``wav2lip_recipe`` (L1 +
expert sync + GAN), ``recipe_perceptual``, ``recipe_temporal``. The sync loss uses the shipped
expert (``data/models/mini_lipsync_expert.safetensors``) unless ``--expert`` names another. The data
(THG-Synth clips) is made once and cached. ``scripts/train_mini_lipsync.py`` runs the whole ablation.
"""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run", "CLI_FLAGS"]

CLI_FLAGS = {"config": "--config", "steps": "--steps", "seed": "--seed", "out_dir": "--out", "resume": "--resume",
             "device": "--device", "expert": "--expert", "split": "--split"}


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``train`` on the ``thg`` sub-parsers; returns the new parser."""
    from ..validate import cli_type
    from .loop import CONFIGS

    p = sub.add_parser("train", help="train the mini lip-sync model (a configuration of the loss ablation)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="wav2lip_recipe", choices=list(CONFIGS), help="loss configuration")
    p.add_argument("--out", required=True, help="run folder: last.pt, log.csv and the float16 generator")
    p.add_argument("--steps", type=cli_type(lo=1, hi=10**7, integer=True), help="override the configuration's steps")
    p.add_argument("--seed", type=cli_type(lo=0, hi=2**31 - 1, integer=True), default=0)
    p.add_argument("--resume", action="store_true", help="continue from --out/last.pt")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, ... (CUDA: fp16 autocast)")
    p.add_argument("--expert", help="lip-sync expert file (default: the shipped mini_lipsync_expert.safetensors)")
    p.add_argument("--split", default="train", choices=["train", "tiny"], help="training data (tiny: 2 clips)")
    p.add_argument("--eval", action="store_true", help="score the result on the held-out clips")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run, cli_flags=CLI_FLAGS)
    return p


def run(args: argparse.Namespace) -> int:
    """Train, print a summary (and held-out metrics with ``--eval``)."""
    import numpy as np

    from ..models.mini_lipsync import load_mini, mini_checkpoint
    from ..runtime import device as pick_device
    from .data import make_split
    from .loop import quick_config, train

    cfg = quick_config(args.config, seed=args.seed, **({"steps": args.steps} if args.steps else {}))
    dev = pick_device(args.device)
    expert = load_mini(args.expert or mini_checkpoint("expert"), "expert")
    clips = make_split(args.split)
    res = train(cfg, clips, expert, args.out, resume=args.resume, device=dev, progress=not args.quiet)
    last = res.log[-1]
    print(f"{cfg.name} (seed {cfg.seed}): {cfg.steps} steps on {dev} in {last['seconds']:.0f} s; last step "
          f"L1 {last['l1']:.4f}, sync {last['sync']:.3f} ({'on' if last['sync_on'] else 'off'})")
    print(f"generator: {res.weights}  (resumable checkpoint {res.checkpoint}, log {res.checkpoint.parent / 'log.csv'})")
    for note in res.notes:
        print(f"note: {note}")
    if args.eval:
        from .evaluate import evaluate

        held = make_split("tiny_heldout" if args.split == "tiny" else "heldout")
        rows = evaluate(load_mini(res.weights, "generator"), held, expert)
        keys = ("mouth_psnr", "mouth_ssim", "lmd", "lse_c_loss_expert", "lse_c_independent", "cpbd", "warp_error")
        print(f"held-out ({len(rows)} clips, mean): " + ", ".join(
            f"{k} {np.mean([r[k] for r in rows]):.3f}" for k in keys))
        print("sync scorers: 'loss_expert' = the expert the model trained against; 'independent' = the THG-Synth "
              "SyncNet-style expert (not SyncNet v2)")
    return 0
