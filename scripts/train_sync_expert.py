"""Train the THG-Synth lip-sync expert (thglib.models.sync_expert) on synthetic clips, on a CPU.

    python scripts/train_sync_expert.py                       # data (cached), training, evaluation
    python scripts/train_sync_expert.py --eval-only --weights data/models/sync_expert_thgsynth.pt

Data: ``--train`` THG-Synth clips (GRID sentences ``seed + i``, portraits alternating, speaking rate
140–180 wpm) and ``--heldout`` clips with other sentences and motion seeds. Each clip goes
through the LSE "real videos" preprocessing of :func:`thglib.metrics.sync.syncnet_inputs`
(face track every ``--every`` frames, medfilt 13, crop scale 0.4, 224² crops) and is reduced to
the expert's grey mouth patches (with a 4-pixel margin for jitter) and its 13 MFCCs.

Objective: for each video window ``v`` the 31 audio windows ``v + s``, ``s = −15..15``, are scored
by ``−‖f_lip(v) − f_aud(v + s)‖ / τ`` and trained with cross-entropy towards ``s = 0`` (InfoNCE over
exactly the shifts the LSE search compares; windows beyond the clip are masked out).

Evaluation: every held-out clip is re-scored with its audio delayed by ``k`` frames
(``thglib.synth.degrade(clip, "offset", k)``, ``k`` in ``--offsets``); the LSE search must return
SyncNet offset ``−k``. Prints the exact-offset and ±1-frame rates.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from thglib.models.sync_expert import SyncExpert  # noqa: E402

MARGIN = 4  # patch pixels of jitter on every side
IDENTITIES = ("astronaut", "grace_hopper")


# ----------------------------------------------------------------------------- data
def clip_features(job: tuple) -> dict:
    """Make one clip and reduce it to mouth patches (uint8) and MFCCs for the clean and shifted audio."""
    grid_seed, identity, offsets, every = job
    import cv2

    from thglib import synth
    from thglib.audio import syncnet_mfcc
    from thglib.metrics.sync import pcm16, syncnet_inputs

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    rate = int(np.random.default_rng([grid_seed, 7]).integers(140, 181))
    clip = synth.make_clip(grid_seed=grid_seed, identity=identity, seed=grid_seed,
                           params=replace(synth.SynthParams(), rate=rate))
    inp = syncnet_inputs(clip, crop="track", every=every)
    patches = SyncExpert.mouth_patches(inp.frames, margin=MARGIN).round().clamp(0, 255).to(torch.uint8).numpy()
    mfcc = {0: syncnet_mfcc(inp.pcm)}
    for k in offsets:
        shifted = synth.degrade(clip, "offset", k)
        mfcc[k] = syncnet_mfcc(pcm16(shifted.audio, shifted.sample_rate))
    return {"grid_seed": grid_seed, "identity": identity, "patches": patches, "mfcc": mfcc,
            "n_samples": len(inp.pcm)}


def build_data(seeds: list[int], offsets: list[int], every: int, workers: int) -> list[dict]:
    """Features of the clips with GRID seeds ``seeds`` (portraits alternate), in ``workers`` processes."""
    jobs = [(s, IDENTITIES[i % 2], offsets, every) for i, s in enumerate(seeds)]
    if workers > 1:
        with mp.get_context("fork").Pool(workers) as pool:
            return pool.map(clip_features, jobs, chunksize=1)
    return [clip_features(j) for j in jobs]


def cached_data(path: Path, seeds: list[int], offsets: list[int], every: int, workers: int) -> list[dict]:
    """``build_data`` once, then from the ``.pt`` cache at ``path``."""
    if path.is_file():
        return torch.load(path, weights_only=False)
    t = time.time()
    data = build_data(seeds, offsets, every, workers)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(data, path)
    print(f"  {len(data)} clips in {time.time() - t:.0f} s -> {path}", flush=True)
    return data


# ----------------------------------------------------------------------------- batches
def _mfcc_windows(mfcc: np.ndarray, starts: np.ndarray) -> torch.Tensor:
    """(len(starts), 1, 13, 20) windows ``mfcc[:, 4w : 4w + 20]`` (zeros where ``w`` is outside)."""
    padded = np.pad(mfcc, ((0, 0), (0, 20)))
    ok = (starts >= 0) & (4 * starts + 20 <= mfcc.shape[1])
    win = np.stack([padded[:, 4 * w:4 * w + 20] if o else np.zeros((13, 20), np.float32)
                    for w, o in zip(starts, ok)])
    return torch.from_numpy(win[:, None].astype(np.float32)), torch.from_numpy(ok)


def sample_block(clip: dict, rng: np.random.Generator, anchors: int, vshift: int) -> tuple:
    """``anchors`` consecutive video windows of one clip, their jittered patches, and the audio
    windows ``v0 − vshift … v0 + anchors − 1 + vshift`` with a validity mask."""
    p, mfcc = clip["patches"], clip["mfcc"][0]
    n = min(len(p), clip["n_samples"] // 640) - 5
    v0 = int(rng.integers(0, max(n - anchors, 0) + 1))
    k = min(anchors, n - v0)
    dy, dx = rng.integers(0, 2 * MARGIN + 1, size=2)
    frames = torch.from_numpy(p[v0:v0 + k + 4, dy:dy + 32, dx:dx + 64].astype(np.float32))
    frames = frames * float(rng.uniform(0.8, 1.2)) + float(rng.normal(0, 2)) * torch.randn_like(frames)
    lips = frames.unfold(0, 5, 1).permute(0, 3, 1, 2)                     # (k, 5, 32, 64)
    aud, ok = _mfcc_windows(mfcc, np.arange(v0 - vshift, v0 + k + vshift))
    ok &= torch.from_numpy(np.arange(v0 - vshift, v0 + k + vshift) < n)
    return lips, aud, ok


def info_nce(model: SyncExpert, blocks: list[tuple], vshift: int, tau: float) -> tuple[torch.Tensor, float]:
    """Cross-entropy over the 2·vshift + 1 shifts of each anchor (target: shift 0); also accuracy."""
    lips = model.lip_embedding(torch.cat([b[0] for b in blocks]))
    auds = model.forward_aud(torch.cat([b[1] for b in blocks]))
    logits, start, a0 = [], 0, 0
    for lip_b, aud_b, ok in blocks:
        k = len(lip_b)
        a = auds[a0:a0 + len(aud_b)].unfold(0, 2 * vshift + 1, 1).transpose(1, 2)[:k]   # (k, 31, D)
        m = ok.unfold(0, 2 * vshift + 1, 1)[:k]
        d = torch.linalg.vector_norm(lips[start:start + k, None] - a, dim=-1)
        logits.append((-d / tau).masked_fill(~m, -1e4))
        start, a0 = start + k, a0 + len(aud_b)
    logits = torch.cat(logits)
    target = torch.full((len(logits),), vshift)
    return torch.nn.functional.cross_entropy(logits, target), float((logits.argmax(1) == target).float().mean())


# ----------------------------------------------------------------------------- evaluation
def recovery(model: SyncExpert, heldout: list[dict], offsets: list[int], vshift: int = 15) -> dict:
    """Offset search on every held-out clip for every injected offset; exact and ±1 rates."""
    from thglib.audio import syncnet_mfcc_windows
    from thglib.metrics.sync import lse_from_distances, offset_distances

    model.eval()
    rows = []
    with torch.inference_mode():
        for clip in heldout:
            p = torch.from_numpy(clip["patches"][:, MARGIN:MARGIN + 32, MARGIN:MARGIN + 64].astype(np.float32))
            for k in [0, *offsets]:
                win = syncnet_mfcc_windows(clip["mfcc"][k], len(p), n_samples=clip["n_samples"])
                lips = model.lip_embedding(p.unfold(0, 5, 1).permute(0, 3, 1, 2)[:len(win)].contiguous())
                r = lse_from_distances(offset_distances(lips, model.embed_audio(win), vshift), vshift)
                rows.append((k, -r["offset"], r["lse_d"], r["lse_c"]))
    a = np.array(rows)
    err = np.abs(a[:, 1] - a[:, 0])
    return {"trials": len(a), "exact": float((err == 0).mean()), "within1": float((err <= 1).mean()),
            "lse_d_in_sync": float(a[a[:, 0] == 0, 2].mean()), "lse_c_in_sync": float(a[a[:, 0] == 0, 3].mean()),
            "rows": a}


# ----------------------------------------------------------------------------- main
def train(model: SyncExpert, data: list[dict], heldout: list[dict], args: argparse.Namespace) -> None:
    """Adam with cosine decay; ``args.blocks`` blocks of ``args.anchors`` anchors per step."""
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.steps, pct_start=0.1)
    t0, acc_avg = time.time(), 0.0
    for step in range(1, args.steps + 1):
        model.train()
        blocks = [sample_block(data[int(rng.integers(len(data)))], rng, args.anchors, 15) for _ in range(args.blocks)]
        loss, acc = info_nce(model, blocks, 15, args.tau)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        acc_avg = 0.95 * acc_avg + 0.05 * acc
        if step % args.log_every == 0 or step == args.steps:
            r = recovery(model, heldout[:8], args.offsets)
            print(f"step {step:5d}  loss {loss.item():.3f}  train acc {acc_avg:.2f}  held-out exact "
                  f"{r['exact']:.2f} ±1 {r['within1']:.2f}  ({time.time() - t0:.0f} s)", flush=True)


def mfcc_stats(data: list[dict]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-coefficient mean and std of the training MFCCs."""
    allm = np.concatenate([c["mfcc"][0] for c in data], axis=1)
    return torch.from_numpy(allm.mean(1)).float(), torch.from_numpy(allm.std(1) + 1e-3).float()


