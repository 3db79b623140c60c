"""CSIM: per-frame identity similarity with the offline dlib encoder (and the card that says so)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from thglib.errors import BackendUnavailable, BadInputError, NoFaceError, WeightsUnavailable
from thglib.face.dlib_backend import model_path
from thglib.metrics import identity


@pytest.fixture(scope="module")
def faces(portrait_faces) -> dict[str, np.ndarray]:
    return portrait_faces


def variants(img: np.ndarray, seed: int = 0) -> np.ndarray:
    """A noisy copy and a shifted copy of ``img``."""
    noisy = np.clip(img + np.random.default_rng(seed).normal(0, 8, img.shape), 0, 255).astype(np.uint8)
    shifted = np.roll(img, (6, -9), axis=(0, 1))
    return np.stack([noisy, shifted])


def dlib_descriptor(img: np.ndarray) -> np.ndarray:
    """dlib's own pipeline, called directly: HOG detector, 68-point predictor, ResNet descriptor."""
    import dlib

    rect = dlib.get_frontal_face_detector()(img, 1)[0]
    shape = dlib.shape_predictor(str(model_path("shape68")))(img, rect)
    d = np.array(dlib.face_recognition_model_v1(str(model_path("resnet"))).compute_face_descriptor(img, shape))
    return d / np.linalg.norm(d)


def test_same_identity_far_above_different_identity(faces):
    for name, other in (("astronaut", "grace_hopper"), ("grace_hopper", "astronaut")):
        gen = np.concatenate([variants(faces[name]), faces[other][None]])
        res = identity.csim(faces[name], gen, backend="dlib")
        same, diff = res.per_frame[:2], res.per_frame[2]
        assert res.per_frame.shape == (3,) and res.higher_is_better
        assert same.min() > 0.93 and diff < 0.9 and same.min() - diff > 0.07, res.per_frame


def test_values_equal_dlib_called_directly(faces):
    gen = np.stack([variants(faces["astronaut"])[0], faces["grace_hopper"]])
    res = identity.csim(faces["astronaut"], gen, backend="dlib")
    src = dlib_descriptor(faces["astronaut"])
    expected = [src @ dlib_descriptor(g) for g in gen]
    np.testing.assert_allclose(res.per_frame, expected, atol=1e-5)
    assert res.value == pytest.approx(np.mean(expected), abs=1e-5)
    assert identity.csim(faces["astronaut"], faces["astronaut"], backend="dlib").value == pytest.approx(1, abs=1e-6)


def test_card_names_encoder_crop_and_weights(faces):
    res = identity.csim(faces["astronaut"], faces["astronaut"], backend="auto")  # offline: dlib
    digest = hashlib.sha256(model_path("resnet").read_bytes()).hexdigest()
    assert res.name == "CSIM-dlib" and "dlib" in res.card.extractor and "128-D" in res.card.extractor
    assert digest in res.card.weights and "150×150" in res.card.crop
    extractor, crop, weights = identity.encoder_protocol("arcface")
    assert "w600k_r50" in extractor and "(x/255 - 0.5)/0.5" in extractor and "RGB" in extractor
    assert "112×112" in crop and "buffalo_l" in weights and "sha256:" in weights


def test_reference_clip_is_compared_frame_by_frame(faces):
    ref = np.stack([faces["astronaut"], faces["grace_hopper"]])
    gen = np.stack([faces["astronaut"], faces["astronaut"]])
    res = identity.csim(ref, gen, backend="dlib")
    assert res.per_frame[0] == pytest.approx(1, abs=1e-6) and res.per_frame[1] < 0.92
    with pytest.raises(BadInputError, match="reference"):
        identity.csim(ref, np.stack([faces["astronaut"]] * 3), backend="dlib")


def test_frames_without_a_face(faces):
    gen = np.stack([faces["astronaut"], np.zeros_like(faces["astronaut"]), faces["astronaut"]])
    with pytest.raises(NoFaceError) as e:
        identity.csim(faces["astronaut"], gen, backend="dlib")
    assert e.value.frame == 1
    res = identity.csim(faces["astronaut"], gen, backend="dlib", on_missing="nan")
    assert np.isnan(res.per_frame[1]) and res.value == pytest.approx(1, abs=1e-6) and res.card.samples == 2
    with pytest.raises(NoFaceError, match="reference"):
        identity.csim(np.zeros_like(faces["astronaut"]), gen, backend="dlib")


def test_arcface_offline_is_a_typed_error(faces, tmp_path, monkeypatch):
    from thglib.face import backends

    monkeypatch.setenv("THG_HOME", str(tmp_path))
    monkeypatch.setenv("THG_OFFLINE", "1")
    backends.reset()
    with pytest.raises((WeightsUnavailable, BackendUnavailable)):
        identity.csim(faces["astronaut"], faces["astronaut"], backend="arcface")
    backends.reset()


def test_csim_and_fd_features_find_each_face_once(faces, monkeypatch):
    """CSIM and the FD-dlib128 features of the same frames share one embedding per image (by content)."""
    import thglib.face as face
    from thglib.metrics.extractors import DlibFaceFeatures

    calls = []
    real = face.landmarks
    monkeypatch.setattr(face, "landmarks", lambda img, **kw: calls.append(1) or real(img, **kw))
    monkeypatch.setattr(identity, "_MEMO", type(identity._MEMO)())
    gen = variants(faces["astronaut"], seed=11)
    res = identity.csim(faces["astronaut"], gen, backend="dlib")
    feats = DlibFaceFeatures()(gen)
    assert len(calls) == 3                                 # the reference and two frames, each once
    np.testing.assert_allclose(feats @ dlib_descriptor(faces["astronaut"]), res.per_frame, atol=1e-5)
    changed = gen.copy()
    changed[0, 0, 0, 0] ^= 1                               # one pixel: a new image, computed anew
    DlibFaceFeatures()(changed)
    assert len(calls) == 4
    blank = np.zeros((1, 64, 64, 3), np.uint8)
    for _ in range(2):                                     # a remembered miss still raises
        with pytest.raises(NoFaceError):
            DlibFaceFeatures()(blank)
    assert len(calls) == 5
