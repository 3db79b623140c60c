"""A small SyncNet-style lip-sync expert trained offline on THG-Synth clips.

SyncNet v2 (Chung & Zisserman, ACCV-W 2016) needs a 54 MB download; this expert needs none. It
keeps SyncNet's windowing — 5 consecutive 224×224 face crops (BGR, 0–255, from the same
``run_pipeline.py``-style crop) against 20 MFCC columns (0.2 s) — so the LSE machinery of
:mod:`thglib.metrics.sync` runs on it unchanged. Inside, it looks only at a grey mouth patch:

* lips: rows 96–160, columns 48–176 of the crop, grey (ITU-R BT.601 weights), 2×2 mean-pooled to
  32×64, standardised per window, 4 conv blocks → 64-D;
* audio: MFCCs standardised per coefficient (training statistics, stored as buffers), 4 conv blocks,
  mean over frequency (time kept) → 64-D;
* both embeddings are L2-normalised and scaled to ``radius`` (5), so distances lie in [0, 10].

Trained by ``scripts/train_sync_expert.py`` (InfoNCE over the 31 audio shifts of the LSE search).
It knows only THG-Synth's two rendered faces and eSpeak NG speech: every number it gives must be
labelled "THG-Synth expert, not SyncNet v2".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import BadInputError

__all__ = ["SyncExpert", "EXPERT_FILENAME", "expert_weights", "load_sync_expert"]

#: Mouth region of the 224² crop: rows [96, 160), columns [48, 176).
REGION = (96, 160, 48, 176)
EXPERT_FILENAME = "sync_expert_thgsynth.pt"
_REPO_FILE = Path(__file__).resolve().parents[2] / "data" / "models" / EXPERT_FILENAME
_BGR_TO_GREY = (0.114, 0.587, 0.299)


def _block(cin: int, cout: int, stride: int | tuple[int, int] = 1) -> list[nn.Module]:
    """3×3 conv (no bias) → BatchNorm → ReLU."""
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SyncExpert(nn.Module):
    """Lip-sync expert with SyncNet v2's interface: :meth:`forward_aud`, :meth:`forward_lip`."""

    def __init__(self, dim: int = 64, radius: float = 5.0) -> None:
        super().__init__()
        self.radius = radius
        self.lip = nn.Sequential(                                   # (B, 5, 32, 64)
            *_block(5, 16), nn.MaxPool2d(2), *_block(16, 32), nn.MaxPool2d(2),
            *_block(32, 64), nn.MaxPool2d(2), *_block(64, 64), nn.Flatten(), nn.Linear(64 * 4 * 8, dim))
        self.aud = nn.Sequential(                                   # (B, 1, 13, 20)
            *_block(1, 16), *_block(16, 32), nn.MaxPool2d((1, 2)), *_block(32, 64, 2), *_block(64, 64))
        self.aud_head = nn.Linear(64 * 5, dim)                       # time kept: 5 steps of 40 ms
        self.register_buffer("mfcc_mean", torch.zeros(13))
        self.register_buffer("mfcc_std", torch.ones(13))

    # ------------------------------------------------------------------ inputs
    @staticmethod
    def mouth_patches(crops: torch.Tensor | np.ndarray, margin: int = 0) -> torch.Tensor:
        """Grey mouth patches ``(T, 32 + 2m, 64 + 2m)`` in 0–255 from ``(T, 224, 224, 3)`` BGR crops.

        ``margin`` m (in patch pixels) widens the region on every side, for training-time jitter.
        """
        x = crops if isinstance(crops, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(crops))
        if x.dim() != 4 or tuple(x.shape[1:]) != (224, 224, 3):
            raise BadInputError("crops", f"expected (T, 224, 224, 3) BGR, got {tuple(x.shape)}",
                                "Use thglib.metrics.sync.syncnet_inputs to make SyncNet crops")
        r0, r1, c0, c1 = REGION
        m = 2 * int(margin)
        x = x[:, r0 - m:r1 + m, c0 - m:c1 + m].to(torch.float32)
        grey = x @ torch.tensor(_BGR_TO_GREY)
        return nn.functional.avg_pool2d(grey[:, None], 2)[:, 0]

    def _norm_mfcc(self, mfcc: torch.Tensor) -> torch.Tensor:
        return (mfcc - self.mfcc_mean[:, None]) / self.mfcc_std[:, None]

    # ------------------------------------------------------------------ embeddings
    def lip_embedding(self, patches: torch.Tensor) -> torch.Tensor:
        """(B, 5, 32, 64) grey patch windows → (B, dim), each window standardised first."""
        mu = patches.mean(dim=(1, 2, 3), keepdim=True)
        sd = patches.std(dim=(1, 2, 3), keepdim=True)
        return self.radius * nn.functional.normalize(self.lip((patches - mu) / (sd + 1.0)), dim=1)

    def forward_aud(self, mfcc: torch.Tensor) -> torch.Tensor:
        """(B, 1, 13, 20) MFCC windows → (B, dim) on the sphere of radius ``radius``."""
        if mfcc.dim() != 4 or tuple(mfcc.shape[1:]) != (1, 13, 20):
            raise BadInputError("mfcc", f"expected shape (B, 1, 13, 20), got {tuple(mfcc.shape)}",
                                "Use thglib.audio.syncnet_mfcc_windows")
        h = self.aud(self._norm_mfcc(mfcc)).mean(dim=2).flatten(1)
        return self.radius * nn.functional.normalize(self.aud_head(h), dim=1)

    def forward_lip(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, 3, 5, 224, 224) raw BGR 0–255, as SyncNet v2 takes them → (B, dim)."""
        if frames.dim() != 5 or tuple(frames.shape[1:]) != (3, 5, 224, 224):
            raise BadInputError("frames", f"expected shape (B, 3, 5, 224, 224), got {tuple(frames.shape)}",
                                "Stack 5 consecutive 224×224 crops on axis 2")
        b = frames.shape[0]
        crops = frames.permute(0, 2, 3, 4, 1).reshape(b * 5, 224, 224, 3)
        return self.lip_embedding(self.mouth_patches(crops).reshape(b, 5, 32, 64))

    # ------------------------------------------------------------------ whole clips
    @torch.inference_mode()
    def embed_lips(self, crops: np.ndarray, n: int, batch_size: int = 256) -> torch.Tensor:
        """Embeddings of the ``n`` windows ``crops[v : v + 5]`` of ``(T, 224, 224, 3)`` BGR crops."""
        p = self.mouth_patches(crops)
        win = p.unfold(0, 5, 1).permute(0, 3, 1, 2)[:n]          # (n, 5, 32, 64), a view
        return torch.cat([self.lip_embedding(win[i:i + batch_size].contiguous())
                          for i in range(0, n, batch_size)])

    @torch.inference_mode()
    def embed_audio(self, windows: np.ndarray, batch_size: int = 256) -> torch.Tensor:
        """Embeddings of ``(n, 1, 13, 20)`` MFCC windows."""
        w = torch.as_tensor(windows, dtype=torch.float32)
        return torch.cat([self.forward_aud(w[i:i + batch_size]) for i in range(0, len(w), batch_size)])


def expert_weights(path: str | Path | None = None) -> Path:
    """The expert's weights file: ``path``, else the repository's ``data/models`` copy, else
    ``thglib.weights.fetch("sync_expert_thgsynth")`` (cached, SHA-256 verified)."""
    from ..weights import fetch

    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise BadInputError("path", f"'{p}' is not a file", "Pass the .pt file written by "
                                "scripts/train_sync_expert.py")
        return p
    if _REPO_FILE.is_file():
        return _REPO_FILE
    return fetch("sync_expert_thgsynth")


def load_sync_expert(path: str | Path | None = None) -> SyncExpert:
    """The trained THG-Synth expert in eval mode (weights from :func:`expert_weights`)."""
    from ..weights import load_state_dict

    sd = load_state_dict(expert_weights(path))
    sd = {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}  # shipped as float16
    model = SyncExpert()
    missing = model.load_state_dict(sd, strict=False)
    if missing.missing_keys or missing.unexpected_keys:
        raise BadInputError(f"checkpoint '{path or EXPERT_FILENAME}'",
                            f"does not fit SyncExpert ({missing})", "Retrain with scripts/train_sync_expert.py")
    return model.eval()
