"""Checkpoint-compatible ports of the reference networks that talking-head papers build on.

* :mod:`thglib.models.wav2lip` — Wav2Lip generator, visual-quality discriminator, lip-sync expert;
* :mod:`thglib.models.syncnet_v2` — SyncNet v2, the network behind LSE-D / LSE-C;
* :mod:`thglib.models.hopenet` — Hopenet head pose (yaw, pitch, roll);
* :mod:`thglib.models.fill` — deterministic weights and inputs that check each port against the
  official code without shipping its weights.

Each port keeps the official state_dict keys, so the released files load unchanged with
:func:`load_pretrained` (or :func:`pretrained` from a registry name of :mod:`thglib.weights`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from ..errors import BadInputError
from .fill import FillRecipe, fill_, golden_mismatches, input_from_recipe, layout_mismatches
from .hopenet import Hopenet, hopenet_preprocess, pose_degrees
from .syncnet_v2 import SyncNetV2
from .wav2lip import ExpertSyncNet, VisualQualityDiscriminator, Wav2Lip
from . import sadtalker
from .sadtalker import (Audio2Pose, ExpNet, Face3DRecon, HEEstimator, KPDetector, MappingNet,
                        OcclusionAwareSPADEGenerator, keypoint_transformation, load_mapping,
                        load_sadtalker_safetensors)

__all__ = [
    "Wav2Lip", "VisualQualityDiscriminator", "ExpertSyncNet", "SyncNetV2", "Hopenet",
    "pose_degrees", "hopenet_preprocess", "ARCHITECTURES", "checkpoint_mismatches",
    "load_pretrained", "pretrained", "FillRecipe", "fill_", "input_from_recipe", "golden_mismatches", "layout_mismatches",
    "sadtalker", "Face3DRecon", "ExpNet", "Audio2Pose", "KPDetector", "HEEstimator", "MappingNet",
    "OcclusionAwareSPADEGenerator", "keypoint_transformation", "load_sadtalker_safetensors", "load_mapping",
]

M = TypeVar("M", bound=nn.Module)

#: Registry name (:data:`thglib.weights.REGISTRY`) → the port its file loads into.
ARCHITECTURES: dict[str, type[nn.Module]] = {
    "wav2lip": Wav2Lip,
    "wav2lip_gan": Wav2Lip,
    "wav2lip_visual_quality_disc": VisualQualityDiscriminator,
    "wav2lip_expert": ExpertSyncNet,
    "syncnet_v2": SyncNetV2,
    "hopenet_robust_alpha1": Hopenet,
}


def checkpoint_mismatches(model: nn.Module, state_dict: dict[str, torch.Tensor], show: int = 4) -> list[str]:
    """Why ``state_dict`` does not fit ``model``: missing keys, unexpected keys, wrong shapes.

    A missing ``num_batches_tracked`` is tolerated (checkpoints saved before PyTorch 0.4.1 lack
    it; BatchNorm fills it in).  At most ``show`` keys are named per kind.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state_dict if k not in own]
    shapes = [f"{k} {tuple(state_dict[k].shape)} (model: {tuple(v.shape)})"
              for k, v in own.items() if k in state_dict and state_dict[k].shape != v.shape]
    out = []
    for kind, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes", shapes)):
        if keys:
            more = f", … ({len(keys) - show} more)" if len(keys) > show else ""
            out.append(f"{len(keys)} {kind}: {', '.join(keys[:show])}{more}")
    return out


def load_pretrained(model: M, name_or_path: str | Path) -> M:
    """Load a checkpoint into ``model`` strictly and return it in eval mode.

    ``name_or_path``: a registry name (downloaded/cached by :func:`thglib.weights.fetch`) or a file.
    Accepts a plain state_dict (``syncnet_v2.model``, Hopenet ``.pkl``) or a Wav2Lip-style
    ``{"state_dict": {"module.…": …}, ...}``; read with ``torch.load(weights_only=True)``.
    Raises :class:`BadInputError` naming the missing/unexpected/mis-shaped keys.
    """
    from ..weights import load_state_dict

    sd = load_state_dict(name_or_path)
    problems = checkpoint_mismatches(model, sd)
    if problems:
        fits = [n for n, cls in ARCHITECTURES.items() if isinstance(model, cls)]
        hint = f" (registry: {', '.join(fits)})" if fits else ""
        raise BadInputError(f"checkpoint '{name_or_path}'",
                            f"does not fit {type(model).__name__}: " + "; ".join(problems),
                            f"Pass the checkpoint of this network{hint}, or build the model that "
                            "matches the file")
    model.load_state_dict(sd, strict=True)
    return model.eval()


def pretrained(name: str, *, path: str | Path | None = None, device: str | torch.device = "cpu") -> nn.Module:
    """The port for registry ``name`` with its official weights, in eval mode on ``device``.

    ``path``: your own copy of the file (still checked against the registry's hash).
    """
    from ..weights import fetch

    if name not in ARCHITECTURES:
        raise BadInputError("name", f"no ported network for '{name}'",
                            f"Use one of {', '.join(ARCHITECTURES)}")
    model = load_pretrained(ARCHITECTURES[name](), fetch(name, path=path))
    return model.to(device)
