"""Wav2Lip ports against the official-code fixtures (tests/fixtures/wav2lip_*.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from thglib.errors import BadInputError, WeightsUnavailable
from thglib.models import (ExpertSyncNet, VisualQualityDiscriminator, Wav2Lip, fill_, golden_mismatches, layout_mismatches,
                           input_from_recipe, load_pretrained, pretrained)

FIXTURES = Path(__file__).parent / "fixtures"
NETS = {
    "wav2lip_generator": Wav2Lip,
    "wav2lip_visual_quality_discriminator": VisualQualityDiscriminator,
    "wav2lip_expert_syncnet": ExpertSyncNet,
}


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def filled() -> dict[str, torch.nn.Module]:
    """Each network filled by its fixture's recipe, in eval mode."""
    return {name: fill_(cls().eval(), _fixture(name)) for name, cls in NETS.items()}


@pytest.mark.parametrize("name", NETS)
def test_state_dict_is_the_official_layout(name: str) -> None:
    fx = _fixture(name)
    model = NETS[name]()
    assert layout_mismatches(model, fx) == []


@pytest.mark.parametrize("name", NETS)
@torch.no_grad()
def test_filled_network_reproduces_golden_outputs(name: str, filled: dict) -> None:
    fx = _fixture(name)
    out = filled[name](*(input_from_recipe(s) for s in fx["inputs"]))
    outs = out if isinstance(out, tuple) else (out,)
    assert len(outs) == len(fx["outputs"])
    for o, golden in zip(outs, fx["outputs"]):
        assert golden_mismatches(o, golden) == []


@torch.no_grad()
def test_generator_time_stacked_form_equals_frame_batch(filled: dict) -> None:
    g = torch.Generator().manual_seed(0)
    mel = torch.randn(1, 2, 1, 80, 16, generator=g)      # (B, T, 1, 80, 16)
    face = torch.rand(1, 6, 2, 96, 96, generator=g)      # (B, 6, T, 96, 96)
    out = filled["wav2lip_generator"](mel, face)
    assert out.shape == (1, 3, 2, 96, 96)
    frames = filled["wav2lip_generator"](mel[0], face[0].transpose(0, 1))  # the T frames as a batch
    torch.testing.assert_close(out[0].transpose(0, 1), frames, rtol=1e-5, atol=1e-5)
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0


@torch.no_grad()
def test_discriminator_judges_only_the_lower_half_time_major(filled: dict) -> None:
    disc = filled["wav2lip_visual_quality_discriminator"]
    faces = torch.rand(2, 3, 3, 96, 96, generator=torch.Generator().manual_seed(1))
    ref = disc(faces)
    assert ref.shape == (6, 1)
    # row t*B + b of the output is frame t of clip b (official to_2d: time-major)
    torch.testing.assert_close(ref[2 * 1 + 0], disc(faces[0:1, :, 1])[0])
    upper = faces.clone()
    upper[..., :48, :] = 0.0
    torch.testing.assert_close(disc(upper), ref)
    lower = faces.clone()
    lower[..., 48:, :] = 0.0
    assert not torch.allclose(disc(lower), ref)


@torch.no_grad()
def test_expert_embeddings_are_unit_vectors(filled: dict) -> None:
    g = torch.Generator().manual_seed(2)
    audio, video = filled["wav2lip_expert_syncnet"](torch.randn(3, 1, 80, 16, generator=g),
                                                    torch.rand(3, 15, 48, 96, generator=g))
    assert audio.shape == video.shape == (3, 512)
    torch.testing.assert_close(audio.norm(dim=1), torch.ones(3))
    torch.testing.assert_close(video.norm(dim=1), torch.ones(3))


def test_bad_input_shapes_raise_clear_errors(filled: dict) -> None:
    with pytest.raises(BadInputError, match="face"):
        filled["wav2lip_generator"](torch.zeros(1, 1, 80, 16), torch.zeros(1, 6, 128, 128))
    with pytest.raises(BadInputError, match="mel"):
        filled["wav2lip_expert_syncnet"](torch.zeros(1, 1, 80, 15), torch.zeros(1, 15, 48, 96))
    with pytest.raises(BadInputError, match="faces"):
        filled["wav2lip_visual_quality_discriminator"](torch.zeros(1, 3, 48, 96))


@pytest.mark.parametrize("wrapped", [True, False], ids=["wav2lip-checkpoint", "plain-state-dict"])
@torch.no_grad()
def test_checkpoint_round_trip(tmp_path: Path, filled: dict, wrapped: bool) -> None:
    src = filled["wav2lip_visual_quality_discriminator"]
    sd = src.state_dict()
    if wrapped:  # what train.py saves: DataParallel keys plus optimizer and step
        obj = {"state_dict": {f"module.{k}": v for k, v in sd.items()}, "optimizer": {}, "global_step": 7}
    else:
        obj = sd
    torch.save(obj, tmp_path / "disc.pth")
    model = load_pretrained(VisualQualityDiscriminator(), tmp_path / "disc.pth")
    assert not model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, sd[k]), k
    faces = input_from_recipe(_fixture("wav2lip_visual_quality_discriminator")["inputs"][0])
    torch.testing.assert_close(model(faces), src(faces), rtol=0, atol=0)


def test_checkpoint_of_another_network_is_refused(tmp_path: Path) -> None:
    torch.save(ExpertSyncNet().state_dict(), tmp_path / "expert.pth")
    with pytest.raises(BadInputError, match="missing keys.*unexpected keys") as e:
        load_pretrained(VisualQualityDiscriminator(), tmp_path / "expert.pth")
    assert "expert.pth" in str(e.value) and "wav2lip_visual_quality_disc" in str(e.value)


def test_wrong_shape_checkpoint_names_the_key(tmp_path: Path) -> None:
    sd = VisualQualityDiscriminator().state_dict()
    sd["binary_pred.0.weight"] = torch.zeros(2, 512, 1, 1)
    torch.save({"state_dict": sd}, tmp_path / "bad.pth")
    with pytest.raises(BadInputError, match=r"wrong shapes: binary_pred\.0\.weight \(2, 512, 1, 1\)"):
        load_pretrained(VisualQualityDiscriminator(), tmp_path / "bad.pth")


def test_pretrained_offline_without_file_says_where_to_put_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("THG_HOME", str(tmp_path))
    monkeypatch.setenv("THG_OFFLINE", "1")
    with pytest.raises(WeightsUnavailable, match="wav2lip_gan.pth"):
        pretrained("wav2lip_gan")
    with pytest.raises(BadInputError, match="no ported network"):
        pretrained("s3fd")
