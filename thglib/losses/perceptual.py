"""Perceptual losses: distances between the features of a frozen network instead of pixels.

* :class:`PerceptualLoss` — VGG19 multi-layer L1 (johnson2016perceptual) on relu1_1, relu2_1,
  relu3_1, relu4_1, relu5_1, i.e. slices 0–1 / 2–6 / 7–11 / 12–20 / 21–29 of torchvision's
  ``vgg19().features`` on ImageNet-normalised RGB in [0, 1], optionally over an image pyramid.
  :meth:`PerceptualLoss.fomm`: scales 1, ½, ¼, ⅛ and weight 10 per layer (siarohin2019first;
  AliaksandrSiarohin/first-order-model ``modules/model.py`` ``Vgg19``, ``ImagePyramide``,
  ``GeneratorFullModel.forward``; ``config/vox-256.yaml`` ``perceptual: [10, 10, 10, 10, 10]``).
  :meth:`PerceptualLoss.pcavs`: one scale, layer weights 1/32, 1/16, 1/8, 1/4, 1, to be multiplied
  by ``lambda_vgg = 10`` (zhou2021posecontrollable; Hangz-nju-cuhk/Talking-Face_PC-AVS
  ``models/networks/loss.py`` ``VGGLoss``, ``options/base_options.py``).
* :func:`style_loss` — squared Frobenius distance of Gram matrices (gatys2016image).
* :class:`LPIPSLoss` — LPIPS (zhang2018unreasonable) through the ``lpips`` package.

VGG19 weights are torchvision's ImageNet file ``vgg19-dcbb9e9d.pth`` (registry name ``vgg19``):
from ``weights=``, torchvision's hub cache, or :func:`thglib.weights.fetch` (downloads when online).
Without them :class:`~thglib.errors.WeightsUnavailable` is raised, unless ``allow_untrained=True``
asks for the same architecture with a seeded He initialisation, whose ``label`` reads
``"VGG19 (untrained, seeded stand-in, seed 0)"`` and whose ``caveat`` is set: label every number.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BadInputError, WeightsUnavailable
from ._checks import check

__all__ = ["VGG19_LAYERS", "VGG19_CUTS", "FOMM_LAYER_WEIGHTS", "FOMM_SCALES", "PCAVS_LAYER_WEIGHTS",
           "IMAGENET_MEAN", "IMAGENET_STD", "vgg19_weights_file", "VGG19Features", "antialias_downsample",
           "PerceptualLoss", "gram_matrix", "style_loss", "LPIPSLoss"]

VGG19_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
#: End (exclusive) of each slice of ``vgg19().features``: 0–1, 2–6, 7–11, 12–20, 21–29 (FOMM ``Vgg19``).
VGG19_CUTS = (2, 7, 12, 21, 30)
FOMM_LAYER_WEIGHTS = (10.0, 10.0, 10.0, 10.0, 10.0)
FOMM_SCALES = (1.0, 0.5, 0.25, 0.125)
PCAVS_LAYER_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_VGG19_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512)
_VGG19_FILE = "vgg19-dcbb9e9d.pth"


def vgg19_weights_file(weights: str | Path | None = None) -> Path:
    """The verified torchvision VGG19 file: ``weights``, else torchvision's hub cache
    (``torch.hub.get_dir()/checkpoints``), else :func:`thglib.weights.fetch` ``("vgg19")``."""
    from ..weights import fetch

    hub = Path(torch.hub.get_dir()) / "checkpoints" / _VGG19_FILE
    if weights is not None or hub.is_file():  # errors name the caller's argument, weights= (not fetch's path=)
        return fetch("vgg19", path=weights if weights is not None else hub, arg="weights")
    return fetch("vgg19", arg="weights")


def _vgg19_trunk() -> nn.Sequential:
    """Layers 0–29 of torchvision's ``vgg19().features`` (same indices, so the same state_dict keys)."""
    layers: list[nn.Module] = []
    c = 3
    for v in _VGG19_CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU()]
            c = v
    return nn.Sequential(*layers)


