"""Building blocks shared by the SadTalker face renderer (keypoint detector, head-pose estimator,
dense-motion network, generator) and by its two audio encoders.

Ported from https://github.com/OpenTalker/SadTalker (``src/facerender/modules/util.py``, itself
from face-vid2vid / First Order Motion Model) and ``src/audio2exp_models/networks.py`` /
``src/audio2pose_models/audio_encoder.py`` for :func:`audio_encoder`.  Attribute names follow the
official modules so that the released checkpoints load unchanged.  The official code uses
``sync_batchnorm.SynchronizedBatchNorm2d/3d``; in eval mode (and on one device) it is plain batch
norm with the same state_dict keys, so :class:`torch.nn.BatchNorm2d` / ``3d`` stand in for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import BadInputError
from ..wav2lip import ConvBN

__all__ = [
    "expect_shape", "kp_value", "make_coordinate_grid", "kp2gaussian", "audio_encoder",
    "ResBottleneck", "ResBlock2d", "ResBlock3d", "UpBlock2d", "UpBlock3d", "DownBlock2d",
    "DownBlock3d", "SameBlock2d", "Hourglass", "KPHourglass", "AntiAliasInterpolation2d",
    "SpectralNormConv2d", "SPADE", "SPADEResnetBlock",
]

_Size = int | tuple[int, int]


def expect_shape(x: torch.Tensor, name: str, shape: Sequence[int | None], fix: str = "") -> None:
    """Raise :class:`BadInputError` unless ``x`` is a tensor of ``shape`` (``None`` matches any size)."""
    ok = isinstance(x, torch.Tensor) and x.dim() == len(shape) and all(
        s is None or s == d for s, d in zip(shape, x.shape))
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise BadInputError(name, f"expected a tensor of shape {want}, got {got}",
                            fix or "See the class docstring for the input layout")


def kp_value(kp: torch.Tensor | Mapping[str, torch.Tensor], name: str = "kp") -> torch.Tensor:
    """The (B, K, 3) keypoints of a tensor or of an official ``{'value': ...}`` dict."""
    value = kp["value"] if isinstance(kp, Mapping) else kp
    expect_shape(value, name, (None, None, 3), "Pass (B, K, 3) keypoints or {'value': (B, K, 3)}")
    return value


def make_coordinate_grid(spatial_size: Sequence[int], dtype: torch.dtype = torch.float32,
                         device: torch.device | str | None = None) -> torch.Tensor:
    """(D, H, W, 3) grid of (x, y, z) in [-1, 1], x along W (``util.py`` ``make_coordinate_grid``)."""
    d, h, w = (int(s) for s in spatial_size)

    def axis(n: int) -> torch.Tensor:
        return 2 * (torch.arange(n, device=device).to(dtype) / (n - 1)) - 1

    x, y, z = axis(w), axis(h), axis(d)
    return torch.stack([x.view(1, 1, w).expand(d, h, w), y.view(1, h, 1).expand(d, h, w),
                        z.view(d, 1, 1).expand(d, h, w)], dim=3)


def kp2gaussian(kp: torch.Tensor, spatial_size: Sequence[int], kp_variance: float) -> torch.Tensor:
    """Keypoints (B, K, 3) → unnormalised Gaussians (B, K, D, H, W) (``util.py`` ``kp2gaussian``)."""
    grid = make_coordinate_grid(spatial_size, kp.dtype, kp.device)
    diff = grid.view(1, 1, *grid.shape) - kp.view(*kp.shape[:2], 1, 1, 1, 3)
    return torch.exp(-0.5 * (diff ** 2).sum(-1) / kp_variance)


def audio_encoder() -> nn.Sequential:
    """The 13-block mel encoder (B, 1, 80, 16) → (B, 512, 1, 1) of ExpNet and PoseVAE.

    Layer for layer the Wav2Lip audio encoder (``src/audio2exp_models/networks.py``
    ``SimpleWrapperV2.audio_encoder``, ``src/audio2pose_models/audio_encoder.py``): Conv2d +
    BatchNorm2d (+ input on residual blocks) + ReLU, keys ``N.conv_block.{0,1}``.
    """
    def res(c: int, n: int) -> list[ConvBN]:
        return [ConvBN(c, c, 3, 1, 1, residual=True) for _ in range(n)]

    return nn.Sequential(
        ConvBN(1, 32, 3, 1, 1), *res(32, 2),
        ConvBN(32, 64, 3, (3, 1), 1), *res(64, 2),
        ConvBN(64, 128, 3, 3, 1), *res(128, 2),
        ConvBN(128, 256, 3, (3, 2), 1), *res(256, 1),
        ConvBN(256, 512, 3, 1, 0), ConvBN(512, 512, 1, 1, 0))


class ResBottleneck(nn.Module):
    """1×1 → 3×3 (stride) → 1×1 bottleneck with BN, projected skip when strided (``ResBottleneck``)."""

    def __init__(self, in_features: int, stride: int) -> None:
        super().__init__()
        mid = in_features // 4
        self.conv1 = nn.Conv2d(in_features, mid, kernel_size=1)
        self.conv2 = nn.Conv2d(mid, mid, kernel_size=3, padding=1, stride=stride)
        self.conv3 = nn.Conv2d(mid, in_features, kernel_size=1)
        self.norm1 = nn.BatchNorm2d(mid)
        self.norm2 = nn.BatchNorm2d(mid)
        self.norm3 = nn.BatchNorm2d(in_features)
        self.stride = stride
        if stride != 1:
            self.skip = nn.Conv2d(in_features, in_features, kernel_size=1, stride=stride)
            self.norm4 = nn.BatchNorm2d(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.norm1(self.conv1(x)))
        out = F.relu(self.norm2(self.conv2(out)))
        out = self.norm3(self.conv3(out))
        if self.stride != 1:
            x = self.norm4(self.skip(x))
        return F.relu(out + x)


class ResBlock2d(nn.Module):
    """Pre-activation residual block BN → ReLU → conv, twice, keeping resolution (``ResBlock2d``)."""

    def __init__(self, in_features: int, kernel_size: _Size, padding: _Size) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_features, in_features, kernel_size, padding=padding)
        self.conv2 = nn.Conv2d(in_features, in_features, kernel_size, padding=padding)
        self.norm1 = nn.BatchNorm2d(in_features)
        self.norm2 = nn.BatchNorm2d(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        return self.conv2(F.relu(self.norm2(out))) + x


class ResBlock3d(nn.Module):
    """The 3-D version of :class:`ResBlock2d` (``ResBlock3d``)."""

    def __init__(self, in_features: int, kernel_size: int, padding: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(in_features, in_features, kernel_size, padding=padding)
        self.conv2 = nn.Conv3d(in_features, in_features, kernel_size, padding=padding)
        self.norm1 = nn.BatchNorm3d(in_features)
        self.norm2 = nn.BatchNorm3d(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        return self.conv2(F.relu(self.norm2(out))) + x


class UpBlock2d(nn.Module):
    """Nearest ×2 upsampling → conv → BN → ReLU (``UpBlock2d``)."""

    def __init__(self, in_features: int, out_features: int, kernel_size: _Size = 3, padding: _Size = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size, padding=padding)
        self.norm = nn.BatchNorm2d(out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(F.interpolate(x, scale_factor=2))))


class UpBlock3d(nn.Module):
    """Nearest (1, 2, 2) upsampling (depth kept) → conv → BN → ReLU (``UpBlock3d``)."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 3, padding: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_features, out_features, kernel_size, padding=padding)
        self.norm = nn.BatchNorm3d(out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.conv(F.interpolate(x, scale_factor=(1.0, 2.0, 2.0)))))


