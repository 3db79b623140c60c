"""Landmark losses on 68-point (iBUG 300-W) faces: region-weighted L1/L2 and Laplacian coordinates.

Landmarks are ``(B, ..., 68, D)`` float tensors (``D`` = 2 or 3; ``...`` e.g. time).  Indices:
jaw 0–16, brows 17–26, nose 27–35, eyes 36–47, outer lip 48–59, inner lip 60–67
(:data:`thglib.face.REGIONS`).  MakeItTalk (zhou2020makeittalk; adobe-research/MakeItTalk
``src/approaches/train_content.py`` ``Audio2landmark_model.__train_content__``) trains its content
branch with the L1 of :func:`makeittalk_mouth_weights`-weighted landmarks plus :func:`laplacian_loss`.
"""

from __future__ import annotations

import torch

from ._checks import check

__all__ = ["landmark_loss", "makeittalk_mouth_weights", "LAPLACIAN_NEIGHBOURS", "laplacian_coordinates",
           "laplacian_loss"]

#: Open chains (ends mirror their one neighbour) and closed loops of the 68-point scheme.
_CHAINS = ((0, 17), (17, 22), (22, 27), (27, 36))  # jaw, left brow, right brow, nose
_LOOPS = ((36, 42), (42, 48), (48, 60), (60, 68))   # eyes, outer lip, inner lip


def _neighbours() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Previous and next neighbour of each landmark, as MakeItTalk's ``n1``/``n2`` lists."""
    prev, nxt = [0] * 68, [0] * 68
    for a, b in _CHAINS:
        for i in range(a, b):
            prev[i] = i - 1 if i > a else a + 1
            nxt[i] = i + 1 if i < b - 1 else b - 2
    for a, b in _LOOPS:
        for i in range(a, b):
            prev[i] = i - 1 if i > a else b - 1
            nxt[i] = i + 1 if i < b - 1 else a
    return tuple(prev), tuple(nxt)


LAPLACIAN_NEIGHBOURS = _neighbours()


def landmark_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                  p: int = 1) -> torch.Tensor:
    """``mean(w_k · |pred − target|^p)`` over all landmarks and coordinates (``p`` = 1 or 2).

    ``weight``: per landmark ``(K,)`` (region weights, the same for every sample) or per sample
    ``(B, K)`` (e.g. :func:`makeittalk_mouth_weights`); the mean is not renormalised by ``Σ w``,
    as in MakeItTalk (``torch.mean(torch.abs(…) * lip_region_w)``).
    """
    check(pred=(pred, "B ... K D"), target=(target, "B ... K D"))
    err = (pred - target).abs() if p == 1 else (pred - target).square()
    if weight is None:
        return err.mean()
    check(pred=(pred, "B ... K D"), weight=(weight, ("K", "B K")))
    w = weight.view(*([1] * (pred.dim() - 2)), -1, 1) if weight.dim() == 1 else \
        weight.view(weight.shape[0], *([1] * (pred.dim() - 3)), -1, 1)
    return (err * w).mean()


def makeittalk_mouth_weights(target: torch.Tensor) -> torch.Tensor:
    """``(B, 68, D)`` ground-truth landmarks → ``(B, 68)`` weights: 1, and ``1/(4|y₆₆ − y₆₂| + 0.1)``
    on the mouth (48–67), so closed mouths weigh up to 10 (MakeItTalk ``lip_region_w``)."""
    check(target=(target, "B 68 D"))
    w = 1 / (4 * (target[:, 66, 1] - target[:, 62, 1]).abs() + 0.1)
    return torch.cat([torch.ones_like(target[:, :48, 0]), w[:, None].expand(-1, 20)], dim=1).detach()


def laplacian_coordinates(landmarks: torch.Tensor) -> torch.Tensor:
    """``δ_i = v_i − ½ (v_prev(i) + v_next(i))`` along each contour (:data:`LAPLACIAN_NEIGHBOURS`)."""
    check(landmarks=(landmarks, "B ... 68 D"))
    prev, nxt = LAPLACIAN_NEIGHBOURS
    return landmarks - 0.5 * (landmarks[..., prev, :] + landmarks[..., nxt, :])


def laplacian_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``mean |δ(pred) − δ(target)|``: MakeItTalk's "laplacian smooth loss" on the face shape."""
    check(pred=(pred, "B ... 68 D"), target=(target, "B ... 68 D"))
    return (laplacian_coordinates(pred) - laplacian_coordinates(target)).abs().mean()
