"""Temporal losses: frame-to-frame consistency and realism of sequences.

* :func:`flow_warping_loss` — the short-term temporal loss of Lai et al. (lai2018learning):
  ``mean M_t |O_t − W(O_{t−1})|`` with the occlusion mask ``M_t = exp(−α ‖I_t − W(I_{t−1})‖²)``,
  α = 50, flow estimated on the *input* frames (phoenix104104/fast_blind_video_consistency
  ``train.py``; offline here via OpenCV Farneback, :func:`farneback_flow`);
* :func:`velocity_loss` — L1/L2 on frame differences (VOCA cudeiro2019capture; MakeItTalk's
  motion loss ``l1_loss(pred[:-1] − pred[1:], gt[:-1] − gt[1:])``);
* :class:`TemporalDiscriminator` — vid2vid's temporal discriminator (Wang et al., NeurIPS 2018,
  arXiv:1808.06601): K = 3 consecutive frames and their K − 1 flows stacked on channels into a
  PatchGAN (NVIDIA/vid2vid ``models/vid2vid_model_D.py`` ``compute_loss_D_T``; ``lambda_T = 10``);
* :class:`PoseSequenceDiscriminator` — SadTalker PoseVAE's 1-D discriminator on head-pose motion
  sequences (zhang2023sadtalker; OpenTalker/SadTalker ``src/audio2pose_models/discriminator.py``).

Pair the discriminators with :mod:`thglib.losses.adversarial` (vid2vid and SadTalker use LSGAN).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BadInputError
from ._checks import check

__all__ = ["warp", "occlusion_mask", "flow_warping_loss", "farneback_flow", "velocity_loss",
           "TemporalDiscriminator", "PoseSequenceDiscriminator"]


def warp(frames: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp ``W(I)(p) = I(p + F(p))``: bilinear, border-clamped; ``flow`` ``(B, 2, H, W)`` in
    pixels, channel 0 = dx, 1 = dy (OpenCV's convention).  Warping ``I_{t−1}`` with the flow from
    ``t`` to ``t − 1`` aligns it with ``I_t``."""
    check(frames=(frames, "B C H W"), flow=(flow, "B 2 H W"))
    _, _, h, w = frames.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=flow.dtype, device=flow.device),
                            torch.arange(w, dtype=flow.dtype, device=flow.device), indexing="ij")
    x = (xs + flow[:, 0]) * (2 / max(w - 1, 1)) - 1
    y = (ys + flow[:, 1]) * (2 / max(h - 1, 1)) - 1
    return F.grid_sample(frames, torch.stack([x, y], dim=-1), mode="bilinear", padding_mode="border",
                         align_corners=True)


def occlusion_mask(frame: torch.Tensor, warped_previous: torch.Tensor, alpha: float = 50.0) -> torch.Tensor:
    """``M = exp(−α Σ_c (I_t − W(I_{t−1}))²)``, ``(B, 1, H, W)``, for RGB in [0, 1] (Lai et al. eq. 2).

    Lai et al.'s code squares the channel *sum* of the difference (``torch.sum(frame_i2 - warp_i1,
    dim=1).pow(2)``); this follows the paper's squared norm.
    """
    check(frame=(frame, "B C H W"), warped_previous=(warped_previous, "B C H W"))
    return torch.exp(-alpha * (frame - warped_previous).square().sum(1, keepdim=True))


def flow_warping_loss(output: torch.Tensor, previous_output: torch.Tensor, flow: torch.Tensor,
                      mask: torch.Tensor) -> torch.Tensor:
    """``mean M |O_t − W(O_{t−1}, F_{t→t−1})|`` over pixels and channels (Lai et al. ``criterion(
    frame_o2 * noc_mask2, warp_o1 * noc_mask2)`` with ``nn.L1Loss``).  vid2vid weighs its warp loss 10."""
    check(output=(output, "B C H W"), previous_output=(previous_output, "B C H W"),
          flow=(flow, "B 2 H W"), mask=(mask, "B 1 H W"))
    return (mask * (output - warp(previous_output, flow)).abs()).mean()


def farneback_flow(frames: np.ndarray, previous: np.ndarray) -> torch.Tensor:
    """Dense flow from each frame to its predecessor with OpenCV Farneback (offline, not differentiable).

    ``(T, H, W, 3)`` uint8 RGB (or one ``(H, W, 3)``) → ``(T, 2, H, W)`` float32 pixels, ready for
    :func:`warp` of ``previous``.  Parameters: pyramid scale 0.5, 3 levels, window 15, 3 iterations,
    poly_n 5, σ 1.2 (OpenCV's tutorial values).
    """
    import cv2

    cur, prev = np.asarray(frames), np.asarray(previous)
    cur, prev = (a[None] if a.ndim == 3 else a for a in (cur, prev))
    if cur.shape != prev.shape or cur.ndim != 4 or cur.shape[-1] != 3 or cur.dtype != np.uint8:
        raise BadInputError("frames/previous", f"expected two equal (T, H, W, 3) uint8 stacks, got "
                            f"{cur.shape} {cur.dtype} and {prev.shape} {prev.dtype}", "Pass uint8 RGB frames")
    grey = [[cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in a] for a in (cur, prev)]
    flows = [cv2.calcOpticalFlowFarneback(c, p, None, 0.5, 3, 15, 3, 5, 1.2, 0) for c, p in zip(*grey)]
    return torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2).contiguous()


