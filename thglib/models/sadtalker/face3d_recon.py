"""Deep3DFaceRecon's coefficient regressor as SadTalker uses it: ResNet-50 → 257 3DMM coefficients.

Ported from https://github.com/OpenTalker/SadTalker ``src/face3d/models/networks.py`` class
``ReconNetWrapper`` built by ``define_net_recon(net_recon='resnet50', use_last_fc=False)`` (from
Deng et al.'s Deep3DFaceRecon_pytorch): a torchvision-style ResNet-50 trunk without its ``fc`` and
seven parallel 1×1 convs, one per coefficient group.  Weights: the ``face_3drecon.`` keys of
``SadTalker_V0.0.2_256.safetensors`` or ``epoch_20.pth['net_recon']``.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.resnet import Bottleneck, ResNet

from .blocks import expect_shape

__all__ = ["Face3DRecon", "COEFF_GROUPS", "split_coeff", "coeff_3dmm"]

#: Coefficient groups in output order, with their sizes (``final_layers.0`` … ``.6``).
COEFF_GROUPS: dict[str, int] = {"id": 80, "exp": 64, "tex": 80, "angle": 3, "gamma": 27, "txy": 2, "tz": 1}


class Face3DRecon(nn.Module):
    """(B, 3, 224, 224) aligned face, RGB in [0, 1] (no mean/std) → (B, 257) BFM coefficients.

    Output layout (:func:`split_coeff`): id [0:80], exp [80:144], tex [144:224], angle [224:227]
    (radians), gamma [227:254], trans [254:257].  The input is the 224² crop of SadTalker's
    ``align_img`` (``src/face3d/util/preprocess.py``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.backbone = ResNet(Bottleneck, [3, 4, 6, 3])
        del self.backbone.fc  # use_last_fc=False: the heads below replace it
        self.final_layers = nn.ModuleList(nn.Conv2d(512 * Bottleneck.expansion, n, 1, bias=True)
                                          for n in COEFF_GROUPS.values())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expect_shape(x, "x", (None, 3, None, None), "Pass (B, 3, 224, 224) aligned RGB faces in [0, 1]")
        bb = self.backbone
        x = bb.maxpool(bb.relu(bb.bn1(bb.conv1(x))))
        x = bb.avgpool(bb.layer4(bb.layer3(bb.layer2(bb.layer1(x)))))
        return torch.cat([layer(x) for layer in self.final_layers], dim=1).flatten(1)


def split_coeff(coeffs: torch.Tensor) -> dict[str, torch.Tensor]:
    """(B, 257) → ``id``, ``exp``, ``tex``, ``angle``, ``gamma``, ``trans`` (``split_coeff`` of the original)."""
    expect_shape(coeffs, "coeffs", (None, 257), "Pass Face3DRecon's (B, 257) output")
    return {"id": coeffs[:, :80], "exp": coeffs[:, 80:144], "tex": coeffs[:, 144:224],
            "angle": coeffs[:, 224:227], "gamma": coeffs[:, 227:254], "trans": coeffs[:, 254:257]}


def coeff_3dmm(coeffs: torch.Tensor, trans_params: torch.Tensor | None = None) -> torch.Tensor:
    """SadTalker's per-frame coefficients: ``[exp 64, angle 3, trans 3]`` (B, 70), or with the crop
    parameters ``trans_params[2:]`` = (s, tx, ty) of ``align_img`` appended (B, 73), as
    ``src/utils/preprocess.py`` saves them."""
    parts = split_coeff(coeffs)
    out = torch.cat([parts["exp"], parts["angle"], parts["trans"]], dim=1)
    if trans_params is None:
        return out
    tp = torch.as_tensor(trans_params, dtype=out.dtype, device=out.device).reshape(-1, 5)[:, 2:]
    return torch.cat([out, tp.expand(out.shape[0], 3)], dim=1)
