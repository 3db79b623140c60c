"""face-vid2vid's head-pose and expression estimator as SadTalker ships it, checkpoint-compatible.

Ported from https://github.com/OpenTalker/SadTalker ``src/facerender/modules/keypoint_detector.py``
class ``HEEstimator`` (``src/config/facerender.yaml``: block_expansion 64, max_features 2048,
num_bins 66, num_kp 15).  SadTalker builds it but never runs it at inference (MappingNet predicts
pose and expression from 3DMM coefficients instead); its weights exist only in the old-version
``facevid2vid_00189-model.pth.tar['he_estimator']``, not in the safetensors file.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import ResBottleneck, expect_shape

__all__ = ["HEEstimator"]


class HEEstimator(nn.Module):
    """Image → ``{'yaw', 'pitch', 'roll'}`` (B, 66) bin logits, ``'t'`` (B, 3), ``'exp'`` (B, 3·num_kp).

    ``forward(x)``: (B, 3, 256, 256) RGB in [0, 1].  A ResNet-style trunk of
    :class:`~thglib.models.sadtalker.blocks.ResBottleneck` stages (3, 1+3, 1+5, 1+2 blocks) then global
    average pooling and five linear heads.  As in the official forward, ``'yaw'`` comes from the
    layer named ``fc_roll`` and ``'roll'`` from ``fc_yaw`` (the names are swapped in the original;
    kept so the checkpoint's heads mean what they meant in training).
    """

    def __init__(self, block_expansion: int = 64, feature_channel: int = 32, num_kp: int = 15,
                 image_channel: int = 3, max_features: int = 2048, num_bins: int = 66) -> None:
        super().__init__()
        del feature_channel, max_features  # official constructor arguments, unused by the layers
        self.conv1 = nn.Conv2d(image_channel, block_expansion, kernel_size=7, padding=3, stride=2)
        self.norm1 = nn.BatchNorm2d(block_expansion)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(block_expansion, 256, kernel_size=1)
        self.norm2 = nn.BatchNorm2d(256)
        self.block1 = self._stack("b1_", 256, 3)
        self.conv3 = nn.Conv2d(256, 512, kernel_size=1)
        self.norm3 = nn.BatchNorm2d(512)
        self.block2 = ResBottleneck(512, stride=2)
        self.block3 = self._stack("b3_", 512, 3)
        self.conv4 = nn.Conv2d(512, 1024, kernel_size=1)
        self.norm4 = nn.BatchNorm2d(1024)
        self.block4 = ResBottleneck(1024, stride=2)
        self.block5 = self._stack("b5_", 1024, 5)
        self.conv5 = nn.Conv2d(1024, 2048, kernel_size=1)
        self.norm5 = nn.BatchNorm2d(2048)
        self.block6 = ResBottleneck(2048, stride=2)
        self.block7 = self._stack("b7_", 2048, 2)
        self.fc_roll = nn.Linear(2048, num_bins)
        self.fc_pitch = nn.Linear(2048, num_bins)
        self.fc_yaw = nn.Linear(2048, num_bins)
        self.fc_t = nn.Linear(2048, 3)
        self.fc_exp = nn.Linear(2048, 3 * num_kp)
        self.image_channel = image_channel

    @staticmethod
    def _stack(prefix: str, features: int, n: int) -> nn.Sequential:
        seq = nn.Sequential()
        for i in range(n):
            seq.add_module(f"{prefix}{i}", ResBottleneck(features, stride=1))
        return seq

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        expect_shape(x, "x", (None, self.image_channel, None, None),
                     "Pass (B, 3, 256, 256) RGB images in [0, 1]")
        out = self.maxpool(F.relu(self.norm1(self.conv1(x))))
        out = self.block1(F.relu(self.norm2(self.conv2(out))))
        out = self.block3(self.block2(F.relu(self.norm3(self.conv3(out)))))
        out = self.block5(self.block4(F.relu(self.norm4(self.conv4(out)))))
        out = self.block7(self.block6(F.relu(self.norm5(self.conv5(out)))))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return {"yaw": self.fc_roll(out), "pitch": self.fc_pitch(out), "roll": self.fc_yaw(out),
                "t": self.fc_t(out), "exp": self.fc_exp(out)}
