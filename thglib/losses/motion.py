"""Motion and generative-model losses: keypoint equivariance and prior, CVAE KL, diffusion MSE.

* equivariance (siarohin2019first): keypoints must move with a known random warp ``T``:
  ``|K(x) − T(K(T⁻¹-warped x))|`` and, for local Jacobians, ``|I − J⁻¹ ∇T J_w|``
  (AliaksandrSiarohin/first-order-model ``modules/model.py`` ``Transform``, ``GeneratorFullModel``;
  ``config/vox-256.yaml``: ``equivariance_value: 10``, ``equivariance_jacobian: 10``);
* keypoint prior (face-vid2vid, wang2021oneshot):
  ``Σ_{i≠j} max(0, D_t − ‖k_i − k_j‖²) + |mean_k z_k − z_t|``,
  ``D_t = 0.1``, ``z_t = 0.33`` (no official code; zhanglonghao1992/One-Shot_Free-View_Neural_Talking_Head_Synthesis
  ``modules/model.py``, which also counts ``i = j``);
* CVAE KL (kingma2014autoencoding) — PC-AVS ``KLDLoss``, SadTalker PoseVAE ``LAMBDA_KL: 1``;
* diffusion ε-/v-prediction MSE (ho2020denoising) with Min-SNR-γ weights (Hang et al., ICCV 2023,
  arXiv:2303.09556); Hallo (xu2024hallo) uses γ = 5 with v-prediction
  (fudan-generative-vision/hallo ``configs/train/stage2.yaml``, ``scripts/train_stage2.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F

from ..errors import BadInputError
from ._checks import check

__all__ = ["RandomTPS", "equivariance_value_loss", "equivariance_jacobian_loss", "keypoint_prior_loss",
           "kl_divergence", "snr_from_schedule", "v_target", "min_snr_weights", "diffusion_loss"]


class RandomTPS:
    """FOMM's random warp ``T``: affine ``I + N(0, σ_a²)`` plus a thin-plate spline on a ``p × p``
    grid of control points with ``N(0, σ_t²)`` weights (defaults: FOMM's ``transform_params``).

    Coordinates are ``(x, y)`` in [−1, 1].  The TPS kernel uses FOMM's L1 distance ``r``:
    ``Σ_c w_c r_c² log(r_c + 1e−6)``, added to both coordinates.
    """

    def __init__(self, batch: int, sigma_affine: float = 0.05, sigma_tps: float = 0.005, points_tps: int = 5,
                 dtype: torch.dtype = torch.float32, generator: torch.Generator | None = None) -> None:
        eye = torch.eye(2, 3, dtype=dtype)
        self.theta = eye + sigma_affine * torch.randn(batch, 2, 3, generator=generator, dtype=dtype)
        g = torch.linspace(-1, 1, points_tps, dtype=dtype)
        yy, xx = torch.meshgrid(g, g, indexing="ij")
        self.control_points = torch.stack([xx, yy], -1).reshape(-1, 2)
        self.control_params = sigma_tps * torch.randn(batch, 1, points_tps ** 2, generator=generator, dtype=dtype)

    def warp_coordinates(self, coords: torch.Tensor) -> torch.Tensor:
        """``(B, N, 2)`` → ``T(coords)``, same shape."""
        check(coords=(coords, "B N 2"))
        theta, cp, w = (t.to(coords) for t in (self.theta, self.control_points, self.control_params))
        out = coords @ theta[:, :, :2].transpose(1, 2) + theta[:, None, :, 2]
        r = (coords[:, :, None, :] - cp[None, None]).abs().sum(-1)
        return out + (r.square() * torch.log(r + 1e-6) * w).sum(-1, keepdim=True)

    def warp_frame(self, frame: torch.Tensor) -> torch.Tensor:
        """Resample ``(B, C, H, W)`` at ``T(grid)`` (reflection padding), as FOMM's ``transform_frame``."""
        check(frame=(frame, "B C H W"))
        b, _, h, w = frame.shape
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, h, dtype=frame.dtype),
                                torch.linspace(-1, 1, w, dtype=frame.dtype), indexing="ij")
        grid = torch.stack([xs, ys], -1).reshape(1, -1, 2).expand(b, -1, -1).to(frame.device)
        grid = self.warp_coordinates(grid).reshape(b, h, w, 2)
        return F.grid_sample(frame, grid, padding_mode="reflection", align_corners=True)

    def jacobian(self, coords: torch.Tensor) -> torch.Tensor:
        """``∂T/∂coords`` at ``(B, N, 2)`` points → ``(B, N, 2, 2)`` (rows: output x, y)."""
        coords = coords if coords.requires_grad else coords.detach().requires_grad_(True)
        t = self.warp_coordinates(coords)
        rows = [torch.autograd.grad(t[..., i].sum(), coords, create_graph=True)[0] for i in range(2)]
        return torch.stack(rows, dim=-2)


