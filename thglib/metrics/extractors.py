"""Feature extractors for distribution metrics (FID, KID, IS) and their face-space variants.

A distribution metric compares two *sets* of images through a fixed embedding
:math:`\\phi: \\text{image} \\to \\mathbb{R}^D`. Which embedding (and which weights) is part of the
metric: "FID" means pytorch-fid's port of TensorFlow's Inception-v3 (2015-12-05) pool3 features,
and any other embedding must carry another name. Anything with the attributes of
:class:`FeatureExtractor` can be plugged in.

* :class:`InceptionV3Features`: ``pytorch_fid.inception.InceptionV3`` (pool3, 2048-D) or the
  1008-way logits of the same network (for the Inception Score), weights ``fid_inception`` from
  :func:`thglib.weights.fetch`; offline, only ``allow_untrained=True`` builds it, with a seeded
  He-normal initialisation and the caveat :data:`UNTRAINED_CAVEAT`.
* :class:`DlibFaceFeatures`: dlib's 128-D face descriptor of the largest face in each frame
  (offline; a face-space variant: "FD-dlib128", never "FID").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from ..errors import BadInputError, NoFaceError, WeightsUnavailable
from .card import untrained_name
from .inputs import as_frames

__all__ = ["UNTRAINED_CAVEAT", "FeatureExtractor", "InceptionV3Features", "DlibFaceFeatures",
           "metric_name"]

#: The caveat every result computed with a randomly initialised network carries.
UNTRAINED_CAVEAT = "untrained backbone: illustrates mechanics only"


@runtime_checkable
class FeatureExtractor(Protocol):
    """Maps ``(N, H, W, 3)`` uint8 RGB frames to ``(N, D)`` float64 features."""

    name: str  #: readable description, e.g. "InceptionV3 pool3 (pytorch-fid)"
    short: str  #: tag used in metric names: "inception" → FID/KID/IS, "dlib128" → FD-dlib128
    dim: int
    weights: str  #: weights file and SHA-256, or "untrained (seed 0)"
    caveat: str  #: "" or :data:`UNTRAINED_CAVEAT`

    def __call__(self, frames: np.ndarray) -> np.ndarray: ...


def metric_name(kind: Literal["FD", "KD", "IS"], extractor: FeatureExtractor) -> str:
    """``"FID"``/``"KID"``/``"IS"`` for the Inception extractor, else e.g. ``"FD-dlib128"``; with
    untrained weights (``caveat`` :data:`UNTRAINED_CAVEAT`) the name says so: ``"FID (untrained)"``."""
    name = {"FD": "FID", "KD": "KID", "IS": "IS"}[kind] if extractor.short == "inception" \
        else f"{kind}-{extractor.short}"
    return untrained_name(name, getattr(extractor, "caveat", "") == UNTRAINED_CAVEAT)


@contextmanager
def _fid_inception_source(state_dict: dict | None) -> Iterator[dict[str, Any]]:
    """Make ``pytorch_fid.inception`` build its network without the network.

    pytorch-fid loads its weights with ``load_state_dict_from_url(FID_WEIGHTS_URL)`` inside
    ``fid_inception_v3()``; we substitute a loader that returns ``state_dict`` (already read from
    a local, verified file) or, for ``None``, the freshly initialised parameters themselves. The
    full torchvision ``Inception3`` it builds (whose ``fc`` gives the 1008 logits) is captured.
    """
    from unittest import mock

    import pytorch_fid.inception as pfi

    built: dict[str, Any] = {}
    make = pfi._inception_v3

    def capture(*args: Any, **kwargs: Any) -> Any:
        built["net"] = make(*args, **kwargs)
        return built["net"]

    def load(url: str, *args: Any, **kwargs: Any) -> dict:
        return built["net"].state_dict() if state_dict is None else state_dict

    with mock.patch.object(pfi, "_inception_v3", capture), mock.patch.object(pfi, "load_state_dict_from_url", load):
        yield built


@lru_cache(maxsize=4)
def _fid_inception(weights_file: str | None, seed: int) -> tuple[Any, Any]:
    """``(pytorch_fid InceptionV3 [pool3], its 1008-way fc layer)``, in eval mode."""
    import pytorch_fid.inception as pfi
    import torch

    state = None if weights_file is None else torch.load(weights_file, map_location="cpu", weights_only=True)
    with torch.random.fork_rng(devices=[]), _fid_inception_source(state) as built:
        torch.manual_seed(seed)  # only matters for the untrained network
        model = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
        if state is None:
            _he_init(built["net"])
    return model, built["net"].fc.eval().requires_grad_(False)


def _he_init(net: Any) -> None:
    """Re-initialise convolutions and the fc layer with He-normal weights (fan-in, ReLU gain).

    PyTorch's default initialisation shrinks activations layer after layer: through Inception's
    ~90 layers the untrained pool3 features fall to ~1e-7 and all images look alike. He-normal
    keeps the activation variance roughly constant, so the untrained features at least vary.
    """
    import torch

    for m in net.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")


def _weights_label(name: str, path: Path) -> str:
    from ..weights import sha256_of

    return f"{name}: {path.name} sha256:{sha256_of(path)}"


class InceptionV3Features:
    """pytorch-fid's InceptionV3 (TF-FID port): pool3 (2048-D) or the 1008 logits of its fc layer.

    Frames are scaled to [0, 1], resized bilinearly to 299×299 and mapped to [−1, 1] inside
    ``pytorch_fid.inception.InceptionV3`` (``resize_input=True, normalize_input=True``), exactly as
    ``pytorch_fid.fid_score`` does. Weights: ``thglib.weights.fetch("fid_inception", path=weights)``.
    Without them :class:`~thglib.errors.WeightsUnavailable` is raised unless ``allow_untrained``.
    """

    short = "inception"
    crop = "none (full frame)"
    resize = "bilinear to 299×299 (pytorch-fid InceptionV3, resize_input=True, no antialias)"

    def __init__(self, output: Literal["pool3", "logits"] = "pool3", *, weights: str | Path | None = None,
                 allow_untrained: bool = False, seed: int = 0, batch_size: int = 32, device: str = "cpu") -> None:
        if output not in ("pool3", "logits"):
            raise BadInputError("output", f"unknown output {output!r}", "Use 'pool3' or 'logits'")
        from ..weights import fetch

        try:
            path = fetch("fid_inception", path=weights, arg="weights")
            self.weights, self.caveat, file = _weights_label("fid_inception", path), "", str(path)
        except WeightsUnavailable as e:
            if not allow_untrained:
                raise e.for_arg("weights", " (or allow_untrained=True for a random network)") from None
            self.weights, self.caveat, file = f"untrained (seed {seed})", UNTRAINED_CAVEAT, None
        from ..validate import count

        self.output, self.batch_size, self.device = output, count(batch_size, "batch_size"), device
        self.dim = 2048 if output == "pool3" else 1008
        self.name = f"InceptionV3 {output} (pytorch-fid, TF-FID port)"
        model, fc = _fid_inception(file, seed if file is None else 0)
        self._model, self._fc = model.to(device), fc.to(device)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        import torch

        x = as_frames(frames)
        out = []
        with torch.inference_mode():
            for i in range(0, len(x), self.batch_size):
                batch = torch.from_numpy(x[i:i + self.batch_size]).to(self.device)
                batch = batch.permute(0, 3, 1, 2).float() / 255.0
                feats = self._model(batch)[0].flatten(1)
                out.append(self._fc(feats) if self.output == "logits" else feats)
        return torch.cat(out).double().cpu().numpy()


class DlibFaceFeatures:
    """dlib's 128-D face descriptor (ResNet-29, unit-norm) of the largest face in each frame.

    An offline face-space embedding: a Fréchet distance over it is "FD-dlib128", not FID.
    ``on_missing="error"`` raises :class:`~thglib.errors.NoFaceError` naming the frame;
    ``"skip"`` drops faceless frames (their indices are kept in :attr:`missing`).
    """

    short = "dlib128"
    dim = 128
    caveat = ""
    crop = "largest face (dlib HOG), 150×150 chip aligned from 68 dlib landmarks"
    resize = "dlib chip extraction"

    def __init__(self, on_missing: Literal["error", "skip"] = "error") -> None:
        if on_missing not in ("error", "skip"):
            raise BadInputError("on_missing", f"unknown policy {on_missing!r}", "Use 'error' or 'skip'")
        from ..face.dlib_backend import model_path

        self.on_missing = on_missing
        self.name = "dlib face descriptor (ResNet-29, 128-D, 150×150 chip from 68 landmarks)"
        self.weights = _weights_label("dlib_face_recognition_resnet_model_v1", model_path("resnet"))
        self.missing: list[int] = []

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        from .identity import face_embedding

        out, self.missing = [], []
        for i, frame in enumerate(as_frames(frames)):
            try:  # dlib's own landmarks (and HOG detector) on every machine, GPU or not
                out.append(face_embedding(frame, "dlib")[0])
            except NoFaceError:
                if self.on_missing == "error":
                    raise NoFaceError(i, "frames", "Crop or filter the frames, or use "
                                      "DlibFaceFeatures(on_missing='skip')") from None
                self.missing.append(i)
        return np.asarray(out, np.float64).reshape(len(out), self.dim)
