"""LPIPS wrapper: equal to lpips.LPIPS frame by frame, right conventions, no network, typed errors."""

from __future__ import annotations

import cv2
import lpips as lp
import numpy as np
import pytest
import torch

from thglib.errors import BadInputError, WeightsUnavailable
from thglib.metrics import perceptual
from thglib.metrics.extractors import UNTRAINED_CAVEAT
from thglib.samples import portrait

# lpips builds torchvision models with the deprecated ``pretrained=`` argument
pytestmark = pytest.mark.filterwarnings("ignore:.*(pretrained|weight enum).*:UserWarning")


@pytest.fixture(scope="module")
def clips() -> tuple[np.ndarray, np.ndarray]:
    """5 reference frames (both portraits, 64×64) and degraded versions of them."""
    rng = np.random.default_rng(0)
    faces = [cv2.resize(portrait(n)[:512, :512], (64, 64), interpolation=cv2.INTER_AREA)
             for n in ("astronaut", "grace_hopper")]
    ref = np.stack([faces[i % 2] for i in range(5)])
    noise = rng.normal(0, 20, ref.shape) * np.arange(5)[:, None, None, None] / 4
    gen = np.clip(ref + noise, 0, 255).astype(np.uint8)
    gen[0] = cv2.GaussianBlur(ref[0], (0, 0), 2)
    return ref, gen


def reference_model(net: str = "alex", seed: int = 0) -> lp.LPIPS:
    torch.manual_seed(seed)
    return lp.LPIPS(net=net, pnet_rand=True, verbose=False).eval()


def nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x).permute(2, 0, 1)[None].float()


def test_batched_wrapper_equals_lpips_frame_by_frame(clips):
    ref, gen = clips
    res = perceptual.lpips(ref, gen, allow_untrained=True, seed=0, batch_size=2)
    model = reference_model()
    ours = perceptual.lpips_model("alex", allow_untrained=True, seed=0)[0]
    for (k, v), (k2, v2) in zip(model.state_dict().items(), ours.state_dict().items()):
        assert k == k2 and torch.equal(v, v2), k
    with torch.no_grad():
        expected = np.array([model(nchw(a) / 127.5 - 1, nchw(b) / 127.5 - 1).item() for a, b in zip(ref, gen)])
    assert res.per_frame.shape == (5,)
    np.testing.assert_allclose(res.per_frame, expected, rtol=0, atol=1e-6)
    assert res.value == pytest.approx(expected.mean(), abs=1e-6)
    assert np.all(np.diff(res.per_frame[1:]) > 0), "more noise must give a larger distance"


def test_conventions_rgb_order_and_scaling(clips):
    ref, gen = clips
    ours = perceptual.lpips(ref[1:3], gen[1:3], allow_untrained=True).per_frame
    model = reference_model()
    with torch.no_grad():
        unit = [model(nchw(a) / 255, nchw(b) / 255, normalize=True).item() for a, b in zip(ref[1:3], gen[1:3])]
        bgr = [model(nchw(a[..., ::-1].copy()) / 127.5 - 1, nchw(b[..., ::-1].copy()) / 127.5 - 1).item()
               for a, b in zip(ref[1:3], gen[1:3])]
        raw = [model(nchw(a), nchw(b)).item() for a, b in zip(ref[1:3], gen[1:3])]
    np.testing.assert_allclose(ours, unit, atol=1e-6)  # [0,1] with normalize=True is the same input
    assert np.abs(ours - np.array(bgr)).max() > 1e-4  # channel order matters, and we use RGB
    assert np.abs(ours - np.array(raw)).max() > 1e-3  # unscaled [0, 255] input would differ


def test_identical_frames_give_zero_and_symmetry(clips):
    ref, gen = clips
    assert np.abs(perceptual.lpips(ref, ref, allow_untrained=True).per_frame).max() < 1e-7
    ab = perceptual.lpips(ref, gen, allow_untrained=True).per_frame
    ba = perceptual.lpips(gen, ref, allow_untrained=True).per_frame
    np.testing.assert_allclose(ab, ba, atol=1e-6)


def test_untrained_result_carries_the_caveat(clips):
    res = perceptual.lpips(*clips, allow_untrained=True, seed=3)
    assert res.card.caveat == UNTRAINED_CAVEAT and "untrained" in res.card.weights
    assert UNTRAINED_CAVEAT in res.label() and not res.higher_is_better


def test_offline_without_weights_raises_and_names_url_and_hub_file(clips, tmp_path, monkeypatch):
    monkeypatch.setenv("THG_HOME", str(tmp_path / "thg"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("THG_OFFLINE", "1")
    with pytest.raises(WeightsUnavailable) as e:
        perceptual.lpips(*clips)
    msg = str(e.value)
    assert "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth" in msg
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth") in msg
    assert "allow_untrained=True" in msg


def test_lpips_package_never_downloads(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("lpips tried to download a backbone")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    monkeypatch.setattr("torchvision.models._api.load_state_dict_from_url", no_network, raising=False)
    perceptual._build.cache_clear()
    model, label, caveat = perceptual.lpips_model("alex", allow_untrained=True, seed=11)
    assert caveat == UNTRAINED_CAVEAT and "seed 11" in label


def test_backbone_file_is_mapped_into_the_lpips_slices(clips, tmp_path, monkeypatch):
    import torchvision

    torch.manual_seed(5)
    tv = torchvision.models.alexnet(weights=None)
    path = tmp_path / "alexnet-owt-7be5be79.pth"
    torch.save(tv.state_dict(), path)
    monkeypatch.setattr(perceptual, "backbone_file", lambda net, weights=None: path)
    perceptual._build.cache_clear()
    res = perceptual.lpips(*clips)
    assert res.card.caveat == "" and path.name in res.card.weights
    model = reference_model(seed=99)
    for k in range(1, model.net.N_slices + 1):  # lpips' slices hold torchvision's features[i] modules
        for i, module in getattr(model.net, f"slice{k}").named_children():
            module.load_state_dict(tv.features[int(i)].state_dict())
    with torch.no_grad():
        expected = [model(nchw(a) / 127.5 - 1, nchw(b) / 127.5 - 1).item() for a, b in zip(*clips)]
    perceptual._build.cache_clear()
    np.testing.assert_allclose(res.per_frame, expected, atol=1e-6)


def test_vgg_option_matches_reference(clips):
    ref, gen = clips
    res = perceptual.lpips(ref[:2], gen[:2], net="vgg", allow_untrained=True)
    model = reference_model("vgg")
    with torch.no_grad():
        expected = [model(nchw(a) / 127.5 - 1, nchw(b) / 127.5 - 1).item() for a, b in zip(ref[:2], gen[:2])]
    assert res.name == ("LPIPS-vgg (untrained)" if res.card.caveat else "LPIPS-vgg")
    np.testing.assert_allclose(res.per_frame, expected, atol=1e-6)


def test_bad_inputs_are_typed(clips):
    ref, gen = clips
    with pytest.raises(BadInputError, match="net"):
        perceptual.lpips(ref, gen, net="squeeze", allow_untrained=True)
    with pytest.raises(BadInputError, match="generated"):
        perceptual.lpips(ref, gen[:3], allow_untrained=True)
    with pytest.raises(BadInputError, match="uint8"):
        perceptual.lpips(ref / 255.0, gen, allow_untrained=True)