def equivariance_value_loss(kp: torch.Tensor, kp_of_warped: torch.Tensor,
                            warp: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """``mean |K(x) − T(K(T(x)))|``: FOMM ``torch.abs(kp_driving['value'] - transform.warp_coordinates(
    transformed_kp['value'])).mean()``.  ``warp``: ``T`` on coordinates (:meth:`RandomTPS.warp_coordinates`);
    ``kp_of_warped``: the detector's keypoints on the frame warped by :meth:`RandomTPS.warp_frame`."""
    check(kp=(kp, "B K 2"), kp_of_warped=(kp_of_warped, "B K 2"))
    return (kp - warp(kp_of_warped)).abs().mean()


def equivariance_jacobian_loss(jac: torch.Tensor, jac_of_warped: torch.Tensor,
                               warp_jacobian: torch.Tensor) -> torch.Tensor:
    """``mean |I − J⁻¹ (∇T · J_w)|`` for ``(B, K, 2, 2)`` keypoint Jacobians ``J`` (original frame),
    ``J_w`` (warped frame) and ``∇T`` at the warped keypoints (:meth:`RandomTPS.jacobian`)."""
    check(jac=(jac, "B K 2 2"), jac_of_warped=(jac_of_warped, "B K 2 2"), warp_jacobian=(warp_jacobian, "B K 2 2"))
    value = torch.linalg.inv(jac) @ (warp_jacobian @ jac_of_warped)
    return (torch.eye(2, dtype=jac.dtype, device=jac.device) - value).abs().mean()


def keypoint_prior_loss(kp: torch.Tensor, dt: float = 0.1, zt: float = 0.33) -> torch.Tensor:
    """face-vid2vid's prior on ``(B, K, 3)`` keypoints: spread them (``‖k_i − k_j‖² ≥ D_t`` for
    ``i ≠ j``) and keep their mean depth at ``z_t``; batch mean.  The unofficial reimplementation also
    sums ``i = j``, adding the constant ``K · D_t``."""
    k = check(kp=(kp, "B K 3"))["K"]
    d2 = (kp[:, :, None] - kp[:, None]).square().sum(-1)
    off = ~torch.eye(k, dtype=torch.bool, device=kp.device)
    spread = F.relu(dt - d2)[:, off].sum(1)
    return (spread + (kp[..., 2].mean(1) - zt).abs()).mean()


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor,
                  reduction: Literal["batchmean", "sum", "mean"] = "batchmean") -> torch.Tensor:
    """``KL(N(μ, σ²) ‖ N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²)`` per sample, then ``reduction``:
    ``"batchmean"`` (mean over the batch), ``"sum"`` (PC-AVS ``KLDLoss``) or ``"mean"`` (over elements)."""
    check(mu=(mu, "B ..."), logvar=(logvar, "B ..."))
    kl = -0.5 * (1 + logvar - mu.square() - logvar.exp())
    if reduction == "sum":
        return kl.sum()
    if reduction == "mean":
        return kl.mean()
    if reduction != "batchmean":
        raise BadInputError("reduction", f"unknown value {reduction!r}", "Use 'batchmean', 'sum' or 'mean'")
    return kl.flatten(1).sum(1).mean()


def snr_from_schedule(alphas_cumprod: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
    """``SNR(t) = ᾱ_t / (1 − ᾱ_t)`` for integer ``timesteps`` (``(B,)``) into a ``(T,)`` schedule."""
    check(alphas_cumprod=(alphas_cumprod, "T"))
    a = alphas_cumprod[timesteps]
    return a / (1 - a)


def v_target(x0: torch.Tensor, noise: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """v-prediction target ``v = √ᾱ ε − √(1 − ᾱ) x₀`` (Salimans & Ho 2022); ``alpha_bar``: ``(B,)``."""
    check(x0=(x0, "B ..."), noise=(noise, "B ..."), alpha_bar=(alpha_bar, "B"))
    a = alpha_bar.view(-1, *[1] * (x0.dim() - 1))
    return a.sqrt() * noise - (1 - a).sqrt() * x0


def min_snr_weights(snr: torch.Tensor, gamma: float = 5.0,
                    prediction: Literal["epsilon", "v", "x0"] = "epsilon",
                    convention: Literal["min-snr", "hallo"] = "min-snr") -> torch.Tensor:
    """Min-SNR-γ loss weights (Hang et al. 2023, §3.4 and §4.2), ``(B,)``.

    ε: ``min(SNR, γ)/SNR``; v: ``min(SNR, γ)/(SNR + 1)``; x₀: ``min(SNR, γ)``.  ``convention="hallo"``
    (v only) adds 1 before clipping, as Hallo's ``train_stage2.py``: ``min(SNR + 1, γ)/(SNR + 1)``.
    """
    check(snr=(snr, "B"))
    if convention == "hallo" and prediction == "v":
        return (snr + 1).clamp(max=gamma) / (snr + 1)
    clipped = snr.clamp(max=gamma)
    return {"epsilon": lambda: clipped / snr, "v": lambda: clipped / (snr + 1), "x0": lambda: clipped}[prediction]()


def diffusion_loss(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """``mean_b w_b · mean((pred_b − target_b)²)``: ε- or v-prediction MSE, per-sample weighted.

    ``target`` is the noise ε or :func:`v_target`; ``weights`` e.g. :func:`min_snr_weights`.
    Hallo's code takes the MSE over the whole batch first, so each sample gets the batch-mean weight.
    """
    check(pred=(pred, "B ..."), target=(target, "B ..."))
    per_sample = (pred - target).square().flatten(1).mean(1)
    if weights is None:
        return per_sample.mean()
    check(pred=(pred, "B ..."), weights=(weights, "B"))
    return (weights * per_sample).mean()