def save_half(model: SyncExpert, path: Path) -> None:
    """Write the state_dict in float16 (half the size) via a temporary file and ``os.replace``."""
    import os
    import tempfile

    sd = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    os.close(fd)
    try:
        torch.save(sd, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", type=int, default=96, help="training clips (default 96)")
    p.add_argument("--heldout", type=int, default=24, help="held-out clips (default 24)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--blocks", type=int, default=8, help="clips per step")
    p.add_argument("--anchors", type=int, default=12, help="consecutive video windows per clip and step")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--tau", type=float, default=0.5, help="temperature of the distance logits")
    p.add_argument("--every", type=int, default=5, help="face detection every N frames")
    p.add_argument("--offsets", type=int, nargs="+", default=[-6, -5, -4, -3, -2, -1, 1, 2, 3, 4, 5, 6])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "thglib" / "sync_expert_data")
    p.add_argument("--out", type=Path, default=ROOT / "data" / "models" / "sync_expert_thgsynth.pt")
    p.add_argument("--weights", type=Path, help="with --eval-only: the weights to evaluate")
    p.add_argument("--eval-only", action="store_true")
    p.add_argument("--log-every", type=int, default=150)
    args = p.parse_args(argv)
    torch.set_num_threads(2)

    tag = f"every{args.every}_seed{args.seed}"
    lags = "_".join(map(str, args.offsets))
    heldout = cached_data(args.cache / f"heldout_{args.heldout}_{tag}_lags{lags}.pt",
                          [100_000 + args.seed + i for i in range(args.heldout)], args.offsets, args.every,
                          args.workers)
    if args.eval_only:
        from thglib.models.sync_expert import load_sync_expert

        model = load_sync_expert(args.weights or args.out)
    else:
        data = cached_data(args.cache / f"train_{args.train}_{tag}.pt",
                           [args.seed + i for i in range(args.train)], [], args.every, args.workers)
        model = SyncExpert()
        model.mfcc_mean, model.mfcc_std = mfcc_stats(data)
        train(model, data, heldout, args)
        save_half(model, args.out)
        from thglib.models.sync_expert import load_sync_expert

        model = load_sync_expert(args.out)        # evaluate what was saved (float16 round trip)
        print(f"saved {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    r = recovery(model, heldout, args.offsets)
    print(f"held-out: {args.heldout} clips x {len(args.offsets) + 1} offsets = {r['trials']} trials; "
          f"exact offset {r['exact']:.3f}, within ±1 frame {r['within1']:.3f}; in sync: "
          f"LSE-D (THG-Synth expert) {r['lse_d_in_sync']:.3f}, LSE-C (THG-Synth expert) {r['lse_c_in_sync']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
