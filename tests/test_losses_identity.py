"""thglib.losses.identity: pSp's crop and loss written out, labelled stand-in, missing-weights error."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd import gradcheck

from thglib import BadInputError, WeightsUnavailable
from thglib.losses import identity as I
from thglib.metrics.extractors import UNTRAINED_CAVEAT

D64 = dict(dtype=torch.float64)


def test_psp_crop_equals_idloss_extract_feats():
    x = torch.rand(2, 3, 256, 256)
    ref = torch.nn.AdaptiveAvgPool2d((112, 112))(x[:, :, 35:223, 32:220])
    assert torch.equal(I.psp_face_crop(x), ref)
    with pytest.raises(BadInputError, match="^faces: expected shape"):
        I.psp_face_crop(torch.rand(2, 3, 255, 256))


def test_identity_loss_equals_psp_loop():
    gen, ref = F.normalize(torch.randn(3, 16, **D64), dim=1), F.normalize(torch.randn(3, 16, **D64), dim=1)
    loss = sum(1 - gen[i].dot(ref[i]) for i in range(3)) / 3  # IDLoss.forward
    assert torch.allclose(I.identity_loss(gen, ref), loss, atol=1e-12)
    assert I.identity_loss(gen, gen).item() == pytest.approx(0.0, abs=1e-12)


def test_without_embedder_raises_with_the_fix_and_stand_in_is_labelled():
    with pytest.raises(WeightsUnavailable, match="embedder=.*allow_untrained=True"):
        I.IdentityLoss()
    loss = I.IdentityLoss(allow_untrained=True)
    assert "stand-in" in loss.label and "not ArcFace" in loss.label and loss.caveat == UNTRAINED_CAVEAT
    x = torch.rand(2, 3, 256, 256)
    assert loss(x, x).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(BadInputError, match="^crop:"):
        I.IdentityLoss(allow_untrained=True, crop="arcface")


def test_user_embedder_label_scaling_and_gradcheck():
    seen = {}

    class Probe(nn.Module):
        label = "probe embedder"

        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3 * 112 * 112, 8).double()

        def forward(self, x):
            seen["range"] = (x.min().item(), x.max().item())
            return self.lin(x.flatten(1))

    loss = I.IdentityLoss(Probe(), crop=None)
    assert loss.label == "probe embedder" and loss.caveat == ""
    gen = torch.rand(1, 3, 112, 112, requires_grad=True, **D64)
    ref = torch.rand(1, 3, 112, 112, **D64)
    assert gradcheck(lambda g: loss(g, ref), (gen,), eps=1e-6, atol=1e-6, fast_mode=True)
    assert seen["range"][0] >= -1 and seen["range"][1] <= 1 and seen["range"][0] < 0  # fed in [-1, 1]
    with pytest.raises(BadInputError, match="^faces: expected shape"):
        loss(torch.rand(1, 3, 256, 256, **D64), torch.rand(1, 3, 256, 256, **D64))
