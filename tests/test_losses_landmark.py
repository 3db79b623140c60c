"""thglib.losses.landmark against MakeItTalk's train_content.py formulas written out (flattened 204 layout)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck

from thglib import BadInputError
from thglib.losses import landmark as L

D64 = dict(dtype=torch.float64)

# adobe-research/MakeItTalk src/approaches/train_content.py, "use laplacian smooth loss"
N1 = [1] + list(range(0, 16)) + [18] + list(range(17, 21)) + [23] + list(range(22, 26)) + \
     [28] + list(range(27, 35)) + [41] + list(range(36, 41)) + [47] + list(range(42, 47)) + \
     [59] + list(range(48, 59)) + [67] + list(range(60, 67))
N2 = list(range(1, 17)) + [15] + list(range(18, 22)) + [20] + list(range(23, 27)) + [25] + \
     list(range(28, 36)) + [34] + list(range(37, 42)) + [36] + list(range(43, 48)) + [42] + \
     list(range(49, 60)) + [48] + list(range(61, 68)) + [60]


def _faces(b=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 68, 3, generator=g, **D64).requires_grad_(True)


def test_neighbours_equal_makeittalk_lists():
    assert list(L.LAPLACIAN_NEIGHBOURS[0]) == N1 and list(L.LAPLACIAN_NEIGHBOURS[1]) == N2


def test_laplacian_loss_equals_makeittalk():
    pred, gt = _faces(seed=1), _faces(seed=2)
    lv = pred - 0.5 * (pred[:, N1, :] + pred[:, N2, :])
    lg = gt - 0.5 * (gt[:, N1, :] + gt[:, N2, :])
    assert torch.allclose(L.laplacian_loss(pred, gt), F.l1_loss(lv, lg), atol=1e-14)
    shifted = pred + torch.tensor([0.3, -0.2, 0.1], **D64)  # translation does not change δ
    assert L.laplacian_loss(pred, shifted).item() == pytest.approx(0.0, abs=1e-12)


def test_mouth_weights_and_weighted_l1_equal_makeittalk():
    pred, gt = _faces(seed=3), _faces(seed=4)
    fls_gt = gt.detach().reshape(-1, 204)  # __train_content__: lip region weight
    w = torch.abs(fls_gt[:, 66 * 3 + 1] - fls_gt[:, 62 * 3 + 1])
    w = torch.tensor([1.0], **D64) / (w * 4.0 + 0.1)
    lip_region_w = torch.ones((fls_gt.shape[0], 204), **D64)
    lip_region_w[:, 48 * 3:] = torch.cat([w.unsqueeze(1)] * 60, dim=1)
    ours = L.makeittalk_mouth_weights(gt)
    assert torch.allclose(ours, lip_region_w.reshape(-1, 68, 3)[..., 0])
    ref = torch.mean(torch.abs(pred.reshape(-1, 204) - fls_gt) * lip_region_w)
    assert torch.allclose(L.landmark_loss(pred, gt, ours), ref, atol=1e-14)
    closed = gt.detach().clone()
    closed[:, 66, 1] = closed[:, 62, 1]
    assert L.makeittalk_mouth_weights(closed)[:, 48:].allclose(torch.full((3, 20), 10.0, **D64))


def test_landmark_loss_variants():
    pred, gt = _faces(seed=5), _faces(seed=6)
    assert torch.allclose(L.landmark_loss(pred, gt, p=2), F.mse_loss(pred, gt))
    region = torch.zeros(68, **D64)
    region[48:] = 1
    assert torch.allclose(L.landmark_loss(pred, gt, region), (pred - gt)[:, 48:].abs().sum() / pred.numel())
    seq_p, seq_g = torch.rand(2, 4, 68, 2, **D64), torch.rand(2, 4, 68, 2, **D64)
    w = torch.rand(2, 68, **D64)
    assert torch.allclose(L.landmark_loss(seq_p, seq_g, w), ((seq_p - seq_g).abs() * w[:, None, :, None]).mean())


@pytest.mark.parametrize("name", ["l1", "l2", "weighted", "laplacian"])
def test_gradcheck_float64(name):
    pred, gt = _faces(b=2, seed=7), _faces(b=2, seed=8)
    w = torch.rand(68, **D64)
    fn = {"l1": L.landmark_loss, "l2": lambda a, b: L.landmark_loss(a, b, p=2),
          "weighted": lambda a, b: L.landmark_loss(a, b, w), "laplacian": L.laplacian_loss}[name]
    assert gradcheck(fn, (pred, gt), eps=1e-6, atol=1e-6)


def test_errors_name_the_argument():
    pred, gt = _faces(), _faces()
    with pytest.raises(BadInputError, match="^weight: expected shape"):
        L.landmark_loss(pred, gt, torch.ones(4, 68, **D64))
    with pytest.raises(BadInputError, match="^landmarks: expected shape"):
        L.laplacian_coordinates(pred[:, :67])
    with pytest.raises(BadInputError, match="^target: expected shape"):
        L.makeittalk_mouth_weights(gt[:, :60])
