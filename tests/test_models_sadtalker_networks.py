"""SadTalker ports against the official-code fixtures (tests/fixtures/sadtalker_*.json), and their
released file layouts (the single safetensors file, the MappingNet .pth.tar files) written here
from the filled networks.

Each network is filled once per module (:func:`filled`); the generator's golden forward is the
slow one (≈ 13 s on two idle CPU cores, batch 2 at 256², as the fixture records it).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from thglib.models import fill_, golden_mismatches, input_from_recipe, layout_mismatches
from thglib.models import sadtalker as st

FIXTURES = Path(__file__).parent / "fixtures"
NETS: dict[str, Callable[[], torch.nn.Module]] = {
    "sadtalker_face3d_recon": st.Face3DRecon,
    "sadtalker_audio2exp": st.ExpNet,
    "sadtalker_audio2pose": st.Audio2Pose,
    "sadtalker_kp_detector": st.KPDetector,
    "sadtalker_he_estimator": st.HEEstimator,
    "sadtalker_mappingnet_crop": st.MappingNet.crop,
    "sadtalker_mappingnet_full": st.MappingNet.full,
    "sadtalker_generator": st.OcclusionAwareSPADEGenerator,
}
#: safetensors prefix → fixture, as sadtalker_pipeline.json records the file.
PREFIX_FIXTURE = {p: v["fixture"] for p, v in json.loads((FIXTURES / "sadtalker_pipeline.json").read_text())[
    "checkpoint_layout"]["safetensors_prefixes"].items()}


@functools.cache
def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@functools.cache
def filled(name: str) -> torch.nn.Module:
    """The network of fixture ``name``, filled by its recipe, in eval mode (built once)."""
    return fill_(NETS[name]().eval(), _fixture(name))


def _inputs(name: str) -> list[torch.Tensor]:
    return [input_from_recipe(s) for s in _fixture(name)["inputs"]]


def _assert_golden(outs: list[torch.Tensor], name: str) -> None:
    goldens = _fixture(name)["outputs"]
    assert len(outs) == len(goldens)
    for out, golden in zip(outs, goldens):
        assert golden_mismatches(out, golden) == [], golden["name"]


def _official_outputs(name: str, net: torch.nn.Module) -> list[torch.Tensor]:
    """Each fixture's recorded outputs, called as its notes give the official call."""
    ins = _inputs(name)
    if name == "sadtalker_audio2pose":
        mels, ref, z0, z1 = ins
        emb = net.audio_encoder(mels[:, 1:33])                       # window 0: mel frames 1..32
        motion = net.netG.test(z0, torch.tensor([7]), ref[:, 0, -6:], emb)
        pose = net.test(mels, ref, 7, z=[z0, z1])
        return [emb, motion, pose, torch.from_numpy(st.smooth_pose(pose))]
    if name == "sadtalker_generator":
        src, kp_driving, kp_source = ins
        out = net(src, kp_driving=kp_driving, kp_source=kp_source)
        return [out["mask"], out["occlusion_map"], out["prediction"]]
    out = net(*ins)
    if isinstance(out, torch.Tensor):
        return [out]
    return [out["value"]] if "value" in out else [out[g["name"]] for g in _fixture(name)["outputs"]]


@pytest.mark.parametrize("name", NETS)
def test_state_dict_is_the_official_layout(name: str) -> None:
    assert layout_mismatches(NETS[name](), _fixture(name)) == []


@pytest.mark.parametrize("name", NETS)
@torch.no_grad()
def test_filled_network_reproduces_golden_outputs(name: str) -> None:
    _assert_golden(_official_outputs(name, filled(name)), name)


def test_keypoint_transformation_reproduces_golden_output() -> None:
    kp, yaw, pitch, roll, t, exp = _inputs("sadtalker_keypoint_transformation")
    he = {"yaw": yaw, "pitch": pitch, "roll": roll, "t": t, "exp": exp}
    out = st.keypoint_transformation({"value": kp}, he)["value"]
    _assert_golden([out], "sadtalker_keypoint_transformation")
    assert torch.equal(t, _inputs("sadtalker_keypoint_transformation")[4])  # he['t'] left untouched
    torch.testing.assert_close(st.keypoint_transformation(kp, he)["value"], out, rtol=0, atol=0)


