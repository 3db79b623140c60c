"""CPBD against the reference ``cpbd`` package (1.0.7) and Canny against scikit-image."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage.feature import canny

from thglib.errors import BadInputError
from thglib.metrics import sharpness
from thglib.samples import moving_portrait, portrait

REFERENCE_TOL = 1e-3  # the contract; the port is measured equal to ~1e-16


@pytest.fixture(scope="module")
def reference():
    """``cpbd.compute``. cpbd/compute.py does ``from scipy.ndimage import imread`` (removed in SciPy 1.2) for
    its command-line entry point only, so that one name is stubbed while the package is imported."""
    import scipy.ndimage

    def imread(*args, **kwargs):
        raise NotImplementedError("scipy.ndimage.imread stub for importing cpbd 1.0.7")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(scipy.ndimage, "imread", imread, raising=False)
        import cpbd
    return cpbd.compute


def gray(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).convert("L"))  # how the reference's CLI reads images


def synthetic() -> dict[str, np.ndarray]:
    """Sharp and blurred synthetic frames: bars, a disc, text and noise on a ramp (grey, 192×256)."""
    y, x = np.mgrid[:192, :256]
    bars = np.where((x // 12) % 2 == 0, 40, 200).astype(np.uint8)
    bars[:, 12::12] = 120  # a one-pixel transition: a perfect step gives a flat 2-px Sobel peak, which
    # the reference's thinning drops (so perfect steps yield no widths at all)
    disc = cv2.circle(np.full((192, 256), 20, np.uint8), (128, 96), 70, 230, -1, cv2.LINE_AA)
    text = np.full((192, 256), 235, np.uint8)
    for i, line in enumerate(["CPBD 2011", "blur 0.63", "Narvekar"]):
        cv2.putText(text, line, (8, 50 + 55 * i), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 30, 3)
    rng = np.random.default_rng(1)
    noisy = np.clip(x * 0.8 + rng.normal(0, 12, x.shape), 0, 255).astype(np.uint8)
    out = {"bars": bars, "disc": disc, "text": text, "noisy ramp": noisy}
    for name in list(out):
        out[f"{name} blurred"] = cv2.GaussianBlur(out[name], (0, 0), 2.0)
    return out


def test_luma_is_pil_l():
    rgb = np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    np.testing.assert_array_equal(sharpness.luma_u8(rgb), gray(rgb))


def test_canny_equals_skimage():
    frames = [gray(f) for f in moving_portrait("grace_hopper", n_frames=2, size=160)]
    frames += [v for k, v in synthetic().items() if "text" in k or "noisy" in k]
    for g in frames:
        ours = sharpness.canny_edges(g[None].astype(np.float64))[0]
        np.testing.assert_array_equal(ours, canny(g.astype(np.float64)))


def test_cpbd_equals_reference_on_portraits(reference):
    clip = moving_portrait("astronaut", n_frames=3, size=256)
    frames = [gray(f) for f in clip] + [gray(portrait("grace_hopper"))[:320, 64:448]]
    frames += [cv2.GaussianBlur(frames[0], (0, 0), s) for s in (1.0, 3.0)]
    ours = np.concatenate([sharpness.cpbd_scores(f) for f in frames])
    expected = np.array([reference(f) for f in frames])
    np.testing.assert_allclose(ours, expected, rtol=0, atol=REFERENCE_TOL)
    assert expected[4] < expected[0] and expected[5] < expected[4]  # blur lowers CPBD...
    assert np.ptp(expected) > 0.3  # ...by a lot, so the comparison is not between similar numbers


def test_cpbd_equals_reference_on_synthetic_frames(reference):
    images = synthetic()
    ours = sharpness.cpbd_scores(np.stack(list(images.values())))  # one batch of 8 frames
    expected = np.array([reference(g) for g in images.values()])
    np.testing.assert_allclose(ours, expected, rtol=0, atol=REFERENCE_TOL)
    for name in images:
        if name.endswith("blurred"):
            continue
        assert expected[list(images).index(name)] > expected[list(images).index(f"{name} blurred")]


def test_reference_quirks_are_kept(reference):
    flat = np.full((128, 128), 90, np.uint8)  # no edges at all
    vertical_ramp = np.repeat(np.linspace(0, 255, 128).astype(np.uint8)[:, None], 128, 1)  # ∂x = 0 everywhere
    steps = np.tile(np.where(np.arange(200) % 20 < 10, 30, 220).astype(np.uint8), (150, 1))  # partial blocks
    for g in (flat, vertical_ramp, steps):
        assert sharpness.cpbd_scores(g)[0] == pytest.approx(reference(g), abs=REFERENCE_TOL)
    # no edges, no horizontal gradient, and perfect steps (flat 2-px Sobel peaks, thinned away) all score 0
    assert sharpness.cpbd_scores(np.stack([flat, vertical_ramp])).tolist() == [0.0, 0.0]
    assert sharpness.cpbd_scores(steps)[0] == 0.0


def test_cpbd_of_a_clip():
    clip = moving_portrait("astronaut", n_frames=6, size=128)
    clip[3] = cv2.GaussianBlur(clip[3], (0, 0), 2.5)
    r = sharpness.cpbd(clip)
    assert r.name == "CPBD" and r.higher_is_better and len(r.per_frame) == 6
    np.testing.assert_array_equal(r.per_frame, sharpness.cpbd_scores(sharpness.luma_u8(clip)))
    assert r.per_frame[3] < 0.5 * np.delete(r.per_frame, 3).min()
    assert r.value == pytest.approx(r.per_frame.mean()) and r.card.samples == 6
    serial = sharpness.cpbd(clip, batch_size=1, workers=1, progress=True)
    np.testing.assert_array_equal(serial.per_frame, r.per_frame)
    assert "BT.601" in r.card.colour_space and "64×64" in r.card.crop


def test_bad_inputs():
    with pytest.raises(BadInputError, match="64×64"):
        sharpness.cpbd(np.zeros((2, 48, 200, 3), np.uint8))
    with pytest.raises(BadInputError, match="uint8"):
        sharpness.cpbd(np.zeros((2, 96, 96, 3), np.float32))
    with pytest.raises(BadInputError, match="grey frames"):
        sharpness.cpbd_scores(np.zeros((1, 2, 96, 96, 3), np.uint8))
