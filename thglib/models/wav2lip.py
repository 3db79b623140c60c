"""Wav2Lip's three networks, with the official checkpoints' state_dict layout.

Prajwal et al., "A Lip Sync Expert Is All You Need for Speech to Lip Generation In the Wild",
ACM MM 2020 (arXiv:2008.10010).  Ported from https://github.com/Rudrabha/Wav2Lip:

* :class:`Wav2Lip` — the generator (``models/wav2lip.py`` class ``Wav2Lip``;
  ``wav2lip.pth`` / ``wav2lip_gan.pth``);
* :class:`VisualQualityDiscriminator` — ``models/wav2lip.py`` class ``Wav2Lip_disc_qual``
  (``visual_quality_disc.pth``);
* :class:`ExpertSyncNet` — the frozen lip-sync expert, ``models/syncnet.py`` class
  ``SyncNet_color`` (``lipsync_expert.pth``).

Building blocks follow ``models/conv.py``.  Attribute names (``conv_block``,
``face_encoder_blocks``, ...) and layer order are kept so the checkpoints load unchanged.
Images are float in [0, 1], BGR channel order as the official ``inference.py`` feeds ``cv2`` frames.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BadInputError

__all__ = ["ConvBN", "ConvTransposeBN", "ConvLeaky", "Wav2Lip", "VisualQualityDiscriminator",
           "ExpertSyncNet"]

_Size = int | tuple[int, int]


class ConvBN(nn.Module):
    """Conv2d → BatchNorm2d (→ + input when ``residual``) → ReLU; ``models/conv.py`` ``Conv2d``."""

    def __init__(self, cin: int, cout: int, kernel: _Size, stride: _Size, padding: _Size,
                 residual: bool = False) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding), nn.BatchNorm2d(cout))
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_block(x)
        return F.relu(y + x if self.residual else y)


class ConvTransposeBN(nn.Module):
    """ConvTranspose2d → BatchNorm2d → ReLU; ``models/conv.py`` ``Conv2dTranspose``."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int,
                 output_padding: int = 0) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ConvTranspose2d(cin, cout, kernel, stride, padding, output_padding), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv_block(x))


