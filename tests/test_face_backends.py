"""Backend selection and the online backends' error paths and pre/post-processing (no weights here)."""

from __future__ import annotations

import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

from thglib import face
from thglib.errors import BackendUnavailable, BadInputError, WeightsUnavailable
from thglib.face import arcface_backend, backends, dlib_backend, fan_backend


@pytest.fixture()
def offline_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty weights cache with downloads forbidden, and fresh backend caches before and after."""
    monkeypatch.setenv("THG_HOME", str(tmp_path))
    monkeypatch.setenv("THG_OFFLINE", "1")
    backends.reset()
    yield tmp_path
    backends.reset()


def test_auto_picks_dlib_offline_and_backends_fit_the_protocols() -> None:
    det, lmk, enc = face.get_detector(), face.get_landmarker(), face.get_encoder()
    assert (det.name, lmk.name, enc.name) == ("dlib-hog", "dlib", "dlib")
    assert isinstance(det, face.FaceDetector) and isinstance(lmk, face.LandmarkDetector)
    assert isinstance(enc, face.IdentityEncoder) and enc.dim == 128
    assert face.get_detector("dlib-hog") is det  # cached


def test_unknown_backend_lists_the_choices() -> None:
    with pytest.raises(BadInputError, match="dlib-hog"):
        face.get_detector("haar")
    with pytest.raises(BadInputError, match="arcface"):
        face.get_encoder("facenet")


def test_auto_falls_back_when_the_preferred_backend_fails(monkeypatch: pytest.MonkeyPatch, offline_cache: Path) -> None:
    def no_weights() -> None:
        raise WeightsUnavailable("2dfan4", "https://example.org/2dfan4", offline_cache / "x")

    monkeypatch.setattr(backends, "_has_gpu", lambda: True)
    monkeypatch.setitem(backends.LANDMARKERS, "fan", no_weights)
    assert face.get_landmarker().name == "dlib"


def test_missing_dlib_models_name_the_pip_command(monkeypatch: pytest.MonkeyPatch, offline_cache: Path) -> None:
    monkeypatch.setattr(dlib_backend.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BackendUnavailable, match="pip install dlib-bin face-recognition-models"):
        dlib_backend.model_path("shape68")
    with pytest.raises(BackendUnavailable, match="any landmarks"):
        face.get_landmarker()


def test_missing_dlib_package(monkeypatch: pytest.MonkeyPatch, offline_cache: Path) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)
    with pytest.raises(BackendUnavailable, match="dlib-bin"):
        face.get_detector("dlib-hog")


def test_dlib_model_files_are_found_without_importing_the_package() -> None:
    for kind in dlib_backend.MODEL_FILES:
        path = dlib_backend.model_path(kind)
        assert path.is_file() and path.parent.name == "models"
    assert "face_recognition_models" not in sys.modules  # its __init__ needs pkg_resources


@pytest.mark.parametrize("name,cls", [("s3fd", fan_backend.S3FD), ("2dfan4", fan_backend.FAN68)])
def test_face_alignment_backends_offline(offline_cache: Path, name: str, cls: type) -> None:
    with pytest.raises(WeightsUnavailable, match=name) as info:
        cls(device="cpu")
    assert "adrianbulat.com" in str(info.value) and str(offline_cache) in str(info.value)


def test_face_alignment_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "face_alignment", None)
    with pytest.raises(BackendUnavailable, match="pip install face-alignment"):
        fan_backend.FAN68(device="cpu")


def test_arcface_without_onnxruntime(monkeypatch: pytest.MonkeyPatch, offline_cache: Path) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(BackendUnavailable, match="pip install onnxruntime"):
        face.get_encoder("arcface")


def test_arcface_without_weights(monkeypatch: pytest.MonkeyPatch, offline_cache: Path) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", types.ModuleType("onnxruntime"))
    with pytest.raises(WeightsUnavailable, match="buffalo_l"):
        arcface_backend.ArcFace()


def test_onnx_model_is_read_from_zip_folder_or_file(tmp_path: Path) -> None:
    payload = b"onnx-bytes"
    with zipfile.ZipFile(tmp_path / "buffalo_l.zip", "w") as z:
        z.writestr("buffalo_l/det_10g.onnx", b"other")
        z.writestr("buffalo_l/w600k_r50.onnx", payload)
    assert arcface_backend.onnx_model_bytes(tmp_path / "buffalo_l.zip") == payload
    (tmp_path / "unpacked" / "buffalo_l").mkdir(parents=True)
    (tmp_path / "unpacked" / "buffalo_l" / "w600k_r50.onnx").write_bytes(payload)
    assert arcface_backend.onnx_model_bytes(tmp_path / "unpacked") == payload
    assert arcface_backend.onnx_model_bytes(tmp_path / "unpacked" / "buffalo_l" / "w600k_r50.onnx") == payload
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as z:
        z.writestr("readme.txt", b"")
    with pytest.raises(WeightsUnavailable, match="w600k_r50.onnx"):
        arcface_backend.onnx_model_bytes(tmp_path / "empty.zip")


def test_fan_crop_follows_face_alignment_geometry() -> None:
    box = face.FaceBox(100, 60, 200, 160)  # w = h = 100
    m = fan_backend.fan_transform(box)
    side = 200 * 200 / 195  # 200 * scale, scale = (w + h) / 195
    centre = np.array([150, 110 - 0.12 * 100])
    np.testing.assert_allclose(m[:, :2] @ centre + m[:, 2], [128, 128])
    np.testing.assert_allclose(m[0, 0], 256 / side)
    img = np.zeros((300, 300, 3), np.uint8)
    img[int(centre[1]), int(centre[0])] = 255
    crop, _ = fan_backend.fan_crop(img, box)
    assert crop.shape == (256, 256, 3)
    peak = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
    assert abs(peak[0] - 128) <= 2 and abs(peak[1] - 128) <= 2


def _heatmaps_at(points_crop: np.ndarray) -> np.ndarray:
    """(68, 64, 64) Gaussian blobs centred on crop points / 4 (the heatmap grid)."""
    yy, xx = np.mgrid[0:64, 0:64] + 0.5  # cell centres
    c = points_crop / 4.0
    return np.exp(-((xx - c[:, 0, None, None]) ** 2 + (yy - c[:, 1, None, None]) ** 2) / 2.0)


def test_fan_decode_inverts_the_crop() -> None:
    box = face.FaceBox(80, 40, 240, 200)
    m = fan_backend.fan_transform(box)
    rng = np.random.default_rng(0)
    truth = rng.uniform([100, 60], [220, 190], size=(68, 2))
    in_crop = truth @ m[:, :2].T + m[:, 2]
    found = fan_backend.fan_decode(_heatmaps_at(in_crop), m)
    cell = 4 / m[0, 0]  # one heatmap cell in image pixels
    assert found.shape == (68, 2) and found.dtype == np.float32
    assert np.abs(found - truth).max() <= 0.5 * cell + 1e-3


def test_fan68_glue_with_a_stand_in_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """predict(): crop → RGB/255 tensor → last hourglass's heatmaps → image points."""
    import torch

    box = face.FaceBox(100, 50, 220, 170)
    truth = np.random.default_rng(1).uniform([110, 60], [210, 160], size=(68, 2))
    m = fan_backend.fan_transform(box)
    hm = torch.from_numpy(_heatmaps_at(truth @ m[:, :2].T + m[:, 2])[None].astype(np.float32))
    seen = {}

    def net(x: torch.Tensor) -> list[torch.Tensor]:
        seen["x"] = x
        return [torch.zeros_like(hm), hm]  # FAN returns one heatmap stack per hourglass

    model = object.__new__(fan_backend.FAN68)
    model._net, model.device = net, "cpu"
    pts = model.predict(np.full((300, 300, 3), 255, np.uint8), box)
    assert seen["x"].shape == (1, 3, 256, 256) and float(seen["x"].max()) == 1.0
    assert np.abs(pts - truth).max() <= 0.5 * 4 / m[0, 0] + 1e-3
