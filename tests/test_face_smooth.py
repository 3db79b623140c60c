"""Box and landmark smoothing reduce jitter without bending the underlying motion."""

from __future__ import annotations

import numpy as np
import pytest

from thglib import face
from thglib.errors import BadInputError

T = 120


def _jitter(x: np.ndarray) -> float:
    """RMS of the second difference along time: large for frame-to-frame noise, ~0 for smooth motion."""
    return float(np.sqrt((np.diff(x, n=2, axis=0) ** 2).mean()))


@pytest.fixture(scope="module")
def track() -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(T)[:, None]
    clean = np.hstack([100 + 20 * np.sin(t / 15), 80 + 10 * np.cos(t / 20), 200 + 20 * np.sin(t / 15),
                       180 + 10 * np.cos(t / 20)])
    noisy = clean + np.random.default_rng(0).normal(0, 3, clean.shape)
    return clean, noisy


def test_wav2lip_box_smoothing_is_a_forward_5_frame_mean(track: tuple) -> None:
    clean, noisy = track
    before = noisy.copy()
    out = face.smooth_boxes(noisy)
    np.testing.assert_array_equal(noisy, before)  # input untouched
    for i in (0, 17, T - 5):  # windows that start at i only hold unsmoothed boxes
        np.testing.assert_allclose(out[i], noisy[i:i + 5].mean(axis=0))
    assert _jitter(out) < 0.4 * _jitter(noisy)
    assert np.abs(out - clean).mean() < np.abs(noisy - clean).mean()


def test_box_smoothing_keeps_constant_boxes_and_short_clips() -> None:
    boxes = np.tile([10.0, 20.0, 110.0, 130.0], (7, 1))
    np.testing.assert_array_equal(face.smooth_boxes(boxes), boxes)
    short = np.array([[0.0, 0, 10, 10], [2.0, 2, 12, 12]])
    # window = whole clip; in place, so the 2nd window already holds the smoothed 1st box
    np.testing.assert_allclose(face.smooth_boxes(short), [[1, 1, 11, 11], [1.5, 1.5, 11.5, 11.5]])


def test_savgol_keeps_a_quadratic_and_removes_noise(track: tuple) -> None:
    t = np.arange(40.0)
    quad = np.stack([0.05 * t**2 - t + 3, 2 * t], axis=1)
    np.testing.assert_allclose(face.savgol_smooth(quad, window=7, polyorder=2), quad, atol=1e-8)
    clean, noisy = track
    assert _jitter(face.savgol_smooth(noisy, window=9)) < 0.3 * _jitter(noisy)


def test_one_euro_removes_jitter_at_rest_and_lags_little_when_moving() -> None:
    rng = np.random.default_rng(1)
    still = 50 + rng.normal(0, 2, (200, 68, 2))
    out = face.one_euro_smooth(still, fps=25, min_cutoff=1.0, beta=0.0)
    assert out[50:].std() < 0.5 * still[50:].std()
    ramp = np.arange(100.0)[:, None] * 4.0  # 100 px/s at 25 fps
    slow = face.one_euro_smooth(ramp, fps=25, min_cutoff=0.5, beta=0.0)
    fast = face.one_euro_smooth(ramp, fps=25, min_cutoff=0.5, beta=0.1)
    lag_slow, lag_fast = (ramp - slow)[-1, 0], (ramp - fast)[-1, 0]
    assert 0 < lag_fast < 0.5 * lag_slow  # the speed term raises the cut-off and cuts the lag


def test_smooth_landmarks_dispatches_and_validates() -> None:
    pts = np.random.default_rng(2).normal(100, 1, (30, 68, 2)).astype(np.float32)
    for method in ("one_euro", "savgol"):
        out = face.smooth_landmarks(pts, method=method)
        assert out.shape == pts.shape and out.dtype == np.float32
        assert _jitter(out) < _jitter(pts)
    with pytest.raises(BadInputError, match="method"):
        face.smooth_landmarks(pts, method="kalman")
    with pytest.raises(BadInputError, match="beta=-1"):
        face.smooth_landmarks(pts, beta=-1)
    bad = pts.copy()
    bad[3, 0, 0] = np.nan
    with pytest.raises(BadInputError, match="interpolate"):
        face.smooth_landmarks(bad)