class DownBlock2d(nn.Module):
    """conv → BN → ReLU → 2×2 average pooling (``DownBlock2d``)."""

    def __init__(self, in_features: int, out_features: int, kernel_size: _Size = 3, padding: _Size = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size, padding=padding)
        self.norm = nn.BatchNorm2d(out_features)
        self.pool = nn.AvgPool2d(kernel_size=(2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(F.relu(self.norm(self.conv(x))))


class DownBlock3d(nn.Module):
    """conv → BN → ReLU → (1, 2, 2) average pooling, depth kept (``DownBlock3d``)."""

    def __init__(self, in_features: int, out_features: int, kernel_size: int = 3, padding: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv3d(in_features, out_features, kernel_size, padding=padding)
        self.norm = nn.BatchNorm3d(out_features)
        self.pool = nn.AvgPool3d(kernel_size=(1, 2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(F.relu(self.norm(self.conv(x))))


class SameBlock2d(nn.Module):
    """conv → BN → ReLU (or LeakyReLU(0.01) when ``lrelu``), resolution kept (``SameBlock2d``)."""

    def __init__(self, in_features: int, out_features: int, kernel_size: _Size = 3, padding: _Size = 1,
                 lrelu: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_features, out_features, kernel_size, padding=padding)
        self.norm = nn.BatchNorm2d(out_features)
        self.ac: nn.Module = nn.LeakyReLU() if lrelu else nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ac(self.norm(self.conv(x)))


class _Encoder(nn.Module):
    """Hourglass encoder: ``num_blocks`` :class:`DownBlock3d`, returning every scale (``Encoder``)."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int) -> None:
        super().__init__()
        chans = [in_features] + [min(max_features, block_expansion * 2 ** (i + 1)) for i in range(num_blocks)]
        self.down_blocks = nn.ModuleList(DownBlock3d(chans[i], chans[i + 1]) for i in range(num_blocks))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = [x]
        for block in self.down_blocks:
            outs.append(block(outs[-1]))
        return outs


class _Decoder(nn.Module):
    """Hourglass decoder: :class:`UpBlock3d` + skip concatenation, then conv → BN → ReLU (``Decoder``)."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int, max_features: int) -> None:
        super().__init__()
        blocks = []
        for i in reversed(range(num_blocks)):
            cin = (1 if i == num_blocks - 1 else 2) * min(max_features, block_expansion * 2 ** (i + 1))
            blocks.append(UpBlock3d(cin, min(max_features, block_expansion * 2 ** i)))
        self.up_blocks = nn.ModuleList(blocks)
        self.out_filters = block_expansion + in_features
        self.conv = nn.Conv3d(self.out_filters, self.out_filters, kernel_size=3, padding=1)
        self.norm = nn.BatchNorm3d(self.out_filters)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        feats = list(feats)
        out = feats.pop()
        for block in self.up_blocks:
            out = torch.cat([block(out), feats.pop()], dim=1)
        return F.relu(self.norm(self.conv(out)))


class Hourglass(nn.Module):
    """3-D U-Net (``util.py`` ``Hourglass``); output has ``block_expansion + in_features`` channels."""

    def __init__(self, block_expansion: int, in_features: int, num_blocks: int = 3, max_features: int = 256) -> None:
        super().__init__()
        self.encoder = _Encoder(block_expansion, in_features, num_blocks, max_features)
        self.decoder = _Decoder(block_expansion, in_features, num_blocks, max_features)
        self.out_filters = self.decoder.out_filters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class KPHourglass(nn.Module):
    """2-D encoder → 1×1 conv → reshape to a (C, D) volume → 3-D decoder (``util.py`` ``KPHourglass``)."""

    def __init__(self, block_expansion: int, in_features: int, reshape_features: int, reshape_depth: int,
                 num_blocks: int = 3, max_features: int = 256) -> None:
        super().__init__()
        self.down_blocks = nn.Sequential()
        for i in range(num_blocks):
            cin = in_features if i == 0 else min(max_features, block_expansion * 2 ** i)
            self.down_blocks.add_module(f"down{i}", DownBlock2d(cin, min(max_features, block_expansion * 2 ** (i + 1))))
        self.conv = nn.Conv2d(min(max_features, block_expansion * 2 ** num_blocks), reshape_features, kernel_size=1)
        self.up_blocks = nn.Sequential()
        out_filters = in_features
        for i in range(num_blocks):
            cin = min(max_features, block_expansion * 2 ** (num_blocks - i))
            out_filters = min(max_features, block_expansion * 2 ** (num_blocks - i - 1))
            self.up_blocks.add_module(f"up{i}", UpBlock3d(cin, out_filters))
        self.reshape_depth = reshape_depth
        self.out_filters = out_filters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(self.down_blocks(x))
        b, c, h, w = out.shape
        return self.up_blocks(out.view(b, c // self.reshape_depth, self.reshape_depth, h, w))


class AntiAliasInterpolation2d(nn.Module):
    """Gaussian blur then subsampling by ``1/scale`` (``util.py`` ``AntiAliasInterpolation2d``).

    ``sigma = (1/scale - 1)/2``, kernel ``2*round(4*sigma) + 1``, normalised to sum 1, applied
    depthwise after zero padding.  The kernel is the registered buffer ``weight`` (C, 1, k, k), stored
    in the official checkpoints.
    """

    weight: torch.Tensor

    def __init__(self, channels: int, scale: float) -> None:
        super().__init__()
        sigma = (1 / scale - 1) / 2
        size = 2 * round(sigma * 4) + 1
        self.ka = size // 2
        self.kb = self.ka - 1 if size % 2 == 0 else self.ka
        t = torch.arange(size, dtype=torch.float32)
        g = torch.exp(-((t - (size - 1) / 2) ** 2) / (2 * sigma ** 2))
        kernel = g.view(-1, 1) * g.view(1, -1)
        kernel = kernel / kernel.sum()
        self.register_buffer("weight", kernel.view(1, 1, size, size).repeat(channels, 1, 1, 1))
        self.groups = channels
        self.scale = scale
        self.int_inv_scale = int(1 / scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale == 1.0:
            return x
        out = F.conv2d(F.pad(x, (self.ka, self.kb, self.ka, self.kb)), self.weight, groups=self.groups)
        return out[:, :, ::self.int_inv_scale, ::self.int_inv_scale]


class SpectralNormConv2d(nn.Module):
    """A Conv2d under ``torch.nn.utils.spectral_norm`` with its checkpoint keys: ``weight_orig``,
    ``bias``, and the power-iteration buffers ``weight_u`` (out,), ``weight_v`` (in·k·k,).

    The effective weight is ``weight_orig / σ`` with ``σ = u · (W v)`` and ``W = weight_orig``
    flattened to (out, in·k·k).  In eval mode ``u`` and ``v`` are used exactly as stored (no power
    iteration, no normalisation), as PyTorch does; in training mode one power iteration (eps 1e-12)
    updates them first, as PyTorch does.
    """

    weight_u: torch.Tensor
    weight_v: torch.Tensor

    def __init__(self, cin: int, cout: int, kernel_size: int, padding: int = 0, dilation: int = 1,
                 bias: bool = True) -> None:
        super().__init__()
        conv = nn.Conv2d(cin, cout, kernel_size, padding=padding, dilation=dilation, bias=bias)
        self.padding, self.dilation = conv.padding, conv.dilation
        self.weight_orig = nn.Parameter(conv.weight.detach().clone())
        if conv.bias is not None:
            self.bias: nn.Parameter | None = nn.Parameter(conv.bias.detach().clone())
        else:
            self.register_parameter("bias", None)
        u = F.normalize(torch.randn(cout), dim=0, eps=1e-12)
        v = F.normalize(torch.randn(cin * kernel_size * kernel_size), dim=0, eps=1e-12)
        self.register_buffer("weight_u", u)
        self.register_buffer("weight_v", v)

    def weight(self) -> torch.Tensor:
        """The spectrally normalised weight the convolution uses."""
        w = self.weight_orig.flatten(1)
        if self.training:
            with torch.no_grad():
                self.weight_v.copy_(F.normalize(w.t() @ self.weight_u, dim=0, eps=1e-12))
                self.weight_u.copy_(F.normalize(w @ self.weight_v, dim=0, eps=1e-12))
        sigma = torch.dot(self.weight_u, w @ self.weight_v)
        return self.weight_orig / sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight(), self.bias, padding=self.padding, dilation=self.dilation)


class SPADE(nn.Module):
    """Spatially-adaptive normalisation: ``InstanceNorm(x) * (1 + γ(seg)) + β(seg)`` (``util.py`` ``SPADE``).

    The segmentation map (here the warped feature volume) is resized to ``x`` (nearest) and mapped by
    a shared 3×3 conv (128 channels, ReLU) to ``γ`` and ``β``.
    """

    def __init__(self, norm_nc: int, label_nc: int) -> None:
        super().__init__()
        self.param_free_norm = nn.InstanceNorm2d(norm_nc, affine=False)
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, 128, kernel_size=3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(128, norm_nc, kernel_size=3, padding=1)
        self.mlp_beta = nn.Conv2d(128, norm_nc, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        normalized = self.param_free_norm(x)
        if segmap.shape[2:] != x.shape[2:]:
            segmap = F.interpolate(segmap, size=x.shape[2:], mode="nearest")
        actv = self.mlp_shared(segmap)
        return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class SPADEResnetBlock(nn.Module):
    """SPADE residual block with spectral-norm convs (``util.py`` ``SPADEResnetBlock``, norm_G
    ``'spadespectralinstance'``): ``shortcut(x) + conv_1(lrelu(norm_1(conv_0(lrelu(norm_0(x))))))``,
    the shortcut a learned ``conv_s(norm_s(x))`` (no activation) when ``fin != fout``.
    """

    def __init__(self, fin: int, fout: int, label_nc: int, dilation: int = 1) -> None:
        super().__init__()
        self.learned_shortcut = fin != fout
        fmiddle = min(fin, fout)
        self.conv_0 = SpectralNormConv2d(fin, fmiddle, 3, padding=dilation, dilation=dilation)
        self.conv_1 = SpectralNormConv2d(fmiddle, fout, 3, padding=dilation, dilation=dilation)
        if self.learned_shortcut:
            self.conv_s = SpectralNormConv2d(fin, fout, 1, bias=False)
        self.norm_0 = SPADE(fin, label_nc)
        self.norm_1 = SPADE(fmiddle, label_nc)
        if self.learned_shortcut:
            self.norm_s = SPADE(fin, label_nc)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        x_s = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 0.2))
        return x_s + dx
