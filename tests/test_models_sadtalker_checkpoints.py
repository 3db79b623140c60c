"""SadTalker checkpoint loading: refusals and their messages (no filled weights needed here).

The round trips of the released layouts from filled networks are in
tests/test_models_sadtalker_networks.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from thglib.errors import BadInputError, MediaError
from thglib.models import sadtalker as st


def test_split_keeps_prefixes_apart_and_refuses_stray_keys() -> None:
    sd = {f"{p}.w": torch.zeros(1) for p in st.SAFETENSORS_PREFIXES}
    parts = st.split_safetensors_state_dict(sd)
    assert set(parts) == set(st.SAFETENSORS_PREFIXES) and all(d.keys() == {"w"} for d in parts.values())
    with pytest.raises(BadInputError, match=r"1 keys outside the prefixes \(he_estimator\.w\)"):
        st.split_safetensors_state_dict({**sd, "he_estimator.w": torch.zeros(1)})
    with pytest.raises(BadInputError, match="no keys for generator"):
        st.split_safetensors_state_dict({k: v for k, v in sd.items() if not k.startswith("generator.")})


def test_safetensors_with_a_wrong_network_names_the_keys(tmp_path: Path) -> None:
    # every prefix present, but each holds only one tensor of the wrong name
    sd = {f"{p}.not_a_key": torch.zeros(2) for p in st.SAFETENSORS_PREFIXES}
    save_file(sd, str(tmp_path / "bad.safetensors"))
    with pytest.raises(BadInputError, match=r"\[kp_extractor\.\*\].*missing keys.*unexpected keys: not_a_key"):
        st.load_sadtalker_safetensors(tmp_path / "bad.safetensors")


def test_unreadable_or_missing_files_are_media_errors(tmp_path: Path) -> None:
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(MediaError, match="not a readable safetensors file"):
        st.load_sadtalker_safetensors(tmp_path / "junk.safetensors")
    with pytest.raises(MediaError, match="no such file"):
        st.load_mapping(tmp_path / "mapping_00229-model.pth.tar")


def test_mapping_file_checks(tmp_path: Path) -> None:
    full = st.MappingNet.full()
    torch.save({"mapping": full.state_dict(), "epoch": 109}, tmp_path / "m.pth.tar")
    with pytest.raises(BadInputError, match=r"wrong shapes: first\.0\.weight \(1024, 73, 7\)"):
        st.load_mapping(tmp_path / "m.pth.tar", full=False)
    torch.save({"generator": {}, "epoch": 1}, tmp_path / "other.pth.tar")
    with pytest.raises(MediaError, match=r"no 'mapping' entry \(has: generator, epoch\)"):
        st.load_mapping(tmp_path / "other.pth.tar")


class _NotATensor:
    pass


def test_old_version_files_load_by_key_and_refuse_pickled_code(tmp_path: Path) -> None:
    net = st.MappingNet.crop()
    torch.save({"mapping": net.state_dict(), "epoch": 3}, tmp_path / "ok.pth.tar")
    loaded = st.load_torch_checkpoint(st.MappingNet.crop(), tmp_path / "ok.pth.tar", "mapping")
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in loaded.state_dict().items())
    torch.save({"mapping": _NotATensor()}, tmp_path / "code.pth.tar")
    with pytest.raises(MediaError, match="weights_only=True"):
        st.load_torch_checkpoint(st.MappingNet.crop(), tmp_path / "code.pth.tar", "mapping")
    with pytest.raises(MediaError, match="no 'he_estimator' entry"):
        st.load_torch_checkpoint(st.HEEstimator(), tmp_path / "ok.pth.tar", "he_estimator")
