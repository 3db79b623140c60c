"""Reconstruction losses: how far a generated frame is from its target, pixel by pixel.

L1, L2, Charbonnier, SSIM, region-weighted L1 (Wav2Lip's mouth half, any mask) and the
Laplacian-pyramid L1.  Inputs are batch-first float tensors of one shape (``(B, C, H, W)`` for
the image losses, any ``(B, ...)`` for L1/L2/Charbonnier); each loss returns a scalar that is
differentiable in both arguments.  No loss broadcasts: a weight has the input's full shape.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._checks import check

__all__ = ["l1_loss", "l2_loss", "charbonnier_loss", "ssim_loss", "lower_half_mask", "weighted_l1_loss",
           "laplacian_pyramid", "laplacian_pyramid_loss"]


def l1_loss(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``L1 = mean |x − y|`` over every element (equals ``torch.nn.functional.l1_loss``).

    Wav2Lip's reconstruction term, weighted ``1 − s − w`` (prajwal2020lip; Rudrabha/Wav2Lip
    ``hq_wav2lip_train.py``: ``recon_loss = nn.L1Loss()``).
    """
    check(input=(input, "B ..."), target=(target, "B ..."))
    return (input - target).abs().mean()


def l2_loss(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``L2 = mean (x − y)²`` over every element (equals ``torch.nn.functional.mse_loss``)."""
    check(input=(input, "B ..."), target=(target, "B ..."))
    return (input - target).square().mean()


def charbonnier_loss(input: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """``mean √((x − y)² + ε²)``: a differentiable L1 (Charbonnier et al., ICIP 1994).

    Smooth at 0, ≈ ``|x − y|`` once ``|x − y| ≫ ε``.  ``ε = 1e-3`` as in LapSRN
    (Lai et al., CVPR 2017, arXiv:1704.03915).
    """
    check(input=(input, "B ..."), target=(target, "B ..."))
    return torch.sqrt((input - target).square() + eps * eps).mean()


def ssim_loss(input: torch.Tensor, target: torch.Tensor, data_range: float = 1.0,
              border: str = "reflect") -> torch.Tensor:
    """``1 − mean SSIM(x, y)`` (wang2004image), through :func:`thglib.metrics.pixel.ssim_per_image`.

    11×11 Gaussian window, σ = 1.5, K1 = 0.01, K2 = 0.03; ``border="reflect"`` (default) pads by
    5 px and averages the whole frame, as torchmetrics; ``"crop"`` drops a 5-px border, as skimage.
    """
    from ..metrics.pixel import ssim_per_image

    check(input=(input, "B C H W"), target=(target, "B C H W"))
    return 1 - ssim_per_image(input, target, data_range, border).mean()


def lower_half_mask(like: torch.Tensor) -> torch.Tensor:
    """1 on rows ``H//2 …`` (the mouth half), 0 above: the half Wav2Lip masks out of the generator's
    input, feeds to its sync expert and its visual-quality discriminator (``hq_wav2lip_train.py``
    ``window[:, :, window.shape[2]//2:] = 0.``; ``g[:, :, :, g.size(3)//2:]``)."""
    check(like=(like, "B C H W"))
    mask = torch.zeros_like(like)
    mask[..., like.shape[-2] // 2:, :] = 1
    return mask


def weighted_l1_loss(input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                     normalize: bool = True) -> torch.Tensor:
    """Region-weighted L1: ``Σ w |x − y| / Σ w`` (``normalize=True``) or ``mean(w |x − y|)``.

    ``weight`` has the input's full shape: a 0/1 mask (:func:`lower_half_mask`) or per-element
    weights (:func:`thglib.losses.landmark.makeittalk_mouth_weights`; MakeItTalk averages
    ``|Δ| · w`` over all elements, i.e. ``normalize=False``).
    """
    check(input=(input, "B ..."), target=(target, "B ..."), weight=(weight, "B ..."))
    err = weight * (input - target).abs()
    return err.sum() / weight.sum().clamp_min(1e-12) if normalize else err.mean()


def _blur(x: torch.Tensor) -> torch.Tensor:
    """Separable 5-tap binomial blur ``[1 4 6 4 1]/16`` (Burt & Adelson 1983), reflect-padded."""
    k = torch.tensor([1.0, 4, 6, 4, 1], dtype=x.dtype, device=x.device) / 16
    c = x.shape[1]
    x = F.pad(x, (2, 2, 2, 2), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
    return F.conv2d(x, k.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)


def laplacian_pyramid(x: torch.Tensor, levels: int = 4) -> list[torch.Tensor]:
    """Band-pass levels ``L⁰ … L^{n−2}`` and the low-pass residual ``L^{n−1}`` of ``(B, C, H, W)``.

    ``G⁰ = x``, ``G^{j+1} = blur(G^j)[::2, ::2]``, ``L^j = G^j − up(G^{j+1})`` (bilinear ``up``);
    ``Σ`` of the levels, upsampled back, gives ``x`` exactly.
    """
    out = []
    for _ in range(levels - 1):
        low = _blur(x)[..., ::2, ::2]
        out.append(x - F.interpolate(low, size=x.shape[-2:], mode="bilinear", align_corners=False))
        x = low
    return out + [x]


def laplacian_pyramid_loss(input: torch.Tensor, target: torch.Tensor, levels: int = 4) -> torch.Tensor:
    """``Σ_j mean |L^j(x) − L^j(y)|``: L1 on every band of a Laplacian pyramid.

    After Bojanowski et al., "Optimizing the Latent Space of Generative Networks" (ICML 2018,
    arXiv:1707.05776, "Lap1"), who weight per-level L1 terms by a power of 2; here every level is a
    mean, so levels weigh equally whatever their size (their exact weighting was not checked: no
    reference code was released).  ``levels=1`` is :func:`l1_loss`.  Each level needs ≥ 3 rows
    and columns (reflect padding).
    """
    check(input=(input, "B C H W"), target=(target, "B C H W"))
    pairs = zip(laplacian_pyramid(input, levels), laplacian_pyramid(target, levels))
    return sum((a - b).abs().mean() for a, b in pairs)
