"""SyncNet v2, the audio-visual sync network behind the LSE-D / LSE-C metrics.

Chung & Zisserman, "Out of time: automated lip sync in the wild", ACCV 2016 workshops.
Ported from https://github.com/joonson/syncnet_python ``SyncNetModel.py`` class ``S``; the
released ``syncnet_v2.model`` is a plain state_dict of that class (keys ``netcnnaud.*``,
``netfcaud.*``, ``netfclip.*``, ``netcnnlip.*``), which loads into :class:`SyncNetV2` unchanged.
Prajwal et al. (Wav2Lip, 2020) turned its embedding distances into LSE-D and LSE-C.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import BadInputError

__all__ = ["SyncNetV2"]


def _conv_bn_relu(conv: nn.Conv2d | nn.Conv3d) -> list[nn.Module]:
    """``conv`` followed by the BatchNorm of matching dimensionality and a ReLU."""
    bn = nn.BatchNorm3d if isinstance(conv, nn.Conv3d) else nn.BatchNorm2d
    return [conv, bn(conv.out_channels), nn.ReLU()]


def _head(dim: int) -> nn.Sequential:
    """Linear(512, 512) → BatchNorm1d → ReLU → Linear(512, dim): the embedding head of each stream."""
    return nn.Sequential(nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, dim))


class SyncNetV2(nn.Module):
    """Two-stream SyncNet: :meth:`forward_aud` for MFCC windows, :meth:`forward_lip` for 5 frames.

    Both embeddings are (B, ``dim``) and not normalised; LSE compares them by Euclidean distance
    over ±15 frame offsets (``SyncNetInstance.evaluate``).
    """

    def __init__(self, dim: int = 1024) -> None:
        super().__init__()
        self.netcnnaud = nn.Sequential(                                  # (B,1,13,20)
            *_conv_bn_relu(nn.Conv2d(1, 64, 3, 1, 1)), nn.MaxPool2d(1, 1),
            *_conv_bn_relu(nn.Conv2d(64, 192, 3, 1, 1)), nn.MaxPool2d(3, (1, 2)),     # 11×9
            *_conv_bn_relu(nn.Conv2d(192, 384, 3, 1, 1)),
            *_conv_bn_relu(nn.Conv2d(384, 256, 3, 1, 1)),
            *_conv_bn_relu(nn.Conv2d(256, 256, 3, 1, 1)), nn.MaxPool2d(3, 2),         # 5×4
            *_conv_bn_relu(nn.Conv2d(256, 512, (5, 4), 1, 0)))                        # 1×1
        self.netfcaud = _head(dim)
        self.netfclip = _head(dim)
        self.netcnnlip = nn.Sequential(                                  # (B,3,5,224,224)
            *_conv_bn_relu(nn.Conv3d(3, 96, (5, 7, 7), (1, 2, 2), 0)),               # 1×109×109
            nn.MaxPool3d((1, 3, 3), (1, 2, 2)),                                        # 54
            *_conv_bn_relu(nn.Conv3d(96, 256, (1, 5, 5), (1, 2, 2), (0, 1, 1))),     # 26
            nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),                             # 13
            *_conv_bn_relu(nn.Conv3d(256, 256, (1, 3, 3), 1, (0, 1, 1))),
            *_conv_bn_relu(nn.Conv3d(256, 256, (1, 3, 3), 1, (0, 1, 1))),
            *_conv_bn_relu(nn.Conv3d(256, 256, (1, 3, 3), 1, (0, 1, 1))),
            nn.MaxPool3d((1, 3, 3), (1, 2, 2)),                                        # 6
            *_conv_bn_relu(nn.Conv3d(256, 512, (1, 6, 6), 1, 0)))                     # 1

    def forward_aud(self, mfcc: torch.Tensor) -> torch.Tensor:
        """(B, 1, 13, 20) MFCC windows — 13 coefficients × 20 steps of 10 ms (0.2 s) → (B, dim)."""
        _expect(mfcc, "mfcc", (1, 13, 20), "Use thglib.audio.syncnet_mfcc_windows")
        return self.netfcaud(self.netcnnaud(mfcc).flatten(1))

    def forward_lip(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, 3, 5, 224, 224) — 5 consecutive face crops, raw BGR in 0..255 as the official
        evaluation feeds them (no normalisation) → (B, dim)."""
        _expect(frames, "frames", (3, 5, 224, 224), "Stack 5 consecutive 224×224 crops on axis 2")
        return self.netfclip(self.netcnnlip(frames).flatten(1))

    def forward(self, mfcc: torch.Tensor, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both embeddings at once: ``(forward_aud(mfcc), forward_lip(frames))``."""
        return self.forward_aud(mfcc), self.forward_lip(frames)


def _expect(x: torch.Tensor, name: str, tail: tuple[int, ...], fix: str) -> None:
    """Raise :class:`BadInputError` unless ``x`` is (B, *tail)."""
    if x.dim() != len(tail) + 1 or tuple(x.shape[1:]) != tail:
        want = ", ".join(map(str, tail))
        raise BadInputError(name, f"expected shape (B, {want}), got {tuple(x.shape)}", fix)
