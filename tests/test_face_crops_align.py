"""Wav2Lip / SyncNet crops, ArcFace crop and similarity alignment to the template."""

from __future__ import annotations

import numpy as np
import pytest

from thglib import face
from thglib.errors import BadInputError
from thglib.face.arcface_backend import ARCFACE_TEMPLATE, arcface_blob, arcface_crop
from thglib.face.template import MEAN_SHAPE, ffhq_quad
from thglib.samples import portrait


@pytest.fixture(scope="module")
def fitted() -> list[tuple[np.ndarray, face.Landmarks]]:
    return [(portrait(n), face.landmarks(portrait(n))) for n in ("astronaut", "grace_hopper")]


def _coordinate_image(h: int = 300, w: int = 400) -> np.ndarray:
    """Pixel (y, x) holds (x // 2, y // 2, 0), so a crop tells where it came from."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x // 2, y // 2, np.zeros_like(x)], axis=2).astype(np.uint8)


def test_wav2lip_crop_pads_then_clips() -> None:
    img = _coordinate_image()
    crop, (x0, y0, x1, y1) = face.wav2lip_crop(img, face.FaceBox(100, 50, 200, 150))
    assert crop.shape == (96, 96, 3) and crop.dtype == np.uint8
    assert (x0, y0, x1, y1) == (100, 50, 200, 160)  # 10 px added below (pads = top, bottom, left, right)
    assert abs(int(crop[0, 0, 0]) - 50) <= 1 and abs(int(crop[0, 0, 1]) - 25) <= 1
    _, near_edge = face.wav2lip_crop(img, [350, 250, 395, 295], pads=(5, 20, 30, 30))
    assert near_edge == (320, 245, 400, 300)  # right and bottom clipped to the 400x300 frame


def test_wav2lip_crop_rejects_bad_arguments() -> None:
    img = _coordinate_image()
    with pytest.raises(BadInputError, match="pads"):
        face.wav2lip_crop(img, [0, 0, 50, 50], pads=(1, 2))
    with pytest.raises(BadInputError, match="overlap"):
        face.wav2lip_crop(img, [500, 400, 600, 500])


def test_syncnet_crop_geometry() -> None:
    img = _coordinate_image()
    box = face.FaceBox(150, 100, 230, 180)  # 80 px square, centre (190, 140)
    crop = face.syncnet_crop(img, box, crop_scale=0.4, size=224)
    assert crop.shape == (224, 224, 3)
    bs, cs = 40.0, 0.4
    # the crop spans x in [mx - bs(1+cs), mx + bs(1+cs)) and y in [my - bs, my + bs(1+2cs))
    assert abs(int(crop[112, 112, 0]) - 190 // 2) <= 1
    assert abs(int(crop[112, 112, 1]) - int(140 + bs * cs) // 2) <= 1
    assert abs(int(crop[0, 0, 0]) - int(190 - bs * (1 + cs)) // 2) <= 1
    assert abs(int(crop[0, 0, 1]) - int(140 - bs) // 2) <= 1


def test_syncnet_crop_pads_with_grey_110() -> None:
    img = _coordinate_image()
    crop = face.syncnet_crop(img, [0, 0, 60, 60])  # box in the corner: the crop reaches past the frame
    assert tuple(crop[0, 0]) == (110, 110, 110)


def test_template_is_ffhq_framed() -> None:
    size = 256
    tpl = face.template_points("ffhq-like", size)
    quad = ffhq_quad(tpl)
    np.testing.assert_allclose(quad, [[0, 0], [0, size], [size, size], [size, 0]], atol=1e-3)
    openface = face.template_points("openface", size)
    np.testing.assert_allclose(openface.min(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(openface.max(axis=0), size, atol=1e-3)
    assert MEAN_SHAPE.shape == (68, 2)
    with pytest.raises(BadInputError, match="template"):
        face.template_points("lfw")


def test_alignment_brings_landmarks_near_the_template(fitted: list) -> None:
    images, lms = zip(*fitted, strict=True)
    out = face.align_faces(list(images), list(lms), size=256)
    assert out.images.shape == (2, 256, 256, 3) and out.points.shape == (2, 68, 2)
    assert np.all(out.rms < 0.03 * 256)  # 68 points within a few pixels of the mean face
    before = [np.sqrt(((lm.points - out.template) ** 2).sum(axis=1).mean()) for lm in lms]
    assert np.all(out.rms < 0.2 * np.array(before))
    for k in range(2):  # the warp really moved the face there: landmarks found again on the output
        again = face.landmarks(out.images[k])
        assert np.linalg.norm(again.points - out.points[k], axis=1).mean() < 3.0
        left, right = face.five_points(out.points[k])[:2]
        assert abs(left[1] - right[1]) < 4.0  # eyes level


def test_alignment_argument_checks(fitted: list) -> None:
    img, lm = fitted[0]
    single = face.align_faces(img, lm, size=128, template="openface", border="constant")
    assert single.images.shape == (1, 128, 128, 3)
    with pytest.raises(BadInputError, match="per image"):
        face.align_faces([img, img], [lm])
    with pytest.raises(BadInputError, match="border"):
        face.align_faces(img, lm, border="wrap")
    with pytest.raises(BadInputError, match="68, 2"):
        face.align_faces(img, np.zeros((5, 2)))


def test_arcface_crop_puts_the_five_points_where_the_similarity_says(fitted: list) -> None:
    img, lm = fitted[0]
    five = face.five_points(lm.points)
    crop = arcface_crop(img, lm.points, size=224)
    assert crop.shape == (224, 224, 3)
    m = face.similarity_matrix(five, ARCFACE_TEMPLATE * 2)
    expected = five @ m[:2, :2].T + m[:2, 2]
    assert np.abs(expected - ARCFACE_TEMPLATE * 2).max() < 0.1 * 224  # the template fits a real face
    found = face.five_points(face.landmarks(crop, upsample=2).points)
    assert np.linalg.norm(found - expected, axis=1).max() < 6.0


def test_arcface_blob_is_rgb_in_minus_one_to_one() -> None:
    red = np.zeros((112, 112, 3), np.uint8)
    red[..., 0] = 255
    blob = arcface_blob(red)
    assert blob.shape == (1, 3, 112, 112) and blob.dtype == np.float32
    np.testing.assert_allclose(blob[0, 0], 1.0)
    np.testing.assert_allclose(blob[0, 1:], -1.0)
    assert arcface_blob(np.stack([red, red])).shape == (2, 3, 112, 112)
