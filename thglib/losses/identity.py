"""Identity loss: ``1 − cos(E(G(x)), E(y))`` for a frozen, differentiable face embedder ``E``.

Convention of pSp (eladrich/pixel2style2pixel ``criteria/id_loss.py``, ``IDLoss``): a 256² aligned
face is cropped to rows 35:223, columns 32:220, average-pooled to 112², embedded by an ArcFace
IR-SE50 (deng2019arcface), and the loss is the batch mean of ``1 − ⟨ê_gen, ê_ref⟩`` with the
reference embedding detached.

No ArcFace *torch* checkpoint has an official, stable URL (pSp links a Google Drive copy of
TreB1eN/InsightFace_Pytorch's ``model_ir_se50.pth``; insightface ships ONNX only), so none is in
:mod:`thglib.weights`.  Pass your own embedder module; without one :class:`IdentityLoss` raises
:class:`~thglib.errors.WeightsUnavailable` saying so, unless ``allow_untrained=True`` builds a
seeded stand-in CNN whose ``label`` reads "untrained seeded stand-in, not ArcFace".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BadInputError, WeightsUnavailable
from ._checks import check

__all__ = ["PSP_CROP", "psp_face_crop", "identity_loss", "StandInFaceEmbedder", "IdentityLoss"]

#: pSp ``IDLoss.extract_feats``: ``x[:, :, 35:223, 32:220]`` of a 256×256 face, then pooled to 112×112.
PSP_CROP = (35, 223, 32, 220)
_FIX = ("Build an ArcFace IR-SE50 (e.g. pSp's models/encoders/model_irse.py Backbone(112, 50, 'ir_se')), "
        "load model_ir_se50.pth (pSp README, 'Pretrained Models'), and pass it as embedder=; or pass "
        "allow_untrained=True for a labelled stand-in that only illustrates the mechanics")


def psp_face_crop(faces: torch.Tensor) -> torch.Tensor:
    """``(B, 3, 256, 256)`` → ``(B, 3, 112, 112)``: pSp's crop ``[35:223, 32:220]`` + adaptive average pool."""
    check(faces=(faces, "B 3 256 256"))
    r0, r1, c0, c1 = PSP_CROP
    return F.adaptive_avg_pool2d(faces[:, :, r0:r1, c0:c1], 112)


def identity_loss(generated_emb: torch.Tensor, reference_emb: torch.Tensor) -> torch.Tensor:
    """``mean_b (1 − cos(e_gen, e_ref))``, the reference detached (pSp: ``loss += 1 - diff_target``)."""
    check(generated_emb=(generated_emb, "B D"), reference_emb=(reference_emb, "B D"))
    return (1 - F.cosine_similarity(generated_emb, reference_emb.detach(), dim=1)).mean()


class StandInFaceEmbedder(nn.Module):
    """A seeded, untrained 4-block CNN ``(B, 3, 112, 112) → (B, 512)``: illustrates mechanics only."""

    def __init__(self, dim: int = 512, seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            chans = (3, 32, 64, 128, 256)
            blocks = [m for cin, cout in zip(chans, chans[1:])
                      for m in (nn.Conv2d(cin, cout, 3, 2, 1), nn.PReLU(cout))]
            self.net = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class IdentityLoss(nn.Module):
    """``identity_loss(E(crop(G(x))), E(crop(y)))`` for images in [0, 1], fed to ``E`` in [−1, 1].

    ``embedder``: any frozen module mapping ``(B, 3, 112, 112)`` to ``(B, D)`` (ArcFace IR-SE50 in
    pSp).  ``crop="psp"`` needs 256² aligned faces; ``crop=None`` passes 112² faces unchanged.
    ``label`` names the embedder; ``caveat`` is non-empty for the stand-in.
    """

    def __init__(self, embedder: nn.Module | None = None, *, crop: str | None = "psp",
                 allow_untrained: bool = False, seed: int = 0) -> None:
        super().__init__()
        from ..metrics.extractors import UNTRAINED_CAVEAT
        from ..weights import cache_dir

        if crop not in ("psp", None):
            raise BadInputError("crop", f"unknown crop {crop!r}", "Use 'psp' (256² faces) or None (112² faces)")
        if embedder is None and not allow_untrained:
            err = WeightsUnavailable("arcface_ir_se50", None, cache_dir() / "model_ir_se50.pth", arg="embedder")
            err.args = ("no face embedder given, and no torch ArcFace checkpoint has an official URL "
                        f"that thglib could download. {_FIX}",)
            raise err
        self.crop = crop
        if embedder is None:
            self.embedder = StandInFaceEmbedder(seed=seed)
            self.label, self.caveat = f"untrained seeded stand-in, not ArcFace (seed {seed})", UNTRAINED_CAVEAT
        else:
            self.embedder = embedder
            self.label = getattr(embedder, "label", f"{type(embedder).__name__} (supplied by the caller)")
            self.caveat = getattr(embedder, "caveat", "")
        self.embedder.requires_grad_(False).eval()

    def embed(self, faces: torch.Tensor) -> torch.Tensor:
        x = psp_face_crop(faces) if self.crop == "psp" else faces
        check(faces=(x, "B 3 112 112"))
        return self.embedder(2 * x - 1)

    def forward(self, generated: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        check(generated=(generated, "B 3 H W"), reference=(reference, "B 3 H W"))
        return identity_loss(self.embed(generated), self.embed(reference))
