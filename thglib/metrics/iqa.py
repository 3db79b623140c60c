"""No-reference image quality after THEval: global aesthetic, mouth quality and face quality through ``pyiqa``.

THEval (arXiv 2511.04520; code ``Newbyl/THEval`` at commit ``3603338``) scores a video's *video quality* with
three pretrained no-reference image-quality networks from ``pyiqa`` (Chen et al.'s IQA-PyTorch), each averaged
over the frames:

* **Global aesthetic**: ``pyiqa.create_metric("topiq_iaa")``, TOPIQ trained on AVA aesthetics (scores 1–10),
  on whole frames in batches of 64 (``Video_Quality/global_aesthetic.py``);
* **Mouth quality**: ``pyiqa.create_metric("musiq")``, MUSIQ trained on KonIQ-10k (MOS ~0–100), on lip crops:
  the box of FaceMesh's 40 lip points ± 10 px, a batch of 64 crops zero-padded at the bottom/right to the
  largest crop (``Video_Quality/mouth_quality.py`` L19–24, L34–46, L71–91);
* **Face quality**: ``pyiqa.create_metric("topiq_nr-face")``, TOPIQ trained on face IQA data, one whole frame
  at a time; pyiqa finds and aligns the face itself with facexlib's RetinaFace (``Video_Quality/face_quality.py``).

Optional and online: ``pip install "thglib[iqa]"`` (pyiqa is not a dependency of thglib). Every file a metric
needs (the pyiqa checkpoint, and for face quality facexlib's detector and parser) is a card in
:mod:`thglib.weights`, downloaded from the official URL into thglib's cache and verified there
(:func:`thglib.weights.fetch`); pyiqa is then built with ``pretrained_model_path=`` pointing at the cached
checkpoint, and any download pyiqa, timm or facexlib would still try is refused (:func:`load_iqa`). Offline
(``$THG_OFFLINE=1``) or when a download fails: :class:`~thglib.errors.WeightsUnavailable`; no number ever comes
from a network whose weights were not all loaded.

**Documented deviations** (also on every result's card): mouth boxes come from the 68-point lip points 48–67
(:data:`thglib.metrics.dynamics.LIP_POINTS`) instead of FaceMesh's 40, with ``floor``/``ceil`` instead of
``int`` truncation (:func:`thglib.train.evaluate.mouth_box`, ≤ 1 px); pyiqa's ImageNet backbone initialisation
is skipped (``backbone_pretrain=False``; Swin built unpretrained) because the TOPIQ checkpoint holds the whole
network, which :func:`load_iqa` checks key by key before any score is returned.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import BackendUnavailable, BadInputError, WeightsUnavailable
from ..runtime import attributes
from .card import MetricResult, ProtocolCard
from .inputs import Frames, as_frames

__all__ = ["IQASpec", "IQA_METRICS", "load_iqa", "image_quality", "global_aesthetic", "mouth_crops",
           "mouth_quality", "face_quality"]

SOURCE = "Newbyl/THEval @3603338"
INSTALL = 'pip install "thglib[iqa]"'
#: How to get a file when the function has no weights argument (an iqa metric takes none): the cache path.
COLAB = ("or go online (e.g. Colab, where the book's install cell runs pip install \"thglib[iqa]\") and call it "
         "again: thglib downloads and verifies the file. The iqa metrics take no weights argument; the file is "
         "read from the path above only")


@dataclass(frozen=True)
class IQASpec:
    """How THEval uses one pyiqa metric: its pyiqa name, THEval's metric name, the weight cards it needs
    (the checkpoint first), extra ``create_metric`` options, the batch size and the score range."""

    pyiqa_name: str
    theval: str
    weights: tuple[str, ...]
    theval_file: str
    trained_on: str
    score_range: str
    batch_size: int
    options: dict[str, Any] = field(default_factory=dict)
    weight_keys: str | None = "params"  #: where pyiqa's load_pretrained_network finds the state dict


#: The three pyiqa metrics of THEval's video quality, by pyiqa name (``pyiqa/default_model_configs.py``).
IQA_METRICS: dict[str, IQASpec] = {
    "topiq_iaa": IQASpec("topiq_iaa", "Global aesthetic", ("pyiqa_topiq_iaa",), "Video_Quality/global_aesthetic.py",
                         "AVA (aesthetics)", "1-10", 64),
    "musiq": IQASpec("musiq", "Mouth quality", ("pyiqa_musiq_koniq",), "Video_Quality/mouth_quality.py",
                     "KonIQ-10k (technical quality MOS)", "~0-100", 64, weight_keys=None),
    "topiq_nr-face": IQASpec("topiq_nr-face", "Face quality",
                             ("pyiqa_topiq_nr_face", "facexlib_retinaface_resnet50", "facexlib_parsenet"),
                             "Video_Quality/face_quality.py", "face IQA (GFIQA per pyiqa's model card)", "~0-1", 1,
                             options={"backbone_pretrain": False}),
}


# ----------------------------------------------------------------------------- building the pyiqa metric
def _pyiqa() -> Any:
    try:
        return importlib.import_module("pyiqa")
    except ImportError as e:
        raise BackendUnavailable("pyiqa", INSTALL + "  (THEval's image-quality metrics are an optional extra)") from e


def _spec(metric: str) -> IQASpec:
    from ..validate import one_of

    one_of(metric, "metric", tuple(IQA_METRICS))
    return IQA_METRICS[metric]


def _fetch_all(spec: IQASpec) -> dict[str, Path]:
    """Every weight file of ``spec`` through :func:`thglib.weights.fetch` (cache, hash, offline rule)."""
    from .. import weights

    paths = {}
    for name in spec.weights:
        try:
            paths[name] = weights.fetch(name)
        except WeightsUnavailable as e:
            raise e.instead_(f"{COLAB}. ({spec.theval} = pyiqa '{spec.pyiqa_name}' needs the weight cards "
                             f"{', '.join(spec.weights)}; see thglib.weights.describe(name).)") from None
    return paths


class _DownloadRefused(RuntimeError):
    pass


@contextlib.contextmanager
def _no_downloads(cache: Path) -> Iterator[None]:
    """While pyiqa builds a metric: facexlib looks for its models in thglib's cache (pyiqa passes
    ``model_rootpath=DEFAULT_CACHE_DIR``), the Swin backbone is built without ImageNet weights (the checkpoint
    holds them), and every ``download_url_to_file`` that pyiqa, facexlib or torch.hub could reach raises."""
    def refuse(url: str, *a: Any, **k: Any) -> None:
        raise _DownloadRefused(url)

    patches: list[tuple[Any, str, Any]] = []
    for mod in ("torch.hub", "pyiqa.utils.download_util", "facexlib.utils.misc", "timm.models._hub"):
        with contextlib.suppress(ImportError):
            m = importlib.import_module(mod)
            if hasattr(m, "download_url_to_file"):
                patches.append((m, "download_url_to_file", refuse))
    with contextlib.suppress(ImportError):
        topiq = importlib.import_module("pyiqa.archs.topiq_arch")
        if hasattr(topiq, "DEFAULT_CACHE_DIR"):
            patches.append((topiq, "DEFAULT_CACHE_DIR", str(cache)))
        if hasattr(topiq, "create_swin"):
            swin = topiq.create_swin
            patches.append((topiq, "create_swin", lambda name, **kw: swin(name, **{**kw, "pretrained": False})))
    with attributes(patches):
        yield


def _check_loaded(net: Any, checkpoint: Path, spec: IQASpec) -> None:
    """Refuse a network any of whose tensors the checkpoint does not hold (pyiqa loads TOPIQ with strict=False)."""
    import torch

    sd = torch.load(checkpoint, map_location="cpu", weights_only=True)
    if spec.weight_keys is not None and isinstance(sd, dict) and spec.weight_keys in sd:
        sd = sd[spec.weight_keys]
    have = {k.removeprefix("module."): v for k, v in sd.items()}
    state = net.state_dict() if hasattr(net, "state_dict") else None
    if state is None:
        raise BadInputError("pyiqa", f"metric '{spec.pyiqa_name}' exposes no .net.state_dict()",
                            "Use pyiqa >= 0.1.13, whose InferenceModel has .net")
    missing = [k for k, v in state.items() if k not in have or tuple(have[k].shape) != tuple(v.shape)]
    if missing:
        raise WeightsUnavailable(spec.weights[0], None, checkpoint,
                                 f"the checkpoint holds no (or a differently shaped) tensor for {len(missing)} of "
                                 f"the network's {len(state)} entries, e.g. {', '.join(missing[:3])}: thglib returns "
                                 "no number from partly unweighted networks",
                                 instead="and check the pyiqa version (thglib[iqa] was written for pyiqa 0.1.16).")


@lru_cache(maxsize=4)
def _load(metric: str, device: str) -> tuple[Any, str]:
    from .. import weights
    from ..runtime import offline

    spec = _spec(metric)
    if not offline():
        _pyiqa()  # online: say that pyiqa is missing before downloading hundreds of MB
    paths = _fetch_all(spec)  # offline: the weights are what is missing first (WeightsUnavailable)
    pyiqa = _pyiqa()
    ckpt = paths[spec.weights[0]]
    try:
        with _no_downloads(weights.cache_dir()):
            m = pyiqa.create_metric(metric, device=device, pretrained_model_path=str(ckpt), **spec.options)
    except _DownloadRefused as e:
        raise WeightsUnavailable(spec.weights[0], None, ckpt,
                                 f"pyiqa tried to download {e} although thglib had supplied {ckpt.name}; thglib "
                                 "refused, as it refuses every download it has not verified",
                                 instead="and check the pyiqa version (thglib[iqa] was written for 0.1.16).") from None
    _check_loaded(getattr(m, "net", m), ckpt, spec)
    desc = "; ".join(f"{n} {weights.card(n).filename} (sha256 {weights.sha256_of(p)[:12]}…)"
                     for n, p in paths.items())
    return m, desc


def load_iqa(metric: Literal["topiq_iaa", "musiq", "topiq_nr-face"], *, device: str = "auto") -> tuple[Any, str]:
    """The pyiqa metric ``metric`` with verified weights from thglib's cache, and a description of those weights.

    Raises :class:`~thglib.errors.BackendUnavailable` without pyiqa and
    :class:`~thglib.errors.WeightsUnavailable` when a weight file can be neither found nor downloaded.
    """
    from ..runtime import device as pick

    return _load(metric, pick(device))


# ----------------------------------------------------------------------------- scoring
def _version() -> str:
    try:
        return importlib.metadata.version("pyiqa")
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _score(m: Any, images: list[np.ndarray], batch_size: int, pad: bool) -> np.ndarray:
    """Scores of uint8 RGB images, in batches; ``pad``: zero-pad each batch bottom/right to its largest image
    (THEval ``mouth_quality.py`` ``pad_images``), else the images must share one size."""
    import torch

    out = []
    for s in range(0, len(images), batch_size):
        chunk = images[s:s + batch_size]
        if pad:
            h, w = max(i.shape[0] for i in chunk), max(i.shape[1] for i in chunk)
            canvas = np.zeros((len(chunk), h, w, 3), np.uint8)
            for k, img in enumerate(chunk):
                canvas[k, :img.shape[0], :img.shape[1]] = img
            chunk = list(canvas)
        x = torch.from_numpy(np.stack(chunk)).permute(0, 3, 1, 2).float().div(255.0)  # T.ToTensor(): [0, 1]
        device = getattr(m, "device", None)
        with torch.no_grad():
            y = m(x.to(device) if device is not None else x)
        out.append(np.asarray(torch.as_tensor(y).detach().cpu().reshape(-1), np.float64))
    scores = np.concatenate(out) if out else np.zeros(0)
    if len(scores) != len(images) or not np.all(np.isfinite(scores)):
        raise BadInputError("pyiqa", f"returned {len(scores)} scores for {len(images)} images (or non-finite ones)",
                            "Check the pyiqa version (thglib[iqa] was written for pyiqa 0.1.16)")
    return scores


def _result(spec: IQASpec, scores: np.ndarray, weights_desc: str, crop: str, resize: str, n: int,
            notes: str = "", **extra: Any) -> MetricResult:
    card = ProtocolCard(
        metric=spec.theval, colour_space="RGB", crop=crop, resize=resize, data_range=1.0,
        implementation=f"pyiqa {_version()} create_metric('{spec.pyiqa_name}') as THEval ({SOURCE} "
                       f"{spec.theval_file}); thglib metrics.iqa",
        extractor=f"pyiqa '{spec.pyiqa_name}' trained on {spec.trained_on}; scores {spec.score_range}",
        weights=weights_desc, samples=n,
        notes="; ".join(s for s in (f"mean over {len(scores)} images", notes) if s))
    return MetricResult(float(scores.mean()), card, higher_is_better=True, per_frame=scores, extra=extra)


def image_quality(frames: Frames, metric: Literal["topiq_iaa", "topiq_nr-face"] = "topiq_iaa", *,
                  device: str = "auto", batch_size: int | None = None) -> MetricResult:
    """Mean pyiqa score of whole frames, as THEval's global aesthetic (``"topiq_iaa"``, batches of 64) or face
    quality (``"topiq_nr-face"``, one frame at a time). For mouth quality use :func:`mouth_quality`."""
    from ..validate import count

    if metric == "musiq":
        raise BadInputError("metric", "'musiq' is THEval's mouth quality, scored on lip crops",
                            "Call mouth_quality(frames, landmarks) instead")
    spec = _spec(metric)
    x = as_frames(frames)
    bs = spec.batch_size if batch_size is None else count(batch_size, "batch_size")
    m, desc = load_iqa(metric, device=device)
    scores = _score(m, list(x), bs, pad=False)
    resize = ("384x384 inside pyiqa (Swin input)" if metric == "topiq_iaa" else
              "face found, aligned and resized to 512x512 inside pyiqa (facexlib RetinaFace)")
    return _result(spec, scores, desc, "none (full frame)", resize, len(x), f"batches of {bs}")


def global_aesthetic(frames: Frames, *, device: str = "auto") -> MetricResult:
    """THEval's global aesthetic: TOPIQ-IAA (pyiqa ``topiq_iaa``) on whole frames, mean over frames."""
    return image_quality(frames, "topiq_iaa", device=device)


