"""FID / KID / IS: own implementations vs. pytorch-fid, torchmetrics and independent numpy formulas."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
import scipy.linalg
import torch
from pytorch_fid.fid_score import calculate_frechet_distance
from scipy.special import rel_entr, softmax
from torchmetrics.image.fid import _compute_fid
from torchmetrics.image.inception import InceptionScore
from torchmetrics.image.kid import KernelInceptionDistance, poly_mmd

from thglib.errors import BadInputError, WeightsUnavailable
from thglib.metrics import distribution as D
from thglib.metrics.extractors import (UNTRAINED_CAVEAT, DlibFaceFeatures, InceptionV3Features,
                                       _fid_inception_source, metric_name)
from thglib.samples import portrait

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


def feature_sets(n1: int, n2: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two correlated Gaussian feature sets with different means and covariances."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d)) * 0.5
    return rng.normal(size=(n1, d)) @ a, rng.normal(size=(n2, d)) @ (a + b) + 0.3


def independent_fd(f1: np.ndarray, f2: np.ndarray) -> float:
    """d² with the symmetric form Tr((Σ₁^½ Σ₂ Σ₁^½)^½), square roots by eigendecomposition."""
    def psd_sqrt(s):
        w, v = np.linalg.eigh(s)
        return (v * np.sqrt(np.clip(w, 0, None))) @ v.T

    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    r = psd_sqrt(s1)
    mid = np.linalg.eigvalsh(r @ s2 @ r)
    return float(np.sum((f1.mean(0) - f2.mean(0)) ** 2) + np.trace(s1) + np.trace(s2)
                 - 2 * np.sqrt(np.clip(mid, 0, None)).sum())


@pytest.mark.parametrize("n1,n2,d", [(300, 250, 16), (40, 30, 64)])  # full rank; N < D (rank-deficient)
def test_frechet_distance_equals_pytorch_fid_torchmetrics_and_numpy(n1, n2, d):
    f1, f2 = feature_sets(n1, n2, d)
    (m1, s1), (m2, s2) = D.gaussian_stats(f1), D.gaussian_stats(f2)
    ours = D.frechet_distance(m1, s1, m2, s2)
    ref = calculate_frechet_distance(m1, s1, m2, s2)
    assert abs(ours - ref) <= 1e-6 * max(1.0, abs(ref))
    tm = _compute_fid(*(torch.from_numpy(x) for x in (m1, s1, m2, s2))).item()
    assert ours == pytest.approx(tm, rel=1e-6)
    assert ours == pytest.approx(independent_fd(f1, f2), rel=1e-6)
    assert D.frechet_distance(m1, s1, m1, s1) == pytest.approx(0, abs=1e-6 * np.trace(s1))


@pytest.mark.parametrize("n1,n2,d", [(300, 250, 16), (40, 30, 64), (5, 9, 300)])
def test_lowrank_form_is_exact(n1, n2, d):
    f1, f2 = feature_sets(n1, n2, d, seed=8)
    ref = calculate_frechet_distance(*D.gaussian_stats(f1), *D.gaussian_stats(f2))
    assert D.frechet_distance_lowrank(f1, f2) == pytest.approx(ref, rel=1e-6)
    ex = ToyFeatures(d)
    auto, sq = D.fid(f1, f2, ex), D.fid(f1, f2, ex, method="sqrtm")
    assert auto.value == pytest.approx(sq.value, rel=1e-6)
    assert ("lowrank" in auto.card.notes) == (min(n1, n2) < d) and "sqrtm" in sq.card.notes
    auto.check_comparable(sq)  # the method is not part of the protocol: both give the same value
    with pytest.raises(BadInputError, match="method"):
        D.fid(f1, f2, ex, method="eig")


def test_eps_retry_matches_pytorch_fid_when_sqrtm_fails(monkeypatch):
    f1, f2 = feature_sets(100, 100, 8)
    (m1, s1), (m2, s2) = D.gaussian_stats(f1), D.gaussian_stats(f2)
    real_sqrtm = scipy.linalg.sqrtm
    calls = []

    def flaky(a, *args, **kwargs):  # the unregularised product "fails", as a near-singular one can
        calls.append(a)
        out = np.full_like(a, np.nan) if np.allclose(a, s1 @ s2) else real_sqrtm(a)
        return (out, 0.0) if kwargs.get("disp") is False else out

    monkeypatch.setattr(scipy.linalg, "sqrtm", flaky)
    ours = D.frechet_distance(m1, s1, m2, s2, eps=1e-3)
    ref = calculate_frechet_distance(m1, s1, m2, s2, eps=1e-3)
    assert len(calls) == 4 and np.isfinite(ours)
    assert abs(ours - ref) <= 1e-6 * abs(ref)
    monkeypatch.setattr(scipy.linalg, "sqrtm", real_sqrtm)
    assert abs(ours - D.frechet_distance(m1, s1, m2, s2)) > 1e-9  # the offset changed the value


def test_large_imaginary_part_is_an_error_like_pytorch_fid():
    mu, s1, s2 = np.zeros(2), np.diag([1.0, -1.0]), np.eye(2)  # sqrtm(diag(1, -1)) has imaginary diagonal
    with pytest.raises(ValueError):
        calculate_frechet_distance(mu, s1, mu, s2)
    with pytest.raises(BadInputError, match="imaginary"):
        D.frechet_distance(mu, s1, mu, s2)
    with pytest.raises(BadInputError, match="shapes"):
        D.frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))


def brute_force_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    k = lambda a, b: (a @ b / len(a) + 1.0) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    xy = sum(k(a, b) for a in x for b in y) / (m * n)
    return xx + yy - 2 * xy


def test_mmd2_unbiased_equals_brute_force_and_torchmetrics():
    x, y = feature_sets(7, 9, 5, seed=1)
    assert D.mmd2_unbiased(x, y) == pytest.approx(brute_force_mmd2(x, y), rel=1e-10)
    x, y = feature_sets(12, 12, 5, seed=2)
    tm = poly_mmd(torch.from_numpy(x), torch.from_numpy(y)).item()
    assert D.mmd2_unbiased(x, y) == pytest.approx(tm, rel=1e-10)


def test_kid_equals_torchmetrics_with_full_subsets():
    x, y = feature_sets(20, 20, 6, seed=3)
    metric = KernelInceptionDistance(feature=torch.nn.Identity(), subsets=3, subset_size=20)
    metric.update(torch.from_numpy(x), real=True)
    metric.update(torch.from_numpy(y), real=False)
    tm_mean, _ = metric.compute()
    res = D.kid(x, y, ToyFeatures(6), subsets=3, subset_size=20)
    assert res.value == pytest.approx(tm_mean.item(), rel=1e-10)
    assert res.name == "KD-toy" and res.extra["std"] == pytest.approx(0, abs=1e-12)


def test_kid_subsets_are_unbiased_and_fid_is_not():
    rng = np.random.default_rng(4)
    pool_a, pool_b = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))  # one distribution
    fids = [D.fid(pool_a[:n], pool_b[:n], ToyFeatures(8)).value for n in (20, 200, 2000)]
    assert fids[0] > fids[1] > fids[2] > 0  # FID's positive bias shrinks with N
    kids = D.kid_subsets(pool_a, pool_b, subsets=200, subset_size=20, seed=0)
    assert abs(kids.mean()) < 3 * kids.std() / np.sqrt(len(kids))  # KID: zero in expectation


def independent_is(logits: np.ndarray, splits: int) -> list[float]:
    p = softmax(logits, axis=1)
    out = []
    for part in np.split(p, splits):
        out.append(np.exp(np.mean([rel_entr(row, part.mean(0)).sum() for row in part])))
    return out


def test_inception_score_equals_numpy_and_torchmetrics():
    logits = np.random.default_rng(5).normal(size=(60, 12)) * 3
    ours = D.inception_score_from_logits(logits, splits=10)
    np.testing.assert_allclose(ours, independent_is(logits, 10), rtol=1e-10)
    metric = InceptionScore(feature=torch.nn.Identity(), splits=10)
    metric.update(torch.from_numpy(logits))
    torch.manual_seed(0)
    perm = torch.randperm(60).numpy()  # torchmetrics shuffles before splitting: replay its permutation
    torch.manual_seed(0)
    tm_mean, tm_std = metric.compute()
    shuffled = D.inception_score_from_logits(logits[perm], splits=10)
    assert shuffled.mean() == pytest.approx(tm_mean.item(), rel=1e-6)
    assert shuffled.std(ddof=1) == pytest.approx(tm_std.item(), rel=1e-5)


def test_inception_score_limits():
    assert D.inception_score_from_logits(np.zeros((20, 7)), splits=2) == pytest.approx([1.0, 1.0])
    one_hot = np.tile(np.eye(5) * 50.0, (4, 1))  # each split: every class once, confidently
    np.testing.assert_allclose(D.inception_score_from_logits(one_hot, splits=4), 5.0, rtol=1e-6)
    with pytest.raises(BadInputError, match="splits"):
        D.inception_score_from_logits(np.zeros((5, 3)), splits=10)


class ToyFeatures:
    """A pluggable extractor: identity on (N, D) features, 8×8 grey thumbnails for frames."""

    short, caveat, weights = "toy", "", "none"

    def __init__(self, dim: int) -> None:
        self.dim, self.name = dim, f"toy {dim}-D"

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        grey = frames.mean(axis=-1)
        return np.stack([cv2.resize(g, (8, 8), interpolation=cv2.INTER_AREA).ravel() for g in grey])[:, :self.dim]


def test_fid_takes_frames_or_features_through_a_pluggable_extractor():
    rng = np.random.default_rng(6)
    frames = rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8)
    other = np.clip(frames * 0.5 + 60, 0, 255).astype(np.uint8)
    ex = ToyFeatures(64)
    a, b = D.fid(frames, other, ex), D.fid(ex(frames), ex(other), ex)
    assert a.value == pytest.approx(b.value, rel=1e-12) and a.name == "FD-toy" and "FID" not in a.name
    assert a.extra["mean_term"] + a.extra["covariance_term"] == pytest.approx(a.value)
    assert a.card.samples == 30 and "N < D" in a.card.notes
    with pytest.raises(BadInputError, match="dimension"):
        D.fid(ex(frames)[:, :10], ex(other), ex)


@pytest.fixture(scope="module")
def inception_untrained() -> InceptionV3Features:
    return InceptionV3Features("pool3", allow_untrained=True, seed=0, batch_size=4)


def test_inception_extractor_offline_needs_explicit_untrained(tmp_path, monkeypatch, inception_untrained):
    monkeypatch.setenv("THG_HOME", str(tmp_path))
    monkeypatch.setenv("THG_OFFLINE", "1")
    with pytest.raises(WeightsUnavailable, match="pt_inception-2015-12-05-6726825d.pth"):
        InceptionV3Features()
    frames = np.stack([cv2.resize(portrait("astronaut"), (64, 64)), np.zeros((64, 64, 3), np.uint8)])
    feats = inception_untrained(frames)
    assert feats.shape == (2, 2048) and feats.dtype == np.float64
    assert np.std(feats[0]) > 1e-2, "He-initialised features must not vanish"
    assert np.abs(feats[0] - feats[1]).max() > 1e-3
    res = D.kid(feats, feats[::-1] + 0.01, inception_untrained)  # (a 2048-D FID costs a slow sqrtm)
    assert res.name == "KID (untrained)" and res.card.caveat == UNTRAINED_CAVEAT and "untrained" in res.card.weights
    assert metric_name("FD", inception_untrained) == "FID (untrained)"
    head = InceptionV3Features("logits", allow_untrained=True, seed=0)
    logits = head(frames[:1])
    with torch.no_grad():
        expected = inception_untrained._fc(torch.from_numpy(feats[:1]).float()).double().numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-4)
    is_res = D.inception_score(logits, head, splits=1)
    assert is_res.name == "IS (untrained)" and is_res.card.caveat == UNTRAINED_CAVEAT and is_res.value >= 1.0
    with pytest.raises(BadInputError, match="logits"):
        D.inception_score(feats, inception_untrained)


def test_pytorch_fid_network_is_built_from_the_given_state_dict():
    import pytorch_fid.inception as pfi

    torch.manual_seed(1)
    with _fid_inception_source(None) as built:
        pfi.InceptionV3([3])
    state = {k: v.clone() + 1 for k, v in built["net"].state_dict().items()}  # differs from any init
    with _fid_inception_source(state) as built2:
        model = pfi.InceptionV3([3])
    assert all(torch.equal(v, state[k]) for k, v in built2["net"].state_dict().items())
    assert torch.equal(model.blocks[3][1].branch1x1.conv.weight, state["Mixed_7b.branch1x1.conv.weight"])
    assert torch.equal(built2["net"].fc.weight, state["fc.weight"])


def test_fd_in_dlib_face_space_is_named_as_such(portrait_faces):
    rng = np.random.default_rng(7)
    base = portrait_faces

    def noisy(img, k):
        return np.stack([np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8) for _ in range(k)])

    ex = DlibFaceFeatures()
    a1, a2, g = ex(noisy(base["astronaut"], 3)), ex(noisy(base["astronaut"], 3)), ex(noisy(base["grace_hopper"], 3))
    same, diff = D.fid(a1, a2, ex), D.fid(a1, g, ex)
    assert same.name == "FD-dlib128" and "dlib" in same.card.extractor and "sha256:" in same.card.weights
    assert diff.value > 10 * same.value
    with pytest.raises(Exception, match="no face"):
        ex(np.zeros((1, 64, 64, 3), np.uint8))
    skip = DlibFaceFeatures(on_missing="skip")
    assert skip(np.stack([base["astronaut"], np.zeros_like(base["astronaut"])])).shape == (1, 128)
    assert skip.missing == [1]
