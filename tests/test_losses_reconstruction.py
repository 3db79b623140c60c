"""thglib.losses.reconstruction against torch.nn.functional, torchmetrics, skimage and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck

from thglib import BadInputError
from thglib.losses import reconstruction as R


def _pair(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g, dtype=torch.float64, requires_grad=True),
            torch.rand(*shape, generator=g, dtype=torch.float64, requires_grad=True))


@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (4, 7)])
def test_l1_l2_equal_torch(shape):
    x, y = _pair(*shape)
    assert torch.allclose(R.l1_loss(x, y), F.l1_loss(x, y), rtol=1e-13, atol=0)
    assert torch.allclose(R.l2_loss(x, y), F.mse_loss(x, y), rtol=1e-13, atol=0)


def test_charbonnier_hand_case_and_limit():
    x, y = torch.tensor([[0.0, 3.0]], dtype=torch.float64), torch.tensor([[0.0, -1.0]], dtype=torch.float64)
    expected = (1e-3 + math.sqrt(16 + 1e-6)) / 2
    assert R.charbonnier_loss(x, y).item() == pytest.approx(expected, rel=1e-14)
    a, b = _pair(2, 9)
    assert R.charbonnier_loss(a, b, eps=1e-9).item() == pytest.approx(R.l1_loss(a, b).item(), abs=1e-8)


def test_ssim_loss_equals_torchmetrics_reflect_and_skimage_crop():
    from skimage.metrics import structural_similarity
    from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

    x, y = _pair(2, 3, 24, 24)
    x, y = x.detach(), (0.7 * x + 0.3 * y).detach()
    ref_tm = 1 - tm_ssim(x, y, data_range=1.0, gaussian_kernel=True, sigma=1.5, kernel_size=11)
    assert R.ssim_loss(x, y).item() == pytest.approx(ref_tm.item(), abs=1e-10)
    ref_sk = 1 - np.mean([structural_similarity(a.permute(1, 2, 0).numpy(), b.permute(1, 2, 0).numpy(),
                                                channel_axis=2, gaussian_weights=True, sigma=1.5,
                                                use_sample_covariance=False, data_range=1.0)
                          for a, b in zip(x, y)])
    assert R.ssim_loss(x, y, border="crop").item() == pytest.approx(ref_sk, abs=1e-8)
    assert R.ssim_loss(x, x).item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("h", [6, 7])
def test_lower_half_mask_is_wav2lips_masked_half(h):
    x, y = _pair(2, 3, h, 5)
    mask = R.lower_half_mask(y)
    window = y.detach().clone()
    window[:, :, window.shape[2] // 2:] = 0.  # hq_wav2lip_train.py Dataset.__getitem__
    assert torch.equal(y.detach() * (1 - mask), window)
    masked = R.weighted_l1_loss(x, y, mask)
    assert torch.allclose(masked, F.l1_loss(x[:, :, h // 2:], y[:, :, h // 2:]), rtol=1e-13)
    assert torch.allclose(R.weighted_l1_loss(x, y, mask, normalize=False), (mask * (x - y).abs()).mean())


def test_laplacian_pyramid_reconstructs_and_one_level_is_l1():
    x, y = _pair(1, 2, 16, 12)
    bands = R.laplacian_pyramid(x, levels=3)
    assert [b.shape[-2:] for b in bands] == [(16, 12), (8, 6), (4, 3)]
    rec = bands[-1]
    for band in reversed(bands[:-1]):
        rec = band + F.interpolate(rec, size=band.shape[-2:], mode="bilinear", align_corners=False)
    assert torch.allclose(rec, x, atol=1e-12)
    assert torch.allclose(R.laplacian_pyramid_loss(x, y, levels=1), R.l1_loss(x, y))
    assert R.laplacian_pyramid_loss(x, x).item() == 0.0


@pytest.mark.parametrize("name", ["l1", "l2", "charbonnier", "ssim", "weighted", "laplacian"])
def test_gradcheck_float64(name):
    x, y = _pair(1, 2, 12, 12, seed=3)
    w = torch.rand(1, 2, 12, 12, dtype=torch.float64)
    fn = {"l1": R.l1_loss, "l2": R.l2_loss, "charbonnier": R.charbonnier_loss, "ssim": R.ssim_loss,
          "weighted": lambda a, b: R.weighted_l1_loss(a, b, w),
          "laplacian": lambda a, b: R.laplacian_pyramid_loss(a, b, levels=3)}[name]
    if name == "ssim":  # 11×11 Gaussian filtering of every perturbed pixel: check one random direction
        x, y = (t.detach()[:, :1].requires_grad_(True) for t in (x, y))
    assert gradcheck(fn, (x, y), eps=1e-6, atol=1e-6, fast_mode=name == "ssim")


def test_errors_name_the_argument():
    x, y = _pair(2, 3, 8, 8)
    with pytest.raises(BadInputError, match="^target: expected shape"):
        R.l1_loss(x, y[:, :2])
    with pytest.raises(BadInputError, match="^target: is torch.float32"):
        R.l2_loss(x, y.float())
    with pytest.raises(BadInputError, match="^input: expected a torch.Tensor"):
        R.charbonnier_loss(x.detach().numpy(), y)
    with pytest.raises(BadInputError, match="^input: expected shape \\(B, C, H, W\\)"):
        R.ssim_loss(x[0], y[0])
    with pytest.raises(BadInputError, match="^weight: expected shape"):
        R.weighted_l1_loss(x, y, torch.ones(2, 1, 8, 8, dtype=torch.float64))
    with pytest.raises(BadInputError, match="^weight: expected a floating-point tensor"):
        R.weighted_l1_loss(x, y, torch.ones(2, 3, 8, 8, dtype=torch.bool))
