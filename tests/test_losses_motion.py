"""thglib.losses.motion: FOMM's warp and equivariance, face-vid2vid's keypoint prior, KL, Min-SNR diffusion MSE."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck

from thglib import BadInputError
from thglib.losses import motion as M

D64 = dict(dtype=torch.float64)


def _fomm_warp_coordinates(tps: M.RandomTPS, coords):
    """FOMM modules/model.py Transform.warp_coordinates, written out."""
    theta = tps.theta.unsqueeze(1)
    out = (torch.matmul(theta[:, :, :, :2], coords.unsqueeze(-1)) + theta[:, :, :, 2:]).squeeze(-1)
    d = torch.abs(coords.view(coords.shape[0], -1, 1, 2) - tps.control_points.view(1, 1, -1, 2)).sum(-1)
    res = (d ** 2 * torch.log(d + 1e-6) * tps.control_params).sum(dim=2).view(tps.theta.shape[0], -1, 1)
    return out + res


def test_random_tps_equals_fomm_and_identity_when_sigma_is_zero():
    g = torch.Generator().manual_seed(0)
    tps = M.RandomTPS(2, dtype=torch.float64, generator=g)
    c = 2 * torch.rand(2, 7, 2, **D64) - 1
    assert torch.allclose(tps.warp_coordinates(c), _fomm_warp_coordinates(tps, c), atol=1e-14)
    ident = M.RandomTPS(2, sigma_affine=0.0, sigma_tps=0.0, dtype=torch.float64)
    assert torch.allclose(ident.warp_coordinates(c), c)
    frame = torch.rand(2, 3, 9, 11, **D64)
    assert torch.allclose(ident.warp_frame(frame), frame, atol=1e-12)
    assert torch.allclose(ident.jacobian(c), torch.eye(2, **D64).expand(2, 7, 2, 2))


def test_equivariance_losses_vanish_for_an_equivariant_detector():
    g = torch.Generator().manual_seed(1)
    tps = M.RandomTPS(2, sigma_tps=0.0, dtype=torch.float64, generator=g)  # affine T(c) = A c + t
    a, t = tps.theta[:, :, :2], tps.theta[:, :, 2]
    kp = 2 * torch.rand(2, 5, 2, **D64) - 1
    kp_w = (kp - t[:, None]) @ torch.linalg.inv(a).transpose(1, 2)  # detector on the warped frame
    assert M.equivariance_value_loss(kp, kp_w, tps.warp_coordinates).item() == pytest.approx(0.0, abs=1e-12)
    jac_w = torch.rand(2, 5, 2, 2, **D64) + torch.eye(2, **D64)
    grad_t = tps.jacobian(kp_w)
    assert torch.allclose(grad_t, a[:, None].expand(-1, 5, -1, -1))
    assert M.equivariance_jacobian_loss(grad_t @ jac_w, jac_w, grad_t).item() == pytest.approx(0.0, abs=1e-12)
    jac = torch.rand(2, 5, 2, 2, **D64) + 2 * torch.eye(2, **D64)
    ref = torch.abs(torch.eye(2, **D64) - torch.matmul(torch.inverse(jac), torch.matmul(grad_t, jac_w))).mean()
    assert torch.allclose(M.equivariance_jacobian_loss(jac, jac_w, grad_t), ref)


def test_keypoint_prior_hand_case_and_unofficial_loop():
    kp = torch.tensor([[[0.0, 0.0, 0.35], [0.0, math.sqrt(0.05), 0.35]]], **D64)  # ‖Δ‖² = 0.05, mean z 0.35
    assert M.keypoint_prior_loss(kp).item() == pytest.approx(2 * 0.05 + 0.02)
    kp = torch.rand(3, 6, 3, **D64) * 0.4
    total = 0  # zhanglonghao1992/... modules/model.py, loss_weights['keypoint'] branch
    for i in range(6):
        for j in range(6):
            dist = F.pairwise_distance(kp[:, i, :], kp[:, j, :], p=2, keepdim=True) ** 2
            dist = 0.1 - dist
            total += (dist * torch.gt(dist, 0)).mean()
    total += torch.abs(kp[:, :, -1].mean(-1) - 0.33).mean()
    assert M.keypoint_prior_loss(kp).item() == pytest.approx(total.item() - 6 * 0.1, abs=1e-5)


def test_kl_matches_pcavs_and_torch_distributions():
    mu, logvar = torch.randn(4, 3, 2, **D64), torch.randn(4, 3, 2, **D64)
    pcavs = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())  # KLDLoss.forward
    assert torch.allclose(M.kl_divergence(mu, logvar, "sum"), pcavs)
    assert torch.allclose(M.kl_divergence(mu, logvar), pcavs / 4)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    assert torch.allclose(M.kl_divergence(mu, logvar, "mean"), torch.distributions.kl_divergence(q, p).mean())
    with pytest.raises(BadInputError, match="^reduction:"):
        M.kl_divergence(mu, logvar, "none")


def test_snr_and_v_target():
    ac = torch.tensor([0.99, 0.5, 0.2], **D64)
    assert torch.allclose(M.snr_from_schedule(ac, torch.tensor([0, 2])), torch.tensor([99.0, 0.25], **D64))
    x0, eps, ab = torch.randn(2, 3, 4, **D64), torch.randn(2, 3, 4, **D64), torch.tensor([0.25, 0.81], **D64)
    v = M.v_target(x0, eps, ab)
    a = ab.view(-1, 1, 1)
    xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
    assert torch.allclose(a.sqrt() * xt - (1 - a).sqrt() * v, x0)  # x₀ = √ᾱ x_t − √(1−ᾱ) v
    assert torch.allclose(M.v_target(torch.ones(1, 1, **D64), torch.zeros(1, 1, **D64), ab[:1]),
                          torch.tensor([[-math.sqrt(0.75)]], **D64))


def test_min_snr_weights_hand_cases():
    s = torch.tensor([0.5, 5.0, 20.0], **D64)
    assert torch.allclose(M.min_snr_weights(s), torch.tensor([1.0, 1.0, 0.25], **D64))
    assert torch.allclose(M.min_snr_weights(s, prediction="v"), torch.tensor([0.5 / 1.5, 5 / 6, 5 / 21], **D64))
    assert torch.allclose(M.min_snr_weights(s, prediction="x0"), torch.tensor([0.5, 5.0, 5.0], **D64))
    hallo = M.min_snr_weights(s, gamma=5.0, prediction="v", convention="hallo")
    assert torch.allclose(hallo, torch.tensor([1.0, 5 / 6, 5 / 21], **D64))


def test_diffusion_loss_weighting_and_hallos_batch_mean():
    pred = torch.zeros(2, 1, 2, **D64)
    target = torch.tensor([[[1.0, 1.0]], [[2.0, 2.0]]], **D64)  # per-sample MSE 1 and 4
    w = torch.tensor([1.0, 0.5], **D64)
    assert M.diffusion_loss(pred, target).item() == pytest.approx(2.5)
    assert M.diffusion_loss(pred, target, w).item() == pytest.approx(1.5)
    # hallo scripts/train_stage2.py: F.mse_loss(reduction="mean"), then .mean(dim=[]) * weights → batch-mean weight
    hallo = (F.mse_loss(pred, target, reduction="mean").mean(dim=list(range(1, 0))) * w).mean()
    assert hallo.item() == pytest.approx(2.5 * 0.75)
    with pytest.raises(BadInputError, match="^weights: expected shape"):
        M.diffusion_loss(pred, target, torch.ones(3, **D64))


@pytest.mark.parametrize("name", ["value", "jacobian", "prior", "kl", "diffusion", "v_target", "min_snr"])
def test_gradcheck_float64(name):
    g = torch.Generator().manual_seed(2)
    r = lambda *s: torch.rand(*s, generator=g, **D64).requires_grad_(True)  # noqa: E731
    tps = M.RandomTPS(2, dtype=torch.float64, generator=g)
    eye = torch.eye(2, **D64)
    cases = {
        "value": (lambda a, b: M.equivariance_value_loss(a, b, tps.warp_coordinates), (r(2, 4, 2), r(2, 4, 2))),
        "jacobian": (lambda a, b, c: M.equivariance_jacobian_loss(a + 2 * eye, b, c),
                     (r(2, 3, 2, 2), r(2, 3, 2, 2), r(2, 3, 2, 2))),
        "prior": (M.keypoint_prior_loss, (r(2, 5, 3) * 0.3,)),
        "kl": (M.kl_divergence, (r(3, 4), r(3, 4))),
        "diffusion": (lambda a, b, w: M.diffusion_loss(a, b, w), (r(2, 3, 2), r(2, 3, 2), r(2))),
        "v_target": (lambda a, b, c: M.v_target(a, b, 0.1 + 0.8 * c), (r(2, 3), r(2, 3), r(2))),
        "min_snr": (lambda s: M.min_snr_weights(0.5 + 10 * s, prediction="v"), (r(4),)),
    }
    fn, args = cases[name]
    assert gradcheck(fn, args, eps=1e-6, atol=1e-6)
