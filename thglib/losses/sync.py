"""Lip-sync losses on audio and video embeddings of a frozen (or jointly trained) sync expert.

* :func:`expert_sync_loss` — Wav2Lip's expert loss (prajwal2020lip): ``d = cos(a, v)`` of ReLU'd,
  L2-normalised embeddings, so ``d ∈ [0, 1]``, and ``BCE(d, 1) = −mean log d``
  (Rudrabha/Wav2Lip ``hq_wav2lip_train.py`` ``cosine_loss``/``get_sync_loss``; ``color_syncnet_train.py``);
* :func:`softmax_contrastive_loss` — PC-AVS (zhou2021posecontrollable): logits ``1/‖v̂_i − â_j‖`` of
  L2-normalised embeddings, cross-entropy towards the matching pair, both directions
  (Hangz-nju-cuhk/Talking-Face_PC-AVS ``models/networks/loss.py`` ``SoftmaxContrastiveLoss``,
  ``models/av_model.py`` ``compute_sync_loss``);
* :func:`info_nce_loss` — InfoNCE with temperature τ (TalkLip, wang2023seeing: τ = 0.07, audio anchors
  against the matching video and sampled other audio; Sxjdwang/TalkLip ``models/learn_sync.py``).

:func:`expert_embeddings` runs any expert: Wav2Lip's :class:`~thglib.models.ExpertSyncNet`
(``expert(mel, face) -> (audio, video)``) or one with ``forward_aud``/``forward_lip`` such as the
offline :class:`~thglib.models.sync_expert.SyncExpert` (label its numbers "THG-Synth expert").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check

__all__ = ["expert_embeddings", "wav2lip_expert_input", "expert_sync_loss", "softmax_contrastive_loss",
           "info_nce_loss"]


def expert_embeddings(expert: nn.Module, audio: torch.Tensor, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(audio_emb, video_emb)``: ``expert.forward_aud/forward_lip`` if it has them, else ``expert(audio, video)``."""
    if hasattr(expert, "forward_aud") and hasattr(expert, "forward_lip"):
        return expert.forward_aud(audio), expert.forward_lip(video)
    return expert(audio, video)


def wav2lip_expert_input(frames: torch.Tensor) -> torch.Tensor:
    """``(B, 3, T, H, W)`` generated frames → ``(B, 3T, H/2, W)``: the lower halves stacked on channels
    (``hq_wav2lip_train.py`` ``get_sync_loss``: ``g[:, :, :, H//2:]``, ``torch.cat([g[:, :, i] …], 1)``)."""
    check(frames=(frames, "B 3 T H W"))
    lower = frames[:, :, :, frames.shape[3] // 2:]
    return torch.cat([lower[:, :, i] for i in range(lower.shape[2])], dim=1)


def expert_sync_loss(audio_emb: torch.Tensor, video_emb: torch.Tensor) -> torch.Tensor:
    """Wav2Lip expert loss ``−mean log d``, ``d = cos(â, v̂)``, ``â = normalize(relu(a))``.

    For Wav2Lip's ``SyncNet_color`` the ReLU and normalisation change nothing (its embeddings are
    already non-negative and unit-length); for other experts they map ``d`` into [0, 1] as Wav2Lip's
    ``nn.BCELoss`` requires.  ``BCELoss`` clamps ``log d ≥ −100``, so does this.
    """
    check(audio_emb=(audio_emb, "B D"), video_emb=(video_emb, "B D"))
    a, v = F.normalize(F.relu(audio_emb), dim=1), F.normalize(F.relu(video_emb), dim=1)
    d = (a * v).sum(1).clamp(0, 1)
    return F.binary_cross_entropy(d, torch.ones_like(d))


def _inverse_distance_ce(anchor: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """``CE(1/‖anchor_i − other_j‖, i)``: PC-AVS ``SoftmaxContrastiveLoss.forward`` (rows = anchors)."""
    diff = anchor[:, None, :] - other[None, :, :]
    logits = 1 / diff.square().sum(-1).clamp_min(1e-12).sqrt()
    return F.cross_entropy(logits, torch.arange(len(anchor), device=anchor.device))


def softmax_contrastive_loss(video_emb: torch.Tensor, audio_emb: torch.Tensor,
                             both_directions: bool = True) -> torch.Tensor:
    """PC-AVS: ``CE_rows(1/‖v̂_i − â_j‖) + CE_rows(1/‖â_i − v̂_j‖)`` with L2-normalised embeddings.

    Row ``i`` of the batch is the in-sync pair; the others are negatives.  PC-AVS detaches the
    anchor of each direction (``image.detach()`` then ``audio.detach()``) and weighs each by
    ``lambda_contrastive = 100``; both are left to the caller here.
    """
    check(video_emb=(video_emb, "B D"), audio_emb=(audio_emb, "B D"))
    v, a = F.normalize(video_emb, dim=1), F.normalize(audio_emb, dim=1)
    loss = _inverse_distance_ce(v, a)
    return loss + _inverse_distance_ce(a, v) if both_directions else loss


def info_nce_loss(anchor: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor | None = None,
                  temperature: float = 0.07) -> torch.Tensor:
    """InfoNCE ``−mean log softmax(cos/τ)[positive]`` (van den Oord et al. 2018, arXiv:1807.03748).

    ``negatives=None``: the other rows of ``positive`` are the negatives (``(B, B)`` logits, target
    the diagonal).  ``negatives`` ``(N, B, D)``: row ``b`` is scored against ``positive[b]`` and
    ``negatives[:, b]`` (TalkLip's ``SupConLoss``: audio anchor, its video, N other audio windows).
    """
    b = check(anchor=(anchor, "B D"), positive=(positive, "B D"))["B"]
    a, p = F.normalize(anchor, dim=1), F.normalize(positive, dim=1)
    if negatives is None:
        logits = a @ p.T
        target = torch.arange(b, device=a.device)
    else:
        check(anchor=(anchor, "B D"), negatives=(negatives, "N B D"))
        n = F.normalize(negatives, dim=2)
        logits = torch.cat([(a * p).sum(1, keepdim=True), (a[None] * n).sum(2).T], dim=1)
        target = torch.zeros(b, dtype=torch.long, device=a.device)
    return F.cross_entropy(logits / temperature, target)