class ConvLeaky(nn.Module):
    """Conv2d → LeakyReLU(0.01), no normalisation; ``models/conv.py`` ``nonorm_Conv2d``."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: _Size, padding: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.conv_block(x), 0.01)


def _res(channels: int, n: int) -> list[ConvBN]:
    """``n`` residual 3×3 ConvBN blocks that keep ``channels`` and resolution."""
    return [ConvBN(channels, channels, 3, 1, 1, residual=True) for _ in range(n)]


def _up(cin: int, cout: int, n_res: int) -> nn.Sequential:
    """×2 transposed-conv upsampling followed by ``n_res`` residual blocks (decoder stage)."""
    return nn.Sequential(ConvTransposeBN(cin, cout, 3, 2, 1, output_padding=1), *_res(cout, n_res))


def _audio_encoder(n_res_256: int) -> nn.Sequential:
    """Mel window (B,1,80,16) → (B,512,1,1); Wav2Lip and SyncNet_color differ in one residual block."""
    return nn.Sequential(
        ConvBN(1, 32, 3, 1, 1), *_res(32, 2),
        ConvBN(32, 64, 3, (3, 1), 1), *_res(64, 2),
        ConvBN(64, 128, 3, 3, 1), *_res(128, 2),
        ConvBN(128, 256, 3, (3, 2), 1), *_res(256, n_res_256),
        ConvBN(256, 512, 3, 1, 0), ConvBN(512, 512, 1, 1, 0))


def _expect(x: torch.Tensor, name: str, shape: tuple[int | None, ...]) -> None:
    """Raise :class:`BadInputError` unless ``x`` has ``shape`` (``None`` matches any size)."""
    ok = x.dim() == len(shape) and all(s is None or s == d for s, d in zip(shape, x.shape))
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise BadInputError(name, f"expected a tensor of shape {want}, got {tuple(x.shape)}",
                            "See the class docstring for the input layout")


def _frames_to_batch(x: torch.Tensor) -> torch.Tensor:
    """(B, C, T, H, W) → (T*B, C, H, W), time-major (all t=0 first), as the official ``torch.cat``."""
    return x.permute(2, 0, 1, 3, 4).reshape(-1, *x.shape[1:2], *x.shape[3:])


class Wav2Lip(nn.Module):
    """The Wav2Lip generator: ``forward(mel, face) -> frames``.

    * ``mel``: (B, 1, 80, 16) log-mel windows (:func:`thglib.audio.wav2lip_mel_windows`);
    * ``face``: (B, 6, 96, 96) — the target frame with its lower half zeroed, concatenated on
      channels with an unmasked reference frame;
    * returns (B, 3, 96, 96) in [0, 1] (sigmoid).

    The official time-stacked form is accepted too: ``mel`` (B, T, 1, 80, 16) with ``face``
    (B, 6, T, 96, 96) gives (B, 3, T, 96, 96).  The U-Net decoder concatenates each stage's output
    with the matching face-encoder feature map (skip connections).
    """

    def __init__(self) -> None:
        super().__init__()
        self.face_encoder_blocks = nn.ModuleList([
            nn.Sequential(ConvBN(6, 16, 7, 1, 3)),                       # 96×96
            nn.Sequential(ConvBN(16, 32, 3, 2, 1), *_res(32, 2)),        # 48×48
            nn.Sequential(ConvBN(32, 64, 3, 2, 1), *_res(64, 3)),        # 24×24
            nn.Sequential(ConvBN(64, 128, 3, 2, 1), *_res(128, 2)),      # 12×12
            nn.Sequential(ConvBN(128, 256, 3, 2, 1), *_res(256, 2)),     # 6×6
            nn.Sequential(ConvBN(256, 512, 3, 2, 1), *_res(512, 1)),     # 3×3
            nn.Sequential(ConvBN(512, 512, 3, 1, 0), ConvBN(512, 512, 1, 1, 0)),  # 1×1
        ])
        self.audio_encoder = _audio_encoder(n_res_256=1)
        self.face_decoder_blocks = nn.ModuleList([
            nn.Sequential(ConvBN(512, 512, 1, 1, 0)),                                # 1×1
            nn.Sequential(ConvTransposeBN(1024, 512, 3, 1, 0), *_res(512, 1)),       # 3×3
            _up(1024, 512, 2), _up(768, 384, 2), _up(512, 256, 2),                   # 6, 12, 24
            _up(320, 128, 2), _up(160, 64, 2),                                       # 48, 96
        ])
        self.output_block = nn.Sequential(ConvBN(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1, 1, 0))

    def forward(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        if face.dim() == 5:
            return self._forward_sequence(mel, face)
        _expect(mel, "mel", (None, 1, 80, 16))
        _expect(face, "face", (mel.shape[0], 6, 96, 96))
        feats = []
        x = face
        for block in self.face_encoder_blocks:
            x = block(x)
            feats.append(x)
        x = self.audio_encoder(mel)
        for block, skip in zip(self.face_decoder_blocks, reversed(feats)):
            x = torch.cat([block(x), skip], dim=1)
        return torch.sigmoid(self.output_block(x))

    def _forward_sequence(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        """(B,T,1,80,16) + (B,6,T,96,96) → (B,3,T,96,96) by folding time into the batch."""
        _expect(mel, "mel", (None, None, 1, 80, 16))
        b, t = mel.shape[:2]
        _expect(face, "face", (b, 6, t, 96, 96))
        out = self.forward(mel.transpose(0, 1).reshape(t * b, 1, 80, 16), _frames_to_batch(face))
        return out.reshape(t, b, *out.shape[1:]).permute(1, 2, 0, 3, 4)


class VisualQualityDiscriminator(nn.Module):
    """Wav2Lip's visual-quality discriminator: P(real) for the lower half of each face.

    ``forward(faces)``: (B, 3, T, 96, 96) — frames are folded into the batch time-major, as the
    official ``to_2d`` does — or (N, 3, 96, 96); rows 48..95 (the mouth half) are kept.
    Returns (B*T, 1) or (N, 1) after a sigmoid.
    """

    def __init__(self) -> None:
        super().__init__()
        self.face_encoder_blocks = nn.ModuleList([
            nn.Sequential(ConvLeaky(3, 32, 7, 1, 3)),                                       # 48×96
            nn.Sequential(ConvLeaky(32, 64, 5, (1, 2), 2), ConvLeaky(64, 64, 5, 1, 2)),     # 48×48
            nn.Sequential(ConvLeaky(64, 128, 5, 2, 2), ConvLeaky(128, 128, 5, 1, 2)),       # 24×24
            nn.Sequential(ConvLeaky(128, 256, 5, 2, 2), ConvLeaky(256, 256, 5, 1, 2)),      # 12×12
            nn.Sequential(ConvLeaky(256, 512, 3, 2, 1), ConvLeaky(512, 512, 3, 1, 1)),      # 6×6
            nn.Sequential(ConvLeaky(512, 512, 3, 2, 1), ConvLeaky(512, 512, 3, 1, 1)),      # 3×3
            nn.Sequential(ConvLeaky(512, 512, 3, 1, 0), ConvLeaky(512, 512, 1, 1, 0)),      # 1×1
        ])
        self.binary_pred = nn.Sequential(nn.Conv2d(512, 1, 1, 1, 0))

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        x = _frames_to_batch(faces) if faces.dim() == 5 else faces
        _expect(x, "faces", (None, 3, 96, 96))
        x = x[:, :, x.shape[2] // 2:]
        for block in self.face_encoder_blocks:
            x = block(x)
        return torch.sigmoid(self.binary_pred(x)).reshape(len(x), -1)


class ExpertSyncNet(nn.Module):
    """The lip-sync expert (``SyncNet_color``): ``forward(mel, face) -> (audio_emb, face_emb)``.

    * ``mel``: (B, 1, 80, 16) log-mel window;
    * ``face``: (B, 15, 48, 96) — the lower halves of 5 consecutive 96×96 frames stacked on channels;
    * returns two (B, 512) L2-normalised embeddings; Wav2Lip's sync loss is the BCE of their
      cosine similarity (``color_syncnet_train.py`` ``cosine_loss``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.face_encoder = nn.Sequential(
            ConvBN(15, 32, 7, 1, 3),                                  # 48×96
            ConvBN(32, 64, 5, (1, 2), 1), *_res(64, 2),               # 46×47
            ConvBN(64, 128, 3, 2, 1), *_res(128, 3),                  # 23×24
            ConvBN(128, 256, 3, 2, 1), *_res(256, 2),                 # 12×12
            ConvBN(256, 512, 3, 2, 1), *_res(512, 2),                 # 6×6
            ConvBN(512, 512, 3, 2, 1), ConvBN(512, 512, 3, 1, 0), ConvBN(512, 512, 1, 1, 0))  # 3, 1, 1
        self.audio_encoder = _audio_encoder(n_res_256=2)

    def forward(self, mel: torch.Tensor, face: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _expect(mel, "mel", (None, 1, 80, 16))
        _expect(face, "face", (mel.shape[0], 15, 48, 96))
        audio = self.audio_encoder(mel).flatten(1)
        video = self.face_encoder(face).flatten(1)
        return F.normalize(audio, p=2, dim=1), F.normalize(video, p=2, dim=1)
