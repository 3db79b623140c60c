"""THEval's image-quality metrics through pyiqa (thglib.metrics.iqa): weight cards, offline and missing-pyiqa
errors, mouth crops on THG-Synth, and the whole path with a fake pyiqa injected in sys.modules."""

from __future__ import annotations

import math
import sys
import types
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from thglib import synth, weights
from thglib.errors import BackendUnavailable, BadInputError, WeightsUnavailable
from thglib.metrics import dynamics as D
from thglib.metrics import iqa

HF = "https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/"
GH = "https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/"
# File names of pyiqa 0.1.16 default_model_urls (archs/topiq_arch.py L43, L45; archs/musiq_arch.py L24)
PYIQA_FILES = {"pyiqa_topiq_iaa": "cfanet_iaa_ava_swin-393b41b4.pth",
               "pyiqa_musiq_koniq": "musiq_koniq_ckpt-e95806b9.pth",
               "pyiqa_topiq_nr_face": "topiq_nr_cgfiqa_res50-0a8b8e4f.pth"}
FACEXLIB = {"facexlib_retinaface_resnet50":
            "https://github.com/xinntao/facexlib/releases/download/v0.1.0/detection_Resnet50_Final.pth",
            "facexlib_parsenet": "https://github.com/xinntao/facexlib/releases/download/v0.2.2/parsing_parsenet.pth"}


@pytest.fixture(scope="module")
def clip() -> synth.SynthClip:
    return synth.make_clip("bin blue at f two now", seed=1, params=synth.SynthParams(size=96, pad_s=0.2))


@pytest.fixture(autouse=True)
def fresh(monkeypatch, tmp_path):
    """An empty weights cache, offline, and no memoised pyiqa metric between tests."""
    monkeypatch.setenv("THG_HOME", str(tmp_path))
    monkeypatch.setenv("THG_OFFLINE", "1")
    iqa._load.cache_clear()
    yield
    iqa._load.cache_clear()


class FakeMetric:
    """Stands in for pyiqa's InferenceModel: ``.net`` and a call that scores a (B, 3, H, W) batch in [0, 1]."""

    def __init__(self, net: torch.nn.Module, score) -> None:
        self.net, self.score, self.batches = net, score, []

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        assert x.dtype == torch.float32 and x.ndim == 4 and x.shape[1] == 3 and 0 <= x.min() and x.max() <= 1
        self.batches.append(tuple(x.shape))
        return self.score(x)


def fake_pyiqa(monkeypatch, score=lambda x: 10 * x.mean(dim=(1, 2, 3)), net=None, during=None) -> dict:
    """Inject a fake ``pyiqa`` whose create_metric records its arguments; returns the record."""
    record: dict = {"calls": []}

    def create_metric(name, as_loss=False, device=None, **kw):
        record["calls"].append({"name": name, "device": device, **kw})
        if during:
            during()
        record["metric"] = FakeMetric(net or torch.nn.Linear(3, 1), score)
        return record["metric"]

    mod = types.ModuleType("pyiqa")
    mod.create_metric = create_metric
    monkeypatch.setitem(sys.modules, "pyiqa", mod)
    return record


def cached_checkpoint(monkeypatch, name: str, state: dict, wrap: bool = True) -> Path:
    """A checkpoint in the cache under ``name``'s file name, and ``name``'s card pinned to its SHA-256 (the real
    card's file-name prefix cannot match a file made here: that rejection is asserted first)."""
    path = weights.path_for(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"params": state} if wrap else state, path)
    with pytest.raises(WeightsUnavailable, match=weights.card(name).hash_prefix):
        weights.fetch(name)  # the real card verifies the prefix and rejects this file
    monkeypatch.setitem(weights._BY_NAME, name, replace(weights.card(name), sha256=weights.sha256_of(path)))
    return path


