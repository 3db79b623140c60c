"""68-point landmarks on the two portraits, and the plot helper."""

from __future__ import annotations

import numpy as np
import pytest

from thglib import face
from thglib.errors import BadInputError
from thglib.samples import portrait

NAMES = ("astronaut", "grace_hopper")


@pytest.fixture(scope="module")
def fitted() -> dict[str, tuple[np.ndarray, face.Landmarks]]:
    return {n: (portrait(n), face.landmarks(portrait(n))) for n in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_68_points_inside_the_face_box(fitted: dict, name: str) -> None:
    _, lm = fitted[name]
    assert lm.points.shape == (68, 2) and lm.points.dtype == np.float32
    assert lm.backend == "dlib" and lm.box.backend == "dlib-hog"
    b, m = lm.box, 0.25  # the jaw and brows may cross the box edge a little
    x, y = lm.points[:, 0], lm.points[:, 1]
    assert np.all((x > b.x0 - m * b.width) & (x < b.x1 + m * b.width))
    assert np.all((y > b.y0 - m * b.height) & (y < b.y1 + m * b.height))


@pytest.mark.parametrize("name", NAMES)
def test_face_anatomy(fitted: dict, name: str) -> None:
    _, lm = fitted[name]
    brows, eyes = lm.region("brows")[:, 1].mean(), lm.region("eyes")[:, 1].mean()
    nose, mouth = lm.points[30, 1], lm.region("mouth")[:, 1].mean()
    chin = lm.points[8, 1]
    assert brows < eyes < nose < mouth < chin
    left_eye, right_eye = face.five_points(lm.points)[:2]
    assert left_eye[0] < lm.points[30, 0] < right_eye[0]


@pytest.mark.parametrize("name", NAMES)
def test_eye_corners_and_nose_agree_with_dlib_5_point_model(fitted: dict, name: str) -> None:
    from thglib.face.dlib_backend import _model, _rect

    img, lm = fitted[name]
    five = np.array([(p.x, p.y) for p in _model("shape5")(img, _rect(lm.box)).parts()], np.float32)
    corners = lm.points[[36, 39, 42, 45, 33]]  # the points the 5-point model was trained on
    dist = np.linalg.norm(five[:, None] - corners[None], axis=2)
    assert sorted(dist.argmin(axis=1)) == [0, 1, 2, 3, 4]
    assert dist.min(axis=1).max() < 0.06 * lm.box.width


def test_box_may_be_given_as_a_list(fitted: dict) -> None:
    img, lm = fitted["grace_hopper"]
    again = face.landmarks(img, box=[lm.box.x0, lm.box.y0, lm.box.x1, lm.box.y1])
    np.testing.assert_array_equal(again.points, lm.points)
    with pytest.raises(BadInputError, match="box"):
        face.landmarks(img, box=[10, 10, 5, 5])
    with pytest.raises(BadInputError, match="region"):
        lm.region("ears")


def test_five_points_layout() -> None:
    pts = np.arange(136, dtype=np.float32).reshape(68, 2)
    five = face.five_points(pts)
    np.testing.assert_allclose(five[0], pts[36:42].mean(axis=0))
    np.testing.assert_allclose(five[1], pts[42:48].mean(axis=0))
    np.testing.assert_array_equal(five[2:], pts[[30, 48, 54]])


def test_plot_landmarks_colours_regions_with_a_legend(fitted: dict) -> None:
    import matplotlib.pyplot as plt

    img, lm = fitted["astronaut"]
    ax = face.plot_landmarks(img, lm, title="Eileen Collins")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [lab.split()[0] for lab in labels[:5]] == ["jaw", "brows", "nose", "eyes", "mouth"]
    assert "box (dlib)" in labels
    colours = {tuple(line.get_color()) if not isinstance(line.get_color(), str) else line.get_color()
               for line in ax.get_lines()}
    assert len(colours) == 5
    assert ax.get_xlabel() == "x (px)" and ax.get_ylabel() == "y (px)" and ax.get_title() == "Eileen Collins"
    assert sum(len(line.get_xdata()) for line in ax.get_lines()) == 68
    plt.close(ax.figure)
    with pytest.raises(BadInputError):
        face.plot_landmarks(img, np.zeros((5, 2)))
