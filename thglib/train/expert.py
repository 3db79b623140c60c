"""Train the lip-sync expert the sync loss uses, as Wav2Lip's ``color_syncnet_train.py`` does.

A sample is 5 consecutive lower halves of one clip and one 80×16 mel window: the window under the
frames (label 1) or, with probability ½, the window of a random other start frame of the same clip
(label 0). The loss is ``BCE(cos(â, v̂), y)`` with ReLU'd, normalised embeddings
(``cosine_loss`` in ``color_syncnet_train.py``; :meth:`MiniSyncExpert.sync_probability`). Adam, seeded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..losses.sync import wav2lip_expert_input
from ..models.mini_lipsync import MiniSyncExpert
from .data import T_WINDOW, ClipArrays, to_tensor

__all__ = ["lower_windows", "expert_batch", "train_expert", "expert_accuracy"]


def lower_windows(faces: np.ndarray) -> torch.Tensor:
    """``(T, 64, 64, 3)`` uint8 RGB faces → ``(T − 4, 15, 32, 64)``: every 5-frame window's lower halves."""
    x = to_tensor(faces)                                                   # (T, 3, 64, 64) BGR
    win = x.unfold(0, T_WINDOW, 1).permute(0, 1, 4, 2, 3)                 # (T-4, 3, 5, 64, 64)
    return wav2lip_expert_input(win.contiguous())


def expert_batch(clips: Sequence[ClipArrays], rng: np.random.Generator, batch: int
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(mel (B, 1, 80, 16), lower (B, 15, 32, 64), label (B,))``, half in sync, half not."""
    mels, faces, labels = [], [], []
    for _ in range(batch):
        c = clips[int(rng.integers(len(clips)))]
        last = c.n_frames - T_WINDOW
        t = int(rng.integers(0, last + 1))
        y = float(rng.random() < 0.5)
        a = t
        if not y:
            a = int(rng.integers(0, last))
            a += a >= t
        faces.append(c.small[t:t + T_WINDOW])
        mels.append(c.mels[a])
        labels.append(y)
    lower = torch.cat([lower_windows(f) for f in faces])
    return torch.from_numpy(np.stack(mels))[:, None], lower, torch.tensor(labels)


def expert_accuracy(expert: MiniSyncExpert, clips: Sequence[ClipArrays], seed: int = 1, n: int = 512) -> dict:
    """Held-out BCE and accuracy (``cos > 0.5`` ⇔ in sync) on ``n`` fresh samples."""
    expert.eval()
    with torch.no_grad():
        mel, lower, y = expert_batch(clips, np.random.default_rng(seed), n)
        p = expert.sync_probability(mel, lower)
        return {"bce": float(F.binary_cross_entropy(p, y)), "accuracy": float(((p > 0.5).float() == y).float().mean()),
                "p_in_sync": float(p[y == 1].mean()), "p_off_sync": float(p[y == 0].mean())}


def train_expert(clips: Sequence[ClipArrays], *, steps: int = 1500, batch: int = 64, lr: float = 1e-3,
                 seed: int = 0, width: int = 32, heldout: Sequence[ClipArrays] = (), log_every: int = 250,
                 progress: bool = True) -> tuple[MiniSyncExpert, list[dict]]:
    """Train a :class:`MiniSyncExpert` from scratch; returns it in eval mode and its log rows."""
    from ..runtime import progress as progress_bar

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    expert = MiniSyncExpert(width=width)
    opt = torch.optim.Adam(expert.parameters(), lr=lr)
    log = []
    with progress_bar(total=steps, desc="expert", unit="step", show=progress) as bar:
        for step in range(1, steps + 1):
            expert.train()
            mel, lower, y = expert_batch(clips, rng, batch)
            loss = F.binary_cross_entropy(expert.sync_probability(mel, lower), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            bar.update(1)
            if step % log_every == 0 or step == steps:
                row = {"step": step, "train_bce": loss.item()}
                if heldout:
                    row |= {f"heldout_{k}": v for k, v in expert_accuracy(expert, heldout).items()}
                log.append(row)
    return expert.eval(), log
