"""SyncNet v2 port against the official-code fixture (tests/fixtures/syncnet_v2_lse.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from thglib.errors import BadInputError
from thglib.models import SyncNetV2, fill_, golden_mismatches, layout_mismatches, input_from_recipe, load_pretrained

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "syncnet_v2_lse.json").read_text())


@pytest.fixture(scope="module")
def net() -> SyncNetV2:
    return fill_(SyncNetV2().eval(), FIXTURE)


@pytest.fixture(scope="module")
def inputs() -> dict[str, torch.Tensor]:
    return {s["name"]: input_from_recipe(s) for s in FIXTURE["inputs"]}


def test_state_dict_is_the_official_layout() -> None:
    model = SyncNetV2()
    assert layout_mismatches(model, FIXTURE) == []


@torch.no_grad()
def test_filled_network_reproduces_golden_embeddings(net: SyncNetV2, inputs: dict) -> None:
    audio = net.forward_aud(inputs["mfcc"])
    lips = net.forward_lip(inputs["lips"])
    assert golden_mismatches(audio, FIXTURE["outputs"][0]) == []
    assert golden_mismatches(lips, FIXTURE["outputs"][1]) == []
    both = net(inputs["mfcc"], inputs["lips"][:1])
    torch.testing.assert_close(both[0], audio)
    torch.testing.assert_close(both[1], lips[:1], rtol=1e-4, atol=1e-4)


def test_bad_input_shapes_raise_clear_errors(net: SyncNetV2) -> None:
    with pytest.raises(BadInputError, match=r"mfcc.*\(B, 1, 13, 20\)"):
        net.forward_aud(torch.zeros(1, 1, 13, 21))
    with pytest.raises(BadInputError, match="frames"):
        net.forward_lip(torch.zeros(1, 3, 4, 224, 224))


@torch.no_grad()
def test_plain_state_dict_loads_even_without_num_batches_tracked(tmp_path: Path, net: SyncNetV2,
                                                                 inputs: dict) -> None:
    # syncnet_v2.model is a plain state_dict of class S; files saved before PyTorch 0.4.1 lack
    # the BatchNorm counters, which the loader must tolerate.
    sd = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(sd, tmp_path / "syncnet_v2.model")
    model = load_pretrained(SyncNetV2(), tmp_path / "syncnet_v2.model")
    assert not model.training
    for k, v in sd.items():
        assert torch.equal(model.state_dict()[k], v), k
    torch.testing.assert_close(model.forward_aud(inputs["mfcc"]), net.forward_aud(inputs["mfcc"]),
                               rtol=0, atol=0)


def test_truncated_state_dict_is_refused(tmp_path: Path, net: SyncNetV2) -> None:
    sd = {k: v for k, v in net.state_dict().items() if not k.startswith("netcnnlip.")}
    torch.save(sd, tmp_path / "half.model")
    with pytest.raises(BadInputError, match=r"missing keys: netcnnlip\.0\.weight") as e:
        load_pretrained(SyncNetV2(), tmp_path / "half.model")
    assert "syncnet_v2" in str(e.value)


def test_fill_works_on_a_bare_state_dict_and_bad_recipes_are_refused(net: SyncNetV2) -> None:
    sd = {k: torch.zeros_like(v) for k, v in SyncNetV2().state_dict().items()}
    fill_(sd, {"GAIN": FIXTURE["GAIN"], "BIAS": FIXTURE["BIAS"]})
    for k, v in net.state_dict().items():
        assert torch.equal(sd[k], v), k
    with pytest.raises(BadInputError, match="recipe"):
        fill_(sd, {"gain": 1.0})
    with pytest.raises(BadInputError, match="sine-input"):
        input_from_recipe({"shape": [2], "recipe": "x[j] = j"})
