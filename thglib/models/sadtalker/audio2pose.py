"""SadTalker's PoseVAE: audio + pose style → head-motion sequence (a conditional VAE's decoder path).

Ported from https://github.com/OpenTalker/SadTalker ``src/audio2pose_models/``: ``audio2pose.py``
``Audio2Pose`` (cfg ``src/config/auido2pose.yaml``: SEQ_LEN 32, LATENT_SIZE 64, ENCODER_LAYER_SIZES
[192, 128], DECODER_LAYER_SIZES [128, 192], AUDIO_EMB_IN_SIZE 512, AUDIO_EMB_OUT_SIZE 6, 46 pose
classes), ``audio_encoder.py`` ``AudioEncoder``, ``cvae.py`` ``CVAE`` / ``ENCODER`` / ``DECODER``,
``res_unet.py`` ``ResUnet`` (with ``networks.py`` ``ResidualConv`` / ``Upsample``) and
``discriminator.py`` ``PoseSequenceDiscriminator``.  The training-only CVAE encoder and motion
discriminator are built too, because the checkpoint holds them and is loaded strictly.  Weights: the
``audio2pose.`` keys of ``SadTalker_V0.0.2_256.safetensors`` or ``auido2pose_00140-model.pth['model']``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ...errors import BadInputError
from .blocks import audio_encoder, expect_shape

__all__ = ["Audio2Pose", "AudioEncoder", "CVAE", "ResUnet", "PoseSequenceDiscriminator", "smooth_pose",
           "SEQ_LEN", "LATENT_SIZE", "NUM_POSE_CLASSES"]

SEQ_LEN = 32
LATENT_SIZE = 64
NUM_POSE_CLASSES = 46
_AUDIO_OUT = 6
_POSE = 6


class AudioEncoder(nn.Module):
    """(B, T, 1, 80, 16) mel windows → (B, T, 512) embeddings (``audio_encoder.py`` ``AudioEncoder``).

    The official forward stacks the frames time-major but reshapes back batch-major, which is right
    only for B = 1 (all SadTalker inference); this port keeps each clip's frames together for any B.
    """

    def __init__(self) -> None:
        super().__init__()
        self.audio_encoder = audio_encoder()

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        expect_shape(mels, "mels", (None, None, 1, 80, 16), "Pass (B, T, 1, 80, 16) mel windows")
        b, t = mels.shape[:2]
        return self.audio_encoder(mels.reshape(b * t, 1, 80, 16)).view(b, t, -1)


class _ResidualConv(nn.Module):
    """BN → ReLU → conv(stride) → BN → ReLU → conv, plus a conv+BN projection (``ResidualConv``)."""

    def __init__(self, cin: int, cout: int, stride: int | tuple[int, int], padding: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, cout, 3, stride=stride, padding=padding),
            nn.BatchNorm2d(cout), nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1))
        self.conv_skip = nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_block(x) + self.conv_skip(x)


class _Upsample(nn.Module):
    """A transposed convolution (``networks.py`` ``Upsample``)."""

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int], stride: tuple[int, int]) -> None:
        super().__init__()
        self.upsample = nn.ConvTranspose2d(cin, cout, kernel_size=kernel, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upsample(x)


class ResUnet(nn.Module):
    """Residual U-Net over a (B, 1, 32, 6) pose sequence, halving only time (``res_unet.py``); sigmoid output."""

    def __init__(self, channel: int = 1, filters: Sequence[int] = (32, 64, 128, 256)) -> None:
        super().__init__()
        f0, f1, f2, f3 = filters
        self.input_layer = nn.Sequential(nn.Conv2d(channel, f0, 3, padding=1), nn.BatchNorm2d(f0), nn.ReLU(),
                                         nn.Conv2d(f0, f0, 3, padding=1))
        self.input_skip = nn.Sequential(nn.Conv2d(channel, f0, 3, padding=1))
        self.residual_conv_1 = _ResidualConv(f0, f1, (2, 1), 1)
        self.residual_conv_2 = _ResidualConv(f1, f2, (2, 1), 1)
        self.bridge = _ResidualConv(f2, f3, (2, 1), 1)
        self.upsample_1 = _Upsample(f3, f3, (2, 1), (2, 1))
        self.up_residual_conv1 = _ResidualConv(f3 + f2, f2, 1, 1)
        self.upsample_2 = _Upsample(f2, f2, (2, 1), (2, 1))
        self.up_residual_conv2 = _ResidualConv(f2 + f1, f1, 1, 1)
        self.upsample_3 = _Upsample(f1, f1, (2, 1), (2, 1))
        self.up_residual_conv3 = _ResidualConv(f1 + f0, f0, 1, 1)
        self.output_layer = nn.Sequential(nn.Conv2d(f0, 1, 1, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.input_layer(x) + self.input_skip(x)
        x2 = self.residual_conv_1(x1)
        x3 = self.residual_conv_2(x2)
        x4 = self.bridge(x3)
        x6 = self.up_residual_conv1(torch.cat([self.upsample_1(x4), x3], dim=1))
        x8 = self.up_residual_conv2(torch.cat([self.upsample_2(x6), x2], dim=1))
        x10 = self.up_residual_conv3(torch.cat([self.upsample_3(x8), x1], dim=1))
        return self.output_layer(x10)


class _CVAEEncoder(nn.Module):
    """Training-time posterior q(z | motion, audio, ref, class) (``cvae.py`` ``ENCODER``)."""

    def __init__(self) -> None:
        super().__init__()
        self.resunet = ResUnet()
        self.MLP = nn.Sequential()
        self.MLP.add_module("L0", nn.Linear(192 + LATENT_SIZE + SEQ_LEN * _AUDIO_OUT + _POSE, 128))
        self.MLP.add_module("A0", nn.ReLU())
        self.linear_means = nn.Linear(128, LATENT_SIZE)
        self.linear_logvar = nn.Linear(128, LATENT_SIZE)
        self.linear_audio = nn.Linear(512, _AUDIO_OUT)
        self.classbias = nn.Parameter(torch.randn(NUM_POSE_CLASSES, LATENT_SIZE))

    def forward(self, pose_motion_gt: torch.Tensor, ref: torch.Tensor, class_id: torch.Tensor,
                audio_emb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar), each (B, 64).  As the original, ``logvar`` comes from ``linear_means`` too."""
        b = pose_motion_gt.shape[0]
        pose_emb = self.resunet(pose_motion_gt.unsqueeze(1)).reshape(b, -1)
        audio_out = self.linear_audio(audio_emb).reshape(b, -1)
        x = self.MLP(torch.cat([ref, pose_emb, audio_out, self.classbias[class_id]], dim=-1))
        return self.linear_means(x), self.linear_means(x)


