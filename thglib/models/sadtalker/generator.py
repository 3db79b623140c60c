"""SadTalker's face renderer: face-vid2vid's occlusion-aware generator with a SPADE decoder (256²).

Ported from https://github.com/OpenTalker/SadTalker ``src/facerender/modules/generator.py`` classes
``OcclusionAwareSPADEGenerator`` and ``SPADEDecoder`` (``generator_params`` of
``src/config/facerender.yaml``: block_expansion 64, max_features 512, num_down_blocks 2,
reshape_channel 32, reshape_depth 16, num_resblocks 6, estimate_occlusion_map True), with
:class:`~thglib.models.sadtalker.dense_motion.DenseMotionNetwork` and the blocks of
``src/facerender/modules/util.py``.  Weights: the ``generator.`` keys of
``SadTalker_V0.0.2_256.safetensors`` or ``facevid2vid_00189-model.pth.tar['generator']``.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import DownBlock2d, ResBlock3d, SameBlock2d, SPADEResnetBlock, expect_shape, kp_value
from .dense_motion import DenseMotionNetwork

__all__ = ["SPADEDecoder", "OcclusionAwareSPADEGenerator"]

_Keypoints = torch.Tensor | Mapping[str, torch.Tensor]


class SPADEDecoder(nn.Module):
    """(B, 256, 64, 64) warped features → (B, 3, 256, 256) image in [0, 1] (``SPADEDecoder``).

    3×3 conv to 512 channels, six SPADE residual blocks at 64², nearest ×2, one to 256 channels at
    128², nearest ×2, one to 64 channels at 256², LeakyReLU(0.2), 3×3 conv, sigmoid; every block is
    conditioned on the decoder's input.  The residual-block convs are spectrally normalised
    (``weight_orig`` / ``weight_u`` / ``weight_v`` keys).
    """

    def __init__(self, ic: int = 256, oc: int = 64, label_nc: int = 256) -> None:
        super().__init__()
        self.fc = nn.Conv2d(ic, 2 * ic, 3, padding=1)
        for i in range(6):
            setattr(self, f"G_middle_{i}", SPADEResnetBlock(2 * ic, 2 * ic, label_nc))
        self.up_0 = SPADEResnetBlock(2 * ic, ic, label_nc)
        self.up_1 = SPADEResnetBlock(ic, oc, label_nc)
        self.conv_img = nn.Conv2d(oc, 3, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2)

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        seg = feature
        x = self.fc(feature)
        for i in range(6):
            x = getattr(self, f"G_middle_{i}")(x, seg)
        x = self.up_0(self.up(x), seg)
        x = self.up_1(self.up(x), seg)
        return torch.sigmoid(self.conv_img(F.leaky_relu(x, 2e-1)))


class OcclusionAwareSPADEGenerator(nn.Module):
    """``forward(source_image, kp_driving, kp_source)`` → dict ``mask`` (B, K+1, 16, 64, 64),
    ``occlusion_map`` (B, 1, 64, 64), ``prediction`` (B, 3, 256, 256) in [0, 1].

    * ``source_image``: (B, 3, 256, 256) RGB in [0, 1] (the 256² face crop);
    * ``kp_driving``, ``kp_source``: (B, K, 3) keypoints in the [-1, 1] grid frame (x, y, z), or the
      official ``{'value': ...}`` dicts of :func:`~thglib.models.sadtalker.keypoint_transformation`.

    The image is encoded to a (32, 16, 64, 64) feature volume, warped by the dense motion from the
    source to the driving keypoints (``F.grid_sample``: bilinear, zero padding,
    ``align_corners=False``), flattened back to 2-D, multiplied by the occlusion map, and decoded by
    :class:`SPADEDecoder`.  Call with keywords as ``make_animation.py`` does.
    """

    def __init__(self, image_channel: int = 3, feature_channel: int = 32, num_kp: int = 15,
                 block_expansion: int = 64, max_features: int = 512, num_down_blocks: int = 2,
                 reshape_channel: int = 32, reshape_depth: int = 16, num_resblocks: int = 6,
                 estimate_occlusion_map: bool = True, dense_motion_params: Mapping[str, int] | None = None) -> None:
        super().__init__()
        params = dict(block_expansion=32, max_features=1024, num_blocks=5, reshape_depth=16, compress=4)
        params.update(dense_motion_params or {})
        self.dense_motion_network = DenseMotionNetwork(num_kp=num_kp, feature_channel=feature_channel,
                                                       estimate_occlusion_map=estimate_occlusion_map, **params)
        self.first = SameBlock2d(image_channel, block_expansion, kernel_size=(3, 3), padding=(1, 1))
        chans = [min(max_features, block_expansion * 2 ** i) for i in range(num_down_blocks + 1)]
        self.down_blocks = nn.ModuleList(
            DownBlock2d(chans[i], chans[i + 1], kernel_size=(3, 3), padding=(1, 1)) for i in range(num_down_blocks))
        self.second = nn.Conv2d(chans[-1], max_features, kernel_size=1, stride=1)
        self.reshape_channel = reshape_channel
        self.reshape_depth = reshape_depth
        self.resblocks_3d = nn.Sequential()
        for i in range(num_resblocks):
            self.resblocks_3d.add_module(f"3dr{i}", ResBlock3d(reshape_channel, kernel_size=3, padding=1))
        out_features = block_expansion * 2 ** num_down_blocks
        self.third = SameBlock2d(max_features, out_features, kernel_size=(3, 3), padding=(1, 1), lrelu=True)
        self.fourth = nn.Conv2d(out_features, out_features, kernel_size=1, stride=1)
        self.estimate_occlusion_map = estimate_occlusion_map
        self.image_channel = image_channel
        self.num_kp = num_kp
        self.decoder = SPADEDecoder()

    @staticmethod
    def deform_input(inp: torch.Tensor, deformation: torch.Tensor) -> torch.Tensor:
        """Sample the (B, C, D, H, W) volume at the (B, D', H', W', 3) grid (resized trilinearly if needed)."""
        _, d_old, h_old, w_old, _ = deformation.shape
        _, _, d, h, w = inp.shape
        if (d_old, h_old, w_old) != (d, h, w):
            deformation = F.interpolate(deformation.permute(0, 4, 1, 2, 3), size=(d, h, w),
                                        mode="trilinear").permute(0, 2, 3, 4, 1)
        return F.grid_sample(inp, deformation, align_corners=False)

    def forward(self, source_image: torch.Tensor, kp_driving: _Keypoints,
                kp_source: _Keypoints) -> dict[str, torch.Tensor]:
        expect_shape(source_image, "source_image", (None, self.image_channel, None, None),
                     "Pass (B, 3, 256, 256) RGB images in [0, 1]")
        b = source_image.shape[0]
        driving, source = kp_value(kp_driving, "kp_driving"), kp_value(kp_source, "kp_source")
        for name, kp in (("kp_driving", driving), ("kp_source", source)):
            expect_shape(kp, name, (b, self.num_kp, 3), f"Pass ({b}, {self.num_kp}, 3) keypoints")

        out = self.first(source_image)
        for block in self.down_blocks:
            out = block(out)
        out = self.second(out)
        _, _, h, w = out.shape
        feature_3d = self.resblocks_3d(out.view(b, self.reshape_channel, self.reshape_depth, h, w))

        motion = self.dense_motion_network(feature_3d, driving, source)
        result = {"mask": motion["mask"]}
        out = self.deform_input(feature_3d, motion["deformation"])
        out = self.fourth(self.third(out.reshape(b, -1, h, w)))
        occlusion = motion.get("occlusion_map")
        if occlusion is not None:
            result["occlusion_map"] = occlusion
            if occlusion.shape[2:] != out.shape[2:]:
                occlusion = F.interpolate(occlusion, size=out.shape[2:], mode="bilinear")
            out = out * occlusion
        result["prediction"] = self.decoder(out)
        return result
