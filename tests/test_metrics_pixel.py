"""PSNR, SSIM and MS-SSIM against scikit-image and torchmetrics, plus edge cases."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from torchmetrics.functional.image import (
    multiscale_structural_similarity_index_measure,
    structural_similarity_index_measure,
)

from thglib.errors import BadInputError
from thglib.metrics import pixel
from thglib.samples import moving_portrait

SKIMAGE_TOL = 1e-5  # float32 on CPU: measured ~6e-7
TORCHMETRICS_TOL = 1e-4
MS_SSIM_TOL = 1e-5  # same algorithm and conventions; only float32 rounding of the moments differs
FLOAT64_TOL = 1e-9


def degrade(frames: np.ndarray) -> np.ndarray:
    """A mix of noise, blur and JPEG across frames, so SSIM values spread from ~0.3 to ~0.95."""
    rng = np.random.default_rng(0)
    out = []
    for i, f in enumerate(frames):
        kind = i % 3
        if kind == 0:
            g = np.clip(f + rng.normal(0, 4 + 6 * i, f.shape), 0, 255).astype(np.uint8)
        elif kind == 1:
            g = cv2.GaussianBlur(f, (0, 0), 0.7 + 0.4 * i)
        else:
            g = cv2.imdecode(cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 10 + 5 * i])[1], cv2.IMREAD_UNCHANGED)
        out.append(g)
    return np.stack(out)


@pytest.fixture(scope="module")
def clip() -> tuple[np.ndarray, np.ndarray]:
    ref = moving_portrait("astronaut", n_frames=6, size=192)
    return ref, degrade(ref)


def luma(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float64) @ np.array(pixel.BT601)


def sk_ssim(a: np.ndarray, b: np.ndarray, rgb: bool) -> float:
    return structural_similarity(a, b, channel_axis=2 if rgb else None, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=255)


def nchw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2))).double()


def test_psnr_equals_skimage(clip):
    ref, gen = clip
    rgb = pixel.psnr(ref, gen)
    expected = [peak_signal_noise_ratio(a, b, data_range=255) for a, b in zip(ref, gen)]
    np.testing.assert_allclose(rgb.per_frame, expected, rtol=0, atol=SKIMAGE_TOL)
    assert rgb.value == pytest.approx(np.mean(expected)) and rgb.higher_is_better
    gray = pixel.psnr(ref, gen, channels="gray")
    expected = [peak_signal_noise_ratio(luma(a), luma(b), data_range=255) for a, b in zip(ref, gen)]
    np.testing.assert_allclose(gray.per_frame, expected, rtol=0, atol=SKIMAGE_TOL)
    unit = pixel.psnr(ref, gen, data_range=1.0)  # PSNR_L = PSNR_255 + 20 log10(L / 255)
    np.testing.assert_allclose(unit.per_frame, rgb.per_frame - 20 * np.log10(255), atol=1e-9)
    assert unit.card.data_range == 1.0 and rgb.card.data_range == 255.0


@pytest.mark.parametrize("channels", ["rgb", "gray"])
def test_ssim_equals_skimage(clip, channels):
    ref, gen = clip
    rgb = channels == "rgb"
    expected = [sk_ssim(a, b, True) if rgb else sk_ssim(luma(a), luma(b), False) for a, b in zip(ref, gen)]
    assert np.ptp(expected) > 0.2  # the degradations really differ
    fast = pixel.ssim(ref, gen, channels=channels)
    np.testing.assert_allclose(fast.per_frame, expected, rtol=0, atol=SKIMAGE_TOL)
    exact = pixel.ssim(ref[:2], gen[:2], channels=channels, precision="float64")  # float64 convs are slow on CPU
    np.testing.assert_allclose(exact.per_frame, expected[:2], rtol=0, atol=FLOAT64_TOL)
    assert "skimage" in fast.card.crop and fast.card.protocol() == exact.card.protocol()


def test_ssim_border_conventions_match_torchmetrics(clip):
    ref, gen = clip
    tm = structural_similarity_index_measure(nchw(gen), nchw(ref), data_range=255.0, reduction="none").numpy()
    reflect = pixel.ssim(ref, gen, border="reflect")
    np.testing.assert_allclose(reflect.per_frame, tm, rtol=0, atol=TORCHMETRICS_TOL)
    np.testing.assert_allclose(pixel.ssim(ref[:2], gen[:2], border="reflect", precision="float64").per_frame,
                               tm[:2], rtol=0, atol=FLOAT64_TOL)
    # skimage's cropping and torchmetrics' reflect padding give visibly different numbers
    assert np.abs(pixel.ssim(ref, gen).per_frame - tm).max() > 10 * TORCHMETRICS_TOL
    assert reflect.card.crop != pixel.ssim(ref, gen).card.crop


def test_ms_ssim_equals_torchmetrics(clip):
    ref, gen = clip[0][:3], clip[1][:3]  # torchmetrics' float64 11×11 convolutions are slow on CPU
    tm = multiscale_structural_similarity_index_measure(nchw(gen), nchw(ref), data_range=255.0,
                                                        reduction="none").numpy()
    np.testing.assert_allclose(pixel.ms_ssim(ref, gen, border="reflect").per_frame, tm, rtol=0, atol=MS_SSIM_TOL)
    np.testing.assert_allclose(pixel.ms_ssim(ref[:2], gen[:2], border="reflect", precision="float64").per_frame,
                               tm[:2], rtol=0, atol=FLOAT64_TOL)


def test_ms_ssim_crop_from_references(clip):
    """With border='crop' only the last scale's SSIM changes: skimage's instead of torchmetrics'."""
    ref, gen = clip[0][:3], clip[1][:3]
    tm = multiscale_structural_similarity_index_measure(nchw(gen), nchw(ref), data_range=255.0,
                                                        reduction="none").numpy()

    def coarsest(a: np.ndarray) -> np.ndarray:  # four 2×2 average poolings
        x = a.astype(np.float64)
        for _ in range(4):
            x = 0.25 * (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2])
        return x

    small_ref, small_gen = coarsest(ref), coarsest(gen)
    sk = np.array([sk_ssim(a, b, True) for a, b in zip(small_gen, small_ref)])
    tm_last = structural_similarity_index_measure(nchw(small_gen), nchw(small_ref), data_range=255.0,
                                                  reduction="none").numpy()
    expected = tm * (np.maximum(sk, 0) / np.maximum(tm_last, 0)) ** pixel.MS_SSIM_WEIGHTS[-1]
    got = pixel.ms_ssim(ref, gen)
    np.testing.assert_allclose(got.per_frame, expected, rtol=0, atol=MS_SSIM_TOL)
    one_scale = pixel.ms_ssim(ref[:1], gen[:1], weights=(1.0,), precision="float64")  # M = 1 is plain SSIM
    np.testing.assert_allclose(one_scale.per_frame, [sk_ssim(ref[0], gen[0], True)], atol=FLOAT64_TOL)


