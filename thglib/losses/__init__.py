"""THG training losses, one module per family, each loss a short differentiable torch function.

* :mod:`~thglib.losses.reconstruction` — L1, L2, Charbonnier, SSIM, region-weighted L1, Laplacian pyramid;
* :mod:`~thglib.losses.perceptual` — VGG19 multi-layer L1 (FOMM / PC-AVS weights), Gram/style, LPIPS;
* :mod:`~thglib.losses.adversarial` — non-saturating BCE, LSGAN, hinge, WGAN(-GP), R1, feature matching;
* :mod:`~thglib.losses.sync` — Wav2Lip expert loss, PC-AVS softmax contrastive loss, InfoNCE;
* :mod:`~thglib.losses.identity` — 1 − cosine of a face embedder (pSp crop convention);
* :mod:`~thglib.losses.landmark` — region-weighted landmark L1/L2, Laplacian coordinates (MakeItTalk);
* :mod:`~thglib.losses.temporal` — flow-warping error, velocity loss, temporal and pose-sequence discriminators;
* :mod:`~thglib.losses.motion` — keypoint equivariance and prior, CVAE KL, diffusion MSE with Min-SNR.

Inputs are batch-first float tensors; every shape, dtype or device mismatch raises
:class:`~thglib.errors.BadInputError` naming the argument (one validator: :func:`thglib.losses._checks.check`).
Networks the losses need (VGG19, a face embedder) say what weights they hold in ``.label``; an
untrained stand-in is built only on request (``allow_untrained=True``) and says so.
Import a family explicitly (``from thglib.losses import sync``); this package imports nothing heavy.
"""

from __future__ import annotations

__all__: list[str] = []