class _CVAEDecoder(nn.Module):
    """p(motion | z, audio, ref, class): MLP → (32, 6) → :class:`ResUnet` → linear (``cvae.py`` ``DECODER``)."""

    def __init__(self) -> None:
        super().__init__()
        self.resunet = ResUnet()
        self.MLP = nn.Sequential()
        self.MLP.add_module("L0", nn.Linear(LATENT_SIZE + SEQ_LEN * _AUDIO_OUT + _POSE, 128))
        self.MLP.add_module("A0", nn.ReLU())
        self.MLP.add_module("L1", nn.Linear(128, SEQ_LEN * _POSE))
        self.MLP.add_module("sigmoid", nn.Sigmoid())
        self.pose_linear = nn.Linear(_POSE, _POSE)
        self.linear_audio = nn.Linear(512, _AUDIO_OUT)
        self.classbias = nn.Parameter(torch.randn(NUM_POSE_CLASSES, LATENT_SIZE))

    def forward(self, z: torch.Tensor, class_id: torch.Tensor, ref: torch.Tensor,
                audio_emb: torch.Tensor) -> torch.Tensor:
        b = z.shape[0]
        audio_out = self.linear_audio(audio_emb).reshape(b, -1)
        x = self.MLP(torch.cat([ref, z + self.classbias[class_id], audio_out], dim=-1))
        pose_emb = self.resunet(x.reshape(b, SEQ_LEN, -1).unsqueeze(1))
        return self.pose_linear(pose_emb.squeeze(1))


