"""SadTalker's MappingNet: a window of 3DMM coefficients → face-vid2vid pose and expression.

Ported from https://github.com/OpenTalker/SadTalker ``src/facerender/modules/mapping.py`` class
``MappingNet(coeff_nc, descriptor_nc=1024, layer=3, num_kp=15, num_bins=66)``.  Two released files:
``mapping_00229-model.pth.tar['mapping']`` (``coeff_nc`` 70, ``src/config/facerender.yaml``, for the
crop / extcrop / resize modes) and ``mapping_00109-model.pth.tar['mapping']`` (``coeff_nc`` 73,
``facerender_still.yaml``, for full / extfull: the 3 crop parameters appended).
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import expect_shape

__all__ = ["MappingNet", "COEFF_NC_CROP", "COEFF_NC_FULL", "SEMANTIC_WINDOW"]

COEFF_NC_CROP = 70   # exp 64, angle 3, trans 3
COEFF_NC_FULL = 73   # + crop s, tx, ty
SEMANTIC_WINDOW = 27  # 2 * semantic_radius 13 + 1 frames


class MappingNet(nn.Module):
    """(B, coeff_nc, 27) coefficient window → ``{'yaw', 'pitch', 'roll'}`` (B, 66) bin logits,
    ``'t'`` (B, 3) and ``'exp'`` (B, 3·num_kp).

    A k=7 Conv1d (27 → 21 frames), ``layer`` residual [LeakyReLU(0.1), k=3 dilation-3 Conv1d] stages
    whose skip is the centre crop ``out[:, :, 3:-3]`` (21 → 15 → 9 → 3), adaptive average pooling,
    and five linear heads.  Use :meth:`crop` / :meth:`full` for the two released layouts.
    """

    def __init__(self, coeff_nc: int = COEFF_NC_CROP, descriptor_nc: int = 1024, layer: int = 3,
                 num_kp: int = 15, num_bins: int = 66) -> None:
        super().__init__()
        self.layer = layer
        self.coeff_nc = coeff_nc
        self.first = nn.Sequential(nn.Conv1d(coeff_nc, descriptor_nc, kernel_size=7, padding=0, bias=True))
        for i in range(layer):
            setattr(self, f"encoder{i}", nn.Sequential(
                nn.LeakyReLU(0.1), nn.Conv1d(descriptor_nc, descriptor_nc, kernel_size=3, padding=0, dilation=3)))
        self.pooling = nn.AdaptiveAvgPool1d(1)
        self.output_nc = descriptor_nc
        self.fc_roll = nn.Linear(descriptor_nc, num_bins)
        self.fc_pitch = nn.Linear(descriptor_nc, num_bins)
        self.fc_yaw = nn.Linear(descriptor_nc, num_bins)
        self.fc_t = nn.Linear(descriptor_nc, 3)
        self.fc_exp = nn.Linear(descriptor_nc, 3 * num_kp)

    @classmethod
    def crop(cls) -> MappingNet:
        """The ``mapping_00229`` layout (70 coefficients: crop / extcrop / resize modes)."""
        return cls(COEFF_NC_CROP)

    @classmethod
    def full(cls) -> MappingNet:
        """The ``mapping_00109`` layout (73 coefficients: full / extfull modes)."""
        return cls(COEFF_NC_FULL)

    def forward(self, input_3dmm: torch.Tensor) -> dict[str, torch.Tensor]:
        expect_shape(input_3dmm, "input_3dmm", (None, self.coeff_nc, None),
                     f"Pass (B, {self.coeff_nc}, 27) coefficient windows (semantic radius 13)")
        out = self.first(input_3dmm)
        for i in range(self.layer):
            out = getattr(self, f"encoder{i}")(out) + out[:, :, 3:-3]
        out = self.pooling(out).flatten(1)
        return {"yaw": self.fc_yaw(out), "pitch": self.fc_pitch(out), "roll": self.fc_roll(out),
                "t": self.fc_t(out), "exp": self.fc_exp(out)}
