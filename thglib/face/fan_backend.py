"""Online face backends from ``face-alignment`` (Bulat & Tzimiropoulos, ICCV 2017, arXiv:1703.07332).

* :class:`S3FD`: the single-shot scale-invariant detector (Zhang et al. 2017, arXiv:1708.05237),
  the detector Wav2Lip and syncnet_python use;
* :class:`FAN68`: the 2D Face Alignment Network, 4 stacked hourglasses, 68 points in the same scheme
  as dlib (iBUG 300-W).

Weights come from :func:`thglib.weights.fetch` (``"s3fd"``, ``"2dfan4"``); without a network they
raise :class:`~thglib.errors.WeightsUnavailable`. The pre/post-processing below follows
``face_alignment/api.py`` and ``utils.py`` (v1.5) and is usable and testable without the weights.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BackendUnavailable
from ._fetch import fetch_weights
from .box import FaceBox

__all__ = ["fan_transform", "fan_crop", "fan_decode", "S3FD", "FAN68"]

INSTALL = "pip install face-alignment"
REFERENCE_SCALE = 195.0  #: face_alignment: scale = (w + h) / 195
CENTER_Y_OFFSET = 0.12  #: face_alignment shifts the box centre up by 12 % of its height


def fan_transform(box: FaceBox, resolution: int = 256) -> np.ndarray:
    """The ``(2, 3)`` similarity mapping image pixels to FAN's ``resolution``² input crop.

    Centre ``c = box centre - (0, 0.12 h)``, scale ``s = (w + h) / 195``; the crop covers a square of
    side ``200 s`` around ``c``: ``x' = (x - c) * R / (200 s) + R / 2`` (face_alignment ``transform``).
    """
    cx, cy = box.center
    cy -= box.height * CENTER_Y_OFFSET
    side = 200.0 * (box.width + box.height) / REFERENCE_SCALE
    k = resolution / side
    return np.array([[k, 0.0, resolution / 2 - k * cx], [0.0, k, resolution / 2 - k * cy]])


def fan_crop(image: np.ndarray, box: FaceBox, resolution: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """FAN's input: the ``(R, R, 3)`` uint8 crop (zero outside the image) and its image→crop matrix."""
    import cv2

    m = fan_transform(box, resolution)
    crop = cv2.warpAffine(image, m, (resolution, resolution), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return crop, m


def fan_decode(heatmaps: np.ndarray, matrix: np.ndarray, resolution: int = 256) -> np.ndarray:
    """``(68, 2)`` image points from ``(68, H, W)`` heatmaps (face_alignment ``get_preds_fromhm``).

    Each point is the arg-max cell, moved a quarter cell towards the larger neighbour, taken at the
    cell centre, scaled by ``resolution / W`` into the crop and mapped back through ``matrix``'s
    inverse. Unlike face_alignment the result is not truncated to integers.
    """
    n, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, -1).argmax(axis=1)
    py, px = np.divmod(flat, w)
    pts = np.stack([px, py], axis=1).astype(np.float64)
    inside = (px > 0) & (px < w - 1) & (py > 0) & (py < h - 1)
    i = np.nonzero(inside)[0]
    dx = heatmaps[i, py[i], px[i] + 1] - heatmaps[i, py[i], px[i] - 1]
    dy = heatmaps[i, py[i] + 1, px[i]] - heatmaps[i, py[i] - 1, px[i]]
    pts[i] += 0.25 * np.sign(np.stack([dx, dy], axis=1))
    crop_pts = (pts + 0.5) * (resolution / w)
    a, t = matrix[:, :2], matrix[:, 2]
    return ((crop_pts - t) @ np.linalg.inv(a).T).astype(np.float32)


def _require(backend: str) -> None:
    """Fail fast, before the slow torch import, when face-alignment is not installed."""
    for module in ("face_alignment", "torch"):
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise BackendUnavailable(backend, INSTALL)


def _device(device: str) -> str:
    from ..runtime import device as pick

    return pick(device)


class S3FD:
    """S3FD via ``face_alignment.detection.sfd.SFDDetector`` (boxes scoring below 0.5 are dropped)."""

    name = "s3fd"

    def __init__(self, device: str = "auto", path: str | Path | None = None) -> None:
        _require(self.name)
        weights = fetch_weights("s3fd", path)
        from face_alignment.detection.sfd.sfd_detector import SFDDetector

        self.device = _device(device)
        self._det = SFDDetector(self.device, path_to_detector=str(weights))

    def detect(self, image: np.ndarray, upsample: int = 1) -> list[FaceBox]:
        """``upsample`` is ignored: S3FD is multi-scale by construction (strides 4 to 128)."""
        found = self._det.detect_from_image(np.ascontiguousarray(image))
        return [FaceBox(*map(float, b[:5]), backend=self.name) for b in found]


def _load_fan(path: Path, device: str) -> Any:
    """A FAN(4) network from a state dict (v1.5 ``.pth.tar``) or a TorchScript archive (v1.3–1.4)."""
    import pickle

    import torch
    from face_alignment.models import FAN

    try:
        state = torch.load(str(path), map_location=device, weights_only=True)
    except (RuntimeError, ValueError, pickle.UnpicklingError):  # not a plain state dict
        return torch.jit.load(str(path), map_location=device).eval()
    net = FAN(4)
    net.load_state_dict(state)
    return net.to(device).eval()


class FAN68:
    """2DFAN4 landmarks: crop (:func:`fan_crop`), RGB/255 input, last hourglass's heatmaps, :func:`fan_decode`."""

    name = "fan"

    def __init__(self, device: str = "auto", path: str | Path | None = None) -> None:
        _require(self.name)
        weights = fetch_weights("2dfan4", path)
        self.device = _device(device)
        self._net = _load_fan(weights, self.device)

    def predict(self, image: np.ndarray, box: FaceBox) -> np.ndarray:
        import torch

        crop, m = fan_crop(image, box)
        x = torch.from_numpy(crop.transpose(2, 0, 1)[None].astype(np.float32) / 255.0).to(self.device)
        with torch.no_grad():
            out = self._net(x)
        heat = (out[-1] if isinstance(out, (list, tuple)) else out)[0].float().cpu().numpy()
        return fan_decode(heat, m)
