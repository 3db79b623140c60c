"""Face detection on the two public-domain portraits (dlib HOG and MMOD, offline)."""

from __future__ import annotations

import numpy as np
import pytest

from thglib import face
from thglib.errors import BadInputError, NoFaceError
from thglib.samples import portrait

NAMES = ("astronaut", "grace_hopper")


@pytest.fixture(scope="module")
def images() -> dict[str, np.ndarray]:
    return {n: portrait(n) for n in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_exactly_one_plausible_face(images: dict[str, np.ndarray], name: str) -> None:
    img = images[name]
    boxes = face.detect_faces(img)
    assert len(boxes) == 1
    b = boxes[0]
    assert b.backend == "dlib-hog"  # offline, no GPU: what "auto" must pick here
    assert b.n_faces == 1 and b.score > 0.5
    h, w = img.shape[:2]
    assert 0 <= b.x0 < b.x1 <= w and 0 <= b.y0 < b.y1 <= h
    assert 0.1 * w < b.width < 0.6 * w and 0.7 < b.width / b.height < 1.4
    assert b.center[1] < 0.6 * h  # a portrait's face is in the upper part


def test_hog_box_agrees_with_the_cnn_detector(images: dict[str, np.ndarray]) -> None:
    import cv2

    small = cv2.resize(images["grace_hopper"], (256, 300), interpolation=cv2.INTER_AREA)
    cnn = face.detect_faces(small, backend="dlib-mmod", upsample=0)
    hog = face.detect_face(small, backend="dlib-hog")
    assert len(cnn) == 1 and cnn[0].backend == "dlib-mmod"
    assert cnn[0].iou(hog) > 0.5


def test_largest_face_first_and_counted(images: dict[str, np.ndarray]) -> None:
    g, a = images["grace_hopper"], images["astronaut"]
    canvas = np.zeros((600, 1024, 3), np.uint8)
    canvas[:, :512] = g
    canvas[:512, 512:] = a
    boxes = face.detect_faces(canvas)
    assert len(boxes) == 2
    assert boxes[0].area > boxes[1].area
    assert boxes[0].center[0] < 512 < boxes[1].center[0]  # Grace Hopper's face is the larger one
    main = face.detect_face(canvas)
    assert main == boxes[0] and main.n_faces == 2


def test_weak_hog_responses_are_filtered(images: dict[str, np.ndarray]) -> None:
    from thglib.face.dlib_backend import DlibHOG

    loose = DlibHOG(min_score=0.0).detect(images["astronaut"], 1)
    strict = DlibHOG().detect(images["astronaut"], 1)
    assert len(loose) > len(strict) == 1  # the mission patch on the suit scores just above 0


def test_blank_image_has_no_face() -> None:
    blank = np.full((200, 200, 3), 128, np.uint8)
    assert face.detect_faces(blank) == []
    with pytest.raises(NoFaceError, match="blank.png"):
        face.detect_face(blank, source="blank.png")


def test_bad_inputs_are_named() -> None:
    with pytest.raises(BadInputError, match="image"):
        face.detect_faces(np.zeros((64, 64, 3), np.float32) + 0.5)
    with pytest.raises(BadInputError, match="shape"):
        face.detect_faces(np.zeros((2, 64, 64, 3), np.uint8))
    with pytest.raises(BadInputError, match="upsample"):
        face.detect_faces(np.zeros((64, 64, 3), np.uint8), upsample=9)
    with pytest.raises(BadInputError, match="backend"):
        face.detect_faces(np.zeros((64, 64, 3), np.uint8), backend="viola-jones")


def test_grey_and_rgba_images_are_accepted(images: dict[str, np.ndarray]) -> None:
    g = images["grace_hopper"]
    grey = g.mean(axis=2).astype(np.uint8)
    rgba = np.concatenate([g, np.full(g.shape[:2] + (1,), 255, np.uint8)], axis=2)
    ref = face.detect_face(g)
    assert face.detect_face(grey).iou(ref) > 0.8
    assert face.detect_face(rgba) == ref
