"""The mini lip-sync model: networks, checkpoints, the training loop (decrease, determinism, resume),
the held-out metrics, ``thg train`` and ``thg lipsync --model mini``, and the shipped artefacts."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from thglib.errors import BadInputError
from thglib.models.mini_lipsync import (MINI_LABEL, MiniDiscriminator, MiniLipSync, MiniSyncExpert,
                                        checkpoint_metadata, load_mini, mini_checkpoint, save_half)
from thglib.train.data import ClipArrays, sample_windows
from thglib.train.loop import CONFIGS, LOG_COLUMNS, quick_config, train

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "mini_lipsync"


def _toy_clip(n: int = 12, seed: int = 0) -> ClipArrays:
    """A clip of moving blobs whose 'mouth' brightness follows the first mel band (learnable)."""
    rng = np.random.default_rng(seed)
    mels = rng.normal(size=(n, 80, 16)).astype(np.float32)
    yy, xx = np.mgrid[0:96, 0:96]
    crops = np.empty((n, 96, 96, 3), np.uint8)
    for t in range(n):
        face = 120 + 60 * np.exp(-((xx - 48) ** 2 + (yy - 40) ** 2) / 600.0)
        mouth = 80 * (1 + np.tanh(mels[t, 0, 0])) * np.exp(-((xx - 48) ** 2 + (yy - 70) ** 2) / 80.0)
        crops[t] = np.clip(face + mouth, 0, 255)[..., None].astype(np.uint8)
    small = np.stack([cv2.resize(c, (64, 64), interpolation=cv2.INTER_AREA) for c in crops])
    lms = np.tile(np.stack([np.linspace(20, 76, 68), np.linspace(20, 80, 68)], 1), (n, 1, 1)).astype(np.float32)
    return ClipArrays(f"toy{seed}", "toy", "toy", crops, small, mels, lms, np.tile([0, 0, 96, 96], (n, 1)),
                      np.zeros(16000, np.float32))


@pytest.fixture(scope="module")
def toy() -> list[ClipArrays]:
    return [_toy_clip(12, 0), _toy_clip(10, 1)]


# ----------------------------------------------------------------------------- networks
@torch.no_grad()
def test_generator_shapes_range_and_size() -> None:
    g = MiniLipSync().eval()
    n = sum(p.numel() for p in g.parameters())
    assert 1e6 <= n <= 3e6, n                                      # the 1–3 M parameters
    mel = torch.randn(3, 1, 80, 16)
    for s in (64, 96):                                              # 96: what the Wav2Lip pipeline feeds
        y = g(mel, torch.rand(3, 6, s, s))
        assert y.shape == (3, 3, s, s) and 0 <= float(y.min()) and float(y.max()) <= 1
    with pytest.raises(BadInputError, match="face"):
        g(mel, torch.rand(3, 5, 64, 64))
    with pytest.raises(BadInputError, match="mel"):
        g(torch.randn(3, 1, 80, 12), torch.rand(3, 6, 64, 64))


@torch.no_grad()
def test_generator_without_reference_ignores_it() -> None:
    torch.manual_seed(0)
    g = MiniLipSync(use_reference=False).eval()
    x = torch.rand(2, 6, 64, 64)
    x2 = x.clone()
    x2[:, 3:] = torch.rand(2, 3, 64, 64)
    mel = torch.randn(2, 1, 80, 16)
    assert torch.equal(g(mel, x), g(mel, x2))
    g.use_reference = True
    assert not torch.equal(g(mel, x), g(mel, x2))


@torch.no_grad()
def test_expert_and_discriminator() -> None:
    e = MiniSyncExpert().eval()
    mel = torch.randn(4, 1, 80, 16)
    a, v = e(mel, torch.rand(4, 15, 32, 64))
    assert a.shape == v.shape == (4, 128)
    assert torch.allclose(a.norm(dim=1), torch.ones(4), atol=1e-5) and float(a.min()) >= 0
    _, v96 = e(mel, torch.rand(4, 15, 48, 96))                     # lower halves of 96² crops
    assert v96.shape == (4, 128)
    p = e.sync_probability(mel, torch.rand(4, 15, 32, 64))
    assert p.shape == (4,) and bool(((p >= 0) & (p <= 1)).all())
    with pytest.raises(BadInputError, match="lower"):
        e.forward_lip(torch.rand(4, 12, 32, 64))
    d = MiniDiscriminator()
    assert d(torch.rand(5, 3, 64, 64)).shape == (5,)


@torch.no_grad()
def test_checkpoint_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(1)
    g = MiniLipSync(width=16, use_reference=False).eval()
    p = save_half(tmp_path / "g.safetensors", generator=g, train_config={"name": "x"})
    back = load_mini(p, "generator")
    assert back.use_reference is False and back.face[1][0][0].out_channels == 16
    x, mel = torch.rand(2, 6, 64, 64), torch.randn(2, 1, 80, 16)
    assert torch.allclose(back(mel, x), g(mel, x), atol=2e-2)      # float16 weights
    with pytest.raises(BadInputError, match="holds no 'expert'"):
        load_mini(p, "expert")
    with pytest.raises(BadInputError, match="kind"):
        load_mini(p, "vae")
    assert checkpoint_metadata(p)["train_config"] == {"name": "x"}
    with pytest.raises(BadInputError, match="not a file"):
        load_mini(tmp_path / "missing.safetensors")
    with pytest.raises(BadInputError, match="safetensors"):
        save_half(tmp_path / "g.pt", generator=g)


# ----------------------------------------------------------------------------- data
def test_sample_windows_follow_wav2lip(toy: list[ClipArrays]) -> None:
    b = sample_windows(toy, np.random.default_rng(0), 3)
    assert b.face_in.shape == (15, 6, 64, 64) and b.target.shape == (15, 3, 64, 64)
    assert b.mels.shape == (15, 1, 80, 16) and b.sync_mel.shape == (3, 1, 80, 16)
    assert float(b.face_in[:, :3, 32:].abs().max()) == 0               # lower half of the target masked
    assert torch.equal(b.face_in[:, :3, :32], b.target[:, :, :32])
    assert torch.equal(b.sync_mel[0, 0], b.mels[0, 0])                 # expert window = first frame's
    assert not torch.equal(b.face_in[:5, 3:], b.target[:5])            # reference is another window


# ----------------------------------------------------------------------------- training
def test_l1_decreases_on_a_tiny_batch(toy: list[ClipArrays], tmp_path: Path) -> None:
    cfg = quick_config("l1", steps=15, batch=1, lr=3e-3, width=16)
    res = train(cfg, toy, MiniSyncExpert(), tmp_path, progress=False)
    l1 = [r["l1"] for r in res.log]
    assert np.mean(l1[-3:]) < 0.6 * np.mean(l1[:3]), l1
    assert res.weights.is_file() and list(res.log[0]) == list(LOG_COLUMNS)
    with open(tmp_path / "log.csv", newline="") as f:
        assert [float(r["l1"]) for r in csv.DictReader(f)] == l1          # every step, exactly


def test_every_configuration_runs(toy: list[ClipArrays], tmp_path: Path) -> None:
    for name in CONFIGS:
        cfg = quick_config(name, steps=2, batch=1, width=16, sync_threshold=None)
        res = train(cfg, toy, MiniSyncExpert(), tmp_path / name, progress=False)
        last = res.log[-1]
        assert all(np.isfinite(last[k]) for k in LOG_COLUMNS)
        assert last["sync_on"] == (1 if cfg.sync_weight else 0)
        assert (last["disc"] > 0) == (cfg.gan_weight > 0)
        assert (last["perceptual"] > 0) == (cfg.perceptual_weight > 0)
        assert (last["temporal"] > 0) == (cfg.temporal_weight > 0)
        if cfg.perceptual_weight:
            assert any("untrained" in n or "VGG19" in n for n in res.notes)


def test_sync_switch_waits_for_threshold(toy: list[ClipArrays], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import thglib.train.loop as loop

    monkeypatch.setattr(loop, "SYNC_WINDOW", 3)
    cfg = quick_config("l1_sync", steps=5, batch=1, width=16)
    never = train(replace(cfg, sync_threshold=0.0), toy, MiniSyncExpert(), tmp_path / "never", progress=False)
    assert all(r["sync_on"] == 0 for r in never.log)
    soon = train(replace(cfg, sync_threshold=1e9), toy, MiniSyncExpert(), tmp_path / "soon", progress=False)
    assert [r["sync_on"] for r in soon.log] == [0, 0, 0, 1, 1]      # on once the 3-step mean is below it


def test_seeded_and_resume_is_bit_identical(toy: list[ClipArrays], tmp_path: Path) -> None:
    cfg = quick_config("wav2lip_recipe", steps=6, batch=2, width=16, sync_threshold=None)
    torch.manual_seed(0)
    ex1 = MiniSyncExpert().eval()
    ex2 = MiniSyncExpert().eval()
    ex2.load_state_dict(ex1.state_dict())
    torch.manual_seed(123)                                             # train() seeds itself: no effect
    a = train(cfg, toy, ex1, tmp_path / "a", progress=False)
    part = train(cfg, toy, ex2, tmp_path / "b", stop_after=3, progress=False)
    assert len(part.log) == 3 and not part.weights.exists()
    b = train(cfg, toy, ex2, tmp_path / "b", resume=True, progress=False)
    assert [r["total"] for r in a.log] == [r["total"] for r in b.log]
    sa, sb = a.generator.state_dict(), b.generator.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    other = replace(cfg, lr=cfg.lr * 2)
    with pytest.raises(BadInputError, match="another configuration"):
        train(other, toy, ex2, tmp_path / "b", resume=True, progress=False)


def test_bad_configs() -> None:
    with pytest.raises(BadInputError):
        quick_config("l1", steps=0)
    with pytest.raises(BadInputError):
        quick_config("l1", sync_weight=0.6, gan_weight=0.5)
    with pytest.raises(BadInputError, match="unknown configuration"):
        quick_config("l3")


# ----------------------------------------------------------------------------- shipped artefacts
def test_shipped_checkpoints_load_small_and_labelled() -> None:
    for name in CONFIGS:
        p = mini_checkpoint(f"{name}_s0")
        assert p.stat().st_size <= 5_000_000, p                        # the issue's ≤ 5 MB
        g = load_mini(p, "generator")
        cfg = checkpoint_metadata(p)["train_config"]
        assert cfg["name"] == name and cfg["steps"] == CONFIGS[name].steps
    e = load_mini(mini_checkpoint("expert"), "expert")
    assert isinstance(e, MiniSyncExpert) and isinstance(g, MiniLipSync)
    assert "THG-Synth" in MINI_LABEL and "not Wav2Lip" in MINI_LABEL


def test_shipped_checkpoints_match_the_registry() -> None:
    from thglib import weights

    for n in ["expert"] + [f"{c}_s0" for c in CONFIGS]:
        c = weights.card(f"mini_lipsync_{n}")
        p = ROOT / "data" / "models" / c.filename
        assert p.stat().st_size == c.size and weights.sha256_of(p) == c.sha256, n


def test_shipped_results_cover_the_ablation() -> None:
    with open(DATA / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    runs = {(r["config"], r["seed"]) for r in rows}
    seeds = {s for _, s in runs}
    assert {c for c, _ in runs} == set(CONFIGS) and len(seeds) >= 2 and len(runs) == len(CONFIGS) * len(seeds)
    for r in rows:
        for k in ("mouth_psnr", "mouth_ssim", "lmd", "cpbd", "warp_error", "lse_c_loss_expert", "lse_c_independent"):
            assert np.isfinite(float(r[k])), (r["config"], k)
    for c, s in runs:                                                   # every run's log ships, complete
        with open(DATA / "logs" / f"{c}_s{s}.csv", newline="") as f:
            log = list(csv.DictReader(f))
        assert len(log) == CONFIGS[c].steps and list(log[0]) == list(LOG_COLUMNS)
    info = json.loads((DATA / "expert.json").read_text())
    assert info["heldout_sentences"]["accuracy"] > 0.7                  # the expert is an expert


def test_first_steps_reproduce_the_shipped_log(tmp_path: Path) -> None:
    """``thg train``'s code path on the real training split reproduces the shipped log's first steps."""
    from thglib.train.data import make_split

    clips = make_split("train")
    expert = load_mini(mini_checkpoint("expert"), "expert")
    res = train(quick_config("wav2lip_recipe"), clips, expert, tmp_path, stop_after=3, progress=False)
    with open(DATA / "logs" / "wav2lip_recipe_s0.csv", newline="") as f:
        shipped = list(csv.DictReader(f))[:3]
    for got, want in zip(res.log, shipped):
        for k in ("l1", "sync", "adv_g", "disc", "total"):
            assert got[k] == pytest.approx(float(want[k]), rel=2e-3, abs=1e-5), (got["step"], k)


# ----------------------------------------------------------------------------- evaluation and pipeline
@pytest.fixture(scope="module")
def synth_clip() -> ClipArrays:
    from thglib.synth import make_clip
    from thglib.train.data import clip_arrays

    return clip_arrays(make_clip("bin blue at f two now", identity="astronaut", seed=3), "t", keep_frames=True)


def test_metrics_on_a_heldout_clip(synth_clip: ClipArrays) -> None:
    from thglib.train.evaluate import evaluate_clip, loss_expert_sync, mouth_box, warping_error

    expert = load_mini(mini_checkpoint("expert"), "expert")
    true = loss_expert_sync(expert, synth_clip.crops, synth_clip.mels)
    assert abs(true["offset"]) <= 1                                     # the expert finds the true alignment
    shuffled = loss_expert_sync(expert, synth_clip.crops, np.roll(synth_clip.mels, 7, axis=0))
    assert shuffled["lse_c"] < true["lse_c"]
    y0, y1, x0, x1 = mouth_box(synth_clip.landmarks)
    assert 0 <= y0 < y1 <= 96 and 0 <= x0 < x1 <= 96 and y0 > 40        # the mouth is in the lower half
    assert warping_error(synth_clip.crops, synth_clip.crops) < warping_error(synth_clip.crops[::-1].copy(),
                                                                             synth_clip.crops)
    row = evaluate_clip(load_mini(mini_checkpoint("wav2lip_recipe_s0")), synth_clip, expert)
    for k in ("mouth_psnr", "mouth_ssim", "lmd", "cpbd", "warp_error", "lse_c_loss_expert", "lse_c_independent"):
        assert np.isfinite(row[k]), k
    assert 15 < row["mouth_psnr"] < 40 and 0 < row["mouth_ssim"] < 1


def test_lipsync_pipeline_runs_the_mini_model(tmp_path: Path) -> None:
    from thglib.lipsync import lipsync
    from thglib.pipelines.mux import mp4_comment
    from thglib.samples import portrait

    t = np.arange(16000) / 16000
    tone = (0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32)
    res = lipsync(portrait("astronaut"), (tone, 16000), tmp_path / "mini.mp4", weights="mini",
                  expert_weights="mini", progress=False)
    assert "mini Wav2Lip" in res.weights and res.caveat is None and res.n_frames == 25
    assert res.sync is not None and "mini Wav2Lip" in res.sync.weights
    assert MINI_LABEL in mp4_comment(res.output)                       # labelled in the file itself


def test_cli_train_and_lipsync_model_mini(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from thglib.cli import main

    assert main(["train", "--config", "l1", "--steps", "2", "--split", "tiny", "--out", str(tmp_path / "run"),
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "l1 (seed 0): 2 steps" in out and (tmp_path / "run" / "mini_lipsync_l1_s0.safetensors").is_file()
    assert main(["train", "--config", "l1", "--steps", "3", "--split", "tiny", "--out", str(tmp_path / "run"),
                 "--quiet", "--resume"]) == 1                              # other config: refused, not crashed
    assert "another configuration" in capsys.readouterr().err


def test_cli_lipsync_model_mini(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from thglib.cli import main
    from thglib.io import save_audio
    from thglib.samples import portrait

    cv2.imwrite(str(tmp_path / "face.png"), portrait("grace_hopper")[..., ::-1])
    t = np.arange(12000) / 16000
    save_audio(tmp_path / "a.wav", (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 16000)
    assert main(["lipsync", "--face", str(tmp_path / "face.png"), "--audio", str(tmp_path / "a.wav"),
                 "--out", str(tmp_path / "o.mp4"), "--model", "mini", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "mini Wav2Lip" in out and (tmp_path / "o.mp4").stat().st_size > 1000