# ----------------------------------------------------------------------------- weight cards
def test_cards_carry_the_urls_pyiqa_and_facexlib_use():
    for name, filename in PYIQA_FILES.items():
        c = weights.card(name)
        assert c.filename == filename and c.urls == (HF + filename, GH + filename)
        assert c.hash_prefix == filename.rsplit("-", 1)[1].split(".")[0] and c.sha256 is None
        assert "PolyForm-Noncommercial" in c.licence
    for name, url in FACEXLIB.items():
        c = weights.card(name)
        assert c.url == url and c.filename == url.rsplit("/", 1)[1] and c.hash_prefix is None
    for spec in iqa.IQA_METRICS.values():
        assert all(weights.card(n) for n in spec.weights) and spec.theval in D.THEVAL_METRICS
    assert iqa.IQA_METRICS["topiq_nr-face"].weights[1:] == tuple(FACEXLIB)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, card", [
    (lambda c: iqa.global_aesthetic(c.frames[:2]), "pyiqa_topiq_iaa"),
    (lambda c: iqa.face_quality(c.frames[:2]), "pyiqa_topiq_nr_face"),
    (lambda c: iqa.mouth_quality(c.frames[:2], c.landmarks[:2]), "pyiqa_musiq_koniq"),
])
def test_offline_raises_weights_unavailable_naming_the_card(clip, monkeypatch, call, card):
    record = fake_pyiqa(monkeypatch)
    with pytest.raises(WeightsUnavailable) as e:
        call(clip)
    assert e.value.name == card and e.value.path == weights.path_for(card)
    msg = str(e.value)
    assert "THG_OFFLINE" in msg and "Colab" in msg and weights.card(card).url in msg
    assert record["calls"] == []  # pyiqa was never asked to build anything


