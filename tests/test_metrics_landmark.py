"""LMD (thglib.metrics.landmark): the formula, its protocol options, and THG-Synth ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from thglib import face, synth
from thglib.errors import BadInputError
from thglib.metrics import ProtocolMismatch
from thglib.metrics.landmark import align_landmarks, inter_ocular, lmd, lmd_points


def _direct(ref: np.ndarray, gen: np.ndarray, lo: int, hi: int) -> float:
    """Chen et al.'s LMD written out: mean over frames and points of the Euclidean distance."""
    total = 0.0
    for t in range(len(ref)):
        total += sum(np.hypot(*(ref[t, p] - gen[t, p])) for p in range(lo, hi)) / (hi - lo)
    return total / len(ref)


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    ref = rng.uniform(50, 200, (5, 68, 2))
    return ref, ref + rng.normal(0, 2, ref.shape)


def test_lmd_points_matches_the_formula(pair) -> None:
    ref, gen = pair
    m, f = lmd_points(ref, gen), lmd_points(ref, gen, region="face")
    assert m.value == pytest.approx(_direct(ref, gen, 48, 68), rel=1e-12)
    assert f.value == pytest.approx(_direct(ref, gen, 0, 68), rel=1e-12)
    assert m.per_frame.shape == (5,) and not m.higher_is_better
    assert lmd_points(ref, ref).value == 0.0


def test_iod_normalisation_divides_by_the_reference_eye_distance(pair) -> None:
    ref, gen = pair
    iod = np.linalg.norm(ref[:, 36:42].mean(1) - ref[:, 42:48].mean(1), axis=1)
    np.testing.assert_allclose(inter_ocular(ref), iod)
    per = np.linalg.norm(ref[:, 48:] - gen[:, 48:], axis=2).mean(1) / iod
    np.testing.assert_allclose(lmd_points(ref, gen, normalise="iod").per_frame, per, rtol=1e-12)


def test_centring_removes_translation_and_alignment_removes_similarity(pair) -> None:
    ref, _ = pair
    shifted = ref + np.array([7.0, -3.0])
    assert lmd_points(ref, shifted).value == pytest.approx(np.hypot(7, 3))
    assert lmd_points(ref, shifted, centre=True).value == pytest.approx(0.0, abs=1e-9)
    a = np.deg2rad(10)
    rot = 1.2 * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    moved = ref @ rot.T + np.array([5.0, 9.0])
    assert lmd_points(ref, moved, region="face").value > 5
    assert lmd_points(ref, moved, region="face", align="similarity").value == pytest.approx(0.0, abs=1e-6)
    assert align_landmarks(ref, 128).shape == ref.shape


def test_protocol_is_in_the_card_and_guards_comparisons(pair) -> None:
    ref, gen = pair
    a, b = lmd_points(ref, gen, source="ground truth"), lmd_points(ref, gen, normalise="iod")
    assert "normalise=none" in a.card.implementation and "mean-centred=False" in a.card.implementation
    assert a.card.extractor == "ground truth" and a.card.metric == "LMD-mouth"
    with pytest.raises(ProtocolMismatch, match="implementation"):
        a.better_than(b)


def test_bad_input_is_named(pair) -> None:
    ref, gen = pair
    with pytest.raises(BadInputError, match="generated"):
        lmd_points(ref, gen[:3])
    with pytest.raises(BadInputError, match="region"):
        lmd_points(ref, gen, region="lips")  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match="reference"):
        lmd_points(ref[..., :1], gen)



def test_lmd_refuses_a_policy_that_unpairs_frames() -> None:
    frames = np.zeros((2, 32, 32, 3), np.uint8)
    with pytest.raises(BadInputError, match="policy"):
        lmd(frames, frames, policy="skip")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def clips() -> dict[str, synth.SynthClip]:
    clean = synth.make_clip(grid_seed=3, seed=1)
    return {"clean": clean, "damped": synth.degrade(clean, "lip_damp", 1.0),
            "h264": synth.degrade(clean, "h264", 0.5)}


def test_ground_truth_lmd_of_a_damped_mouth_is_exact(clips) -> None:
    clean, damped = clips["clean"], clips["damped"]
    got = lmd_points(clean.landmarks, damped.landmarks, source="THG-Synth ground truth")
    want = np.linalg.norm(clean.landmarks[:, 48:68].astype(np.float64) - damped.landmarks[:, 48:68], axis=2).mean()
    assert got.value == pytest.approx(float(want), rel=1e-12)
    assert got.value > 1.0  # a closed mouth is far from a talking one
    face_only = lmd_points(clean.landmarks, damped.landmarks, region="face").value
    assert face_only < got.value  # only mouth (and jaw) points moved


def test_detected_lmd_is_within_the_detector_error_of_the_truth(clips) -> None:
    clean, damped, coded = clips["clean"], clips["damped"], clips["h264"]
    det = lmd(clean.frames, damped.frames, every=5)
    truth = lmd_points(clean.landmarks, damped.landmarks).value
    ref_pts, gen_pts = det.extra["reference_track"].points, det.extra["generated_track"].points
    err = (lmd_points(clean.landmarks, ref_pts).value + lmd_points(damped.landmarks, gen_pts).value)
    # |‖r̂ − ĝ‖ − ‖r − g‖| <= ‖r̂ − r‖ + ‖ĝ − g‖ per point (triangle inequality), so on average too
    assert abs(det.value - truth) <= err + 1e-9
    floor = lmd(clean.frames, coded.frames, every=5).value  # same motion, re-encoded: detector noise only
    assert 0 < floor < det.value
    assert "dlib" in det.card.extractor or "fan" in det.card.extractor


def test_lmd_needs_paired_videos(clips) -> None:
    clean = clips["clean"]
    with pytest.raises(BadInputError, match="generated"):
        lmd(clean.frames, clean.frames[:-1])


def test_landmark_track_is_accepted_directly(clips) -> None:
    clean = clips["clean"]
    track = face.landmarks_video(clean.frames[:4], every=4)
    assert lmd_points(clean.landmarks[:4], track).per_frame.shape == (4,)
