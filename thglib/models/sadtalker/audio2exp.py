"""SadTalker's ExpNet: per-frame mel windows + reference expression + blink ratio → 64 expression
coefficients.

Ported from https://github.com/OpenTalker/SadTalker ``src/audio2exp_models/networks.py`` class
``SimpleWrapperV2`` (wrapped by ``src/audio2exp_models/audio2exp.py`` ``Audio2Exp`` as ``netG``).
Weights: the ``audio2exp.`` keys of ``SadTalker_V0.0.2_256.safetensors`` or
``auido2exp_00300-model.pth['model']`` (sic).
"""

from __future__ import annotations

import torch
from torch import nn

from ...errors import BadInputError
from .blocks import audio_encoder, expect_shape

__all__ = ["ExpNet"]


class ExpNet(nn.Module):
    """``forward(x, ref, ratio)`` → (B, T, 64) expression coefficients.

    * ``x``: (B·T, 1, 80, 16) per-frame mel windows, batch-major (b0t0, b0t1, …), or (B, T, 1, 80, 16);
    * ``ref``: (B, T, 64) the source image's expression (first 64 of ``coeff_3dmm``) per frame;
    * ``ratio``: (B, T, 1) eye-blink ratio in [0, 1].

    ``mapping1(cat[audio_encoder(x) (512), ref (64), ratio (1)])`` per frame (no residual).  Frames
    are independent, so the official 10-frame chunking of ``Audio2Exp.test`` changes nothing.
    """

    def __init__(self) -> None:
        super().__init__()
        self.audio_encoder = audio_encoder()
        self.mapping1 = nn.Linear(512 + 64 + 1, 64)

    def forward(self, x: torch.Tensor, ref: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:
            x = x.reshape(-1, *x.shape[2:])
        expect_shape(x, "x", (None, 1, 80, 16), "Pass (B*T, 1, 80, 16) mel windows")
        expect_shape(ref, "ref", (None, None, 64), "Pass (B, T, 64) reference expression coefficients")
        b, t = ref.shape[:2]
        if x.shape[0] != b * t or ratio.numel() != b * t:
            raise BadInputError("x", f"{x.shape[0]} mel windows and {ratio.numel()} blink ratios for "
                                f"ref of {b}×{t} frames", "Pass one mel window and one ratio per frame")
        n = x.shape[0]
        feats = self.audio_encoder(x).view(n, -1)
        y = self.mapping1(torch.cat([feats, ref.reshape(n, -1), ratio.reshape(n, -1)], dim=1))
        return y.reshape(b, t, -1)