def test_offline_without_pyiqa_still_names_the_weights(clip, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyiqa", None)  # import pyiqa raises ImportError
    with pytest.raises(WeightsUnavailable, match="pyiqa_topiq_iaa"):
        iqa.global_aesthetic(clip.frames[:2])


def test_missing_pyiqa_raises_the_typed_error_before_any_download(clip, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyiqa", None)
    monkeypatch.delenv("THG_OFFLINE")
    monkeypatch.setattr(weights, "fetch", lambda *a, **k: pytest.fail("no download without pyiqa"))
    with pytest.raises(BackendUnavailable) as e:
        iqa.global_aesthetic(clip.frames[:2])
    assert e.value.backend == "pyiqa" and 'pip install "thglib[iqa]"' in str(e.value)


def test_bad_arguments_name_themselves(clip):
    with pytest.raises(BadInputError, match="metric"):
        iqa.image_quality(clip.frames[:2], "niqe")
    with pytest.raises(BadInputError, match="mouth_quality"):
        iqa.image_quality(clip.frames[:2], "musiq")
    with pytest.raises(BadInputError, match="landmarks"):
        iqa.mouth_crops(clip.frames[:3], clip.landmarks[:2])


# ----------------------------------------------------------------------------- mouth crops
def test_mouth_crops_on_thg_synth_follow_the_lip_landmarks(clip):
    crops, boxes = iqa.mouth_crops(clip.frames, clip.landmarks)
    h, w = clip.frames.shape[1:3]
    lips = clip.landmarks[:, 48:68].astype(np.float64)
    lo, hi = lips.min(axis=1), lips.max(axis=1)  # (T, 2): x, y
    want = np.concatenate([np.maximum(np.floor(lo) - 10, 0), np.minimum(np.ceil(hi) + 10, [w, h])], axis=1)
    np.testing.assert_array_equal(boxes, want)
    # THEval's box (int() of each coordinate, +-10 px, clipped) differs by at most one pixel
    ints = lips.astype(int)
    theval = np.concatenate([np.maximum(ints.min(axis=1) - 10, 0), np.minimum(ints.max(axis=1) + 10, [w, h])], axis=1)
    assert np.abs(boxes - theval).max() <= 1
    for t in (0, len(crops) // 2, len(crops) - 1):
        x0, y0, x1, y1 = boxes[t]
        assert np.array_equal(crops[t], clip.frames[t, y0:y1, x0:x1])
    assert (boxes[:, 2] - boxes[:, 0]).min() > 20  # the lips are ~1/4 of a 96-px face: the box is not degenerate
    # the crop follows the mouth: open-mouth frames have taller boxes than closed ones
    height = boxes[:, 3] - boxes[:, 1]
    assert np.corrcoef(height, clip.mouth[:, 0])[0, 1] > 0.8


def test_mouth_crops_of_a_track_use_its_frame_indices(clip):
    keep = np.setdiff1d(np.arange(clip.n_frames), [3, 4, 5])
    track = types.SimpleNamespace(points=clip.landmarks[keep], frames=keep, n_frames=clip.n_frames, backend="dlib",
                                  detector="dlib-hog")
    crops, boxes = iqa.mouth_crops(clip.frames, track)
    _, full_boxes = iqa.mouth_crops(clip.frames, clip.landmarks)
    assert len(crops) == clip.n_frames - 3
    np.testing.assert_array_equal(boxes, full_boxes[keep])


# ----------------------------------------------------------------------------- the path, with a fake pyiqa
def test_global_aesthetic_builds_pyiqa_on_the_cached_checkpoint(clip, monkeypatch):
    net = torch.nn.Linear(3, 1)
    path = cached_checkpoint(monkeypatch, "pyiqa_topiq_iaa", net.state_dict())
    record = fake_pyiqa(monkeypatch, net=torch.nn.Linear(3, 1))
    frames = np.concatenate([clip.frames] * 2)[:70]  # 70 frames: one batch of 64 and one of 6, as THEval
    r = iqa.global_aesthetic(frames, device="cpu")
    (call,) = record["calls"]
    assert call["name"] == "topiq_iaa" and call["pretrained_model_path"] == str(path) and call["device"] == "cpu"
    assert record["metric"].batches == [(64, 3, 96, 96), (6, 3, 96, 96)]
    want = frames.reshape(len(frames), -1).mean(axis=1) / 255 * 10
    np.testing.assert_allclose(r.per_frame, want, rtol=1e-5)
    assert math.isclose(r.value, want.mean(), rel_tol=1e-5) and r.higher_is_better
    assert r.name == "Global aesthetic" and r.card.samples == 70
    assert "pyiqa_topiq_iaa" in r.card.weights and path.name in r.card.weights
    assert weights.sha256_of(path)[:12] in r.card.weights
    assert "topiq_iaa" in r.card.implementation and "Newbyl/THEval" in r.card.implementation
    assert set(D.theval_scores([r])) == {"Global aesthetic", "Video quality", "Final score"}
    iqa.global_aesthetic(frames[:2], device="cpu")
    assert len(record["calls"]) == 1  # the built metric is reused


def test_mouth_quality_scores_padded_lip_crops(clip, monkeypatch):
    net = torch.nn.Linear(3, 1)
    path = cached_checkpoint(monkeypatch, "pyiqa_musiq_koniq", net.state_dict(), wrap=False)  # MUSIQ: no 'params'
    record = fake_pyiqa(monkeypatch, score=lambda x: torch.full((len(x),), float(x.shape[3])), net=net)
    r = iqa.mouth_quality(clip.frames, clip.landmarks, device="cpu")
    assert record["calls"][0]["name"] == "musiq" and record["calls"][0]["pretrained_model_path"] == str(path)
    _, boxes = iqa.mouth_crops(clip.frames, clip.landmarks)
    widest = (boxes[:, 2] - boxes[:, 0]).max()
    # every crop of the (single) batch was zero-padded to the widest one, as THEval's pad_images
    assert record["metric"].batches == [(clip.n_frames, 3, (boxes[:, 3] - boxes[:, 1]).max(), widest)]
    assert r.value == widest and r.name == "Mouth quality" and "pyiqa_musiq_koniq" in r.card.weights
    assert "48-67" in r.card.crop and "FaceMesh" in r.card.notes
    np.testing.assert_array_equal(r.extra["boxes"], boxes)


def test_a_checkpoint_that_misses_tensors_is_refused(clip, monkeypatch):
    cached_checkpoint(monkeypatch, "pyiqa_topiq_iaa", torch.nn.Linear(3, 1).state_dict())
    bigger = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Linear(1, 1))  # keys 0.weight... not in the file
    fake_pyiqa(monkeypatch, net=bigger)
    with pytest.raises(WeightsUnavailable, match="unweighted"):
        iqa.global_aesthetic(clip.frames[:2], device="cpu")


def test_a_download_while_building_is_refused_and_the_patch_undone(clip, monkeypatch):
    cached_checkpoint(monkeypatch, "pyiqa_topiq_iaa", torch.nn.Linear(3, 1).state_dict())
    original = torch.hub.download_url_to_file
    fake_pyiqa(monkeypatch, during=lambda: torch.hub.download_url_to_file("https://example.org/backbone.pth", "/x"))
    with pytest.raises(WeightsUnavailable, match="tried to download https://example.org/backbone.pth"):
        iqa.global_aesthetic(clip.frames[:2], device="cpu")
    assert torch.hub.download_url_to_file is original
