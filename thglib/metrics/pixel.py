"""Pixel-fidelity metrics: PSNR, SSIM (Wang et al. 2004) and MS-SSIM (Wang et al. 2003).

Batched torch implementations (CPU or GPU, chunked so memory stays bounded) that equal the
references: :func:`skimage.metrics.peak_signal_noise_ratio` / :func:`structural_similarity` with
``gaussian_weights=True, sigma=1.5, use_sample_covariance=False`` (``border="crop"``, the default), and
torchmetrics' ``structural_similarity_index_measure`` / ``multiscale_structural_similarity_index_measure``
(``border="reflect"``). The two references differ only at the image border:

* skimage filters the whole image, then drops a border of the window radius (5 px) before averaging,
  so only windows lying fully inside the image count (Wang's MATLAB code, ``filter2(..., 'valid')``);
* torchmetrics reflect-pads by 5 px (``torch.nn.functional.pad(mode="reflect")``) and averages SSIM over
  the whole frame; its MS-SSIM averages the contrast-structure terms over the interior but the last
  scale's SSIM over the whole (padded) frame.

Tensor functions (``*_per_image``) take ``(B, C, H, W)`` float tensors and are differentiable; the
metric functions (:func:`psnr`, :func:`ssim`, :func:`ms_ssim`) take clips and return a
:class:`~thglib.metrics.card.MetricResult` with per-frame values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import BadInputError
from .card import MetricResult, ProtocolCard
from .inputs import Frames, paired_frames

__all__ = ["BT601", "MS_SSIM_WEIGHTS", "gaussian_window", "ssim_maps", "psnr_per_image", "ssim_per_image",
           "ms_ssim_per_image", "psnr", "ssim", "ms_ssim"]

Channels = Literal["rgb", "gray"]
Border = Literal["crop", "reflect"]
Precision = Literal["auto", "float32", "float64"]

#: ITU-R BT.601 luma weights: Y' = 0.299 R + 0.587 G + 0.114 B (``channels="gray"``; not rounded).
BT601 = (0.299, 0.587, 0.114)
#: MS-SSIM exponents γ_1..γ_5 of Wang et al. (2003), finest scale first.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_PIXELS_PER_CHUNK = {"cpu": 2**18, "cuda": 2**21}  # frames per chunk = this // (H·W): on a CPU 4 of 256²
# (cache-friendly), on a GPU 32 of 256² (~0.6 GB of float64 moments)
_SHOW_PROGRESS_FROM = 64  # frames


def gaussian_window(sigma: float = 1.5, truncate: float = 3.5, dtype: torch.dtype = torch.float64,
                    device: str | torch.device = "cpu") -> torch.Tensor:
    """1-D Gaussian taps ``g_k ∝ exp(-k²/2σ²)``, ``k = -r..r``, ``r = int(truncate·σ + 0.5)``, summing to 1.

    σ = 1.5 gives the 11-tap window of Wang et al. (2004), as ``scipy.ndimage.gaussian_filter`` builds it
    for skimage (``truncate=3.5``) and as torchmetrics does (``kernel_size=11``).
    """
    r = int(truncate * sigma + 0.5)
    k = torch.arange(-r, r + 1, dtype=torch.float64)
    g = torch.exp(-(k**2) / (2 * sigma**2))
    return (g / g.sum()).to(dtype=dtype, device=device)


def _local_means(x: torch.Tensor, g: torch.Tensor, border: Border) -> torch.Tensor:
    """Gaussian-weighted local means of every channel: separable depthwise convolution ('valid'), after
    reflect-padding by the window radius when ``border="reflect"``. Channels-last is ~3× faster on CPU."""
    r, k = len(g) // 2, x.shape[1]
    if border == "reflect":
        x = F.pad(x, (r, r, r, r), mode="reflect")
    x = x.contiguous(memory_format=torch.channels_last)
    x = F.conv2d(x, g.view(1, 1, -1, 1).expand(k, 1, -1, 1), groups=k)
    return F.conv2d(x, g.view(1, 1, 1, -1).expand(k, 1, 1, -1), groups=k)


def ssim_maps(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0, sigma: float = 1.5,
              k1: float = 0.01, k2: float = 0.03, border: Border = "crop") -> tuple[torch.Tensor, torch.Tensor]:
    """SSIM and contrast-structure maps of ``(B, C, H, W)`` batches (Wang et al. 2004, eq. 13):

    ``SSIM = (2μxμy + C1)(2σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2))``,
    ``cs = (2σxy + C2) / (σx² + σy² + C2)``, ``C1 = (K1 L)²``, ``C2 = (K2 L)²``, with
    Gaussian-weighted population moments (skimage's ``use_sample_covariance=False``). Only
    ``σx² + σy² = E[x² + y²] - μx² - μy²`` enters, so four maps per channel are filtered.
    ``border="crop"`` gives the ``(H-2r, W-2r)`` maps of windows inside the image,
    ``"reflect"`` the ``(H, W)`` maps of the reflect-padded image. Moments are taken about each image's
    mean (exact in theory; keeps float32 within ~1e-6 of float64).
    """
    c = 0.5 * (x.mean((2, 3), keepdim=True) + y.mean((2, 3), keepdim=True))
    xc, yc = x - c, y - c
    g = gaussian_window(sigma, dtype=x.dtype, device=x.device)
    moments = _local_means(torch.cat([xc, yc, xc * xc + yc * yc, xc * yc], 1), g, border)
    mx, my, sq, sxy = moments.split(x.shape[1], 1)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    cs = (2 * (sxy - mx * my) + c2) / (sq - mx * mx - my * my + c2)
    mx, my = mx + c, my + c
    return (2 * mx * my + c1) / (mx * mx + my * my + c1) * cs, cs


def psnr_per_image(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0) -> torch.Tensor:
    """``PSNR = 10 log10(L² / MSE)`` per image, MSE over all pixels and channels; ``+inf`` where ``x == y``.

    Integer (uint8) images are subtracted and squared exactly in float32; the mean accumulates in float64.
    """
    d = x - y if x.is_floating_point() else x.float() - y.float()
    mse = d.square().mean(dim=(1, 2, 3), dtype=torch.float64)
    return 10 * torch.log10(data_range**2 / mse)


def ssim_per_image(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0, border: Border = "crop",
                   **kw: float) -> torch.Tensor:
    """Mean SSIM of each image over its map and channels (per-channel mean for RGB, as skimage/torchmetrics)."""
    return ssim_maps(x, y, data_range, border=border, **kw)[0].mean(dim=(1, 2, 3))


def ms_ssim_per_image(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0,
                      weights: tuple[float, ...] = MS_SSIM_WEIGHTS, border: Border = "crop",
                      **kw: float) -> torch.Tensor:
    """``MS-SSIM = SSIM_J^{γ_J} ∏_{j<J} cs_j^{γ_j}`` (Wang et al. 2003), halving the images by 2×2
    averaging between scales; each mean term is clamped at 0 first (torchmetrics ``normalize="relu"``).
    ``cs_j`` and ``SSIM_J`` are means over pixels and channels (torchmetrics' convention for RGB)."""
    terms, r = [], len(gaussian_window(kw.get("sigma", 1.5))) // 2
    for j in range(len(weights)):
        s, cs = ssim_maps(x, y, data_range, border=border, **kw)
        if j == len(weights) - 1:
            terms.append(s.mean(dim=(1, 2, 3)))
        else:  # torchmetrics ("reflect") also averages cs over the interior only
            cs = cs[..., r:-r, r:-r] if border == "reflect" else cs
            terms.append(cs.mean(dim=(1, 2, 3)))
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    beta = torch.tensor(weights, dtype=x.dtype, device=x.device)[:, None]
    return torch.prod(torch.stack(terms).clamp_min(0) ** beta, dim=0)


# ---------------------------------------------------------------------------------------------
# Clip-level metrics


def _dtype(precision: Precision, device: str) -> torch.dtype:
    """float64 on CUDA (fast there); float32 on CPU/MPS, where torch's float64 convolutions are ~10× slower."""
    if precision == "auto":
        return torch.float64 if device.startswith("cuda") else torch.float32
    return torch.float64 if precision == "float64" else torch.float32


@contextmanager
def _ieee_float32() -> Iterator[None]:
    """Turn off TF32 convolutions on CUDA (10-bit mantissa; would cost SSIM ~1e-3) for the duration."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        old, conv.fp32_precision = conv.fp32_precision, "ieee"
        try:
            yield
        finally:
            conv.fp32_precision = old
    else:  # older torch
        old, torch.backends.cudnn.allow_tf32 = torch.backends.cudnn.allow_tf32, False
        try:
            yield
        finally:
            torch.backends.cudnn.allow_tf32 = old


def _to_tensor(frames: np.ndarray, channels: Channels, dtype: torch.dtype | None, device: str) -> torch.Tensor:
    """``(T, H, W, 3)`` uint8 → ``(T, C, H, W)`` in [0, 255] (``dtype=None``: uint8 RGB); ``"gray"``: BT.601 luma."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(device).permute(0, 3, 1, 2)
    if dtype is None and channels == "rgb":
        return x
    if channels == "gray":
        x = (x.double() * torch.tensor(BT601, dtype=torch.float64, device=device).view(1, 3, 1, 1)).sum(1, keepdim=True)
    return x.to(dtype or torch.float64)  # keeps numpy's channels-last layout, which the convolutions prefer


def _per_frame(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], ref: np.ndarray, gen: np.ndarray,
               channels: Channels, dtype: torch.dtype | None, device: str, batch_size: int | None,
               progress: bool | None, desc: str) -> np.ndarray:
    """Apply ``fn`` to chunks of frame pairs on ``device``; per-frame values as float64 numpy."""
    from ..runtime import progress as progress_bar

    n, h, w = ref.shape[:3]
    step = batch_size or max(1, _PIXELS_PER_CHUNK["cuda" if device.startswith("cuda") else "cpu"] // (h * w))
    show = n >= _SHOW_PROGRESS_FROM if progress is None else progress
    out = []
    with torch.inference_mode(), _ieee_float32(), progress_bar(total=n, desc=desc, unit="frame", show=show) as bar:
        for i in range(0, n, step):
            x, y = (_to_tensor(a[i:i + step], channels, dtype, device) for a in (ref, gen))
            out.append(fn(x, y).double().cpu().numpy())
            bar.update(len(x))
    return np.concatenate(out)


def _check_size(ref: np.ndarray, need: int, what: str) -> None:
    h, w = ref.shape[1:3]
    if min(h, w) < need:
        raise BadInputError("reference/generated", f"frames of {w}×{h} px are too small for {what}, which needs "
                            f"at least {need}×{need} px", "Compare larger frames (or a larger crop)")


def _check_args(channels: str, border: str | None = None, *, data_range: float = 255.0,
                batch_size: int | None = None, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> None:
    from ..validate import count, number

    if channels not in ("rgb", "gray"):
        raise BadInputError("channels", f"unknown value {channels!r}", "Use 'rgb' or 'gray' (BT.601 luma)")
    if border is not None and border not in ("crop", "reflect"):
        raise BadInputError("border", f"unknown value {border!r}", "Use 'crop' (skimage) or 'reflect' (torchmetrics)")
    number(data_range, "data_range", lo=0, lo_open=True, fix="Pass the value range of the pixels: 255 for uint8")
    count(batch_size, "batch_size", allow_none=True, fix="Pass a positive int, or None for an automatic size")
    number(sigma, "sigma", lo=0.1, hi=50, fix="Pass a Gaussian width in pixels such as 1.5 (Wang et al.)")
    for name, k in (("k1", k1), ("k2", k2)):
        number(k, name, lo=0, hi=1, lo_open=True, fix=f"Pass a small positive constant (default {name}=0.01/0.03)")


def _card(metric: str, fn: str, channels: Channels, data_range: float, n: int, size: str, crop: str,
          dtype: torch.dtype, notes: str) -> ProtocolCard:
    space = "RGB (mean over channels)" if channels == "rgb" else "Y' = BT.601 luma 0.299R+0.587G+0.114B (unrounded)"
    notes += f"; computed in {str(dtype).removeprefix('torch.')}"  # not protocol: float32 and float64 agree to ~1e-6
    return ProtocolCard(metric, f"thglib.metrics.pixel.{fn} (torch)", colour_space=space, crop=crop,
                        resize="none" if size == "error" else "generated → reference size if they differ "
                        "(bicubic, cv2.INTER_CUBIC)", data_range=float(data_range), samples=n, notes=notes)


_SSIM_NOTE = "Gaussian window σ={sigma}, {taps}×{taps}, K1={k1}, K2={k2}, population (co)variances"
_CROP = {"crop": "window radius ({r} px) dropped at each border (skimage / Wang's 'valid' filtering)",
         "reflect": "full frame, reflect-padded by the window radius ({r} px) (torchmetrics)"}


def psnr(reference: Frames, generated: Frames, *, data_range: float = 255.0, channels: Channels = "rgb",
         cap_db: float | None = None, length: Literal["error", "truncate"] = "error",
         size: Literal["error", "resize"] = "error", device: str = "auto", batch_size: int | None = None,
         progress: bool | None = None) -> MetricResult:
    """PSNR of each frame pair, ``10 log10(L² / MSE)`` with ``L = data_range``; the value is the mean over frames.

    Identical frames have MSE 0 and PSNR ``+inf``: by default these stay ``inf`` (so does the mean, and
    ``extra["identical_frames"]`` counts them); ``cap_db`` clips every frame's PSNR at that many dB
    instead (stated in the card). Equals ``skimage.metrics.peak_signal_noise_ratio`` per frame.
    """
    from ..runtime import device as pick

    from ..validate import number

    _check_args(channels, data_range=data_range, batch_size=batch_size)
    if cap_db is not None:
        number(cap_db, "cap_db", fix="Pass a finite cap in dB such as 100, or None")
    ref, gen = paired_frames(reference, generated, length=length, size=size)
    per = _per_frame(lambda x, y: psnr_per_image(x, y, data_range), ref, gen, channels, None,
                     pick(device), batch_size, progress, "PSNR")
    identical = int(np.isinf(per).sum())
    if cap_db is not None:
        per = np.minimum(per, cap_db)
    cap = f"per-frame PSNR capped at {cap_db} dB" if cap_db is not None else "identical frames give +inf"
    card = _card("PSNR", "psnr", channels, data_range, len(per), size, "none (full frame)", torch.float64,
                 f"mean of per-frame PSNR; MSE over all pixels and channels; {cap}")
    return MetricResult(float(per.mean()), card, True, per_frame=per, extra={"identical_frames": identical})


def ssim(reference: Frames, generated: Frames, *, channels: Channels = "rgb", border: Border = "crop",
         data_range: float = 255.0, sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03,
         length: Literal["error", "truncate"] = "error", size: Literal["error", "resize"] = "error",
         device: str = "auto", precision: Precision = "auto", batch_size: int | None = None,
         progress: bool | None = None) -> MetricResult:
    """Mean SSIM of each frame pair (Wang et al. 2004); the value is the mean over frames.

    ``border="crop"`` equals ``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=255)``; ``"reflect"`` equals torchmetrics'
    ``structural_similarity_index_measure``. ``precision="auto"``: float64 on CUDA, float32 on CPU.
    """
    from ..runtime import device as pick

    _check_args(channels, border, data_range=data_range, batch_size=batch_size, sigma=sigma, k1=k1, k2=k2)
    ref, gen = paired_frames(reference, generated, length=length, size=size)
    taps = len(gaussian_window(sigma))
    _check_size(ref, taps, f"SSIM with its {taps}×{taps} window")
    dev = pick(device)
    dtype = _dtype(precision, dev)
    per = _per_frame(lambda x, y: ssim_per_image(x, y, data_range, border, sigma=sigma, k1=k1, k2=k2), ref, gen,
                     channels, dtype, dev, batch_size, progress, "SSIM")
    card = _card("SSIM", "ssim", channels, data_range, len(per), size, _CROP[border].format(r=taps // 2), dtype,
                 _SSIM_NOTE.format(sigma=sigma, taps=taps, k1=k1, k2=k2) + "; mean of per-frame SSIM")
    return MetricResult(float(per.mean()), card, True, per_frame=per)


def ms_ssim(reference: Frames, generated: Frames, *, channels: Channels = "rgb", border: Border = "crop",
            data_range: float = 255.0, weights: tuple[float, ...] = MS_SSIM_WEIGHTS, sigma: float = 1.5,
            k1: float = 0.01, k2: float = 0.03, length: Literal["error", "truncate"] = "error",
            size: Literal["error", "resize"] = "error", device: str = "auto", precision: Precision = "auto",
            batch_size: int | None = None, progress: bool | None = None) -> MetricResult:
    """MS-SSIM of each frame pair (Wang et al. 2003; 5 scales, weights :data:`MS_SSIM_WEIGHTS`), mean over frames.

    Frames must keep at least one full window at the coarsest scale: ``min(H, W) >> (J-1) >= 11``
    (``J`` scales), i.e. 176 px for 5 scales.
    ``border="reflect"`` equals torchmetrics' ``multiscale_structural_similarity_index_measure``.
    """
    from ..runtime import device as pick

    _check_args(channels, border, data_range=data_range, batch_size=batch_size, sigma=sigma, k1=k1, k2=k2)
    w = np.asarray(weights, dtype=float) if isinstance(weights, (tuple, list, np.ndarray)) else np.zeros(0)
    if w.ndim != 1 or not 1 <= len(w) <= 6 or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise BadInputError("weights", f"is {weights!r}", "Pass 1 to 6 non-negative scale exponents, e.g. "
                            "MS_SSIM_WEIGHTS")
    ref, gen = paired_frames(reference, generated, length=length, size=size)
    taps, m = len(gaussian_window(sigma)), len(weights)
    _check_size(ref, taps << (m - 1), f"MS-SSIM over {m} scales (an {taps}×{taps} window at the coarsest)")
    dev = pick(device)
    dtype = _dtype(precision, dev)
    fn = lambda x, y: ms_ssim_per_image(x, y, data_range, weights, border, sigma=sigma, k1=k1, k2=k2)  # noqa: E731
    per = _per_frame(fn, ref, gen, channels, dtype, dev, batch_size, progress, "MS-SSIM")
    notes = (_SSIM_NOTE.format(sigma=sigma, taps=taps, k1=k1, k2=k2) + f"; {m} scales, 2×2 average pooling, "
             f"γ={weights}; negative terms clamped to 0; mean of per-frame MS-SSIM")
    crop = _CROP[border].format(r=taps // 2) + (", at every scale" if border == "crop" else
                                                 "; cs terms over the interior (torchmetrics)")
    card = _card("MS-SSIM", "ms_ssim", channels, data_range, len(per), size, crop, dtype, notes)
    return MetricResult(float(per.mean()), card, True, per_frame=per)