class VGG19Features(nn.Module):
    """Frozen VGG19 returning ``[relu1_1, relu2_1, relu3_1, relu4_1, relu5_1]`` of RGB in [0, 1].

    ``weights``: a path (checked against the registry's hash), a torchvision-layout state_dict
    (``{"features.0.weight": …}``), or ``None`` (hub cache, then download).  ``label`` names the
    weights; ``caveat`` is non-empty for the untrained stand-in.  Inputs need H, W ≥ 16.
    """

    def __init__(self, weights: str | Path | dict | None = None, *, allow_untrained: bool = False,
                 seed: int = 0) -> None:
        super().__init__()
        from ..metrics.extractors import UNTRAINED_CAVEAT

        self.features = _vgg19_trunk()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        if isinstance(weights, dict):
            self.load_torchvision(weights)
            self.label, self.caveat = "VGG19 (state_dict supplied by the caller)", ""
        else:
            try:
                path = vgg19_weights_file(weights)
            except WeightsUnavailable as e:
                if not allow_untrained:
                    more = ", or pass allow_untrained=True for a labelled seeded stand-in"
                    raise e.for_arg("weights", more) from None
                self._seeded_init(seed)
                self.label, self.caveat = f"VGG19 (untrained, seeded stand-in, seed {seed})", UNTRAINED_CAVEAT
            else:
                from ..weights import load_state_dict, sha256_of

                self.load_torchvision(load_state_dict(path))
                self.label, self.caveat = f"VGG19 ImageNet ({path.name}, sha256:{sha256_of(path)[:12]}…)", ""
        self.requires_grad_(False).eval()

    def _seeded_init(self, seed: int) -> None:
        """torchvision's VGG init (He-normal fan-out, zero bias) under a fixed seed."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for m in self.features:
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    nn.init.zeros_(m.bias)

    def load_torchvision(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load layers 0–29 from a torchvision ``vgg19`` state_dict (classifier keys are ignored)."""
        from ..models import checkpoint_mismatches

        sd = {k[len("features."):]: v for k, v in state_dict.items()
              if k.startswith("features.") and int(k.split(".")[1]) < VGG19_CUTS[-1]}
        problems = checkpoint_mismatches(self.features, sd)
        if problems:
            raise BadInputError("weights", "not a torchvision VGG19 state_dict: " + "; ".join(problems),
                                f"Use torchvision's {_VGG19_FILE} (thglib.weights.fetch('vgg19'))")
        self.features.load_state_dict(sd)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        check(input=(x, "B 3 H W"))
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        out, start = [], 0
        for end in VGG19_CUTS:
            x = self.features[start:end](x)
            out.append(x)
            start = end
        return out


