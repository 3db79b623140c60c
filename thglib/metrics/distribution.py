"""Distribution metrics: Fréchet distance (FID), Kernel distance (KID) and the Inception Score (IS).

They compare *sets* of frames through a feature extractor (:mod:`thglib.metrics.extractors`), not
frame pairs: FID {Heusel et al. 2017, arXiv:1706.08500}, KID {Bińkowski et al. 2018,
arXiv:1801.01401}, IS {Salimans et al. 2016, arXiv:1606.03498}. With the default extractor
(pytorch-fid's InceptionV3) they are named FID/KID/IS; with any other embedding the name says so,
e.g. ``FD-dlib128`` for the Fréchet distance between dlib face descriptors.

Each ``real``/``generated`` argument is a frame stack / video path, or an ``(N, D_φ)`` array of
features already computed with the same ``extractor`` (to reuse features across metrics).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..errors import BadInputError
from .card import MetricResult, ProtocolCard
from .extractors import FeatureExtractor, InceptionV3Features, metric_name
from .inputs import Frames, as_frames

__all__ = ["gaussian_stats", "frechet_distance", "frechet_distance_lowrank", "fid", "polynomial_kernel", "mmd2_unbiased",
           "kid_subsets", "kid", "inception_score_from_logits", "inception_score"]


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``μ`` and unbiased covariance ``Σ`` (``np.cov``, rows = samples) of ``(N, D_φ)`` features."""
    from ..validate import finite

    f = finite(features, "features", dtype=np.float64,
               fix="Drop the samples with NaN/inf features (e.g. f[np.isfinite(f).all(1)]) or recompute them")
    if f.ndim != 2 or len(f) < 2:
        raise BadInputError("features", f"expected (N, D) features with N ≥ 2, got shape {f.shape}",
                            "Pass at least two samples per set")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """Squared Fréchet distance FD between N(μ_r, Σ_r) (``mu1``, ``sigma1``) and N(μ_g, Σ_g) (``mu2``, ``sigma2``):

    ``FD = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_rΣ_g)^{1/2})`` (Dowson & Landau 1982; Heusel et al. 2017).

    As in pytorch-fid (``src/pytorch_fid/fid_score.py``): when ``sqrtm(Σ_rΣ_g)`` is not finite
    (near-singular product), retry with ``Σ + εI``; a square root whose diagonal has an imaginary
    part above 1e-3 is an error, a smaller one is numerical noise and is dropped.
    """
    from scipy import linalg

    from ..validate import finite

    mu1, mu2 = (np.atleast_1d(finite(m, n, dtype=np.float64)) for m, n in ((mu1, "mu1"), (mu2, "mu2")))
    sigma1, sigma2 = (np.atleast_2d(finite(c, n, dtype=np.float64)) for c, n in ((sigma1, "sigma1"), (sigma2, "sigma2")))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise BadInputError("mu/sigma", f"inconsistent shapes μ {mu1.shape}, {mu2.shape}; Σ {sigma1.shape}, "
                            f"{sigma2.shape}", "Compute both statistics with the same feature extractor")
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = eps * np.eye(len(mu1))
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise BadInputError("sigma", f"sqrtm(Σ₁Σ₂) has an imaginary component of "
                                f"{np.abs(np.diagonal(covmean).imag).max():.3g} on its diagonal",
                                "Use more samples or a larger eps")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def frechet_distance_lowrank(f1: np.ndarray, f2: np.ndarray) -> float:
    """The same FD, exactly, from the features themselves, in O(N²D_φ) instead of sqrtm's O(D_φ³).

    With the real features ``X_r`` (``f1``) and generated ``X_g`` (``f2``) centred and scaled,
    ``A = (X_r − μ_r)/√(N_r−1)`` and ``B = (X_g − μ_g)/√(N_g−1)`` (rows = samples), ``Σ_r = AᵀA`` and
    ``Σ_g = BᵀB``; the non-zero eigenvalues of ``Σ_rΣ_g`` are the squared singular values of ``ABᵀ``
    (N_r×N_g), so ``Tr(Σ_rΣ_g)^{1/2} = ‖ABᵀ‖_*`` (nuclear norm). Worth it when N < D_φ, where
    ``sqrtm`` of the singular D_φ×D_φ product is slow (minutes for D_φ = 2048 with SciPy ≥ 1.16).
    """
    (mu1, _), (mu2, _) = gaussian_stats(f1), gaussian_stats(f2)  # validates the shapes
    a = (np.asarray(f1, np.float64) - mu1) / np.sqrt(len(f1) - 1)
    b = (np.asarray(f2, np.float64) - mu2) / np.sqrt(len(f2) - 1)
    if a.shape[1] != b.shape[1]:
        raise BadInputError("features", f"dimensions differ: {a.shape[1]} vs {b.shape[1]}",
                            "Compute both sets with the same feature extractor")
    nuclear = np.linalg.svd(a @ b.T, compute_uv=False).sum()
    return float(np.sum((mu1 - mu2) ** 2) + np.sum(a * a) + np.sum(b * b) - 2 * nuclear)