def test_keypoint_transformation_geometry() -> None:
    kp = torch.randn(3, 15, 3, generator=torch.Generator().manual_seed(0))
    zero = torch.zeros(3)
    he = {"yaw": torch.zeros(3, 66), "pitch": torch.zeros(3, 66), "roll": torch.zeros(3, 66),
          "t": torch.tensor([[5.0, 0.25, -5.0]]).repeat(3, 1), "exp": torch.zeros(3, 45),
          "yaw_in": zero, "pitch_in": zero, "roll_in": zero}
    out = st.keypoint_transformation(kp, he)["value"]
    torch.testing.assert_close(out, kp + torch.tensor([0.0, 0.25, 0.0]))   # only t_y is applied
    rot = st.get_rotation_matrix(torch.tensor([30.0]), torch.tensor([-20.0]), torch.tensor([10.0]))[0]
    torch.testing.assert_close(rot @ rot.T, torch.eye(3), rtol=0, atol=1e-6)
    assert float(torch.det(rot)) == pytest.approx(1.0, abs=1e-6)
    # yaw alone turns about the y axis: x goes to z's side (sin y), y stays
    yaw_only = st.get_rotation_matrix(torch.tensor([90.0]), zero[:1], zero[:1])[0]
    assert float(yaw_only[1, 1]) == pytest.approx(1.0) and float(yaw_only[0, 2]) == pytest.approx(1.0, abs=1e-3)
    logits = torch.full((1, 66), -1e4)
    logits[0, 40] = 0.0
    assert float(st.headpose_pred_to_degree(logits)) == pytest.approx(40 * 3 - 99)