class CVAE(nn.Module):
    """``encoder`` (training only) and ``decoder`` of the pose CVAE (``cvae.py`` ``CVAE``)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = _CVAEEncoder()
        self.decoder = _CVAEDecoder()

    def test(self, z: torch.Tensor, class_id: torch.Tensor, ref: torch.Tensor,
             audio_emb: torch.Tensor) -> torch.Tensor:
        """(B, 32, 6) motion relative to ``ref`` for latent ``z`` (B, 64), pose style ``class_id`` (B,),
        reference pose ``ref`` (B, 6) and audio embeddings (B, 32, 512)."""
        return self.decoder(z, class_id, ref, audio_emb)


class _ConvNormRelu1d(nn.Module):
    """Conv1d (no bias) → BatchNorm1d → ReLU / LeakyReLU(0.2) (``ConvNormRelu('1d', ...)``)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int, leaky: bool) -> None:
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel, stride, padding, bias=False)
        self.norm = nn.BatchNorm1d(cout)
        self.act: nn.Module = nn.LeakyReLU(0.2) if leaky else nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class PoseSequenceDiscriminator(nn.Module):
    """Training-only motion critic (``discriminator.py``): (B, T, 6) → (B, T/4) scores.

    Built for its checkpoint keys; its forward is never used at inference (``leaky`` is the cfg's
    ``MODEL.DISCRIMINATOR.LEAKY_RELU``, which does not change the weights).
    """

    def __init__(self, input_channels: int = _POSE, leaky: bool = False) -> None:
        super().__init__()
        self.seq = nn.Sequential(
            _ConvNormRelu1d(input_channels, 256, 4, 2, 1, leaky),
            _ConvNormRelu1d(256, 512, 4, 2, 1, leaky),
            _ConvNormRelu1d(512, 1024, 3, 1, 1, leaky),
            nn.Conv1d(1024, 1, kernel_size=3, stride=1, padding=1, bias=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq(x.reshape(x.shape[0], x.shape[1], -1).transpose(1, 2)).squeeze(1)


class Audio2Pose(nn.Module):
    """Head motion from speech: :meth:`test` → (B, T, 6) pose (angle 3 radians, trans 3) per frame.

    Submodules keep the official names: ``audio_encoder`` (:class:`AudioEncoder`), ``netG``
    (:class:`CVAE`), ``netD_motion`` (:class:`PoseSequenceDiscriminator`).
    """

    def __init__(self) -> None:
        super().__init__()
        self.seq_len = SEQ_LEN
        self.latent_dim = LATENT_SIZE
        self.audio_encoder = AudioEncoder()
        self.netG = CVAE()
        self.netD_motion = PoseSequenceDiscriminator()

    def windows(self, num_frames: int) -> list[tuple[int, int, int]]:
        """The windows ``test`` decodes: (first mel frame, last + 1, how many trailing outputs to keep).

        Frame 0 is the reference; frames 1..T-1 go in windows of ``SEQ_LEN``; a remainder window
        re-uses the last ``SEQ_LEN`` frames and keeps only its last ``(T-1) % SEQ_LEN`` outputs.
        """
        n = num_frames - 1
        if n < self.seq_len:
            raise BadInputError("indiv_mels", f"{num_frames} frames; Audio2Pose needs at least "
                                f"{self.seq_len + 1} (one {self.seq_len}-frame window after the reference)",
                                f"Pass at least {(self.seq_len + 1) / 25:.2f} s of audio at 25 fps")
        out = [(1 + i * self.seq_len, 1 + (i + 1) * self.seq_len, self.seq_len) for i in range(n // self.seq_len)]
        if n % self.seq_len:
            out.append((num_frames - self.seq_len, num_frames, n % self.seq_len))
        return out

    @torch.no_grad()
    def test(self, indiv_mels: torch.Tensor, ref: torch.Tensor, class_id: torch.Tensor | int,
             z: Sequence[torch.Tensor] | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """``Audio2Pose.test`` of the original: (B, T, 6) pose = reference pose + predicted motion.

        * ``indiv_mels``: (B, T, 1, 80, 16) per-frame mel windows, T ≥ 33;
        * ``ref``: (B, ·, C ≥ 6) coefficients; the last 6 of row 0 (angle, trans) are the reference pose;
        * ``class_id``: pose style in [0, 46), an int or a (B,) LongTensor;
        * ``z``: one (B, 64) latent per window (:meth:`windows`); when omitted, drawn in window order
          with ``torch.randn`` from ``generator`` (the official draws are unseeded).
        """
        expect_shape(indiv_mels, "indiv_mels", (None, None, 1, 80, 16), "Pass (B, T, 1, 80, 16) mel windows")
        b, t = indiv_mels.shape[:2]
        expect_shape(ref, "ref", (b, None, None), f"Pass ({b}, T, 70) source coefficients")
        cls = torch.as_tensor(class_id, dtype=torch.long, device=indiv_mels.device).reshape(-1).expand(b)
        if int(cls.min()) < 0 or int(cls.max()) >= NUM_POSE_CLASSES:
            raise BadInputError("class_id", f"pose style {cls.tolist()} out of range",
                                f"Use 0 … {NUM_POSE_CLASSES - 1}")
        wins = self.windows(t)
        if z is None:  # drawn on the generator's device, so a seed gives the same z on CPU and GPU
            where = generator.device if generator is not None else indiv_mels.device
            z = [torch.randn(b, self.latent_dim, generator=generator, device=where).to(indiv_mels)
                 for _ in wins]
        elif len(z) != len(wins):
            raise BadInputError("z", f"{len(z)} latents for {len(wins)} windows", "Pass one (B, 64) latent per window")
        ref_pose = ref[:, 0, -_POSE:]
        motions = [torch.zeros(b, 1, _POSE, dtype=ref.dtype, device=ref.device)]
        for (lo, hi, keep), zi in zip(wins, z):
            emb = self.audio_encoder(indiv_mels[:, lo:hi])
            motions.append(self.netG.test(zi, cls, ref_pose, emb)[:, -keep:])
        return ref[:, :1, -_POSE:] + torch.cat(motions, dim=1)


def smooth_pose(pose: torch.Tensor | np.ndarray, window: int = 13, order: int = 2) -> np.ndarray:
    """Savitzky–Golay smoothing over time (axis 1), as ``src/test_audio2coeff.py`` applies to the pose.

    ``scipy.signal.savgol_filter(pose, window, order, axis=1)`` (default mode ``'interp'``); for
    T < ``window`` frames the window becomes ``int((T - 1) / 2) * 2 + 1``, as in the original.
    """
    from scipy.signal import savgol_filter

    x = pose.detach().cpu().numpy() if isinstance(pose, torch.Tensor) else np.asarray(pose)
    t = x.shape[1]
    w = window if t >= window else int((t - 1) / 2) * 2 + 1
    return savgol_filter(x, w, order, axis=1)
