"""Load the released SadTalker weights into the ports, strictly.

* ``SadTalker_V0.0.2_256.safetensors`` — one file, five networks, told apart by key prefix
  (written by the official ``src/utils/model2safetensor.py``; read back by
  ``src/utils/safetensor_helper.py`` ``load_x_from_safetensor`` and ``src/facerender/animate.py``):
  ``kp_extractor.`` (:class:`KPDetector`), ``generator.`` (:class:`OcclusionAwareSPADEGenerator`),
  ``audio2exp.`` (:class:`ExpNet`), ``audio2pose.`` (:class:`Audio2Pose`), ``face_3drecon.``
  (:class:`Face3DRecon`); 1305 keys.  :func:`load_sadtalker_safetensors`.
* ``mapping_00229-model.pth.tar`` / ``mapping_00109-model.pth.tar`` — ``{'mapping': state_dict,
  'epoch': ...}`` for :class:`MappingNet` (70 / 73 coefficients).  :func:`load_mapping`.
* the old-version files (``epoch_20.pth['net_recon']``, ``auido2exp_00300-model.pth['model']``,
  ``auido2pose_00140-model.pth['model']``, ``facevid2vid_00189-model.pth.tar['generator' |
  'kp_detector' | 'he_estimator']``) — :func:`load_torch_checkpoint`.

Every load is strict (``load_state_dict(strict=True)``) after a check that names the missing,
unexpected and mis-shaped keys; ``.pth`` files are read with ``torch.load(weights_only=True)``.
The official loader selects keys by *substring* (``key in k``); for the released file each prefix
selects exactly its network's keys, so the stricter prefix split here takes the same tensors.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from ...errors import BadInputError, MediaError
from .audio2exp import ExpNet
from .audio2pose import Audio2Pose
from .face3d_recon import Face3DRecon
from .generator import OcclusionAwareSPADEGenerator
from .kp_detector import KPDetector
from .mapping import COEFF_NC_CROP, COEFF_NC_FULL, MappingNet

__all__ = ["SAFETENSORS_FILE", "MAPPING_FILES", "SAFETENSORS_PREFIXES", "SadTalkerNetworks",
           "split_safetensors_state_dict", "load_strict", "load_sadtalker_safetensors", "load_mapping",
           "load_torch_checkpoint"]

M = TypeVar("M", bound=nn.Module)

SAFETENSORS_FILE = "SadTalker_V0.0.2_256.safetensors"
#: MappingNet file by mode: ``crop`` (crop / extcrop / resize) and ``full`` (full / extfull).
MAPPING_FILES = {"crop": "mapping_00229-model.pth.tar", "full": "mapping_00109-model.pth.tar"}
#: Key prefix in the safetensors file → the port its keys load into.
SAFETENSORS_PREFIXES: dict[str, type[nn.Module]] = {
    "kp_extractor": KPDetector,
    "generator": OcclusionAwareSPADEGenerator,
    "audio2exp": ExpNet,
    "audio2pose": Audio2Pose,
    "face_3drecon": Face3DRecon,
}


@dataclass
class SadTalkerNetworks:
    """The five networks of the safetensors file, loaded and in eval mode (attribute = key prefix)."""

    kp_extractor: KPDetector
    generator: OcclusionAwareSPADEGenerator
    audio2exp: ExpNet
    audio2pose: Audio2Pose
    face_3drecon: Face3DRecon

    def to(self, device: str | torch.device) -> SadTalkerNetworks:
        """Move every network to ``device``; returns ``self``."""
        for name in SAFETENSORS_PREFIXES:
            getattr(self, name).to(device)
        return self


def split_safetensors_state_dict(sd: Mapping[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """Split the file's flat state_dict by prefix, the prefix removed: ``{'generator': {...}, ...}``.

    Raises :class:`BadInputError` for keys outside the five prefixes or a prefix with no keys.
    """
    parts: dict[str, dict[str, torch.Tensor]] = {p: {} for p in SAFETENSORS_PREFIXES}
    stray = []
    for key, value in sd.items():
        head, _, rest = key.partition(".")
        if head in parts and rest:
            parts[head][rest] = value
        else:
            stray.append(key)
    empty = [p for p, d in parts.items() if not d]
    if stray or empty:
        problems = []
        if stray:
            problems.append(f"{len(stray)} keys outside the prefixes ({', '.join(stray[:4])})")
        if empty:
            problems.append(f"no keys for {', '.join(empty)}")
        raise BadInputError("state_dict", "not the SadTalker safetensors layout: " + "; ".join(problems),
                            f"Pass {SAFETENSORS_FILE} (keys {', '.join(p + '.*' for p in SAFETENSORS_PREFIXES)})")
    return parts


def load_strict(model: M, sd: Mapping[str, torch.Tensor], what: str) -> M:
    """``model.load_state_dict(sd, strict=True)`` after naming every mismatch; returns ``model`` in eval mode."""
    from .. import checkpoint_mismatches

    problems = checkpoint_mismatches(model, dict(sd))
    if problems:
        raise BadInputError(what, f"does not fit {type(model).__name__}: " + "; ".join(problems),
                            "Pass the checkpoint of this network (see thglib.models.sadtalker.checkpoints)")
    model.load_state_dict(sd, strict=True)
    return model.eval()


def _existing(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise MediaError(p, "no such file", "Download the SadTalker weights (scripts/download_models.sh "
                         "of OpenTalker/SadTalker) and pass the file's path")
    return p


def load_sadtalker_safetensors(path: str | Path, *, device: str | torch.device = "cpu") -> SadTalkerNetworks:
    """``SadTalker_V0.0.2_256.safetensors`` → :class:`SadTalkerNetworks`, each loaded strictly.

    Needs the ``safetensors`` package.  The he_estimator and MappingNet are not in this file
    (:func:`load_mapping`).
    """
    try:
        from safetensors import SafetensorError
        from safetensors.torch import load_file
    except ImportError as e:  # pragma: no cover - safetensors is a dependency
        from ...errors import BackendUnavailable
        raise BackendUnavailable("safetensors", "pip install safetensors") from e
    p = _existing(path)
    try:
        sd = load_file(str(p), device=str(device))
    except (SafetensorError, OSError, ValueError) as e:
        raise MediaError(p, f"not a readable safetensors file ({e})",
                         "Check that the download is complete") from e
    parts = split_safetensors_state_dict(sd)
    nets = {name: load_strict(SAFETENSORS_PREFIXES[name]().to(device), parts[name], f"'{p}' [{name}.*]")
            for name in SAFETENSORS_PREFIXES}
    return SadTalkerNetworks(**nets)  # type: ignore[arg-type]


def _torch_load(p: Path) -> object:
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise MediaError(p, f"refused to load it with weights_only=True ({first})",
                         "Only tensors and plain containers are loaded") from e
    except Exception as e:  # torch raises many types for a file that is not a checkpoint
        raise MediaError(p, f"not a readable PyTorch checkpoint ({type(e).__name__}: {e})",
                         "Check that the download is complete") from e


def _entry(obj: object, key: str | None, p: Path) -> dict[str, torch.Tensor]:
    sd = obj[key] if key is not None and isinstance(obj, dict) and key in obj else obj
    if key is not None and sd is obj:
        have = ", ".join(map(str, obj)) if isinstance(obj, dict) else type(obj).__name__
        raise MediaError(p, f"has no '{key}' entry (has: {have})", "Pass the file that holds this network")
    if not isinstance(sd, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in sd.items()):
        raise MediaError(p, "does not hold a state_dict (a mapping of names to tensors)",
                         "Pass an official SadTalker checkpoint")
    return sd


def load_torch_checkpoint(model: M, path: str | Path, key: str | None = None, *,
                          device: str | torch.device = "cpu") -> M:
    """Load ``torch.load(path, weights_only=True)[key]`` (or the whole object when ``key`` is None)
    into ``model`` strictly; returns it in eval mode on ``device``.

    E.g. ``load_torch_checkpoint(HEEstimator(), "facevid2vid_00189-model.pth.tar", "he_estimator")``.
    """
    p = _existing(path)
    sd = _entry(_torch_load(p), key, p)
    return load_strict(model, sd, f"'{p}'" + (f" ['{key}']" if key else "")).to(device)


def load_mapping(path: str | Path, *, full: bool | None = None, device: str | torch.device = "cpu") -> MappingNet:
    """A ``mapping_*.pth.tar`` file (``['mapping']``) → :class:`MappingNet`, strictly, in eval mode.

    ``full``: True for ``mapping_00109`` (73 coefficients), False for ``mapping_00229`` (70); by
    default the layout is read from the file (``first.0.weight``'s input channels).
    """
    p = _existing(path)
    sd = _entry(_torch_load(p), "mapping", p)
    if full is None:
        w = sd.get("first.0.weight")
        nc = int(w.shape[1]) if isinstance(w, torch.Tensor) and w.dim() == 3 else COEFF_NC_CROP
        full = nc == COEFF_NC_FULL
    net = MappingNet.full() if full else MappingNet.crop()
    return load_strict(net, sd, f"'{p}' ['mapping']").to(device)