@torch.no_grad()
def test_audio2pose_windows_reference_frame_and_seeded_latents() -> None:
    net = filled("sadtalker_audio2pose")
    mels, ref, z0, z1 = _inputs("sadtalker_audio2pose")
    assert net.windows(45) == [(1, 33, 32), (13, 45, 12)]
    assert net.windows(65) == [(1, 33, 32), (33, 65, 32)]
    pose = net.test(mels, ref, 7, z=[z0, z1])
    torch.testing.assert_close(pose[:, 0], ref[:, 0, -6:], rtol=0, atol=0)   # frame 0 is the reference
    one = mels[:, :33]                                                     # one window: cheap
    a = net.test(one, ref, 7, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(net.test(one, ref, 7, generator=torch.Generator().manual_seed(3)), a,
                               rtol=0, atol=0)
    z = [torch.randn(1, 64, generator=torch.Generator().manual_seed(3))]   # z drawn in window order
    torch.testing.assert_close(net.test(one, ref, 7, z=z), a, rtol=0, atol=0)
    # two clips at once = each clip alone (the official encoder is right only for B = 1)
    emb2 = net.audio_encoder(torch.cat([mels[:, :8], mels[:, 8:16]]))
    torch.testing.assert_close(emb2[1:], net.audio_encoder(mels[:, 8:16]), rtol=1e-5, atol=1e-5)


def test_smooth_pose_matches_scipy_and_shrinks_its_window() -> None:
    from scipy.signal import savgol_filter

    x = np.random.default_rng(0).normal(size=(1, 9, 6))
    np.testing.assert_allclose(st.smooth_pose(x), savgol_filter(x, 9, 2, axis=1))
    x = np.random.default_rng(1).normal(size=(1, 30, 6))
    np.testing.assert_allclose(st.smooth_pose(torch.from_numpy(x)), savgol_filter(x, 13, 2, axis=1))


@torch.no_grad()
def test_expnet_takes_stacked_or_flat_windows() -> None:
    net = filled("sadtalker_audio2exp")
    mel, ref, ratio = _inputs("sadtalker_audio2exp")
    flat = net(mel, ref, ratio)
    torch.testing.assert_close(net(mel.view(1, 10, 1, 80, 16), ref, ratio), flat, rtol=0, atol=0)
    torch.testing.assert_close(net(mel[:4], ref[:, :4], ratio[:, :4]), flat[:, :4], rtol=1e-5, atol=1e-5)


def test_face3d_coefficient_slices() -> None:
    c = torch.arange(2 * 257, dtype=torch.float32).view(2, 257)
    parts = st.split_coeff(c)
    assert {k: v.shape[1] for k, v in parts.items()} == {"id": 80, "exp": 64, "tex": 80, "angle": 3,
                                                          "gamma": 27, "trans": 3}
    assert float(parts["angle"][0, 0]) == 224 and float(parts["trans"][0, -1]) == 256
    sad = st.coeff_3dmm(c, torch.tensor([256.0, 256.0, 1.1, 120.0, 130.0]))
    assert sad.shape == (2, 73)
    torch.testing.assert_close(sad[:, :64], c[:, 80:144])
    torch.testing.assert_close(sad[:, 64:70], c[:, [224, 225, 226, 254, 255, 256]])
    torch.testing.assert_close(sad[0, 70:], torch.tensor([1.1, 120.0, 130.0]))
    assert st.coeff_3dmm(c).shape == (2, 70)


def test_kp_detector_antialias_kernel_is_the_official_gaussian() -> None:
    w = st.KPDetector().down.weight
    assert w.shape == (3, 1, 13, 13)
    torch.testing.assert_close(w.sum(dim=(1, 2, 3)), torch.ones(3))
    g = torch.exp(-((torch.arange(13.0) - 6) ** 2) / (2 * 1.5 ** 2))
    torch.testing.assert_close(w[0, 0], torch.outer(g, g) / torch.outer(g, g).sum())


def test_spectral_norm_conv_is_torch_spectral_norm_in_eval() -> None:
    from thglib.models.sadtalker.blocks import SpectralNormConv2d

    torch.manual_seed(0)
    ours = SpectralNormConv2d(8, 6, 3, padding=1).eval()
    ref = torch.nn.utils.spectral_norm(torch.nn.Conv2d(8, 6, 3, padding=1)).eval()
    sd = {k: torch.randn_like(v) for k, v in ref.state_dict().items()}   # u, v unnormalised: used as stored
    ref.load_state_dict(sd)
    ours.load_state_dict(sd, strict=True)
    x = torch.randn(2, 8, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)
    ours.train()
    ref.train()
    torch.testing.assert_close(ours(x), ref(x), rtol=1e-5, atol=1e-5)      # one power iteration each
    torch.testing.assert_close(ours.weight_u, ref.weight_u)


def test_bad_inputs_raise_clear_errors() -> None:
    from thglib.errors import BadInputError

    mapping = filled("sadtalker_mappingnet_crop")
    with pytest.raises(BadInputError, match=r"input_3dmm.*\(\*, 70, \*\)"):
        mapping(torch.zeros(1, 73, 27))
    pose = filled("sadtalker_audio2pose")
    with pytest.raises(BadInputError, match="at least 33"):
        pose.test(torch.zeros(1, 20, 1, 80, 16), torch.zeros(1, 20, 70), 0)
    with pytest.raises(BadInputError, match="class_id"):
        pose.test(torch.zeros(1, 40, 1, 80, 16), torch.zeros(1, 40, 70), 46)
    with pytest.raises(BadInputError, match="z"):
        pose.test(torch.zeros(1, 40, 1, 80, 16), torch.zeros(1, 40, 70), 0, z=[torch.zeros(1, 64)] * 3)
    with pytest.raises(BadInputError, match="mel windows"):
        filled("sadtalker_audio2exp")(torch.zeros(9, 1, 80, 16), torch.zeros(1, 10, 64), torch.zeros(1, 10, 1))
    gen = st.OcclusionAwareSPADEGenerator()
    with pytest.raises(BadInputError, match="kp_driving"):
        gen(torch.zeros(1, 3, 256, 256), kp_driving=torch.zeros(1, 10, 3), kp_source=torch.zeros(1, 15, 3))
    with pytest.raises(BadInputError, match="x"):
        st.Face3DRecon()(torch.zeros(1, 224, 224, 3))


# --- released file layouts, written from the filled networks ------------------------------------

def test_safetensors_prefixes_are_the_pipeline_fixture() -> None:
    assert set(st.SAFETENSORS_PREFIXES) == set(PREFIX_FIXTURE)
    for prefix, fixture in PREFIX_FIXTURE.items():
        assert isinstance(filled(fixture), st.SAFETENSORS_PREFIXES[prefix])


@torch.no_grad()
def test_single_safetensors_file_loads_every_network_strictly(tmp_path: Path) -> None:
    layout = json.loads((FIXTURES / "sadtalker_pipeline.json").read_text())["checkpoint_layout"]
    # what src/utils/model2safetensor.py writes: one flat state_dict, '<prefix>.<key>'
    flat = {f"{p}.{k}": v.contiguous() for p, fx in PREFIX_FIXTURE.items()
            for k, v in filled(fx).state_dict().items()}
    assert len(flat) == layout["safetensors_total_keys"] == 1305
    for p, info in layout["safetensors_prefixes"].items():
        keys = [k for k in flat if k.startswith(p + ".")]
        assert len(keys) == info["keys"]
        assert sum(flat[k].numel() for k in keys) == info["tensor_elements"]
    path = tmp_path / st.SAFETENSORS_FILE
    save_file(flat, str(path))
    del flat

    nets = st.load_sadtalker_safetensors(path)
    for prefix, fixture in PREFIX_FIXTURE.items():
        net, src = getattr(nets, prefix), filled(fixture)
        assert type(net) is type(src) and not net.training
        want = src.state_dict()
        got = net.state_dict()
        assert got.keys() == want.keys()
        for k, v in want.items():
            assert got[k].dtype == v.dtype and torch.equal(got[k], v), f"{prefix}.{k}"
    _assert_golden(_official_outputs("sadtalker_audio2exp", nets.audio2exp), "sadtalker_audio2exp")
    kp = nets.kp_extractor(_inputs("sadtalker_kp_detector")[0])["value"]
    _assert_golden([kp], "sadtalker_kp_detector")


@pytest.mark.parametrize("mode", ["crop", "full"])
@torch.no_grad()
def test_mapping_pth_tar_loads_strictly_with_its_layout(tmp_path: Path, mode: str) -> None:
    name = f"sadtalker_mappingnet_{mode}"
    path = tmp_path / st.MAPPING_FILES[mode]
    torch.save({"mapping": filled(name).state_dict(), "epoch": 229 if mode == "crop" else 109}, path)
    net = st.load_mapping(path)                      # layout read from the file
    assert net.coeff_nc == (70 if mode == "crop" else 73) and not net.training
    _assert_golden(_official_outputs(name, net), name)
    assert st.load_mapping(path, full=mode == "full").coeff_nc == net.coeff_nc
