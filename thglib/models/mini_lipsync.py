"""A mini Wav2Lip that trains on a laptop: generator, visual-quality discriminator and lip-sync expert.

Shaped like Wav2Lip (prajwal2020lip; Rudrabha/Wav2Lip ``models/wav2lip.py``, ``models/syncnet.py``)
at a quarter of its width and at 64² instead of 96²:

* :class:`MiniLipSync` — face encoder on the 6-channel input (target with its lower half zeroed,
  stacked with a reference frame of the same face), audio encoder on one 80×16 mel window
  (0.2 s), a decoder that starts from the audio code and takes a skip connection from every face
  level, sigmoid output. Same call as :class:`thglib.models.wav2lip.Wav2Lip`:
  ``forward(mel (B, 1, 80, 16), face (B, 6, S, S)) → (B, 3, S, S)`` in BGR [0, 1]; a 96² input
  (what :func:`thglib.lipsync.lipsync` feeds) is resized to 64² and the output back, so the mini
  model plugs into the Wav2Lip pipeline unchanged.
* :class:`MiniDiscriminator` — Wav2Lip's visual-quality discriminator idea on the lower half.
* :class:`MiniSyncExpert` — Wav2Lip's ``SyncNet_color`` idea: 5 lower halves stacked on channels
  (15 × 32 × 64) and the mel window → two 128-D embeddings; ``cos`` of their ReLU'd, normalised
  versions is the sync probability that :func:`thglib.losses.sync.expert_sync_loss` scores.

The shipped weights were made by ``scripts/train_mini_lipsync.py`` on THG-Synth (two portraits,
eSpeak NG speech); every output of them is labelled :data:`MINI_LABEL`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BadInputError, WeightsUnavailable

__all__ = ["MINI_SIZE", "MINI_LABEL", "MiniLipSync", "MiniDiscriminator", "MiniSyncExpert",
           "mini_checkpoint", "checkpoint_metadata", "load_mini", "save_half"]

MINI_SIZE = 64  #: the face resolution the mini networks work at
MINI_LABEL = "mini Wav2Lip (thg-book, trained on THG-Synth only; not Wav2Lip)"
_REPO_MODELS = Path(__file__).resolve().parents[2] / "data" / "models"


def _conv(cin: int, cout: int, k: int = 3, s: int | tuple[int, int] = 1, p: int = 1) -> nn.Sequential:
    """Conv → BatchNorm → ReLU (Wav2Lip's ``Conv2d`` block without the residual)."""
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, p, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class _Res(nn.Module):
    """3×3 residual block (Wav2Lip's ``Conv2d(..., residual=True)``)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


def _up(cin: int, cout: int, residual: bool = True) -> nn.Sequential:
    """×2 transposed conv → BatchNorm → ReLU (→ residual block)."""
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True), *([_Res(cout)] if residual else []))


def _audio_encoder(dim: int) -> nn.Sequential:
    """(B, 1, 80, 16) mel window → (B, dim, 1, 1): strided 3×3 convolutions, 80×16 → 5×2 → 1×1."""
    return nn.Sequential(_conv(1, 32, s=(2, 1)), _conv(32, 64, s=2), _Res(64), _conv(64, 128, s=2), _Res(128),
                         _conv(128, 128, s=2), _conv(128, dim, k=(5, 2), p=0))


def _expect(x: torch.Tensor, name: str, channels: int, square: bool = True) -> None:
    if x.dim() != 4 or x.shape[1] != channels or (square and x.shape[2] != x.shape[3]):
        raise BadInputError(name, f"expected (B, {channels}, S, S), got {tuple(x.shape)}",
                            "Build the input with thglib.lipsync.model_inputs")


class MiniLipSync(nn.Module):
    """Mini Wav2Lip generator (2.3 M parameters at ``width=24``), see the module docstring."""

    def __init__(self, width: int = 24, use_reference: bool = True) -> None:
        super().__init__()
        w = width
        self.size, self.use_reference = MINI_SIZE, use_reference
        self.face = nn.ModuleList([
            nn.Sequential(_conv(6, w // 2)),                            # 64
            nn.Sequential(_conv(w // 2, w, s=2), _Res(w)),              # 32
            nn.Sequential(_conv(w, 2 * w, s=2), _Res(2 * w)),           # 16
            nn.Sequential(_conv(2 * w, 4 * w, s=2), _Res(4 * w)),       # 8
            nn.Sequential(_conv(4 * w, 4 * w, s=2), _Res(4 * w)),       # 4
            nn.Sequential(_conv(4 * w, 8 * w, k=4, p=0))])              # 1
        self.audio = _audio_encoder(8 * w)
        self.decoder = nn.ModuleList([
            nn.Sequential(nn.ConvTranspose2d(16 * w, 4 * w, 4, 1, 0, bias=False), nn.BatchNorm2d(4 * w),
                          nn.ReLU(inplace=True)),                       # 1 -> 4
            _up(8 * w, 4 * w),                                          # 4 -> 8
            _up(8 * w, 2 * w),                                          # 8 -> 16
            _up(4 * w, w, residual=False),                              # 16 -> 32
            _up(2 * w, w // 2, residual=False)])                        # 32 -> 64
        self.out = nn.Sequential(nn.Conv2d(w, 3, 1), nn.Sigmoid())

    def generate(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        """(B, 1, 80, 16), (B, 6, 64, 64) → (B, 3, 64, 64)."""
        if not self.use_reference:
            face = torch.cat([face[:, :3], torch.zeros_like(face[:, 3:])], 1)
        feats, x = [], face
        for block in self.face:
            x = block(x)
            feats.append(x)
        x = torch.cat([self.audio(mel), feats.pop()], 1)
        for block in self.decoder:
            x = torch.cat([block(x), feats.pop()], 1)
        return self.out(x)

    def forward(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        """Wav2Lip's call; any square input size is resized to 64² and the output back."""
        _expect(face, "face", 6)
        if mel.dim() != 4 or tuple(mel.shape[1:]) != (1, 80, 16):
            raise BadInputError("mel", f"expected (B, 1, 80, 16), got {tuple(mel.shape)}",
                                "Cut windows with thglib.audio.wav2lip_mel_windows")
        s = face.shape[-1]
        if s == self.size:
            return self.generate(mel, face)
        small = F.interpolate(face, size=(self.size, self.size), mode="bilinear", antialias=True,
                              align_corners=False)
        y = self.generate(mel, small)
        return F.interpolate(y, size=(s, s), mode="bilinear", align_corners=False).clamp(0, 1)


class MiniDiscriminator(nn.Module):
    """Visual-quality discriminator on the lower half ``(B, 3, 32, 64)`` → one logit per face."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width
        act = nn.LeakyReLU(0.2, inplace=True)
        self.net = nn.Sequential(nn.Conv2d(3, w, 4, 2, 1), act, nn.Conv2d(w, 2 * w, 4, 2, 1), act,
                                 nn.Conv2d(2 * w, 4 * w, 4, 2, 1), act, nn.Conv2d(4 * w, 4 * w, (4, 8), 1, 0), act,
                                 nn.Flatten(), nn.Linear(4 * w, 1))

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        """(B, 3, 64, 64) faces in [0, 1] → (B,) logits (real > 0)."""
        _expect(faces, "faces", 3)
        return self.net(faces[:, :, faces.shape[2] // 2:])[:, 0]


class MiniSyncExpert(nn.Module):
    """Lip-sync expert with Wav2Lip ``SyncNet_color``'s interface (:meth:`forward_aud`, :meth:`forward_lip`)."""

    def __init__(self, dim: int = 128, width: int = 32) -> None:
        super().__init__()
        w = width
        self.lip = nn.Sequential(_conv(15, w, s=2), _conv(w, 2 * w, s=2), _Res(2 * w),            # 8 x 16
                                 _conv(2 * w, 4 * w, s=2), _Res(4 * w),                           # 4 x 8
                                 _conv(4 * w, dim, k=(4, 8), p=0), nn.Flatten())
        self.aud = nn.Sequential(_audio_encoder(dim), nn.Flatten())

    def forward_lip(self, lower: torch.Tensor) -> torch.Tensor:
        """(B, 15, 32, 64) lower halves (5 frames × BGR, [0, 1]) → (B, dim)."""
        if lower.dim() != 4 or tuple(lower.shape[1:]) != (15, 32, 64):
            raise BadInputError("lower", f"expected (B, 15, 32, 64), got {tuple(lower.shape)}",
                                "Use thglib.losses.sync.wav2lip_expert_input on (B, 3, 5, 64, 64) faces")
        return self.lip(lower)

    def forward_aud(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 1, 80, 16) mel window → (B, dim)."""
        return self.aud(mel)

    def forward(self, mel: torch.Tensor, lower: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Wav2Lip ``SyncNet_color``'s call: ``(audio, video)`` unit embeddings (ReLU'd, normalised).

        ``lower`` may be the (B, 15, 48, 96) lower halves of 96² crops (what
        :func:`thglib.lipsync.expert_sync_confidence` passes); they are resized to 32×64."""
        if lower.dim() == 4 and lower.shape[-2:] != (32, 64):
            lower = F.interpolate(lower, size=(32, 64), mode="bilinear", antialias=True, align_corners=False)
        a = F.normalize(F.relu(self.forward_aud(mel)), dim=1)
        return a, F.normalize(F.relu(self.forward_lip(lower)), dim=1)

    def sync_probability(self, mel: torch.Tensor, lower: torch.Tensor) -> torch.Tensor:
        """``cos(normalize(relu(a)), normalize(relu(v)))`` ∈ [0, 1], Wav2Lip's ``cosine_loss`` input."""
        a, v = self(mel, lower)
        return (a * v).sum(1).clamp(0, 1)


def mini_checkpoint(name: str) -> Path:
    """The shipped ``data/models/mini_lipsync_<name>.safetensors``, else :func:`thglib.weights.fetch`.

    ``mini_checkpoint`` takes no file argument, so a :class:`~thglib.errors.WeightsUnavailable` says to load a
    copy with :func:`load_mini` (whose argument is ``path``) instead."""
    from ..weights import fetch

    p = _REPO_MODELS / f"mini_lipsync_{name}.safetensors"
    if p.is_file():
        return p
    try:
        return fetch(f"mini_lipsync_{name}")
    except WeightsUnavailable as e:
        raise e.instead_(f"or load a copy with load_mini(path, kind) (the `path=` argument of load_mini; a source "
                         f"checkout ships it as data/models/{p.name}).") from None


def _read(p: Path, kind: str) -> tuple[dict[str, torch.Tensor], dict]:
    """``(state_dict of kind, metadata)`` from a ``.safetensors`` file or a torch checkpoint dict."""
    if p.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(p), framework="pt") as f:
            meta = {k: json.loads(v) for k, v in (f.metadata() or {}).items()}
            sd = {k[len(kind) + 1:]: f.get_tensor(k) for k in f.keys() if k.startswith(kind + ".")}
        return sd, meta
    ckpt = torch.load(p, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict):
        return {}, {}
    return ckpt.get(kind, {}), {k: v for k, v in ckpt.items() if not isinstance(v, dict) or k.endswith(("_args", "config"))}


