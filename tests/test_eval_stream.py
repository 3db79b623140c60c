"""Streamed evaluation (``thglib.eval.stream``): chunk by chunk, the same numbers as the whole clip.

Chunks of a few frames put many chunk boundaries inside short THG-Synth clips, so every per-chunk path
(taps, lip-embedding blocks, re-chunked pairs after a lag, features every k-th frame) is crossed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from thglib import synth
from thglib.eval import evaluate, get_protocol
from thglib.eval.stream import _rechunk, merge_chunks
from thglib.io import iter_frames, read_video, write_video
from thglib.io.jpeg import iter_jpeg_roundtrip_file, jpeg_roundtrip_file
from thglib.eval.runner import DYNAMICS, _track
from thglib.metrics import dynamics, pixel, sync

PARAMS = synth.SynthParams(size=128)
FAST = replace(get_protocol("thg-synth"), name="thg-synth-stream-test", fid_stride=7)
#: Wav2Lip's LRS2 protocol with the untrained SyncNet v2 and dlib (offline): the file's own JPEG round trip
LRS2 = replace(get_protocol("wav2lip-lrs2"), name="lrs2-stream-test", sync_scorer="syncnet_v2_fill",
               detector="dlib-hog", landmarks="dlib", identity="dlib")
#: syncnet_python's real-video pipeline, offline: face track every 3 frames, crops, JPEG round trip
REAL = replace(get_protocol("syncnet-real-videos"), name="real-stream-test", sync_scorer="syncnet_v2_fill",
               detector="dlib-hog", landmarks="dlib", identity="dlib", detect_every=3)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("streamdata")
    c0 = synth.make_clip("bin blue at f two now", identity="grace_hopper", seed=0, params=PARAMS)
    c1 = synth.make_clip("lay red by g four soon", identity="astronaut", seed=1, params=PARAMS)
    for k, c in (("c0", c0), ("c1", c1)):
        synth.save_clip(c, root / "ref" / k)
    synth.save_clip(synth.degrade(c0, "blur", 1.5), root / "gen" / "c0")
    # c1: generated 2 frames late (the temporal alignment must find it) and saved at 30 fps (resampled to 25)
    late = np.concatenate([c1.frames[:1].repeat(2, axis=0), c1.frames[:-2]])
    write_video(root / "gen30" / "c1.mp4", late[np.round(np.arange(0, len(late), 25 / 30)).astype(int)], 30,
                audio=c1.audio, sample_rate=c1.sample_rate)
    synth.save_clip(synth.degrade(c1, "offset", 3), root / "gen" / "c1")
    return root


def _same(a, b, rel: float = 1e-9) -> None:
    assert [r["id"] for r in a.reports] == [r["id"] for r in b.reports]
    for ra, rb in zip(a.reports, b.reports):
        assert not ra["streamed"] and rb["streamed"]
        assert ra["status"] == rb["status"] and set(ra["errors"]) == set(rb["errors"]), (ra["errors"], rb["errors"])
        assert set(ra["metrics"]) == set(rb["metrics"]) and ra["metrics"]
        for k, m in ra["metrics"].items():
            va, vb = m["value"], rb["metrics"][k]["value"]
            if va is None:
                assert vb is None, k
                continue
            tol = 0.0 if k.startswith("lse") else rel * max(abs(va), 1e-12)
            assert abs(va - vb) <= tol, (ra["id"], k, va, vb)
            if m["per_frame"] is not None:
                np.testing.assert_allclose(np.array(rb["metrics"][k]["per_frame"], float),
                                           np.array(m["per_frame"], float), rtol=rel, atol=0)
        assert ra["alignment"].get("frame_lag") == rb["alignment"].get("frame_lag")


def test_streamed_equals_whole_for_every_metric(data, tmp_path):
    metrics = "lse,cpbd,psnr,ssim,lmd,pose_diversity,beat_align,csim,fid,kid," + ",".join(DYNAMICS)
    a = evaluate(data / "gen", data / "ref", out=tmp_path / "a", protocol=FAST, metrics=metrics, progress=False)
    # the dynamics in the report are thglib.metrics.dynamics on the protocol's landmark track
    clip = read_video(data / "gen" / "c0.mp4")
    track = _track(clip.frames, FAST, "generated")
    assert a.reports[0]["metrics"]["lip_dynamics"]["value"] == dynamics.lip_dynamics(track, (128, 128)).value
    assert a.reports[0]["metrics"]["lip_sync_energy"]["value"] == dynamics.lip_sync_energy(
        track, (128, 128), clip.audio, clip.sample_rate, 25.0).value
    b = evaluate(data / "gen", data / "ref", out=tmp_path / "b", protocol=FAST, metrics=metrics, progress=False,
                 stream=True, chunk=9)
    _same(a, b)
    assert b.reports[0]["log"][0].startswith("streamed in chunks of 9 frames")
    assert b.reports[0]["metrics"]["psnr"]["card"]["samples"] == a.reports[0]["metrics"]["psnr"]["card"]["samples"]
    for k in ("fid", "kid"):
        assert b.value(k) == pytest.approx(a.value(k), rel=1e-9, abs=1e-12)


def test_streamed_lag_and_resampling_match_the_whole_clip(data, tmp_path):
    a = evaluate(data / "gen30" / "c1.mp4", data / "ref" / "c1.mp4", out=tmp_path / "a", protocol=FAST,
                 metrics="psnr,ssim,lmd", progress=False)
    b = evaluate(data / "gen30" / "c1.mp4", data / "ref" / "c1.mp4", out=tmp_path / "b", protocol=FAST,
                 metrics="psnr,ssim,lmd", progress=False, stream=True, chunk=5)
    _same(a, b)
    assert b.reports[0]["alignment"]["frame_lag"] == 2
    assert any("resampled 30 fps → 25 fps" in line for line in b.reports[0]["log"])


@pytest.mark.parametrize("proto", [LRS2, REAL], ids=["lrs2-file-jpeg", "real-videos-track"])
def test_streamed_lse_is_bit_identical_under_the_official_protocols(data, tmp_path, proto):
    a = evaluate(data / "gen", out=tmp_path / "a", protocol=proto, metrics="lse", progress=False)
    b = evaluate(data / "gen", out=tmp_path / "b", protocol=proto, metrics="lse", progress=False,
                 stream=True, chunk=11)
    _same(a, b)
    assert b.reports[0]["metrics"]["lse_d"]["card"]["crop"] == a.reports[0]["metrics"]["lse_d"]["card"]["crop"]


@pytest.mark.parametrize("n_frames,n_audio,chunks", [(60, 41, (1, 7)), (41, 60, (13,)), (270, 270, (64,))])
def test_lse_stream_equals_lse_whatever_the_lengths_and_chunks(n_frames, n_audio, chunks):
    """Audio shorter, video shorter, and more windows than one embedding block (256)."""
    rng = np.random.default_rng(n_frames + n_audio)
    frames = rng.integers(0, 256, (n_frames, 224, 224, 3), dtype=np.uint8)
    pcm = (rng.standard_normal(n_audio * 640) * 3000).astype(np.int16)
    scorer = sync.load_scorer("syncnet_v2_fill")
    whole = sync.lse(frames, pcm, scorer=scorer)
    for chunk in chunks:
        parts = (frames[i:i + chunk] for i in range(0, n_frames, chunk))   # RGB: sync_chunks makes BGR
        got = sync.lse_stream(sync.sync_chunks(parts), pcm, scorer=scorer)
        assert got.lse_d.value == whole.lse_d.value and got.lse_c.value == whole.lse_c.value
        assert got.offset == whole.offset
        np.testing.assert_array_equal(got.lse_c.per_frame, whole.lse_c.per_frame)


def test_streamed_decoders_equal_the_whole_ones(data):
    path = data / "gen30" / "c1.mp4"
    whole = read_video(path, fps=25, audio=False).frames
    np.testing.assert_array_equal(np.concatenate(list(iter_frames(path, chunk=4, fps=25))), whole)
    jpeg = jpeg_roundtrip_file(path)
    parts = list(iter_jpeg_roundtrip_file(path, chunk=6, read_size=999))
    assert max(len(p) for p in parts) == 6
    np.testing.assert_array_equal(np.concatenate(parts), jpeg)


def test_rechunk_and_merge():
    chunks = [np.arange(k, k + n)[:, None] for k, n in ((0, 4), (4, 1), (5, 6), (11, 2))]
    got = list(_rechunk(chunks, 3, start=2, n=8))
    assert [len(g) for g in got] == [3, 3, 2] and np.concatenate(got)[:, 0].tolist() == list(range(2, 10))
    assert np.concatenate(list(_rechunk(chunks, 5)))[:, 0].tolist() == list(range(13))
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 10, 16, 16, 3), dtype=np.uint8)
    b[3] = a[3]                                                     # an identical pair: PSNR +inf, counted
    whole = pixel.psnr(a, b, progress=False, cap_db=100)
    merged = merge_chunks("psnr", [pixel.psnr(a[i:i + 4], b[i:i + 4], progress=False, cap_db=100)
                                   for i in range(0, 10, 4)])
    assert merged.value == pytest.approx(whole.value, rel=1e-12)
    assert merged.extra["identical_frames"] == whole.extra["identical_frames"] == 1
    assert merged.card.samples == whole.card.samples == 10
    assert merge_chunks("psnr", []) is None


def test_budget_decides_and_an_unreadable_clip_is_a_failed_row(data, tmp_path):
    small = evaluate(data / "gen" / "c0.mp4", out=tmp_path / "a", protocol=FAST, metrics="cpbd", progress=False)
    assert not small.reports[0]["streamed"]
    tight = evaluate(data / "gen" / "c0.mp4", out=tmp_path / "b", protocol=FAST, metrics="cpbd", progress=False,
                     memory_mb=0.5)
    assert tight.reports[0]["streamed"] and "over the 0.5 MiB budget" in tight.reports[0]["log"][0]
    assert tight.reports[0]["metrics"]["cpbd"]["value"] == small.reports[0]["metrics"]["cpbd"]["value"]
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    r = evaluate(bad, out=tmp_path / "c", protocol=FAST, metrics="cpbd", progress=False, stream=True).reports[0]
    assert r["status"] == "failed" and "bad.mp4" in r["reason"]
    vis = evaluate(data / "gen" / "c0.mp4", out=tmp_path / "d", protocol=FAST, metrics="cpbd", progress=False,
                   stream=True, visualize=True).reports[0]
    assert "streamed clip" in vis["errors"]["visualize"] and vis["status"] == "partial"
