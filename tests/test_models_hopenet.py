"""Hopenet port against the official-code fixture (tests/fixtures/hopenet_robust_alpha1.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.special import softmax
from torchvision import transforms

from thglib.errors import BadInputError
from thglib.models import (Hopenet, fill_, golden_mismatches, layout_mismatches, hopenet_preprocess, input_from_recipe,
                           load_pretrained, pose_degrees)

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "hopenet_robust_alpha1.json").read_text())


@pytest.fixture(scope="module")
def net() -> Hopenet:
    return fill_(Hopenet().eval(), FIXTURE)


def test_state_dict_is_the_official_layout() -> None:
    model = Hopenet()
    assert layout_mismatches(model, FIXTURE) == []


@torch.no_grad()
def test_filled_network_reproduces_golden_logits_and_degrees(net: Hopenet) -> None:
    logits = net(input_from_recipe(FIXTURE["inputs"][0]))
    assert len(logits) == 3
    for out, golden in zip(logits, FIXTURE["outputs"]):  # yaw, pitch, roll
        assert golden_mismatches(out, golden) == []
    # degrees = Σ softmax · bin index · 3 − 99, checked against scipy's softmax
    want = np.stack([(softmax(t.double().numpy(), axis=1) * np.arange(66)).sum(1) * 3 - 99
                     for t in logits], axis=1)
    np.testing.assert_allclose(pose_degrees(logits).numpy(), want, rtol=1e-5, atol=1e-4)


def test_pose_degrees_on_known_distributions() -> None:
    assert float(pose_degrees(torch.zeros(66))) == pytest.approx(32.5 * 3 - 99)  # uniform → -1.5°
    peaked = torch.full((3, 66), -1e4)
    peaked[0, 0], peaked[1, 33], peaked[2, 65] = 0.0, 0.0, 0.0
    torch.testing.assert_close(pose_degrees(peaked), torch.tensor([-99.0, 0.0, 96.0]))
    assert pose_degrees((peaked, peaked, peaked)).shape == (3, 3)


def test_preprocess_matches_the_official_pil_pipeline() -> None:
    # test_on_video_dlib.py: Scale(224) → CenterCrop(224) → ToTensor → Normalize(ImageNet), on PIL
    yy, xx = np.mgrid[0:180, 0:260]
    img = (127 + 60 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + 50 * np.sin(xx * yy / 900.0)).astype(np.uint8)
    rgb = np.stack([img, np.flipud(img), 255 - img], axis=2)
    official = transforms.Compose([
        transforms.Resize(224), transforms.CenterCrop(224), transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    want = official(Image.fromarray(rgb))
    got = hopenet_preprocess(rgb)
    assert got.shape == (1, 3, 224, 224)
    # ≤ 2 grey levels of resampling difference, in normalised units (1/255/0.224 per level)
    assert float((got[0] - want).abs().max()) < 2.5 / 255 / 0.224
    assert hopenet_preprocess([rgb, rgb]).shape == (2, 3, 224, 224)


def test_preprocess_rejects_non_rgb_uint8() -> None:
    with pytest.raises(BadInputError, match="uint8"):
        hopenet_preprocess(np.zeros((64, 64, 3), np.float32))
    with pytest.raises(BadInputError, match="images"):
        hopenet_preprocess([np.zeros((64, 64), np.uint8)])


def test_plain_pkl_state_dict_round_trip(tmp_path: Path, net: Hopenet) -> None:
    torch.save(net.state_dict(), tmp_path / "hopenet_robust_alpha1.pkl")
    model = load_pretrained(Hopenet(), tmp_path / "hopenet_robust_alpha1.pkl")
    assert not model.training
    for k, v in net.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k


def test_checkpoint_with_other_head_size_is_refused(tmp_path: Path) -> None:
    torch.save(Hopenet(num_bins=62).state_dict(), tmp_path / "bins62.pkl")
    with pytest.raises(BadInputError, match=r"wrong shapes: fc_yaw\.weight \(62, 2048\)"):
        load_pretrained(Hopenet(), tmp_path / "bins62.pkl")
