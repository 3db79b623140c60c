"""SadTalker's canonical-keypoint detector (face-vid2vid ``KPDetector``), checkpoint-compatible.

Ported from https://github.com/OpenTalker/SadTalker ``src/facerender/modules/keypoint_detector.py``
class ``KPDetector`` with the ``src/config/facerender.yaml`` parameters (num_kp 15, block_expansion 32,
max_features 1024, num_blocks 5, reshape_channel 16384, reshape_depth 16, temperature 0.1,
scale_factor 0.25, estimate_jacobian False).  Weights: the ``kp_extractor.`` keys of
``SadTalker_V0.0.2_256.safetensors`` or ``facevid2vid_00189-model.pth.tar['kp_detector']``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import AntiAliasInterpolation2d, KPHourglass, expect_shape, make_coordinate_grid

__all__ = ["KPDetector"]


class KPDetector(nn.Module):
    """Source image → ``{'value': (B, num_kp, 3)}`` canonical 3-D keypoints in [-1, 1].

    ``forward(x)``: (B, 3, 256, 256) RGB in [0, 1].  The image is anti-alias downsampled by
    ``scale_factor`` (``down``, a fixed Gaussian kept as buffer ``down.weight``), a
    :class:`~thglib.models.sadtalker.blocks.KPHourglass` lifts it to a (C, 16, 64, 64) volume, a 3×3×3
    conv gives one heatmap per keypoint, and each keypoint is the expectation of the coordinate grid
    under ``softmax(heatmap / temperature)`` over the whole volume.  (x, y, z) order, x along width.
    """

    def __init__(self, block_expansion: int = 32, feature_channel: int = 32, num_kp: int = 15,
                 image_channel: int = 3, max_features: int = 1024, reshape_channel: int = 16384,
                 reshape_depth: int = 16, num_blocks: int = 5, temperature: float = 0.1,
                 scale_factor: float = 0.25) -> None:
        super().__init__()
        del feature_channel  # accepted like the official constructor (common_params); unused
        self.predictor = KPHourglass(block_expansion, image_channel, reshape_channel, reshape_depth,
                                     num_blocks=num_blocks, max_features=max_features)
        self.kp = nn.Conv3d(self.predictor.out_filters, num_kp, kernel_size=3, padding=1)
        self.temperature = temperature
        self.scale_factor = scale_factor
        self.image_channel = image_channel
        if scale_factor != 1:
            self.down = AntiAliasInterpolation2d(image_channel, scale_factor)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        expect_shape(x, "x", (None, self.image_channel, None, None),
                     "Pass (B, 3, 256, 256) RGB images in [0, 1]")
        if self.scale_factor != 1:
            x = self.down(x)
        pred = self.kp(self.predictor(x))
        b, k = pred.shape[:2]
        heat = F.softmax(pred.view(b, k, -1) / self.temperature, dim=2).view(pred.shape)
        grid = make_coordinate_grid(pred.shape[2:], heat.dtype, heat.device)
        value = (heat.unsqueeze(-1) * grid.view(1, 1, *grid.shape)).sum(dim=(2, 3, 4))
        return {"value": value}
