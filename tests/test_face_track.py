"""Landmarks over a clip: tracking between detections, and the no-face policies."""

from __future__ import annotations

import numpy as np
import pytest

from thglib import face
from thglib.errors import BadInputError, NoFaceError
from thglib.samples import moving_portrait

N = 24
BLANK = 7


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return moving_portrait("grace_hopper", n_frames=N, size=256, period=24)


@pytest.fixture(scope="module")
def per_frame(clip: np.ndarray) -> face.LandmarkTrack:
    return face.landmarks_video(clip, every=1)


@pytest.fixture(scope="module")
def with_blank(clip: np.ndarray) -> np.ndarray:
    frames = clip.copy()
    frames[BLANK] = 90
    return frames


def test_per_frame_detection_detects_every_frame(per_frame: face.LandmarkTrack) -> None:
    assert len(per_frame) == N and per_frame.n_frames == N
    assert per_frame.detected.all() and per_frame.missing == ()
    assert per_frame.points.shape == (N, 68, 2) and per_frame.boxes.shape == (N, 4)
    assert per_frame.backend == "dlib" and per_frame.detector == "dlib-hog"


def test_tracking_stays_close_to_per_frame_detection(clip: np.ndarray, per_frame: face.LandmarkTrack) -> None:
    tracked = face.landmarks_video(iter(list(clip)), every=8)  # any iterable of frames
    np.testing.assert_array_equal(np.nonzero(tracked.detected)[0], [0, 8, 16])
    width = float(np.mean(per_frame.boxes[:, 2] - per_frame.boxes[:, 0]))
    err = np.linalg.norm(tracked.points - per_frame.points, axis=2)  # (N, 68) pixels
    assert err.mean() < 0.04 * width
    assert np.median(err, axis=1).max() < 0.08 * width
    # the face moves by many pixels over the clip, so a frozen track could not pass the test above
    centre = per_frame.points.mean(axis=1)
    assert np.linalg.norm(centre - centre[0], axis=1).max() > 0.3 * width


def test_blank_frame_raises_with_its_index(with_blank: np.ndarray) -> None:
    with pytest.raises(NoFaceError, match=f"frame {BLANK}") as info:
        face.landmarks_video(with_blank, every=1, source="clip.mp4")
    assert info.value.frame == BLANK and "clip.mp4" in str(info.value)


def test_skip_drops_the_faceless_frame(with_blank: np.ndarray, per_frame: face.LandmarkTrack) -> None:
    tr = face.landmarks_video(with_blank, every=1, policy="skip")
    assert tr.missing == (BLANK,) and len(tr) == N - 1 and BLANK not in tr.frames
    keep = np.array([i for i in range(N) if i != BLANK])
    np.testing.assert_array_equal(tr.points, per_frame.points[keep])


def test_interpolate_fills_the_faceless_frame(with_blank: np.ndarray, per_frame: face.LandmarkTrack) -> None:
    tr = face.landmarks_video(with_blank, every=1, policy="interpolate")
    assert tr.missing == (BLANK,) and len(tr) == N
    np.testing.assert_array_equal(tr.frames, np.arange(N))
    assert not tr.detected[BLANK] and tr.detected.sum() == N - 1
    mid = (per_frame.points[BLANK - 1] + per_frame.points[BLANK + 1]) / 2
    np.testing.assert_allclose(tr.points[BLANK], mid, atol=1e-4)


def test_faceless_first_frame_then_tracking_starts_later(clip: np.ndarray) -> None:
    frames = clip[:6].copy()
    frames[0] = 0
    tr = face.landmarks_video(frames, every=4, policy="skip")
    assert tr.missing == (0,)
    np.testing.assert_array_equal(tr.frames, [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(tr.detected, [True, False, False, False, True])


def test_bad_arguments(clip: np.ndarray) -> None:
    with pytest.raises(BadInputError, match="every"):
        face.landmarks_video(clip[:2], every=0)
    with pytest.raises(BadInputError, match="policy"):
        face.landmarks_video(clip[:2], policy="ignore")
    with pytest.raises(BadInputError, match="no frames"):
        face.landmarks_video([])
    with pytest.raises(NoFaceError):
        face.landmarks_video(np.zeros((3, 64, 64, 3), np.uint8), policy="interpolate")
    with pytest.raises(BadInputError, match="frame 1"):
        face.landmarks_video([clip[0], clip[1][:, :, 0:2]])


def test_follow_box_moves_and_scales_with_the_points() -> None:
    rng = np.random.default_rng(1)
    ref_pts = rng.uniform(100, 200, size=(68, 2))
    ref_box = face.FaceBox(90, 80, 210, 220)
    moved = 1.5 * (ref_pts - 150) + 150 + np.array([12.0, -7.0])  # zoom 1.5 about (150, 150), then shift
    box = face.tracking.follow_box(ref_box, ref_pts, moved)
    assert box.width == pytest.approx(1.5 * ref_box.width) and box.height == pytest.approx(1.5 * ref_box.height)
    expect = 1.5 * (np.array(ref_box.center) - 150) + 150 + np.array([12.0, -7.0])
    np.testing.assert_allclose(box.center, expect)
    assert box.backend == "track"
