"""Identity embeddings: two different people vs. the same person in a degraded copy."""

from __future__ import annotations

import numpy as np
import pytest

from thglib import face
from thglib.errors import BadInputError
from thglib.samples import portrait


@pytest.fixture(scope="module")
def raw() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    a, g = portrait("astronaut"), portrait("grace_hopper")
    noisy = np.clip(a + rng.normal(0, 10, a.shape), 0, 255).astype(np.uint8)
    return {k: face.identity_embedding(img, normalize=False)
            for k, img in (("astronaut", a), ("grace_hopper", g), ("astronaut_noisy", noisy))}


def test_dlib_threshold_separates_people_from_a_noisy_copy(raw: dict[str, np.ndarray]) -> None:
    different = face.identity_distance(raw["astronaut"], raw["grace_hopper"])
    same = face.identity_distance(raw["astronaut"], raw["astronaut_noisy"])
    assert same < face.DLIB_THRESHOLD < different
    assert raw["astronaut"].shape == (128,) and raw["astronaut"].backend == "dlib"


def test_normalised_embeddings_are_unit_vectors_with_the_same_ranking(raw: dict[str, np.ndarray]) -> None:
    img = portrait("grace_hopper")
    e = face.identity_embedding(img)
    assert isinstance(e, face.Embedding) and e.backend == "dlib" and e.dtype == np.float32
    assert np.linalg.norm(e) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(e, raw["grace_hopper"] / np.linalg.norm(raw["grace_hopper"]), atol=1e-5)
    unit = {k: v / np.linalg.norm(v) for k, v in raw.items()}
    cos_diff = face.cosine_similarity(unit["astronaut"], unit["grace_hopper"])
    cos_same = face.cosine_similarity(unit["astronaut"], unit["astronaut_noisy"])
    assert cos_same > cos_diff
    d = face.identity_distance(unit["astronaut"], unit["grace_hopper"])
    assert d == pytest.approx(np.sqrt(2 - 2 * cos_diff), rel=1e-5)


def test_given_landmarks_are_used() -> None:
    img = portrait("astronaut")
    lm = face.landmarks(img)
    np.testing.assert_allclose(face.identity_embedding(img, lm), face.identity_embedding(img, lm.points), atol=1e-6)
    with pytest.raises(BadInputError, match="points"):
        face.identity_embedding(img, np.zeros((5, 2)))


def test_mismatched_embeddings_are_refused() -> None:
    with pytest.raises(BadInputError, match="same backend"):
        face.identity_distance(np.ones(128), np.ones(512))
    with pytest.raises(BadInputError):
        face.cosine_similarity(np.ones((2, 4)), np.ones((2, 4)))