def velocity_loss(pred: torch.Tensor, target: torch.Tensor, p: int = 2) -> torch.Tensor:
    """``mean |Δpred − Δtarget|^p`` with ``Δx_t = x_t − x_{t−1}`` along axis 1 of ``(B, T, ...)`` (T ≥ 2)."""
    check(pred=(pred, "B T ..."), target=(target, "B T ..."))
    if pred.shape[1] < 2:
        raise BadInputError("pred", f"needs at least 2 time steps on axis 1, got {pred.shape[1]}",
                            "Pass sequences shaped (B, T, ...)")
    d = pred.diff(dim=1) - target.diff(dim=1)
    return d.abs().mean() if p == 1 else d.square().mean()


def _norm(kind: str, channels: int, dims: int = 2) -> nn.Module:
    if kind == "none":
        return nn.Identity()
    table = {("instance", 2): nn.InstanceNorm2d, ("batch", 2): nn.BatchNorm2d, ("batch", 1): nn.BatchNorm1d}
    if (kind, dims) not in table:
        raise BadInputError("norm", f"unknown or unsupported norm {kind!r}", "Use 'instance', 'batch' or 'none'")
    return table[kind, dims](channels)


class TemporalDiscriminator(nn.Module):
    """vid2vid ``netD_T``: a PatchGAN on ``K`` frames ``(B, K, C, H, W)`` + ``K − 1`` flows ``(B, K−1, 2, H, W)``.

    Input channels ``C·K + 2(K − 1)``; layers as pix2pixHD's ``NLayerDiscriminator``: 4×4 convs,
    stride 2 ×``n_layers`` then stride 1, LeakyReLU 0.2, no norm on the first layer.  Returns patch
    logits ``(B, 1, h, w)``.  vid2vid scales the flows by 1/20 before stacking (``flow_ref/20``).
    """

    def __init__(self, n_frames: int = 3, channels: int = 3, use_flow: bool = True, ndf: int = 64,
                 n_layers: int = 3, norm: str = "instance") -> None:
        super().__init__()
        self.n_frames, self.channels, self.use_flow = n_frames, channels, use_flow
        cin = channels * n_frames + (2 * (n_frames - 1) if use_flow else 0)
        layers: list[nn.Module] = [nn.Conv2d(cin, ndf, 4, 2, 2), nn.LeakyReLU(0.2)]
        c = ndf
        for i in range(1, n_layers + 1):
            cout = min(ndf * 2 ** i, 512)
            layers += [nn.Conv2d(c, cout, 4, 2 if i < n_layers else 1, 2), _norm(norm, cout), nn.LeakyReLU(0.2)]
            c = cout
        self.net = nn.Sequential(*layers, nn.Conv2d(c, 1, 4, 1, 2))

    def forward(self, frames: torch.Tensor, flows: torch.Tensor | None = None) -> torch.Tensor:
        k, c = self.n_frames, self.channels
        check(frames=(frames, f"B {k} {c} H W"))
        x = frames.flatten(1, 2)
        if self.use_flow:
            if flows is None:
                raise BadInputError("flows", "this discriminator was built with use_flow=True",
                                    "Pass the (B, K-1, 2, H, W) flows between consecutive frames")
            check(frames=(frames, f"B {k} {c} H W"), flows=(flows, f"B {k - 1} 2 H W"))
            x = torch.cat([x, flows.flatten(1, 2)], dim=1)
        return self.net(x)


class PoseSequenceDiscriminator(nn.Module):
    """SadTalker PoseVAE discriminator: ``(B, T, P)`` pose motions → ``(B, T/4)`` per-step logits.

    1-D convs (no bias) + norm + ReLU (LeakyReLU 0.2 if ``leaky``): ``P → 256`` and ``256 → 512`` with
    kernel 4, stride 2, then ``512 → 1024`` kernel 3, then ``Conv1d(1024, 1, 3)``.  SadTalker feeds
    ``P = 6`` (3 rotations + 3 translations) relative to the first frame, ``T = 32``, BatchNorm,
    ``leaky=False`` (``test/config/auido2pose.yaml``); ``widths`` shrinks it for experiments.
    """

    def __init__(self, pose_dim: int = 6, widths: tuple[int, int, int] = (256, 512, 1024),
                 leaky: bool = False, norm: str = "batch") -> None:
        super().__init__()
        self.pose_dim = pose_dim
        act = (lambda: nn.LeakyReLU(0.2)) if leaky else nn.ReLU
        w1, w2, w3 = widths
        self.seq = nn.Sequential(
            nn.Conv1d(pose_dim, w1, 4, 2, 1, bias=False), _norm(norm, w1, 1), act(),
            nn.Conv1d(w1, w2, 4, 2, 1, bias=False), _norm(norm, w2, 1), act(),
            nn.Conv1d(w2, w3, 3, 1, 1, bias=False), _norm(norm, w3, 1), act(),
            nn.Conv1d(w3, 1, 3, 1, 1))

    def forward(self, poses: torch.Tensor) -> torch.Tensor:
        check(poses=(poses, f"B T {self.pose_dim}"))
        return self.seq(poses.transpose(1, 2)).squeeze(1)
