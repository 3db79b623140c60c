"""The generator loop with the Wav2Lip recipe's knobs (``hq_wav2lip_train.py``), resumable and seeded.

Per step, ``B`` windows of 5 frames (:func:`thglib.train.data.sample_windows`) and

``L = (1 − w_s − w_g)·L1 + w_s·L_sync + w_g·L_adv + w_p·L_perc + w_v·L_vel``

* ``L1`` — :func:`thglib.losses.reconstruction.l1_loss` on the whole face;
* ``L_sync`` — :func:`thglib.losses.sync.expert_sync_loss` of the frozen expert on the 5 lower
  halves; ``w_s`` is 0 until the running mean (20 steps) of ``L_sync`` on the generated frames falls
  below ``sync_threshold`` (Wav2Lip: 0.75 on its eval set), then ``sync_weight`` for good;
* ``L_adv`` — :func:`thglib.losses.adversarial.bce_g_loss` of :class:`MiniDiscriminator`, which is
  trained alongside with :func:`~thglib.losses.adversarial.bce_d_loss` (only when ``w_g > 0``);
* ``L_perc`` — :class:`thglib.losses.perceptual.PerceptualLoss` (VGG19 relu1_1…relu5_1, PC-AVS layer
  weights) on the lower halves; offline its VGG19 is the seeded untrained stand-in, and the run's
  log says so;
* ``L_vel`` — :func:`thglib.losses.temporal.velocity_loss` (p = 1) of the 5-frame sequences.

Adam (β = 0.5, 0.999, as Wav2Lip). Deterministic on CPU for a given seed; a checkpoint
(``last.pt``: weights, optimiser and RNG states, the sync switch) is written atomically every
``checkpoint_every`` steps and resuming continues bit for bit. On CUDA the forward passes run
under fp16 autocast with gradient scaling; losses are computed in float32.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..errors import BadInputError
from ..losses.adversarial import bce_d_loss, bce_g_loss
from ..losses.reconstruction import l1_loss
from ..losses.sync import expert_sync_loss, wav2lip_expert_input
from ..losses.temporal import velocity_loss
from ..models.mini_lipsync import MiniDiscriminator, MiniLipSync, MiniSyncExpert, save_half
from .data import T_WINDOW, ClipArrays, sample_windows

__all__ = ["TrainConfig", "CONFIGS", "LOG_COLUMNS", "TrainResult", "train", "quick_config"]


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Weights as in the module docstring; ``steps`` of ``batch`` windows."""

    name: str = "wav2lip_recipe"
    steps: int = 300
    batch: int = 4
    lr: float = 1e-3
    sync_weight: float = 0.0
    sync_threshold: float | None = None
    gan_weight: float = 0.0
    perceptual_weight: float = 0.0
    temporal_weight: float = 0.0
    use_reference: bool = True
    width: int = 24
    seed: int = 0

    def __post_init__(self) -> None:
        if not (isinstance(self.steps, int) and self.steps >= 1 and isinstance(self.batch, int) and self.batch >= 1):
            raise BadInputError("TrainConfig", f"steps={self.steps!r}, batch={self.batch!r}",
                                "Use positive integers")
        if self.sync_weight + self.gan_weight >= 1 or min(self.sync_weight, self.gan_weight, self.perceptual_weight,
                                                          self.temporal_weight, self.lr) < 0:
            raise BadInputError("TrainConfig", "weights must be ≥ 0 with sync_weight + gan_weight < 1",
                                "e.g. sync_weight=0.03, gan_weight=0.07 (Wav2Lip)")


_SYNC = {"sync_weight": 0.1, "sync_threshold": 1.1}  # calibrated: see the training chapter, section 3
#: The ablation: same data, seed and budget; each adds one term (weights: see the chapter).
CONFIGS: dict[str, TrainConfig] = {
    "l1": TrainConfig("l1"),
    "l1_sync": TrainConfig("l1_sync", **_SYNC),
    "wav2lip_recipe": TrainConfig("wav2lip_recipe", **_SYNC, gan_weight=0.07),
    "recipe_perceptual": TrainConfig("recipe_perceptual", **_SYNC, gan_weight=0.07, perceptual_weight=0.1),
    "recipe_temporal": TrainConfig("recipe_temporal", **_SYNC, gan_weight=0.07, temporal_weight=1.0),
}
SYNC_WINDOW = 20  #: steps in the running mean that switches the sync loss on
LOG_COLUMNS = ("step", "l1", "sync", "adv_g", "disc", "perceptual", "temporal", "total", "sync_on", "seconds")