def test_identical_inputs(clip):
    ref, _ = clip
    same = pixel.psnr(ref, ref)
    assert np.isinf(same.value) and np.isinf(same.per_frame).all() and same.extra["identical_frames"] == len(ref)
    assert "+inf" in same.card.notes
    partly = ref.copy()
    partly[0, 0, 0, 0] ^= 1  # one frame differs by one grey level in one pixel
    capped = pixel.psnr(ref, partly, cap_db=100.0)
    assert capped.per_frame[1:].tolist() == [100.0] * (len(ref) - 1) and capped.per_frame[0] < 100.0
    assert capped.extra["identical_frames"] == len(ref) - 1 and "capped at 100.0 dB" in capped.card.notes
    assert pixel.ssim(ref, ref).per_frame == pytest.approx(1.0, abs=1e-6)
    assert pixel.ms_ssim(ref, ref).per_frame == pytest.approx(1.0, abs=1e-6)


def test_bad_inputs():
    a = np.zeros((2, 64, 64, 3), np.uint8)
    for fn in (pixel.psnr, pixel.ssim):
        with pytest.raises(BadInputError, match="frame size"):
            fn(a, np.zeros((2, 64, 48, 3), np.uint8))
        with pytest.raises(BadInputError, match="frames vs"):
            fn(a, a[:1])
    tiny = np.zeros((1, 8, 8, 3), np.uint8)
    with pytest.raises(BadInputError, match=r"too small for SSIM .* 11×11"):
        pixel.ssim(tiny, tiny)
    with pytest.raises(BadInputError, match=r"MS-SSIM .* at least 176×176"):
        pixel.ms_ssim(a, a)
    with pytest.raises(BadInputError, match="channels"):
        pixel.ssim(a, a, channels="yuv")
    with pytest.raises(BadInputError, match="border"):
        pixel.ssim(a, a, border="same")


def test_chunking_and_resize_policy(clip):
    ref, gen = clip
    whole = pixel.ssim(ref, gen)
    one_by_one = pixel.ssim(ref, gen, batch_size=1, progress=True)
    np.testing.assert_allclose(one_by_one.per_frame, whole.per_frame, atol=1e-6)
    small = np.stack([cv2.resize(f, (96, 96), interpolation=cv2.INTER_AREA) for f in gen])
    resized = pixel.psnr(ref, small, size="resize")
    assert len(resized.per_frame) == len(ref) and "bicubic" in resized.card.resize
    assert not resized.card.protocol() == pixel.psnr(ref, gen).card.protocol()


def test_tensor_ssim_is_differentiable(clip):
    ref, gen = clip
    x = pixel._to_tensor(ref[:1], "rgb", torch.float32, "cpu")
    y = pixel._to_tensor(gen[:1], "rgb", torch.float32, "cpu").requires_grad_(True)
    loss = (1 - pixel.ssim_per_image(x, y)).sum() + (1 - pixel.ms_ssim_per_image(x, y)).sum()
    loss.backward()
    assert y.grad is not None and torch.isfinite(y.grad).all() and y.grad.abs().sum() > 0


@pytest.mark.gpu  # deselected by default; on a GPU machine: pytest -m gpu
def test_cuda_matches_skimage(clip):
    ref, gen = clip
    expected = [sk_ssim(a, b, True) for a, b in zip(ref, gen)]
    np.testing.assert_allclose(pixel.ssim(ref, gen, device="cuda").per_frame, expected, atol=FLOAT64_TOL)
    np.testing.assert_allclose(pixel.ssim(ref, gen, device="cuda", precision="float32").per_frame, expected,
                               atol=SKIMAGE_TOL)