def _features(x: Frames | np.ndarray, extractor: FeatureExtractor, name: str) -> np.ndarray:
    """``(N, D_φ)`` features: ``x`` itself when it already is a 2-D feature array, else ``extractor(frames)``."""
    from ..validate import finite

    if isinstance(x, np.ndarray) and x.ndim == 2:
        if x.shape[1] != extractor.dim:
            raise BadInputError(name, f"features of dimension {x.shape[1]}, but {extractor.name} gives "
                                f"{extractor.dim}", "Pass frames, or features from the same extractor")
        return finite(x, name, dtype=np.float64, fix=f"Drop the rows with NaN/inf ({name}[np.isfinite({name})"
                      ".all(1)]) or recompute the features")
    f = extractor(as_frames(x, name))
    return finite(f, f"{name} (features from {extractor.name})", dtype=np.float64,
                  fix="The extractor returned NaN/inf: check its weights, or pass allow_untrained=False to use trained ones")


def _default_extractor(output: Literal["pool3", "logits"], allow_untrained: bool) -> FeatureExtractor:
    """pytorch-fid's Inception; without its weights the error says how *these* functions take a file."""
    from ..errors import WeightsUnavailable

    try:
        return InceptionV3Features(output, allow_untrained=allow_untrained)
    except WeightsUnavailable as e:
        raise e.for_option("extractor=InceptionV3Features(weights=PATH), or allow_untrained=True for a "
                           "random network that only shows the mechanics") from None


def _card(kind: str, extractor: FeatureExtractor, implementation: str, n: tuple[int, ...], notes: str) -> ProtocolCard:
    return ProtocolCard(
        metric=metric_name(kind, extractor), implementation=implementation,  # type: ignore[arg-type]
        crop=getattr(extractor, "crop", "none (full frame)"), resize=getattr(extractor, "resize", "none"),
        data_range=255.0, extractor=extractor.name, weights=extractor.weights, caveat=extractor.caveat,
        samples=min(n), notes=f"N = {' vs '.join(map(str, n))}. {notes}".strip())


def fid(real: Frames | np.ndarray, generated: Frames | np.ndarray, extractor: FeatureExtractor | None = None,
        *, allow_untrained: bool = False, eps: float = 1e-6,
        method: Literal["auto", "sqrtm", "lowrank"] = "auto") -> MetricResult:
    """Fréchet distance between the feature Gaussians of two frame sets (lower is better).

    Default extractor: :class:`InceptionV3Features` (pool3) → "FID"; any other → e.g. "FD-dlib128".
    ``method="auto"`` uses :func:`frechet_distance` (sqrtm, as pytorch-fid) when both sets have at
    least D_φ samples, else the exact :func:`frechet_distance_lowrank`. ``extra`` holds the mean term
    ``‖μ_r−μ_g‖²`` and the covariance term. FID is biased upwards for small N (Chong & Forsyth 2020):
    compare values only at equal N, ideally N ≥ 10 000.
    """
    if method not in ("auto", "sqrtm", "lowrank"):
        raise BadInputError("method", f"unknown method {method!r}", "Use 'auto', 'sqrtm' or 'lowrank'")
    extractor = extractor or _default_extractor("pool3", allow_untrained)
    f1, f2 = _features(real, extractor, "real"), _features(generated, extractor, "generated")
    (mu1, s1), (mu2, s2) = gaussian_stats(f1), gaussian_stats(f2)
    small = min(len(f1), len(f2)) < extractor.dim
    if method == "lowrank" or (method == "auto" and small):
        value, how = frechet_distance_lowrank(f1, f2), "Trace term by SVD (frechet_distance_lowrank)."
    else:
        value, how = frechet_distance(mu1, s1, mu2, s2, eps), "Trace term by scipy sqrtm (frechet_distance)."
    mean_term = float(np.sum((mu1 - mu2) ** 2))
    if small:
        how += f" N < D_φ = {extractor.dim}: Σ is rank-deficient and the value is strongly biased."
    card = _card("FD", extractor, "thglib fid (= pytorch_fid calculate_frechet_distance)", (len(f1), len(f2)), how)
    return MetricResult(value, card, higher_is_better=False,
                        extra={"mean_term": mean_term, "covariance_term": value - mean_term})


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, coef: float = 1.0) -> np.ndarray:
    """KID's kernel ``k(φ(x), φ(y)) = (φ(x)ᵀφ(y) / D_φ + coef)^degree`` for all feature rows of ``x`` and ``y``."""
    return (x @ y.T / x.shape[1] + coef) ** degree


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, degree: int = 3, coef: float = 1.0) -> float:
    """Unbiased MMD² (Gretton et al. 2012, Lemma 6) with :func:`polynomial_kernel`:

    ``Σ_{i≠j} k(φ(x_i),φ(x_j))/(N_r(N_r−1)) + Σ_{i≠j} k(φ(x̂_i),φ(x̂_j))/(N_g(N_g−1))
    − 2 Σ_{i,j} k(φ(x_i),φ(x̂_j))/(N_r N_g)``, with the N_r real features φ(x_i) the rows of ``x`` and
    the N_g generated φ(x̂_j) those of ``y``.
    """
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise BadInputError("features", f"need at least 2 samples per set, got {m} and {n}")
    kxx, kyy = polynomial_kernel(x, x, degree, coef), polynomial_kernel(y, y, degree, coef)
    kxy = polynomial_kernel(x, y, degree, coef)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.sum() / (m * n))


