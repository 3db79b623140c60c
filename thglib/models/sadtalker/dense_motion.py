"""face-vid2vid's dense-motion network: sparse keypoint motions → a dense 3-D warp and an occlusion map.

Ported from https://github.com/OpenTalker/SadTalker ``src/facerender/modules/dense_motion.py`` class
``DenseMotionNetwork`` (``dense_motion_params`` of ``src/config/facerender.yaml``: block_expansion 32,
max_features 1024, num_blocks 5, reshape_depth 16, compress 4; num_kp 15, feature_channel 32).  A
submodule of :class:`~thglib.models.sadtalker.OcclusionAwareSPADEGenerator` (keys
``dense_motion_network.*``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import Hourglass, kp2gaussian, make_coordinate_grid

__all__ = ["DenseMotionNetwork", "KP_VARIANCE", "MASK_FLOOR"]

KP_VARIANCE = 0.01  # kp2gaussian variance of the heatmap representation
MASK_FLOOR = 1e-3   # mask weights below this are zeroed before the motions are blended


class DenseMotionNetwork(nn.Module):
    """``forward(feature, kp_driving, kp_source)`` → dict ``mask`` (B, K+1, D, H, W) (softmax,
    background first), ``deformation`` (B, D, H, W, 3) sampling grid, ``occlusion_map`` (B, 1, H, W).

    The feature volume is compressed to ``compress`` channels and warped by each keypoint's
    translation (plus the identity for the background), the K+1 warped copies are stacked with the
    difference of driving and source keypoint Gaussians, and a 3-D hourglass predicts the per-voxel
    blend of the K+1 motions and the occlusion map.  Keypoints are (B, K, 3) tensors.
    """

    def __init__(self, block_expansion: int = 32, num_blocks: int = 5, max_features: int = 1024,
                 num_kp: int = 15, feature_channel: int = 32, reshape_depth: int = 16, compress: int = 4,
                 estimate_occlusion_map: bool = True) -> None:
        super().__init__()
        self.hourglass = Hourglass(block_expansion, (num_kp + 1) * (compress + 1), num_blocks, max_features)
        self.mask = nn.Conv3d(self.hourglass.out_filters, num_kp + 1, kernel_size=7, padding=3)
        self.compress = nn.Conv3d(feature_channel, compress, kernel_size=1)
        self.norm = nn.BatchNorm3d(compress)
        self.occlusion = (nn.Conv2d(self.hourglass.out_filters * reshape_depth, 1, kernel_size=7, padding=3)
                          if estimate_occlusion_map else None)
        self.num_kp = num_kp

    def create_sparse_motions(self, feature: torch.Tensor, kp_driving: torch.Tensor,
                              kp_source: torch.Tensor) -> torch.Tensor:
        """(B, K+1, D, H, W, 3): identity for the background, ``grid - kp_driving + kp_source`` per keypoint."""
        b, _, d, h, w = feature.shape
        identity = make_coordinate_grid((d, h, w), kp_source.dtype, kp_source.device).view(1, 1, d, h, w, 3)
        driving_to_source = ((identity - kp_driving.view(b, self.num_kp, 1, 1, 1, 3))
                             + kp_source.view(b, self.num_kp, 1, 1, 1, 3))
        return torch.cat([identity.expand(b, 1, d, h, w, 3), driving_to_source], dim=1)

    def create_deformed_feature(self, feature: torch.Tensor, sparse_motions: torch.Tensor) -> torch.Tensor:
        """Warp the (B, C, D, H, W) feature by each of the K+1 motions: (B, K+1, C, D, H, W)."""
        b, c, d, h, w = feature.shape
        k1 = self.num_kp + 1
        rep = feature.unsqueeze(1).expand(b, k1, c, d, h, w).reshape(b * k1, c, d, h, w)
        out = F.grid_sample(rep, sparse_motions.reshape(b * k1, d, h, w, 3), align_corners=False)
        return out.view(b, k1, c, d, h, w)

    def create_heatmap_representations(self, spatial_size: tuple[int, int, int], kp_driving: torch.Tensor,
                                       kp_source: torch.Tensor) -> torch.Tensor:
        """(B, K+1, 1, D, H, W): driving minus source Gaussians, a zero map for the background first."""
        heat = (kp2gaussian(kp_driving, spatial_size, KP_VARIANCE)
                - kp2gaussian(kp_source, spatial_size, KP_VARIANCE))
        zeros = heat.new_zeros(heat.shape[0], 1, *spatial_size)
        return torch.cat([zeros, heat], dim=1).unsqueeze(2)

    def forward(self, feature: torch.Tensor, kp_driving: torch.Tensor,
                kp_source: torch.Tensor) -> dict[str, torch.Tensor]:
        b, _, d, h, w = feature.shape
        feature = F.relu(self.norm(self.compress(feature)))
        sparse_motion = self.create_sparse_motions(feature, kp_driving, kp_source)
        deformed = self.create_deformed_feature(feature, sparse_motion)
        heatmap = self.create_heatmap_representations((d, h, w), kp_driving, kp_source)
        prediction = self.hourglass(torch.cat([heatmap, deformed], dim=2).view(b, -1, d, h, w))

        mask = F.softmax(self.mask(prediction), dim=1)
        out = {"mask": mask}
        m = mask.unsqueeze(2)
        m = torch.where(m < MASK_FLOOR, torch.zeros_like(m), m)
        deformation = (sparse_motion.permute(0, 1, 5, 2, 3, 4) * m).sum(dim=1)  # (B, 3, D, H, W)
        out["deformation"] = deformation.permute(0, 2, 3, 4, 1)
        if self.occlusion is not None:
            out["occlusion_map"] = torch.sigmoid(self.occlusion(prediction.reshape(b, -1, h, w)))
        return out
