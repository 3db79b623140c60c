"""Head pose (thglib.face.pose), diversity and the Beat Align Score (thglib.metrics.motion)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from thglib import synth
from thglib.errors import BadInputError, WeightsUnavailable
from thglib.face.pose import (GENERIC_FACE_3D, PNP_LANDMARKS, HeadPose, camera_matrix, hopenet_box, hopenet_pose,
                              pose_from_landmarks)
from thglib.metrics.motion import (HEAD_POINTS, beat_align, beat_align_chance, beat_align_score, diversity,
                                   kinematic_beats, motion_speed)
from thglib.models import Hopenet, hopenet_preprocess, pose_degrees

RIGID = list(HEAD_POINTS)  # points that move with the head only


# ----------------------------------------------------------------------------- head pose
def _projected(yaw: float, pitch: float, roll: float, size: int = 256) -> np.ndarray:
    """68 landmarks whose PnP points are the generic face seen at a known pose (others: zeros)."""
    import cv2

    rot = Rotation.from_euler("ZYX", [roll, yaw, pitch], degrees=True).as_matrix()
    rvec = cv2.Rodrigues(rot)[0]
    img = cv2.projectPoints(GENERIC_FACE_3D, rvec, np.array([0.0, 0.0, 2500.0]), camera_matrix(size, size), None)[0]
    pts = np.zeros((68, 2))
    pts[list(PNP_LANDMARKS)] = img.reshape(-1, 2)
    return pts


def test_pnp_recovers_a_known_pose_exactly() -> None:
    truth = np.array([[10.0, -5.0, 7.0], [-20.0, 12.0, -3.0], [0.0, 0.0, 0.0]])
    pose = pose_from_landmarks(np.stack([_projected(*a) for a in truth]), (256, 256))
    np.testing.assert_allclose(pose.angles, truth, atol=1e-4)
    assert pose.method == "pnp" and "solvePnP" in pose.source and pose.reprojection_px.max() < 1e-3
    np.testing.assert_allclose(pose.roll, truth[:, 2], atol=1e-4)


def test_pnp_roll_tracks_thg_synth_roll() -> None:
    clip = synth.make_clip(grid_seed=5, seed=2, params=synth.SynthParams(size=128, head_roll_deg=3.0))
    roll = pose_from_landmarks(clip.landmarks, (128, 128)).roll
    truth = clip.pose[:, 0].astype(np.float64)
    assert np.corrcoef(roll, truth)[0, 1] > 0.99
    # the portrait's own roll is a constant offset; around it the error stays under half a degree
    assert np.abs((roll - roll.mean()) - (truth - truth.mean())).max() < 0.5


def test_pose_rejects_bad_landmarks() -> None:
    with pytest.raises(BadInputError, match="landmarks"):
        pose_from_landmarks(np.zeros((3, 5, 2)), (64, 64))
    with pytest.raises(BadInputError, match="model_points"):
        pose_from_landmarks(np.zeros((68, 2)), (64, 64), model_points=np.zeros((3, 3)))


def test_hopenet_box_is_the_official_enlargement() -> None:
    # w = 100, h = 80: x ± 50, 60 up, 20 down (deep-head-pose test_on_video_dlib.py)
    assert hopenet_box([100, 100, 200, 180], (480, 640, 3)) == (50, 40, 250, 200)
    assert hopenet_box([10, 10, 110, 90], (100, 100, 3)) == (0, 0, 100, 100)  # clipped to the image


def test_hopenet_pose_runs_the_network_on_the_official_crop() -> None:
    torch.manual_seed(0)
    net = Hopenet().eval()
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (2, 120, 100, 3), dtype=np.uint8)
    boxes = [[30, 40, 70, 90], [20, 30, 80, 100]]
    pose = hopenet_pose(frames, boxes, model=net, features=True)
    crops = [f[y0:y1, x0:x1] for f, (x0, y0, x1, y1) in zip(frames, (hopenet_box(b, frames[0].shape) for b in boxes))]
    with torch.no_grad():
        want = pose_degrees(net(hopenet_preprocess(crops))).double().numpy()
    np.testing.assert_allclose(pose.angles, want, atol=1e-4)
    assert pose.features.shape == (2, 2048) and pose.method == "hopenet"


def test_hopenet_offline_raises_or_says_untrained(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("THG_HOME", str(tmp_path))
    monkeypatch.setenv("THG_OFFLINE", "1")
    frames = np.full((2, 64, 64, 3), 128, np.uint8)
    boxes = [[10, 10, 50, 50]] * 2
    with pytest.raises(WeightsUnavailable, match="hopenet"):
        hopenet_pose(frames, boxes)
    pose = hopenet_pose(frames, boxes, untrained_ok=True)
    assert "untrained" in pose.caveat and "UNTRAINED" in pose.source
    assert diversity(pose).card.caveat == pose.caveat  # the caveat travels into the metric's card


# ----------------------------------------------------------------------------- diversity
def test_diversity_is_the_mean_temporal_std() -> None:
    x = np.random.default_rng(1).normal(0, [1.0, 2.0, 3.0], (200, 3))
    res = diversity(x, names=("a", "b", "c"))
    assert res.value == pytest.approx(np.std(x, axis=0).mean())
    assert res.extra["std"]["c"] == pytest.approx(np.std(x[:, 2])) and res.higher_is_better
    pose = HeadPose(x, "pnp", "test")
    assert set(diversity(pose).extra["std"]) == {"yaw", "pitch", "roll"}
    assert diversity(np.ones((10, 3))).value == 0.0
    with pytest.raises(BadInputError, match="trajectory"):
        diversity(np.ones((1, 3)))


# ----------------------------------------------------------------------------- beat align
def _bailando_ba(music: np.ndarray, motion: np.ndarray) -> float:
    """Bailando utils/beat_align_score.py BA(), written from its formula (σ² = 9, mean over music beats)."""
    return sum(math.exp(-min((m - b) ** 2 for m in motion) / 2 / 9) for b in music) / len(music)


def test_speed_is_the_mean_point_displacement() -> None:
    x = np.random.default_rng(2).normal(size=(6, 4, 2))
    want = [np.mean([np.hypot(*(x[t + 1, k] - x[t, k])) for k in range(4)]) for t in range(5)]
    np.testing.assert_allclose(motion_speed(x), want)


def test_kinematic_beats_are_speed_minima() -> None:
    speed = np.array([3, 2, 1, 2, 3, 3, 1.5, 4, 5, 0.5, 2], float)  # strict minima at 2, 6, 9
    trajectory = np.concatenate([[0.0], np.cumsum(speed)])  # 1-D motion with exactly that speed
    np.testing.assert_array_equal(kinematic_beats(trajectory, smooth=0), [2, 6, 9])
    assert len(kinematic_beats(trajectory, smooth=5)) < 3  # smoothing merges nearby minima


def test_beat_align_matches_bailando_and_a_hand_value() -> None:
    assert beat_align([10, 20], [11, 30]) == pytest.approx((math.exp(-1 / 18) + math.exp(-81 / 18)) / 2)  # 20 is 9 from 11
    rng = np.random.default_rng(3)
    for _ in range(5):
        music, motion = rng.choice(200, 12, replace=False), rng.choice(200, 7, replace=False)
        assert beat_align(music, motion) == pytest.approx(_bailando_ba(music, motion))
    assert beat_align([5, 9], []) == 0.0
    with pytest.raises(BadInputError, match="audio_beats"):
        beat_align([], [1, 2])


def test_chance_level_is_the_mean_over_shifts() -> None:
    audio, motion = np.array([5, 25, 45, 65]), np.array([5, 25, 45, 65])
    want = np.mean([beat_align((audio + s) % 80, motion) for s in range(9, 72)])
    assert beat_align_chance(audio, motion, 80) == pytest.approx(want)
    assert beat_align(audio, motion) == 1.0 > beat_align_chance(audio, motion, 80)


TEXT = ("The quick brown fox jumps over the lazy dog. Then it runs into the forest and hides behind "
        "a big old tree until night falls.")


def test_beat_align_separates_speech_coupled_from_uncoupled_head_motion() -> None:
    params = {c: synth.SynthParams(size=64, coupling=c) for c in (0.0, 2.0)}
    clips = {(c, seed): synth.make_clip(TEXT, seed=seed, params=params[c]) for c in params for seed in range(3)}
    first = clips[0.0, 0]
    res = beat_align_score(first.landmarks[:, RIGID], first.audio, first.sample_rate, first.fps, smooth=2.0)
    beats = res.extra["audio_beats"]  # same text, same speech: the audio beats are shared
    assert all(np.array_equal(c.audio, first.audio) for c in clips.values())
    scores = {k: beat_align_score(c.landmarks[:, RIGID], beats=beats, smooth=2.0).value for k, c in clips.items()}
    coupled, uncoupled = [scores[2.0, s] for s in range(3)], [scores[0.0, s] for s in range(3)]
    assert min(coupled) > max(uncoupled) + 0.15, scores
    assert res.value == scores[0.0, 0] and res.card.metric == "BeatAlign"
    assert "librosa onsets" in res.card.extractor and "sigma=3" in res.card.implementation
    assert 0 <= res.extra["chance"] <= 1 and len(res.extra["speed"]) == first.n_frames - 1


def test_beat_align_score_needs_audio_or_beats() -> None:
    with pytest.raises(BadInputError, match="audio"):
        beat_align_score(np.zeros((10, 3)))
    res = beat_align_score(np.sin(np.arange(50) / 3.0)[:, None], beats=np.array([10, 20, 30]), smooth=0)
    assert res.card.extractor.endswith("given beat frames") and 0 < res.value <= 1
