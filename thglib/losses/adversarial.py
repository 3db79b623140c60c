"""Adversarial losses, generator (``*_g_loss``) and discriminator (``*_d_loss``) sides, and regularisers.

The losses take discriminator outputs: logits (any shape, batch first; a patch map is averaged)
unless said otherwise.  Real and fake outputs may differ in batch size (not in the other
dimensions); each term is a mean of its own tensor, so nothing is broadcast.

* non-saturating BCE (goodfellow2014generative) — Wav2Lip's visual-quality GAN, whose
  discriminator ends in a sigmoid (``from_probs=True``; Rudrabha/Wav2Lip ``hq_wav2lip_train.py``,
  ``models/wav2lip.py`` ``Wav2Lip_disc_qual.perceptual_forward``);
* LSGAN (mao2017least) — FOMM (``modules/model.py`` ``GeneratorFullModel``/``DiscriminatorFullModel``),
  SadTalker's PoseVAE (``src/audio2pose_models/audio2pose.py`` ``gan_criterion = nn.MSELoss()``);
* hinge (lim2017geometric) — PC-AVS (``models/networks/loss.py`` ``GANLoss``, ``gan_mode='hinge'``)
  and face-vid2vid (wang2021oneshot);
* WGAN critic with gradient penalty (gulrajani2017improved), R1 (mescheder2018which);
* discriminator feature matching (wang2018highresolution).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ..errors import BadInputError
from ._checks import check

__all__ = ["bce_g_loss", "bce_d_loss", "lsgan_g_loss", "lsgan_d_loss", "hinge_g_loss", "hinge_d_loss",
           "wgan_g_loss", "wgan_d_loss", "gradient_penalty", "r1_penalty", "feature_matching_loss"]


def bce_g_loss(fake: torch.Tensor, from_probs: bool = False) -> torch.Tensor:
    """Non-saturating generator loss ``−E log D(G(z))`` = ``BCE(D(G(z)), 1)``.

    ``fake``: logits, or probabilities with ``from_probs=True`` (Wav2Lip: ``F.binary_cross_entropy(
    pred, ones)``).  From logits it is ``softplus(−l)``, stable for any ``l``.
    """
    check(fake=(fake, "B ..."))
    if from_probs:
        return F.binary_cross_entropy(fake, torch.ones_like(fake))
    return F.softplus(-fake).mean()


def bce_d_loss(real: torch.Tensor, fake: torch.Tensor, from_probs: bool = False) -> torch.Tensor:
    """``BCE(D(x), 1) + BCE(D(G(z)), 0)`` — Wav2Lip's ``disc_real_loss + disc_fake_loss``."""
    check(real=(real, "B ..."), fake=(fake, "N ..."))
    if from_probs:
        return (F.binary_cross_entropy(real, torch.ones_like(real))
                + F.binary_cross_entropy(fake, torch.zeros_like(fake)))
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def lsgan_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """``E (D(G(z)) − 1)²`` (FOMM ``((1 - discriminator_maps_generated[key]) ** 2).mean()``)."""
    check(fake=(fake, "B ..."))
    return (fake - 1).square().mean()


def lsgan_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """``E (D(x) − 1)² + E D(G(z))²`` (FOMM ``(1 - real) ** 2 + fake ** 2``, averaged)."""
    check(real=(real, "B ..."), fake=(fake, "N ..."))
    return (real - 1).square().mean() + fake.square().mean()


def hinge_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """``−E D(G(z))`` (PC-AVS ``GANLoss.loss`` hinge, ``for_discriminator=False``)."""
    check(fake=(fake, "B ..."))
    return -fake.mean()


def hinge_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """``E max(0, 1 − D(x)) + E max(0, 1 + D(G(z)))`` (PC-AVS: ``-mean(min(input - 1, 0))`` …)."""
    check(real=(real, "B ..."), fake=(fake, "N ..."))
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def wgan_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """``−E D(G(z))`` for a Wasserstein critic (same form as :func:`hinge_g_loss`)."""
    check(fake=(fake, "B ..."))
    return -fake.mean()


def wgan_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Critic loss ``E D(G(z)) − E D(x)``; add ``λ ·`` :func:`gradient_penalty` (λ = 10 in WGAN-GP)."""
    check(real=(real, "B ..."), fake=(fake, "N ..."))
    return fake.mean() - real.mean()


def _input_gradient(critic: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``∂ Σ D(x) / ∂x`` per sample, kept in the graph (``create_graph``) so the penalty trains D."""
    x = x if x.requires_grad else x.detach().requires_grad_(True)
    out = critic(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.flatten(1)


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor,
                     eps: torch.Tensor | None = None) -> torch.Tensor:
    """WGAN-GP ``E (‖∇D(x̂)‖₂ − 1)²`` at ``x̂ = ε x + (1 − ε) G(z)``, ``ε ~ U[0, 1]`` per sample.

    ``eps``: ``(B,)`` interpolation weights (drawn with ``torch.rand`` when ``None``).
    Multiply by λ = 10 (Gulrajani et al. 2017, Algorithm 1).
    """
    b = check(real=(real, "B ..."), fake=(fake, "B ..."))["B"]
    eps = torch.rand(b, dtype=real.dtype, device=real.device) if eps is None else eps
    check(real=(real, "B ..."), eps=(eps, "B"))
    e = eps.view(-1, *[1] * (real.dim() - 1))
    grad = _input_gradient(critic, e * real + (1 - e) * fake)
    return (grad.norm(dim=1) - 1).square().mean()


def r1_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
               gamma: float = 10.0) -> torch.Tensor:
    """R1 ``(γ/2) E ‖∇_x D(x)‖²`` on real samples only (Mescheder et al. 2018, eq. 9; γ = 10 there).

    ``critic`` must return logits; outputs are summed per sample before differentiating.
    """
    check(real=(real, "B ..."))
    return gamma / 2 * _input_gradient(critic, real).square().sum(1).mean()


def feature_matching_loss(real_features: Sequence[torch.Tensor], fake_features: Sequence[torch.Tensor],
                          weights: Sequence[float] | None = None) -> torch.Tensor:
    """``Σ_i w_i · mean |D_i(G(z)) − D_i(x)|`` over discriminator layers ``i`` (real features detached).

    FOMM weighs each layer 10 (``feature_matching: [10, 10, 10, 10]``); PC-AVS uses
    ``lambda_feat = 10`` divided by the number of discriminators; vid2vid ``lambda_feat = 10`` times
    ``4 / (n_layers_D + 1)``.  ``weights`` default to 1 per layer.
    """
    if len(real_features) != len(fake_features):
        raise BadInputError("fake_features", f"{len(fake_features)} layers vs {len(real_features)} real",
                            "Pass the same discriminator layers for real and fake inputs")
    weights = weights if weights is not None else [1.0] * len(real_features)
    total = fake_features[0].new_zeros(())
    for w, r, f in zip(weights, real_features, fake_features):
        check(real_features=(r, "B ..."), fake_features=(f, "B ..."))
        total = total + w * (f - r.detach()).abs().mean()
    return total
