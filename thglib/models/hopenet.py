"""Hopenet head-pose estimator (yaw, pitch, roll in degrees), checkpoint-compatible.

Ruiz, Chong & Rehg, "Fine-Grained Head Pose Estimation Without Keypoints", CVPR-W 2018
(arXiv:1710.00925).  Ported from https://github.com/natanielruiz/deep-head-pose
``code/hopenet.py`` class ``Hopenet(torchvision.models.resnet.Bottleneck, [3, 4, 6, 3], 66)``:
a ResNet-50 trunk (torchvision's, as in the original) with three 66-bin classifiers, one per
Euler angle, over 3° bins from -99° to +99°.  The released ``hopenet_robust_alpha1.pkl`` is a
plain state_dict of that class.  Preprocessing follows ``code/test_on_video_dlib.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from torch import nn
from torchvision.models.resnet import Bottleneck, ResNet

from ..errors import BadInputError

__all__ = ["Hopenet", "pose_degrees", "hopenet_preprocess", "IMAGENET_MEAN", "IMAGENET_STD"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_BIN_DEGREES, _FIRST_BIN_DEGREES = 3.0, -99.0


class Hopenet(ResNet):
    """ResNet-50 with ``fc_yaw``, ``fc_pitch``, ``fc_roll`` heads of ``num_bins`` logits each.

    ``forward(x)``: (B, 3, 224, 224) ImageNet-normalised RGB (:func:`hopenet_preprocess`) →
    ``(yaw, pitch, roll)`` bin logits, each (B, num_bins); :func:`pose_degrees` turns them into
    angles.  ``fc_finetune`` is a vestigial layer of the original, kept only so that the
    checkpoint loads; it is not used.
    """

    def __init__(self, num_bins: int = 66) -> None:
        super().__init__(Bottleneck, [3, 4, 6, 3])
        del self.fc  # replaced by the three angle heads
        features = 512 * Bottleneck.expansion
        self.fc_yaw = nn.Linear(features, num_bins)
        self.fc_pitch = nn.Linear(features, num_bins)
        self.fc_roll = nn.Linear(features, num_bins)
        self.fc_finetune = nn.Linear(features + 3, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if x.dim() != 4 or x.shape[1] != 3:
            raise BadInputError("x", f"expected (B, 3, 224, 224) normalised RGB, got {tuple(x.shape)}",
                                "Prepare face crops with thglib.models.hopenet_preprocess")
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x).flatten(1)  # 7×7 at 224², where the original's AvgPool2d(7) gives the same
        return self.fc_yaw(x), self.fc_pitch(x), self.fc_roll(x)

    @torch.no_grad()
    def degrees(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3) yaw, pitch, roll in degrees for a preprocessed batch."""
        return pose_degrees(self(x))


def pose_degrees(logits: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """Expected angle of binned logits: ``Σ_k softmax(logits)_k · k · 3 − 99`` degrees.

    A (…, 66) tensor gives (…); the ``(yaw, pitch, roll)`` tuple of :class:`Hopenet` gives (B, 3).
    """
    if not isinstance(logits, torch.Tensor):
        return torch.stack([pose_degrees(t) for t in logits], dim=-1)
    idx = torch.arange(logits.shape[-1], dtype=logits.dtype, device=logits.device)
    return (logits.softmax(dim=-1) * idx).sum(dim=-1) * _BIN_DEGREES + _FIRST_BIN_DEGREES


def hopenet_preprocess(images: np.ndarray | Sequence[np.ndarray], size: int = 224) -> torch.Tensor:
    """Face crops (H, W, 3) uint8 RGB, one or a list → (N, 3, size, size) network input.

    As the official test script: resize the shorter side to ``size`` (bilinear, antialiased like
    PIL), centre-crop ``size``², scale to [0, 1], normalise by the ImageNet mean and std.
    """
    batch = [images] if isinstance(images, np.ndarray) and images.ndim == 3 else list(images)
    if not batch:
        raise BadInputError("images", "no image given", "Pass an (H, W, 3) crop or a list of them")
    out = []
    for k, img in enumerate(batch):
        a = np.asarray(img)
        if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8 or min(a.shape[:2]) < 1:
            raise BadInputError(f"images[{k}]", f"expected an (H, W, 3) uint8 RGB crop, got "
                                f"{a.dtype} {a.shape}", "Convert BGR frames with img[..., ::-1]")
        t = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)
        t = TF.center_crop(TF.resize(t, [size], antialias=True), [size, size])
        out.append(TF.normalize(t.float() / 255.0, IMAGENET_MEAN, IMAGENET_STD))
    return torch.stack(out)