def face_quality(frames: Frames, *, device: str = "auto") -> MetricResult:
    """THEval's face quality: TOPIQ-NR-face (pyiqa ``topiq_nr-face``) per frame, mean over frames."""
    return image_quality(frames, "topiq_nr-face", device=device)


def mouth_crops(frames: Frames, landmarks: object, *, padding: int = 10) -> tuple[list[np.ndarray], np.ndarray]:
    """THEval's mouth crops: per frame with landmarks, the box of the lip points 48–67 grown by ``padding`` px
    and clipped to the frame; returns the crops and their boxes ``(N, 4)`` as ``(x0, y0, x1, y1)`` (x1, y1
    exclusive). Boxes: :func:`thglib.train.evaluate.mouth_box` of each frame."""
    from ..train.evaluate import mouth_box
    from ..validate import count
    from .dynamics import _landmarks

    x = as_frames(frames)
    p, idx, n, _ = _landmarks(landmarks, min_frames=1)
    pad = count(padding, "padding", lo=0, hi=256)
    if n != len(x) or idx[-1] >= len(x):
        raise BadInputError("landmarks", f"cover {n} frames, the video has {len(x)}",
                            "Pass the landmarks of these frames (thglib.face.landmarks_video(frames))")
    h, w = x.shape[1:3]
    crops, boxes = [], []
    for t, pts in zip(idx, p):
        y0, y1, x0, x1 = mouth_box(pts[None], margin=pad, size=max(h, w))
        x1, y1 = min(x1, w), min(y1, h)
        if x1 - x0 < 2 or y1 - y0 < 2:
            raise BadInputError("landmarks", f"the lip box of frame {t} is {x1 - x0}x{y1 - y0} px",
                                "Check that the landmarks are in the frames' pixel coordinates")
        crops.append(x[t, y0:y1, x0:x1])
        boxes.append((x0, y0, x1, y1))
    return crops, np.asarray(boxes, np.int64).reshape(-1, 4)


def mouth_quality(frames: Frames, landmarks: object, *, device: str = "auto", padding: int = 10) -> MetricResult:
    """THEval's mouth quality: MUSIQ (pyiqa ``musiq``, KonIQ-10k) on the lip crops of :func:`mouth_crops`, batches
    of 64 crops zero-padded to the largest, mean over the frames that have landmarks (THEval skips the others)."""
    spec = IQA_METRICS["musiq"]
    crops, boxes = mouth_crops(frames, landmarks, padding=padding)
    m, desc = load_iqa("musiq", device=device)
    scores = _score(m, crops, spec.batch_size, pad=True)
    size = np.median(boxes[:, 2:] - boxes[:, :2], axis=0)
    return _result(spec, scores, desc, f"lip box (68-point 48-67) +- {padding} px, clipped; median "
                   f"{size[0]:.0f}x{size[1]:.0f} px", "none (MUSIQ multi-scale: longer side 224 and 384 inside "
                   "pyiqa); batches of 64 zero-padded bottom/right", len(crops),
                   "68-point lips instead of FaceMesh FACEMESH_LIPS (40 points); floor/ceil box (THEval: int)",
                   boxes=boxes)
