"""thglib.losses.sync against Wav2Lip's, PC-AVS's and TalkLip's formulations written out on the same tensors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd import gradcheck

from thglib import BadInputError
from thglib.losses import sync as S

D64 = dict(dtype=torch.float64)


def _emb(b=4, d=8, seed=0, positive=False):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, d, generator=g, **D64)
    return (x.abs() + 0.1 if positive else x).requires_grad_(True)


def _wav2lip_cosine_loss(a, v):
    """hq_wav2lip_train.py cosine_loss(a, v, y) with y = ones."""
    d = nn.functional.cosine_similarity(a, v)
    return nn.BCELoss()(d.unsqueeze(1), torch.ones(a.size(0), 1, **D64))


def test_expert_loss_equals_wav2lip_on_relu_normalised_embeddings():
    a, v = (F.normalize(F.relu(_emb(seed=s)), dim=1) for s in (1, 2))
    assert torch.allclose(S.expert_sync_loss(a, v), _wav2lip_cosine_loss(a, v), atol=1e-12)
    assert S.expert_sync_loss(a, a).item() == pytest.approx(0.0, abs=1e-12)


def test_wav2lip_expert_port_and_input_stacking():
    from thglib.models import ExpertSyncNet

    torch.manual_seed(0)
    expert = ExpertSyncNet().eval()
    g = torch.rand(2, 3, 5, 96, 96)
    face = S.wav2lip_expert_input(g)
    ref = g[:, :, :, g.size(3) // 2:]  # get_sync_loss
    ref = torch.cat([ref[:, :, i] for i in range(5)], dim=1)
    assert torch.equal(face, ref) and face.shape == (2, 15, 48, 96)
    mel = torch.randn(2, 1, 80, 16)
    with torch.no_grad():
        a, v = S.expert_embeddings(expert, mel, face)
        a_ref, v_ref = expert(mel, face)
    assert torch.equal(a, a_ref) and torch.equal(v, v_ref)
    assert (a >= 0).all() and (v >= 0).all()  # ReLU'd, so d ∈ [0, 1]
    assert S.expert_sync_loss(a.double(), v.double()).item() == pytest.approx(
        _wav2lip_cosine_loss(a.double(), v.double()).item(), abs=1e-6)


def test_thg_synth_expert_through_forward_aud_and_lip():
    from thglib.models.sync_expert import load_sync_expert

    expert = load_sync_expert()
    mfcc, frames = torch.randn(2, 1, 13, 20), torch.rand(2, 3, 5, 224, 224) * 255
    with torch.no_grad():
        a, v = S.expert_embeddings(expert, mfcc, frames)
    assert a.shape == v.shape == (2, 64)
    assert 0 <= S.expert_sync_loss(a, v).item() <= 100


def _pcavs_softmax_contrastive(face, audio):
    """PC-AVS SoftmaxContrastiveLoss.forward (mode='max'), written out."""
    face, audio = F.normalize(face, p=2, dim=1), F.normalize(audio, p=2, dim=1)
    feature = face.expand(face.size(0), face.size(0), face.size(1)).transpose(0, 1)
    cross_dist = 1.0 / torch.norm(feature - audio, p=2, dim=2)
    return F.cross_entropy(cross_dist, torch.arange(face.size(0)))


def test_softmax_contrastive_equals_pcavs_both_directions():
    v, a = _emb(seed=3), _emb(seed=4)
    one = S.softmax_contrastive_loss(v, a, both_directions=False)
    assert torch.allclose(one, _pcavs_softmax_contrastive(v, a), atol=1e-12)
    both = _pcavs_softmax_contrastive(v, a) + _pcavs_softmax_contrastive(a, v)  # compute_sync_loss
    assert torch.allclose(S.softmax_contrastive_loss(v, a), both, atol=1e-12)


def test_info_nce_hand_case():
    eye = torch.eye(2, **D64)
    assert S.info_nce_loss(eye, eye, temperature=0.5).item() == pytest.approx(math.log(1 + math.exp(-2)))
    assert torch.allclose(S.info_nce_loss(eye, eye, temperature=0.5),
                          F.cross_entropy(eye / 0.5, torch.arange(2)))


def _talklip_supcon(anchor, positive, negatives, temperature=0.07, base_temperature=0.07):
    """TalkLip models/learn_sync.py SupConLoss.forward + lossBySimi, written out."""
    contrast = torch.cat([positive.unsqueeze(0), negatives], dim=0)
    sim = (torch.sum(anchor.unsqueeze(0) * contrast, dim=-1) / temperature).permute(1, 0)
    mask = torch.zeros_like(sim)
    mask[:, 0] = 1.0
    logits = sim - sim.max(dim=1, keepdim=True)[0].detach()
    log_prob = logits - torch.log(torch.exp(logits).sum(1, keepdim=True))
    return (-(temperature / base_temperature) * (mask * log_prob).sum(1)).mean()


def test_info_nce_with_negatives_equals_talklip():
    a, p = F.normalize(_emb(seed=5), dim=1), F.normalize(_emb(seed=6), dim=1)
    n = F.normalize(torch.randn(3, 4, 8, **D64), dim=2)
    assert torch.allclose(S.info_nce_loss(a, p, n), _talklip_supcon(a, p, n), atol=1e-12)


@pytest.mark.parametrize("name", ["expert", "contrastive", "info_nce", "info_nce_neg"])
def test_gradcheck_float64(name):
    a, v = _emb(seed=7, positive=True), _emb(seed=8, positive=True)
    n = torch.randn(3, 4, 8, **D64)
    fn = {"expert": S.expert_sync_loss, "contrastive": S.softmax_contrastive_loss,
          "info_nce": S.info_nce_loss, "info_nce_neg": lambda x, y: S.info_nce_loss(x, y, n)}[name]
    assert gradcheck(fn, (a, v), eps=1e-6, atol=1e-6)


def test_errors_name_the_argument():
    a = _emb()
    with pytest.raises(BadInputError, match="^video_emb: expected shape"):
        S.expert_sync_loss(a, _emb(d=7))
    with pytest.raises(BadInputError, match="^audio_emb: expected shape"):
        S.softmax_contrastive_loss(a, a[:3])
    with pytest.raises(BadInputError, match="^negatives: expected shape"):
        S.info_nce_loss(a, a, torch.randn(3, 5, 8, **D64))
    with pytest.raises(BadInputError, match="^frames: expected shape"):
        S.wav2lip_expert_input(torch.rand(2, 3, 96, 96))