def kid_subsets(f_real: np.ndarray, f_gen: np.ndarray, subsets: int = 100, subset_size: int = 1000,
                seed: int = 0) -> np.ndarray:
    """Unbiased MMD² on ``subsets`` random subsets (without replacement) of each set.

    The KID paper's protocol (reference code ``polynomial_mmd_averages``; torchmetrics ``KernelInceptionDistance``):
    each subset draws ``subset_size`` rows of each set; the KID is the mean over subsets.
    """
    from ..validate import count

    count(subsets, "subsets", hi=100000)
    count(subset_size, "subset_size", lo=2)
    if subset_size > min(len(f_real), len(f_gen)):
        raise BadInputError("subset_size", f"{subset_size} > the smaller set ({min(len(f_real), len(f_gen))})",
                            "Use a smaller subset_size or more samples")
    rng = np.random.default_rng(seed)
    return np.array([mmd2_unbiased(f_real[rng.choice(len(f_real), subset_size, replace=False)],
                                   f_gen[rng.choice(len(f_gen), subset_size, replace=False)])
                     for _ in range(subsets)])


def kid(real: Frames | np.ndarray, generated: Frames | np.ndarray, extractor: FeatureExtractor | None = None,
        *, subsets: int = 100, subset_size: int = 1000, seed: int = 0, allow_untrained: bool = False) -> MetricResult:
    """Kernel (Inception) Distance: mean unbiased MMD² over random subsets (lower is better).

    ``subset_size`` is reduced to the smaller set's size when needed (noted in the card); unbiased
    means its expectation does not depend on N, unlike FID's (it can be slightly negative).
    ``extra["std"]`` is the standard deviation over subsets.
    """
    extractor = extractor or _default_extractor("pool3", allow_untrained)
    f1, f2 = _features(real, extractor, "real"), _features(generated, extractor, "generated")
    size = min(subset_size, len(f1), len(f2))
    values = kid_subsets(f1, f2, subsets, size, seed)
    notes = f"{subsets} subsets of {size} (seed {seed}), kernel (xᵀy/d + 1)³."
    card = _card("KD", extractor, "thglib mmd2_unbiased (numpy; = torchmetrics poly_mmd)", (len(f1), len(f2)), notes)
    return MetricResult(float(values.mean()), card, higher_is_better=False,
                        extra={"std": float(values.std()), "subset_values": values, "subset_size": size})


def inception_score_from_logits(logits: np.ndarray, splits: int = 10) -> np.ndarray:
    """Per-split Inception Scores ``exp(E_x KL(p(k|x) ‖ p(k)))`` from ``(N, n_c)`` class logits.

    Splits are consecutive blocks ``[i·N//splits, (i+1)·N//splits)`` (no shuffling), as in the
    original code (openai/improved-gan ``inception_score/model.py``); ``p(k)`` is each split's mean.
    """
    from scipy.special import log_softmax

    from ..validate import count, finite

    logits = finite(logits, "logits", dtype=np.float64)
    count(splits, "splits")
    if logits.ndim != 2 or not 1 <= splits <= len(logits):
        raise BadInputError("logits", f"need (N, C) logits with N ≥ splits = {splits}, got {logits.shape}",
                            "Use fewer splits or more samples")
    logp = log_softmax(logits, axis=1)
    scores = []
    for k in range(splits):
        part = logp[k * len(logp) // splits:(k + 1) * len(logp) // splits]
        log_py = np.log(np.exp(part).mean(axis=0))
        scores.append(np.exp((np.exp(part) * (part - log_py)).sum(axis=1).mean()))
    return np.array(scores)


def inception_score(frames: Frames | np.ndarray, extractor: FeatureExtractor | None = None, *,
                    splits: int = 10, allow_untrained: bool = False) -> MetricResult:
    """Inception Score of one frame set (higher is better; range [1, n_c]); ``extra["std"]`` over splits.

    The extractor must return class logits: default :class:`InceptionV3Features` ``("logits")``,
    the 1008-way head of the same TF-FID Inception network.
    """
    extractor = extractor or _default_extractor("logits", allow_untrained)
    if getattr(extractor, "output", "logits") != "logits":
        raise BadInputError("extractor", f"{extractor.name} does not return class logits",
                            "Use InceptionV3Features('logits')")
    logits = _features(frames, extractor, "frames")
    scores = inception_score_from_logits(logits, splits)
    card = _card("IS", extractor, "thglib inception_score_from_logits (numpy, improved-gan splits)",
                 (len(logits),), f"{splits} splits, no shuffling; std with ddof=0.")
    extra: dict[str, Any] = {"std": float(scores.std()), "split_scores": scores}
    return MetricResult(float(scores.mean()), card, higher_is_better=True, extra=extra)
