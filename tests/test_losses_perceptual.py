"""thglib.losses.perceptual: VGG19 layout and loading, FOMM/PC-AVS recipes written out, Gram, LPIPS."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck

from thglib import BadInputError, WeightsUnavailable
from thglib import weights as W
from thglib.losses import perceptual as P
from thglib.metrics.extractors import UNTRAINED_CAVEAT


@pytest.fixture(scope="module")
def vgg() -> P.VGG19Features:
    return P.VGG19Features(allow_untrained=True, seed=0)


@pytest.fixture()
def no_weights(monkeypatch, tmp_path):
    """No VGG19 file anywhere: empty thglib cache and torch hub dir, offline."""
    monkeypatch.setenv("THG_HOME", str(tmp_path / "thg"))
    monkeypatch.setenv("THG_OFFLINE", "1")
    monkeypatch.setattr(torch.hub, "_hub_dir", str(tmp_path / "hub"))


def _torchvision_vgg19_state_dict(seed: int = 1) -> dict[str, torch.Tensor]:
    """A state_dict in torchvision's vgg19 layout (``features.<i>.*`` plus classifier keys)."""
    from torchvision.models.vgg import cfgs, make_layers

    torch.manual_seed(seed)
    sd = {f"features.{k}": v for k, v in make_layers(cfgs["E"]).state_dict().items()}
    sd["classifier.6.bias"] = torch.zeros(1000)
    return sd


def test_offline_without_weights_raises_and_stand_in_is_labelled(no_weights, vgg):
    with pytest.raises(WeightsUnavailable, match="vgg19-dcbb9e9d.pth"):
        P.VGG19Features()
    with pytest.raises(WeightsUnavailable):
        P.PerceptualLoss()
    assert vgg.label == "VGG19 (untrained, seeded stand-in, seed 0)" and vgg.caveat == UNTRAINED_CAVEAT
    loss = P.PerceptualLoss(allow_untrained=True)
    assert "untrained" in loss.label and loss.caveat == UNTRAINED_CAVEAT
    other = P.VGG19Features(allow_untrained=True, seed=1)
    assert torch.equal(P.VGG19Features(allow_untrained=True).features[0].weight, vgg.features[0].weight)
    assert not torch.equal(other.features[0].weight, vgg.features[0].weight)


def test_registry_entry_is_torchvisions_vgg19():
    from torchvision.models import VGG19_Weights

    card = W.card("vgg19")
    assert card.url == VGG19_Weights.IMAGENET1K_V1.url and card.hash_prefix == "dcbb9e9d"


def test_loads_torchvision_layout_and_slices_match_fomm():
    """relu1_1 … relu5_1 = outputs of layers 1, 6, 11, 20, 29 of torchvision's vgg19().features."""
    from torchvision.models.vgg import cfgs, make_layers

    sd = _torchvision_vgg19_state_dict()
    net = P.VGG19Features(weights=sd)
    assert net.label == "VGG19 (state_dict supplied by the caller)" and net.caveat == ""
    ref = make_layers(cfgs["E"])
    ref.load_state_dict({k[len("features."):]: v for k, v in sd.items() if k.startswith("features.")})
    x = torch.rand(1, 3, 32, 32)
    h, outs = (x - net.mean) / net.std, []
    for i, layer in enumerate(ref):  # FOMM Vgg19: slices 0-1, 2-6, 7-11, 12-20, 21-29
        h = layer(h)
        if i in (1, 6, 11, 20, 29):
            outs.append(h)
    for a, b in zip(net(x), outs, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_bad_checkpoints_are_refused(tmp_path):
    sd = _torchvision_vgg19_state_dict()
    del sd["features.28.weight"]
    with pytest.raises(BadInputError, match="^weights: not a torchvision VGG19 state_dict: 1 missing keys: 28.weight"):
        P.VGG19Features(weights=sd)
    path = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, path)
    with pytest.raises(BadInputError, match="its SHA-256 is .*, expected dcbb9e9d"):
        P.VGG19Features(weights=path)


