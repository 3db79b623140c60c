"""thglib.losses.adversarial against torch BCE, the reference formulas written out, and hand-computed cases."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd import gradcheck

from thglib import BadInputError
from thglib.losses import adversarial as A

D64 = dict(dtype=torch.float64)


def _t(*values):
    return torch.tensor(values, **D64)


def test_bce_equals_wav2lip_and_torch():
    logits = torch.randn(6, 1, **D64)
    probs = torch.sigmoid(logits)
    ones, zeros = torch.ones_like(probs), torch.zeros_like(probs)
    assert torch.allclose(A.bce_g_loss(logits), F.binary_cross_entropy_with_logits(logits, ones))
    # hq_wav2lip_train.py: perceptual_forward = BCE(D(g), 1); disc_real_loss + disc_fake_loss
    assert torch.allclose(A.bce_g_loss(probs, from_probs=True), F.binary_cross_entropy(probs, ones))
    wav2lip_d = F.binary_cross_entropy(probs, ones) + F.binary_cross_entropy(probs.flip(0), zeros)
    assert torch.allclose(A.bce_d_loss(probs, probs.flip(0), from_probs=True), wav2lip_d)
    assert torch.allclose(A.bce_d_loss(logits, logits.flip(0)), wav2lip_d, atol=1e-12)
    assert torch.allclose(A.bce_g_loss(torch.tensor([50.0, -50.0], **D64)), _t(0.0, 50.0).mean(), atol=1e-12)


def test_lsgan_hand_case_and_fomm_form():
    real, fake = _t(0.5, 1.5), _t(0.2, -0.4)
    assert A.lsgan_d_loss(real, fake).item() == pytest.approx(0.25 + 0.1)
    assert A.lsgan_g_loss(fake).item() == pytest.approx(1.3)
    r, f = torch.randn(2, 1, 4, 4, **D64), torch.randn(2, 1, 4, 4, **D64)
    assert torch.allclose(A.lsgan_d_loss(r, f), ((1 - r) ** 2 + f ** 2).mean())  # DiscriminatorFullModel
    assert torch.allclose(A.lsgan_g_loss(f), ((1 - f) ** 2).mean())


def test_hinge_hand_case_and_pcavs_form():
    real, fake = _t(0.5, 2.0), _t(-0.5, 0.3)
    assert A.hinge_d_loss(real, fake).item() == pytest.approx(0.25 + 0.9)
    assert A.hinge_g_loss(fake).item() == pytest.approx(0.1)
    zero = torch.zeros(2, **D64)  # PC-AVS GANLoss.loss, hinge, for_discriminator=True
    pcavs = -torch.mean(torch.min(real - 1, zero)) - torch.mean(torch.min(-fake - 1, zero))
    assert torch.allclose(A.hinge_d_loss(real, fake), pcavs)


def test_wgan_and_gradient_penalty_hand_case():
    assert A.wgan_d_loss(_t(1.0, 3.0), _t(0.5, 0.5)).item() == pytest.approx(-1.5)
    assert A.wgan_g_loss(_t(0.5, 1.5)).item() == pytest.approx(-1.0)
    w = _t(3.0, 4.0)
    critic = lambda x: x @ w  # noqa: E731  gradient w everywhere, ‖w‖ = 5
    real, fake = torch.randn(3, 2, **D64), torch.randn(3, 2, **D64)
    assert A.gradient_penalty(critic, real, fake).item() == pytest.approx(16.0)
    with pytest.raises(BadInputError, match="^eps:"):
        A.gradient_penalty(critic, real, fake, eps=torch.rand(2, **D64))


def test_r1_hand_case_and_it_trains_the_critic():
    x = _t(1.0, 2.0)[None]
    assert A.r1_penalty(lambda v: v.square().sum(1), x).item() == pytest.approx(5 * 4 * 5)  # γ/2 ‖2x‖²
    critic = nn.Linear(2, 1).double()
    pen = A.r1_penalty(critic, torch.randn(4, 2, **D64), gamma=2.0)
    assert pen.item() == pytest.approx(critic.weight.square().sum().item())
    pen.backward()
    assert critic.weight.grad is not None and critic.weight.grad.abs().sum() > 0


def test_feature_matching_detaches_real_and_weights_layers():
    real = [torch.randn(2, 4, 3, 3, requires_grad=True, **D64), torch.randn(2, 8, **D64)]
    fake = [torch.randn(2, 4, 3, 3, requires_grad=True, **D64), torch.randn(2, 8, **D64)]
    loss = A.feature_matching_loss(real, fake, weights=[10, 10])
    ref = sum(10 * torch.abs(a - b).mean() for a, b in zip(real, fake))  # FOMM feature_matching
    assert torch.allclose(loss, ref)
    loss.backward()
    assert real[0].grad is None and fake[0].grad is not None
    with pytest.raises(BadInputError, match="^fake_features: 1 layers vs 2"):
        A.feature_matching_loss(real, fake[:1])
    with pytest.raises(BadInputError, match="^fake_features: expected shape"):
        A.feature_matching_loss(real[:1], [fake[1]])


def _critic(x):
    return torch.tanh(x).pow(3).flatten(1).sum(1) + x.flatten(1).prod(1)


@pytest.mark.parametrize("name", ["bce_g", "bce_d", "bce_probs", "lsgan_g", "lsgan_d", "hinge_g", "hinge_d",
                                  "wgan_g", "wgan_d", "gp", "r1", "fm"])
def test_gradcheck_float64(name):
    g = torch.Generator().manual_seed(5)
    r = torch.randn(3, 1, 2, 2, generator=g, requires_grad=True, **D64)
    f = torch.randn(3, 1, 2, 2, generator=g, requires_grad=True, **D64)
    eps = torch.rand(3, generator=g, **D64)
    fn = {"bce_g": lambda a, b: A.bce_g_loss(b), "bce_d": A.bce_d_loss,
          "bce_probs": lambda a, b: A.bce_d_loss(torch.sigmoid(a), torch.sigmoid(b), from_probs=True),
          "lsgan_g": lambda a, b: A.lsgan_g_loss(b), "lsgan_d": A.lsgan_d_loss,
          "hinge_g": lambda a, b: A.hinge_g_loss(b), "hinge_d": A.hinge_d_loss,
          "wgan_g": lambda a, b: A.wgan_g_loss(b), "wgan_d": A.wgan_d_loss,
          "gp": lambda a, b: A.gradient_penalty(_critic, a, b, eps=eps),
          "r1": lambda a, b: A.r1_penalty(_critic, a) + 0 * b.sum(),
          "fm": lambda a, b: A.feature_matching_loss([a], [b])}[name]
    if name == "fm":  # real features are detached by design: check the fake side only
        r = r.detach()
    assert gradcheck(fn, (r, f), eps=1e-6, atol=1e-6)


def test_errors_name_the_argument():
    with pytest.raises(BadInputError, match="^fake: expected a torch.Tensor"):
        A.hinge_g_loss([0.0])
    with pytest.raises(BadInputError, match="^fake: is torch.float32"):
        A.lsgan_d_loss(torch.zeros(2, **D64), torch.zeros(2))
    with pytest.raises(BadInputError, match="^fake: expected shape"):
        A.gradient_penalty(_critic, torch.zeros(2, 3, **D64), torch.zeros(2, 4, **D64))
