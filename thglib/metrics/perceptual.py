"""LPIPS: Learned Perceptual Image Patch Similarity (Zhang et al., CVPR 2018, arXiv:1801.03924).

``d(x, y) = Σ_l 1/(H_l W_l) Σ_{h,w} ‖ w_l ⊙ (φ̃_l(x)_{hw} − φ̃_l(y)_{hw}) ‖²``, where ``φ̃_l`` are the
channel-normalised activations of layer ``l`` of an ImageNet backbone (AlexNet by default, VGG-16
optionally) and ``w_l`` the linear weights fitted to human judgements (v0.1; they ship inside the
``lpips`` wheel). Inputs are RGB scaled to [−1, 1] (``lpips.LPIPS.forward`` convention).

The backbone weights normally come from torchvision's download. Here they are read from a local
file only: ``weights=``, torchvision's hub cache, or :func:`thglib.weights.fetch` (which downloads
when online); the ``lpips`` package itself is never allowed to touch the network. Without them,
:class:`~thglib.errors.WeightsUnavailable` is raised, unless ``allow_untrained=True`` asks for a
seeded random backbone, whose result carries the caveat ``"untrained backbone: illustrates
mechanics only"`` and is named ``"LPIPS-alex (untrained)"`` (``"LPIPS-vgg (untrained)"``).
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal


from ..errors import BadInputError, WeightsUnavailable
from .card import MetricResult, ProtocolCard, untrained_name
from .extractors import UNTRAINED_CAVEAT
from .inputs import Frames, paired_frames

__all__ = ["BACKBONES", "backbone_file", "lpips_model", "lpips"]

#: LPIPS backbone → (thglib.weights registry name, file torchvision expects in its hub cache).
BACKBONES = {"alex": ("lpips_alex_backbone", "alexnet-owt-7be5be79.pth"),
             "vgg": ("lpips_vgg_backbone", "vgg16-397923af.pth")}


def backbone_file(net: Literal["alex", "vgg"], weights: str | Path | None = None) -> Path:
    """The verified ImageNet backbone for LPIPS-``net``: ``weights``, else torchvision's hub cache
    (``torch.hub.get_dir()/checkpoints``), else :func:`thglib.weights.fetch` (downloads when online)."""
    import torch

    from ..weights import card, fetch

    name, filename = BACKBONES[net]
    hub = Path(torch.hub.get_dir()) / "checkpoints" / filename
    if weights is not None or hub.is_file():
        return fetch(name, path=weights if weights is not None else hub, arg="weights" if weights is not None
                     else "path")
    try:
        return fetch(name, arg="weights")
    except WeightsUnavailable as e:
        raise WeightsUnavailable(name, card(name).url, hub, f"not in torchvision's hub cache nor in thglib's "
                                 f"({e.path}); pass allow_untrained=True for a random backbone that only "
                                 "illustrates the mechanics", arg="weights") from e


@lru_cache(maxsize=4)
def _build(net: str, backbone: str | None, seed: int) -> Any:
    import lpips as lp
    import torch

    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torchvision's "pretrained is deprecated"
        torch.manual_seed(seed)
        model = lp.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False)  # no download
    if backbone is not None:  # torchvision "features.<i>.*" → lpips "slice<k>.<i>.*"
        sd = torch.load(backbone, map_location="cpu", weights_only=True)
        model.net.load_state_dict({k: sd["features." + k.split(".", 1)[1]] for k in model.net.state_dict()})
    return model.eval().requires_grad_(False)


def lpips_model(net: Literal["alex", "vgg"] = "alex", *, weights: str | Path | None = None,
                allow_untrained: bool = False, seed: int = 0) -> tuple[Any, str, str]:
    """``(lpips.LPIPS model, weights label, caveat)``; the model is cached per (net, file, seed)."""
    if net not in BACKBONES:
        raise BadInputError("net", f"unknown LPIPS backbone {net!r}", f"Use one of {sorted(BACKBONES)}")
    from ..weights import sha256_of

    try:
        path = backbone_file(net, weights)
    except WeightsUnavailable:
        if not allow_untrained:
            raise
        return _build(net, None, seed), f"untrained {net} backbone (seed {seed}) + lpips v0.1 {net}.pth", UNTRAINED_CAVEAT
    return _build(net, str(path), 0), f"{path.name} sha256:{sha256_of(path)} + lpips v0.1 {net}.pth", ""


def lpips(reference: Frames, generated: Frames, *, net: Literal["alex", "vgg"] = "alex",
          weights: str | Path | None = None, allow_untrained: bool = False, seed: int = 0,
          batch_size: int = 16, device: str = "cpu", length: Literal["error", "truncate"] = "error",
          size: Literal["error", "resize"] = "error") -> MetricResult:
    """Per-frame LPIPS between paired frames (lower is better; 0 for identical frames).

    Frames go to the network as ``(N, 3, H, W)`` RGB in [−1, 1] (``x / 127.5 − 1``), in batches.
    """
    import torch

    from ..validate import count

    count(batch_size, "batch_size")
    ref, gen = paired_frames(reference, generated, length, size)
    model, label, caveat = lpips_model(net, weights=weights, allow_untrained=allow_untrained, seed=seed)
    model = model.to(device)
    scores = []
    with torch.inference_mode():
        for i in range(0, len(ref), batch_size):
            a, b = (torch.from_numpy(x[i:i + batch_size]).to(device).permute(0, 3, 1, 2).float() / 127.5 - 1
                    for x in (ref, gen))
            scores.append(model(a, b).flatten().double().cpu())
    per_frame = torch.cat(scores).numpy()
    card = ProtocolCard(metric=untrained_name(f"LPIPS-{net}", bool(caveat)),
                        implementation=f"lpips.LPIPS v0.1 (net={net}), batched",
                        data_range=2.0, extractor=f"{net} ImageNet backbone + LPIPS linear heads",
                        weights=label, caveat=caveat, samples=len(per_frame),
                        notes="inputs RGB scaled to [-1, 1]; mean over frames")
    return MetricResult(float(per_frame.mean()), card, higher_is_better=False, per_frame=per_frame)