def _fomm_antialias(x: torch.Tensor, scale: float) -> torch.Tensor:
    """FOMM modules/util.py AntiAliasInterpolation2d, written out (2-D kernel, F.interpolate nearest)."""
    sigma = (1 / scale - 1) / 2
    size = 2 * round(sigma * 4) + 1
    grid = torch.meshgrid([torch.arange(size, dtype=x.dtype)] * 2, indexing="ij")
    kernel = 1
    for g in grid:
        kernel = kernel * torch.exp(-(g - (size - 1) / 2) ** 2 / (2 * sigma ** 2))
    kernel = (kernel / kernel.sum()).view(1, 1, size, size).repeat(x.shape[1], 1, 1, 1)
    out = F.conv2d(F.pad(x, (size // 2,) * 4), kernel, groups=x.shape[1])
    return F.interpolate(out, scale_factor=(scale, scale))


@pytest.mark.parametrize("scale", [0.5, 0.25, 0.125])
def test_antialias_downsample_equals_fomm(scale):
    x = torch.rand(1, 3, 64, 48, dtype=torch.float64)
    assert torch.allclose(P.antialias_downsample(x, scale), _fomm_antialias(x, scale), atol=1e-12)
    assert P.antialias_downsample(x, 1.0) is x
    with pytest.raises(BadInputError, match="^scale:"):
        P.antialias_downsample(x, 0.3)


def test_fomm_preset_equals_the_reference_loop(vgg):
    loss = P.PerceptualLoss.fomm(vgg=vgg)
    assert loss.scales == (1.0, 0.5, 0.25, 0.125) and loss.layer_weights == (10.0,) * 5
    x, y = torch.rand(1, 3, 128, 128), torch.rand(1, 3, 128, 128)
    total = 0
    for s in (1, 0.5, 0.25, 0.125):  # GeneratorFullModel.forward, perceptual part
        fx = vgg(x if s == 1 else _fomm_antialias(x, s))
        fy = vgg(y if s == 1 else _fomm_antialias(y, s))
        total += sum(10 * torch.abs(a - b.detach()).mean() for a, b in zip(fx, fy))
    assert loss(x, y).item() == pytest.approx(total.item(), rel=1e-5)


def test_pcavs_preset_weights(vgg):
    x, y = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    loss = P.PerceptualLoss.pcavs(vgg=vgg)
    fx, fy = vgg(x), vgg(y)  # PC-AVS VGGLoss.forward
    ref = sum(w * F.l1_loss(a, b) for w, a, b in zip([1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0], fx, fy))
    assert loss(x, y).item() == pytest.approx(ref.item(), rel=1e-6)
    with pytest.raises(BadInputError, match="^layer_weights:"):
        P.PerceptualLoss(vgg, layer_weights=(1.0, 1.0))


def test_perceptual_gradcheck_float64():
    vgg64 = P.VGG19Features(allow_untrained=True).double()
    loss = P.PerceptualLoss(vgg64, layer_weights=P.PCAVS_LAYER_WEIGHTS)
    x = torch.rand(1, 3, 16, 16, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    assert gradcheck(lambda a: loss(a, y), (x,), eps=1e-6, atol=1e-5, fast_mode=True)
    z = torch.rand(1, 2, 9, 9, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda a: P.antialias_downsample(a, 0.5), (z,), eps=1e-6, atol=1e-6)


def test_gram_and_style_loss_hand_case():
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]], dtype=torch.float64)  # (1, 2, 1, 2)
    expected = torch.tensor([[[5.0, 11.0], [11.0, 25.0]]], dtype=torch.float64) / 4
    assert torch.allclose(P.gram_matrix(f), expected)
    g = torch.zeros_like(f)
    assert P.style_loss([f], [g], weights=[2.0]).item() == pytest.approx(2 * (25 + 121 + 121 + 625) / 16)
    a = torch.rand(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    b = torch.rand(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda u, v: P.style_loss([u], [v]), (a, b), eps=1e-6, atol=1e-6)
    with pytest.raises(BadInputError, match="^target_features:"):
        P.style_loss([a], [b[:, :2]])


def test_lpips_loss_equals_lpips_package_and_owns_its_copy():
    import warnings

    import lpips

    from thglib.metrics.perceptual import lpips_model

    loss = P.LPIPSLoss("alex", allow_untrained=True, seed=0)
    assert "untrained" in loss.label and loss.caveat == UNTRAINED_CAVEAT
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torchvision's "pretrained is deprecated"
        torch.manual_seed(0)
        ref = lpips.LPIPS(net="alex", pretrained=True, pnet_rand=True, verbose=False).eval()
    x, y = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    assert loss(x, y).item() == pytest.approx(ref(x, y, normalize=True).mean().item(), abs=1e-6)
    loss.double()
    cached, _, _ = lpips_model("alex", allow_untrained=True, seed=0)
    assert next(cached.parameters()).dtype == torch.float32
    a = torch.rand(1, 3, 32, 32, dtype=torch.float64, requires_grad=True)
    b = torch.rand(1, 3, 32, 32, dtype=torch.float64, requires_grad=True)
    assert gradcheck(loss, (a, b), eps=1e-6, atol=1e-5, fast_mode=True)
