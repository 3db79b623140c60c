"""The glue between MappingNet and the renderer: canonical keypoints + head pose → driving keypoints.

Ported from https://github.com/OpenTalker/SadTalker ``src/facerender/modules/make_animation.py``
(``headpose_pred_to_degree``, ``get_rotation_matrix``, ``keypoint_transformation``; no weights).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from .blocks import kp_value

__all__ = ["headpose_pred_to_degree", "get_rotation_matrix", "keypoint_transformation"]

_PI = 3.14  # sic: the official code converts degrees with 3.14, not pi


def headpose_pred_to_degree(pred: torch.Tensor) -> torch.Tensor:
    """(B, 66) bin logits → (B,) degrees: ``Σ softmax(pred)_k · k · 3 − 99`` (softmax over bins)."""
    idx = torch.arange(pred.shape[1], dtype=pred.dtype, device=pred.device)
    return (torch.softmax(pred, dim=1) * idx).sum(dim=1) * 3 - 99


def get_rotation_matrix(yaw: torch.Tensor, pitch: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """(B,) yaw, pitch, roll in degrees → (B, 3, 3) ``P @ Y @ R``.

    ``P`` rotates about x by pitch, ``Y`` about y by yaw, ``R`` about z by roll (degrees × 3.14/180,
    as the official code).
    """
    def rad(a: torch.Tensor) -> torch.Tensor:
        return a / 180 * _PI

    p, y, r = rad(pitch), rad(yaw), rad(roll)
    one, zero = torch.ones_like(p), torch.zeros_like(p)

    def mat(*rows: torch.Tensor) -> torch.Tensor:
        return torch.stack(rows, dim=1).view(-1, 3, 3)

    pitch_mat = mat(one, zero, zero, zero, torch.cos(p), -torch.sin(p), zero, torch.sin(p), torch.cos(p))
    yaw_mat = mat(torch.cos(y), zero, torch.sin(y), zero, one, zero, -torch.sin(y), zero, torch.cos(y))
    roll_mat = mat(torch.cos(r), -torch.sin(r), zero, torch.sin(r), torch.cos(r), zero, zero, zero, one)
    return torch.einsum("bij,bjk,bkm->bim", pitch_mat, yaw_mat, roll_mat)


def keypoint_transformation(kp_canonical: torch.Tensor | Mapping[str, torch.Tensor],
                            he: Mapping[str, torch.Tensor], wo_exp: bool = False) -> dict[str, torch.Tensor]:
    """Rotate, translate and deform canonical keypoints: ``{'value': (B, K, 3)}``.

    ``kp_canonical``: (B, K, 3) or :class:`~thglib.models.sadtalker.KPDetector`'s ``{'value': ...}``;
    ``he``: :class:`~thglib.models.sadtalker.MappingNet`'s dict (``yaw``/``pitch``/``roll`` (B, 66)
    logits, ``t`` (B, 3), ``exp`` (B, 3K)); optional ``yaw_in``/``pitch_in``/``roll_in`` (B,) degrees
    replace the predicted angles (``--input_yaw`` etc.).  Result: ``kp @ rot.T + t + exp`` where only
    the y component of ``t`` is kept.  Unlike the official function, ``he['t']`` is not modified (the
    original zeroes its x and z in place); ``wo_exp`` drops the expression term.
    """
    kp = kp_value(kp_canonical, "kp_canonical")
    yaw = he["yaw_in"] if "yaw_in" in he else headpose_pred_to_degree(he["yaw"])
    pitch = he["pitch_in"] if "pitch_in" in he else headpose_pred_to_degree(he["pitch"])
    roll = he["roll_in"] if "roll_in" in he else headpose_pred_to_degree(he["roll"])
    rot = get_rotation_matrix(yaw.to(kp.dtype), pitch.to(kp.dtype), roll.to(kp.dtype))
    kp_rotated = torch.einsum("bmp,bkp->bkm", rot, kp)
    t = he["t"]
    t = torch.stack([torch.zeros_like(t[:, 1]), t[:, 1], torch.zeros_like(t[:, 1])], dim=1)
    out = kp_rotated + t[:, None, :]
    if not wo_exp:
        out = out + he["exp"].view(he["exp"].shape[0], -1, 3)
    return {"value": out}