def checkpoint_metadata(path: str | Path) -> dict:
    """The metadata a :func:`save_half` file carries (e.g. ``train_config``, ``generator_args``)."""
    return _read(Path(path).expanduser(), "")[1]


def load_mini(path: str | Path, kind: str = "generator", device: str = "cpu") -> nn.Module:
    """A mini network from a file written by :func:`save_half` (or a training checkpoint ``last.pt``).

    ``kind``: ``"generator"``, ``"discriminator"`` or ``"expert"``; the file stores its own
    constructor arguments, so a model trained without the reference frame loads as such.
    """
    classes = {"generator": MiniLipSync, "discriminator": MiniDiscriminator, "expert": MiniSyncExpert}
    if kind not in classes:
        raise BadInputError("kind", f"unknown {kind!r}", f"Use one of {sorted(classes)}")
    p = Path(path).expanduser()
    if not p.is_file():
        raise BadInputError("path", f"'{p}' is not a file", "Pass a .safetensors written by thg train or "
                            "scripts/train_mini_lipsync.py")
    sd, meta = _read(p, kind)
    if not sd:
        raise BadInputError(f"checkpoint '{p}'", f"holds no {kind!r} state_dict", "Pass a mini_lipsync checkpoint")
    args = meta.get(f"{kind}_args") or (
        {"width": meta["config"]["width"], "use_reference": meta["config"]["use_reference"]}
        if kind == "generator" and isinstance(meta.get("config"), dict) else {})
    model = classes[kind](**args)
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()})
    except RuntimeError as e:
        raise BadInputError(f"checkpoint '{p}'", f"does not fit {type(model).__name__}: {e}",
                            "Use a checkpoint made by this version of thglib") from None
    return model.to(device).eval()


def save_half(path: str | Path, **items: nn.Module | dict) -> Path:
    """Write modules as float16 tensors ``<kind>.<key>`` and dicts as JSON metadata, in one
    ``.safetensors`` file (atomically); a :class:`MiniLipSync` also records its constructor arguments."""
    from safetensors.torch import save_file

    from ..io.video import atomic_output

    p = Path(path)
    if p.suffix != ".safetensors":
        raise BadInputError("path", f"'{p}' does not end in .safetensors", "Name the file *.safetensors")
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, str] = {}
    for kind, m in items.items():
        if isinstance(m, nn.Module):
            for k, v in m.state_dict().items():
                tensors[f"{kind}.{k}"] = (v.half() if v.is_floating_point() else v).contiguous()
            if isinstance(m, MiniLipSync):
                meta[f"{kind}_args"] = json.dumps({"width": m.face[1][0][0].out_channels,
                                                   "use_reference": m.use_reference})
        else:
            meta[kind] = json.dumps(m)
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(p, overwrite=True) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return p
