"""thglib.losses.temporal: warping, Lai et al.'s masked warp loss, Farneback flow, velocity, discriminators."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd import gradcheck

from thglib import BadInputError
from thglib.losses import adversarial as A
from thglib.losses import temporal as T

D64 = dict(dtype=torch.float64)


def test_warp_zero_and_integer_flows():
    x = torch.rand(2, 3, 6, 7, **D64)
    zero = torch.zeros(2, 2, 6, 7, **D64)
    assert torch.allclose(T.warp(x, zero), x, atol=1e-14)
    right = zero.clone()
    right[:, 0] = 1.0  # W(I)(x, y) = I(x + 1, y)
    assert torch.allclose(T.warp(x, right)[..., :-1], x[..., 1:], atol=1e-14)
    down = zero.clone()
    down[:, 1] = 2.0
    assert torch.allclose(T.warp(x, down)[..., :-2, :], x[..., 2:, :], atol=1e-14)


def test_occlusion_mask_hand_case_and_masked_loss():
    a = torch.zeros(1, 3, 2, 2, **D64)
    b = a.clone()
    b[:, :2] = 0.1  # Σ_c Δ² = 0.02 → exp(-50 · 0.02) = e⁻¹
    mask = T.occlusion_mask(a, b)
    assert mask.shape == (1, 1, 2, 2) and torch.allclose(mask, torch.full_like(mask, math.exp(-1)))
    o, o_prev = torch.rand(2, 3, 5, 5, **D64), torch.rand(2, 3, 5, 5, **D64)
    flow, ones = torch.zeros(2, 2, 5, 5, **D64), torch.ones(2, 1, 5, 5, **D64)
    assert torch.allclose(T.flow_warping_loss(o, o_prev, flow, ones), F.l1_loss(o, o_prev))
    # Lai et al. train.py: criterion(frame_o2 * noc_mask2, warp_o1 * noc_mask2), criterion = L1Loss
    m = torch.rand(2, 1, 5, 5, **D64)
    assert torch.allclose(T.flow_warping_loss(o, o_prev, flow, m), F.l1_loss(o * m, T.warp(o_prev, flow) * m))


def test_farneback_flow_aligns_a_translated_frame():
    yy, xx = np.mgrid[0:64, 0:64]
    pattern = lambda dx: (127 + 100 * np.sin((xx - dx) / 4.0) * np.cos(yy / 5.0)).astype(np.uint8)  # noqa: E731
    prev, cur = pattern(0), pattern(2)  # cur(x) = prev(x − 2)
    prev_rgb, cur_rgb = (np.repeat(p[..., None], 3, axis=2) for p in (prev, cur))
    flow = T.farneback_flow(cur_rgb, prev_rgb)
    assert flow.shape == (1, 2, 64, 64) and flow.dtype == torch.float32
    assert float(flow[0, 0, 16:48, 16:48].median()) == pytest.approx(-2.0, abs=0.3)
    to_t = lambda a: torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255  # noqa: E731
    warped = T.warp(to_t(prev_rgb), flow)
    before = (to_t(cur_rgb) - to_t(prev_rgb))[..., 8:-8, 8:-8].abs().mean()
    after = (to_t(cur_rgb) - warped)[..., 8:-8, 8:-8].abs().mean()
    assert after < 0.2 * before
    with pytest.raises(BadInputError, match="^frames/previous:"):
        T.farneback_flow(cur_rgb, prev_rgb[:32])


def test_velocity_loss_equals_makeittalk_motion_loss_and_ignores_offsets():
    pred, gt = torch.rand(2, 6, 5, **D64), torch.rand(2, 6, 5, **D64)
    assert torch.allclose(T.velocity_loss(pred, gt), F.mse_loss(pred.diff(dim=1), gt.diff(dim=1)))
    one_p, one_g = pred[0], gt[0]  # MakeItTalk: time on axis 0 of one clip
    ref = F.l1_loss(one_p[:-1] - one_p[1:], one_g[:-1] - one_g[1:])
    assert torch.allclose(T.velocity_loss(one_p[None], one_g[None], p=1), ref)
    assert T.velocity_loss(pred, pred + 3.0).item() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(BadInputError, match="^pred: needs at least 2 time steps"):
        T.velocity_loss(pred[:, :1], gt[:, :1])


def test_temporal_discriminator_layout_and_errors():
    d = T.TemporalDiscriminator()
    assert d.net[0].in_channels == 3 * 3 + 2 * 2  # vid2vid: output_nc * n_frames_D + 2 * (n_frames_D - 1)
    strides = [m.stride[0] for m in d.net if isinstance(m, nn.Conv2d)]
    assert strides == [2, 2, 2, 1, 1]  # pix2pixHD NLayerDiscriminator, n_layers_D = 3
    frames, flows = torch.rand(2, 3, 3, 32, 32), torch.rand(2, 2, 2, 32, 32)
    out = d(frames, flows)
    assert out.shape[:2] == (2, 1)
    loss = A.lsgan_g_loss(out)
    loss.backward()
    assert d.net[0].weight.grad is not None
    with pytest.raises(BadInputError, match="^flows: this discriminator was built with use_flow=True"):
        d(frames)
    with pytest.raises(BadInputError, match="^frames: expected shape"):
        d(torch.rand(2, 4, 3, 32, 32), flows)
    with pytest.raises(BadInputError, match="^flows: expected shape"):
        d(frames, torch.rand(2, 3, 2, 32, 32))
    assert T.TemporalDiscriminator(use_flow=False).net[0].in_channels == 9


def test_pose_sequence_discriminator_matches_sadtalker_layout():
    d = T.PoseSequenceDiscriminator()
    convs = [m for m in d.seq if isinstance(m, nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0], c.bias is not None) for c in convs] == [
        (6, 256, 4, 2, False), (256, 512, 4, 2, False), (512, 1024, 3, 1, False), (1024, 1, 3, 1, True)]
    assert d(torch.rand(2, 32, 6)).shape == (2, 8)
    with pytest.raises(BadInputError, match="^poses: expected shape"):
        d(torch.rand(2, 32, 5))
    with pytest.raises(BadInputError, match="^norm:"):
        T.PoseSequenceDiscriminator(norm="instance")


@pytest.mark.parametrize("name", ["warp", "mask", "warp_loss", "velocity", "temporal_d", "pose_d"])
def test_gradcheck_float64(name):
    g = torch.Generator().manual_seed(11)
    x, y = (torch.rand(1, 2, 5, 6, generator=g, **D64).requires_grad_(True) for _ in range(2))
    flow = (2 * torch.rand(1, 2, 5, 6, generator=g, **D64) - 1).requires_grad_(True)
    mask = torch.rand(1, 1, 5, 6, generator=g, **D64)
    if name == "temporal_d":
        d = T.TemporalDiscriminator(n_frames=2, channels=1, ndf=4, n_layers=2, norm="none").double()
        frames = torch.rand(1, 2, 1, 12, 12, generator=g, **D64).requires_grad_(True)
        flows = torch.rand(1, 1, 2, 12, 12, generator=g, **D64)
        assert gradcheck(lambda f: d(f, flows), (frames,), eps=1e-6, atol=1e-5, fast_mode=True)
        return
    if name == "pose_d":
        d = T.PoseSequenceDiscriminator(widths=(4, 4, 4), norm="none").double()
        poses = torch.rand(1, 8, 6, generator=g, **D64).requires_grad_(True)
        assert gradcheck(d, (poses,), eps=1e-6, atol=1e-5)
        return
    fn, args = {"warp": (T.warp, (x, flow)), "mask": (T.occlusion_mask, (x, y)),
                "warp_loss": (lambda a, b, f: T.flow_warping_loss(a, b, f, mask), (x, y, flow)),
                "velocity": (T.velocity_loss, (x, y))}[name]
    assert gradcheck(fn, args, eps=1e-6, atol=1e-6)