@dataclass
class TrainResult:
    """What :func:`train` leaves: the generator (eval mode), the log rows, files and notes."""

    generator: MiniLipSync
    log: list[dict]
    checkpoint: Path
    weights: Path  #: the float16 generator (written once all steps are done)
    notes: list[str] = field(default_factory=list)


def _read_log(path: Path, upto: int) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f) if int(float(r["step"])) <= upto]
    return [r | {"step": int(r["step"]), "sync_on": int(r["sync_on"])} for r in rows]


def _write_log(path: Path, rows: Sequence[dict]) -> None:
    from ..io.video import atomic_output

    with atomic_output(path, overwrite=True) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=LOG_COLUMNS)
        w.writeheader()
        w.writerows({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()} for r in rows)  # exact


def _perceptual(config: TrainConfig, device: str) -> tuple[torch.nn.Module | None, str | None]:
    if config.perceptual_weight == 0:
        return None, None
    import warnings

    from ..losses.perceptual import PCAVS_LAYER_WEIGHTS, PerceptualLoss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss = PerceptualLoss(layer_weights=PCAVS_LAYER_WEIGHTS, allow_untrained=True).to(device)
    return loss, f"perceptual loss on {loss.vgg.label}"


def train(config: TrainConfig, clips: Sequence[ClipArrays], expert: MiniSyncExpert, out_dir: str | Path, *,
          resume: bool = False, device: str = "cpu", checkpoint_every: int = 50, stop_after: int | None = None,
          progress: bool = True) -> TrainResult:
    """Train a :class:`MiniLipSync` with ``config`` on ``clips``; files go to ``out_dir``:
    ``last.pt`` (resumable checkpoint), ``log.csv`` (every loss, every step) and, once
    ``config.steps`` are done, ``mini_lipsync_<name>_s<seed>.safetensors`` (float16 generator).
    ``resume=True`` continues from ``last.pt``; ``stop_after`` ends this call (with a checkpoint) after
    that step, as an interruption would."""
    from ..io.video import atomic_output
    from ..runtime import progress as progress_bar

    out = Path(out_dir).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path, log_path = out / "last.pt", out / "log.csv"
    if not clips:
        raise BadInputError("clips", "is empty", "Pass thglib.train.data.make_split('train')")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    gen = MiniLipSync(config.width, config.use_reference).to(device)
    disc = MiniDiscriminator(config.width).to(device) if config.gan_weight > 0 else None
    opt_g = torch.optim.Adam(gen.parameters(), lr=config.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=config.lr, betas=(0.5, 0.999)) if disc else None
    expert = expert.to(device).eval().requires_grad_(False)
    perc, perc_note = _perceptual(config, device)
    cuda = device.startswith("cuda")
    scaler = torch.amp.GradScaler("cuda", enabled=cuda)
    step, sync_on, recent, log = 0, config.sync_threshold is None and config.sync_weight > 0, [], []
    if resume and ckpt_path.is_file():
        ck = torch.load(ckpt_path, map_location=device, weights_only=False)
        if ck["config"] != asdict(config):
            raise BadInputError(f"'{ckpt_path}'", "was written by another configuration",
                                "Resume with the same config, or pass another out_dir")
        gen.load_state_dict(ck["generator"])
        opt_g.load_state_dict(ck["opt_g"])
        if disc:
            disc.load_state_dict(ck["discriminator"])
            opt_d.load_state_dict(ck["opt_d"])
        step, sync_on, recent = ck["step"], ck["sync_on"], ck["recent"]
        rng.bit_generator.state = ck["numpy_rng"]
        torch.set_rng_state(ck["torch_rng"])
        log = _read_log(log_path, step)
    t0 = time.perf_counter() - (log[-1]["seconds"] if log else 0.0)

    def save_checkpoint() -> None:
        state = {"config": asdict(config), "step": step, "sync_on": sync_on, "recent": recent,
                 "generator": gen.state_dict(), "opt_g": opt_g.state_dict(),
                 "numpy_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state()}
        if disc:
            state |= {"discriminator": disc.state_dict(), "opt_d": opt_d.state_dict()}
        with atomic_output(ckpt_path, overwrite=True) as tmp:
            torch.save(state, tmp)
        _write_log(log_path, log)

    with progress_bar(total=config.steps, initial=step, desc=config.name, unit="step", show=progress) as bar:
        while step < min(config.steps, stop_after or config.steps):
            gen.train()
            b = sample_windows(clips, rng, config.batch)
            face_in, target, mels, sync_mel = (x.to(device) for x in (b.face_in, b.target, b.mels, b.sync_mel))
            with torch.autocast("cuda", enabled=cuda):
                g = gen.generate(mels, face_in)
                seq = g.view(config.batch, T_WINDOW, 3, *g.shape[2:]).transpose(1, 2)      # (B, 3, 5, H, W)
                a_emb, v_emb = expert.forward_aud(sync_mel), expert.forward_lip(wav2lip_expert_input(seq))
                fake_logit = disc(g) if disc else None
            g = g.float()
            terms = {"l1": l1_loss(g, target), "sync": expert_sync_loss(a_emb.float(), v_emb.float())}
            terms["adv_g"] = bce_g_loss(fake_logit.float()) if disc else torch.zeros((), device=device)
            half = g.shape[2] // 2
            terms["perceptual"] = (perc(g[:, [2, 1, 0], half:], target[:, [2, 1, 0], half:]) if perc
                                   else torch.zeros((), device=device))
            shape = (config.batch, T_WINDOW, *g.shape[1:])
            terms["temporal"] = (velocity_loss(g.view(shape), target.view(shape), p=1) if config.temporal_weight
                                 else torch.zeros((), device=device))
            w_s = config.sync_weight if sync_on else 0.0
            total = ((1 - w_s - config.gan_weight) * terms["l1"] + w_s * terms["sync"]
                     + config.gan_weight * terms["adv_g"] + config.perceptual_weight * terms["perceptual"]
                     + config.temporal_weight * terms["temporal"])
            opt_g.zero_grad(set_to_none=True)
            scaler.scale(total).backward()
            scaler.step(opt_g)
            d_loss = torch.zeros(())
            if disc:
                with torch.autocast("cuda", enabled=cuda):
                    real_logit, fake_logit = disc(target), disc(g.detach())
                d_loss = bce_d_loss(real_logit.float(), fake_logit.float())
                opt_d.zero_grad(set_to_none=True)
                scaler.scale(d_loss).backward()
                scaler.step(opt_d)
            scaler.update()
            step += 1
            recent = (recent + [terms["sync"].item()])[-SYNC_WINDOW:]
            if (not sync_on and config.sync_weight > 0 and len(recent) == SYNC_WINDOW
                    and np.mean(recent) < config.sync_threshold):
                sync_on = True
            row = {"step": step, **{k: v.item() for k, v in terms.items()}, "disc": d_loss.item(),
                   "total": total.item(), "sync_on": int(w_s > 0), "seconds": time.perf_counter() - t0}
            log.append({k: row[k] for k in LOG_COLUMNS})
            bar.update(1)
            if step % checkpoint_every == 0:
                save_checkpoint()
    save_checkpoint()
    weights = out / f"mini_lipsync_{config.name}_s{config.seed}.safetensors"
    if step == config.steps:
        save_half(weights, generator=gen.eval(), train_config=asdict(config))
    notes = [perc_note] if perc_note else []
    return TrainResult(gen.eval(), log, ckpt_path, weights, notes)


def quick_config(name: str, **changes: object) -> TrainConfig:
    """``CONFIGS[name]`` with ``changes`` (e.g. ``steps=3`` for a smoke run)."""
    if name not in CONFIGS:
        raise BadInputError("config", f"unknown configuration {name!r}", f"Use one of {sorted(CONFIGS)}")
    return replace(CONFIGS[name], **changes)