def antialias_downsample(x: torch.Tensor, scale: float) -> torch.Tensor:
    """FOMM's band-limited downsampling (``modules/util.py`` ``AntiAliasInterpolation2d``):
    Gaussian blur with ``σ = (1/s − 1)/2`` over ``2·round(4σ) + 1`` taps (zero padding), then every
    ``1/s``-th pixel (nearest).  ``scale=1`` returns ``x``; ``1/scale`` must be an integer."""
    if scale == 1:
        return x
    step = round(1 / scale)
    if abs(step * scale - 1) > 1e-9:
        raise BadInputError("scale", f"1/{scale} is not an integer", "Use 1, 0.5, 0.25, 0.125, …")
    sigma = (1 / scale - 1) / 2
    size = 2 * round(sigma * 4) + 1
    t = torch.arange(size, dtype=x.dtype, device=x.device) - size // 2
    k = torch.exp(-t * t / (2 * sigma * sigma))
    k, c, r = k / k.sum(), x.shape[1], size // 2
    x = F.pad(x, (r, r, r, r))
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, size), groups=c)
    x = F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, size, 1), groups=c)
    return x[..., ::step, ::step][..., :x.shape[-2] // step, :x.shape[-1] // step]


class PerceptualLoss(nn.Module):
    """``Σ_s Σ_l w_l · mean |φ_l(P_s x) − φ_l(P_s y)|``: VGG19 L1 over layers ``l`` and pyramid scales ``s``.

    The target's features are detached (as FOMM and PC-AVS do), so gradients reach ``input`` only.
    ``vgg``: a :class:`VGG19Features` (shared between losses); otherwise one is built from
    ``weights`` / ``allow_untrained``.  ``label`` and ``caveat`` come from it.
    """

    def __init__(self, vgg: VGG19Features | None = None, layer_weights: Sequence[float] = FOMM_LAYER_WEIGHTS,
                 scales: Sequence[float] = (1.0,), *, weights: str | Path | dict | None = None,
                 allow_untrained: bool = False) -> None:
        super().__init__()
        if len(layer_weights) != len(VGG19_LAYERS):
            raise BadInputError("layer_weights", f"{len(layer_weights)} weights for {len(VGG19_LAYERS)} layers",
                                f"Give one weight per layer of {VGG19_LAYERS}")
        self.vgg = vgg if vgg is not None else VGG19Features(weights, allow_untrained=allow_untrained)
        self.layer_weights, self.scales = tuple(layer_weights), tuple(scales)
        self.label, self.caveat = self.vgg.label, self.vgg.caveat

    @classmethod
    def fomm(cls, **kw) -> PerceptualLoss:
        """FOMM: weight 10 on each of the 5 layers, pyramid scales 1, ½, ¼, ⅛ (needs ≥ 128 px)."""
        return cls(layer_weights=FOMM_LAYER_WEIGHTS, scales=FOMM_SCALES, **kw)

    @classmethod
    def pcavs(cls, **kw) -> PerceptualLoss:
        """PC-AVS ``VGGLoss``: weights 1/32 … 1, one scale; PC-AVS multiplies it by ``lambda_vgg = 10``."""
        return cls(layer_weights=PCAVS_LAYER_WEIGHTS, scales=(1.0,), **kw)

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check(input=(input, "B 3 H W"), target=(target, "B 3 H W"))
        total = input.new_zeros(())
        for s in self.scales:
            fx, fy = self.vgg(antialias_downsample(input, s)), self.vgg(antialias_downsample(target, s))
            total = total + sum(w * (a - b.detach()).abs().mean() for w, a, b in zip(self.layer_weights, fx, fy))
        return total


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """``G = F Fᵀ / (C H W)`` of ``(B, C, H, W)`` features, ``(B, C, C)`` (johnson2016perceptual, eq. 3)."""
    check(features=(features, "B C H W"))
    b, c, h, w = features.shape
    f = features.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def style_loss(input_features: Sequence[torch.Tensor], target_features: Sequence[torch.Tensor],
               weights: Sequence[float] | None = None) -> torch.Tensor:
    """``Σ_l w_l ‖G(φ_l x) − G(φ_l y)‖²_F``, averaged over the batch (gatys2016image; Johnson et al. eq. 4).

    Takes the feature lists of two images (e.g. ``VGG19Features()(x)``); ``weights`` default to 1.
    """
    if len(input_features) != len(target_features):
        raise BadInputError("target_features", f"{len(target_features)} layers vs {len(input_features)}",
                            "Pass the features of the same layers for both images")
    weights = weights if weights is not None else [1.0] * len(input_features)
    total = input_features[0].new_zeros(())
    for w, a, b in zip(weights, input_features, target_features):
        check(input_features=(a, "B C H W"), target_features=(b, "B C H W"))
        total = total + w * (gram_matrix(a) - gram_matrix(b)).square().sum((1, 2)).mean()
    return total


class LPIPSLoss(nn.Module):
    """LPIPS as a loss: ``mean_b LPIPS(x_b, y_b)`` for RGB in [0, 1] (``lpips.LPIPS(normalize=True)``).

    The network comes from :func:`thglib.metrics.perceptual.lpips_model` (backbone from a local,
    verified file; the linear heads ship in the ``lpips`` wheel) and is copied, so moving or casting
    this loss never touches the metric's cached model.  ``label``/``caveat`` say which backbone.
    """

    def __init__(self, net: Literal["alex", "vgg"] = "alex", *, weights: str | Path | None = None,
                 allow_untrained: bool = False, seed: int = 0) -> None:
        super().__init__()
        from ..metrics.perceptual import lpips_model

        model, self.label, self.caveat = lpips_model(net, weights=weights, allow_untrained=allow_untrained,
                                                     seed=seed)
        self.model = copy.deepcopy(model).requires_grad_(False).eval()

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        check(input=(input, "B 3 H W"), target=(target, "B 3 H W"))
        return self.model(input, target, normalize=True).mean()
