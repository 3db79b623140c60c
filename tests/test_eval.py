"""``thg eval``: pairing, per-clip reports, failures as rows, resume, alignment, protocols, CLI, visualisation.

The clips are tiny THG-Synth clips (128 px, one short GRID-like sentence), evaluated under the offline
``thg-synth`` protocol (THG-Synth sync expert, dlib faces, FD over dlib descriptors)."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from thglib import synth
from thglib.errors import BadInputError
from thglib.eval import compare, evaluate, get_protocol
from thglib.eval import align
from thglib.io import read_video, write_video
from thglib.metrics import ProtocolMismatch, pixel, sync

PARAMS = synth.SynthParams(size=128)
#: the offline protocol with a coarse feature stride, so dlib descriptors stay few
FAST = replace(get_protocol("thg-synth"), name="thg-synth-test", fid_stride=12)
#: and without alignment, where a test does not need it (no landmark tracking)
PLAIN = replace(FAST, name="thg-synth-test-plain", temporal_align=False, spatial_align=False)


@pytest.fixture(scope="module")
def clips() -> dict[str, synth.SynthClip]:
    return {"c0": synth.make_clip("bin blue at f two now", identity="grace_hopper", seed=0, params=PARAMS),
            "c1": synth.make_clip("lay red by g four soon", identity="astronaut", seed=1, params=PARAMS)}


@pytest.fixture(scope="module")
def data(tmp_path_factory, clips) -> Path:
    """ref/ (clean clips), gen/ (c0 blurred, c1 with its audio 3 frames late, an unreadable c2, and without
    references c3 (a face, silent audio) and c4 (noise: no face))."""
    root = tmp_path_factory.mktemp("evaldata")
    for k, c in clips.items():
        synth.save_clip(c, root / "ref" / k)
    synth.save_clip(synth.degrade(clips["c0"], "blur", 1.5), root / "gen" / "c0")
    synth.save_clip(synth.degrade(clips["c1"], "offset", 3), root / "gen" / "c1")
    (root / "gen" / "c2.mp4").write_bytes(b"this is not a video")
    quiet = clips["c0"]
    write_video(root / "gen" / "c3.mp4", quiet.frames, 25, audio=np.zeros_like(quiet.audio), sample_rate=16000)
    noise = np.random.default_rng(0).integers(0, 256, (20, 64, 64, 3), dtype=np.uint8)
    write_video(root / "gen" / "c4.mp4", noise, 25, audio=quiet.audio[:20 * 640], sample_rate=16000)
    return root


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("evalrun") / "out"
    return evaluate(data / "gen", data / "ref", out=out, protocol=FAST,
                    metrics="lse,cpbd,psnr,ssim,ms_ssim,lmd,fid,kid", progress=False)


# ------------------------------------------------------------------------------------------ folder run
def test_folder_run_pairs_by_name_and_records_a_failed_clip(run, data):
    s = run.summary
    assert [r["id"] for r in run.reports] == ["c0", "c1", "c2", "c3", "c4"]
    assert s["n_clips"] == 5 and s["n_failed"] == 1 and s["failures"][0]["id"] == "c2"
    assert "MediaError" in s["failures"][0]["reason"] and "c2.mp4" in s["failures"][0]["reason"]
    bad = run.reports[2]
    assert bad["status"] == "failed" and bad["metrics"] == {}
    for r in run.reports[:2]:
        assert r["status"] == "partial"          # MS-SSIM refuses 128-px frames: NaN with its reason
        assert "176" in r["errors"]["ms_ssim"] and "psnr" in r["metrics"]   # c1: identical frames, PSNR inf
        assert r["inputs"]["ref"]["path"].endswith(f"ref/{r['id']}.mp4")
    silent, faceless = run.reports[3], run.reports[4]
    assert silent["inputs"]["ref"] is None and "no speech" in silent["errors"]["lse"] and "psnr" not in silent["metrics"]
    assert "NoFaceError" in faceless["errors"]["lse"] and np.isfinite(faceless["metrics"]["cpbd"]["value"])
    with open(run.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == ["c0", "c1", "c2", "c3", "c4"]
    assert rows[3]["lse_d"] == "nan" and "no speech" in rows[3]["errors"]
    assert rows[2]["status"] == "failed" and rows[2]["psnr"] == "nan" and "MediaError" in rows[2]["reason"]
    assert float(rows[0]["psnr"]) == run.reports[0]["metrics"]["psnr"]["value"]


def test_values_are_the_metric_modules_numbers_under_the_protocol(run, data, clips):
    rep = run.reports[0]
    assert rep["alignment"]["frame_lag"] == 0 and "not applied" in rep["alignment"]["notes"]
    ref, gen = (read_video(data / d / "c0.mp4", audio=False).frames for d in ("ref", "gen"))
    assert rep["metrics"]["psnr"]["value"] == pixel.psnr(ref, gen).value
    assert rep["metrics"]["ssim"]["value"] == pixel.ssim(ref, gen).value
    assert rep["metrics"]["psnr"]["card"]["eval_protocol"] == "thg-synth-test"
    # the sync expert finds the injected 3-frame audio lag (SyncNet's sign: negative = audio lags)
    assert run.reports[1]["metrics"]["lse_d"]["extra"]["offset"] == -3
    assert run.reports[0]["metrics"]["lse_d"]["extra"]["offset"] == 0
    lse_card = rep["metrics"]["lse_d"]["card"]
    assert "THG-Synth expert" in lse_card["metric"] and lse_card["caveat"] and "face track" in lse_card["crop"]


def test_set_metrics_are_reduced_from_the_feature_files(run):
    from thglib.metrics import distribution

    fd = run.summary["set"]["fid"]
    assert fd["card"]["metric"] == "FD-dlib128" and "reduced from per-clip feature files" in fd["card"]["notes"]
    feats = {side: [np.load(run.out / r["features"][f"dlib128.{side}"]) for r in run.reports
                    if f"dlib128.{side}" in r["features"]] for side in ("gen", "ref")}
    assert [len(f) for f in feats["gen"]][-1] == 0         # c4 has no face: no descriptor, no crash
    gen, ref = np.concatenate(feats["gen"]), np.concatenate(feats["ref"])   # generated: c0, c1 and c3
    assert gen.shape[1] == ref.shape[1] == 128 and len(gen) >= 8 and len(ref) >= 8
    assert fd["value"] == distribution.frechet_distance_lowrank(ref, gen)
    assert "kid" in run.summary["set"]
    psnr = run.summary["means"]["psnr"]      # c1's frames are the reference's: PSNR +inf, left out and said so
    assert psnr["n"] == 1 and "1 clip(s) with a non-finite value left out" in psnr["card"]["notes"]


def test_rerun_resumes_and_appends_and_a_changed_input_is_recomputed(run, data, tmp_path):
    import shutil

    out = shutil.copytree(run.out, tmp_path / "out")
    again = evaluate(data / "gen", data / "ref", out=out, protocol=FAST,
                     metrics="lse,cpbd,psnr,ssim,ms_ssim,lmd,fid,kid", progress=False)
    assert again.summary["n_resumed"] == 5
    assert again.summary["set"]["fid"]["value"] == run.summary["set"]["fid"]["value"]
    with open(again.csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10 and len({r["run"] for r in rows}) == 2
    st = os.stat(data / "gen" / "c0.mp4")
    os.utime(data / "gen" / "c0.mp4", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    third = evaluate(data / "gen", data / "ref", out=out, protocol=PLAIN, metrics="psnr", progress=False)
    assert third.summary["n_resumed"] == 0    # another protocol and metrics: every clip is recomputed
    fourth = evaluate(data / "gen", data / "ref", out=out, protocol=PLAIN, metrics="psnr", progress=False)
    assert fourth.summary["n_resumed"] == 5
    os.utime(data / "gen" / "c0.mp4", ns=(st.st_atime_ns, st.st_mtime_ns))
    fifth = evaluate(data / "gen", data / "ref", out=out, protocol=PLAIN, metrics="psnr", progress=False)
    assert [r["resumed"] for r in fifth.reports] == [False, True, True, True, True]


def test_reports_are_strict_json_with_cards_versions_and_weights(run):
    rep = json.loads((run.out / "clips" / "c0.json").read_text())
    assert rep["format"] == "thg-eval/1" and rep["protocol"]["name"] == "thg-synth-test"
    assert len(rep["metrics"]["psnr"]["per_frame"]) == rep["metrics"]["psnr"]["card"]["samples"]
    assert "sha256:" in rep["metrics"]["lse_d"]["card"]["weights"] and "torch" in rep["versions"]
    summary = json.loads((run.out / "summary.json").read_text())
    assert "thg-synth-test" in summary["citation"] and summary["n_failed"] == 1


# ------------------------------------------------------------------------------------------ inputs
def test_file_pair_and_manifest(data, tmp_path):
    one = evaluate(data / "gen" / "c0.mp4", data / "ref" / "c0.mp4", out=tmp_path / "one", protocol=PLAIN,
                   metrics="psnr", progress=False)
    assert one.summary["n_ok"] == 1 and one.reports[0]["id"] == "c0"
    manifest = tmp_path / "m.csv"
    manifest.write_text("gen,ref,audio,id\n"
                        f"{data / 'gen' / 'c1.mp4'},{data / 'ref' / 'c1.mp4'},,late\n"
                        f"{data / 'ref' / 'c1.mp4'},,{data / 'ref' / 'c1.wav'},clean\n"
                        "missing.mp4,,,gone\n")
    m = evaluate(manifest, out=tmp_path / "man", protocol=PLAIN, metrics="lse,psnr", progress=False)
    late, clean, gone = m.reports
    assert (late["id"], clean["id"], gone["id"]) == ("late", "clean", "gone")
    assert late["metrics"]["lse_d"]["extra"]["offset"] == -3 and "psnr" in late["metrics"]
    assert clean["metrics"]["lse_d"]["extra"]["offset"] == 0 and "psnr" not in clean["metrics"]
    assert any("c1.wav" in line for line in clean["log"])
    assert gone["status"] == "failed" and "missing.mp4" in gone["reason"]


def test_a_reference_scored_twice_is_tracked_once_and_html_can_be_skipped(data, tmp_path, monkeypatch):
    from thglib import face
    from thglib.eval import runner

    calls = []
    real = face.landmarks_video
    monkeypatch.setattr(face, "landmarks_video", lambda *a, **k: calls.append(k["source"]) or real(*a, **k))
    monkeypatch.setattr(runner, "_TRACKS", type(runner._TRACKS)(64))
    kw = dict(protocol=FAST, metrics="lmd", progress=False, html=False)
    a = evaluate(data / "gen" / "c0.mp4", data / "ref" / "c0.mp4", out=tmp_path / "a", **kw)
    b = evaluate(data / "ref" / "c0.mp4", data / "ref" / "c0.mp4", out=tmp_path / "b", **kw)
    assert calls.count("reference") == 1 and calls.count("generated") == 2  # the second reference: remembered
    assert a.html is None and not (tmp_path / "a" / "report.html").exists() and (tmp_path / "a" / "summary.json").exists()
    assert b.reports[0]["metrics"]["lmd"]["value"] == pytest.approx(0.0, abs=1e-6)  # a clip against itself
    again = evaluate(data / "gen" / "c0.mp4", data / "ref" / "c0.mp4", out=tmp_path / "c", **kw)
    assert again.reports[0]["metrics"]["lmd"]["value"] == a.reports[0]["metrics"]["lmd"]["value"]
    runner.forget_cached()  # timing runs start cold
    evaluate(data / "gen" / "c0.mp4", data / "ref" / "c0.mp4", out=tmp_path / "d", **kw)
    assert calls.count("reference") == 2
    page = evaluate(data / "gen" / "c0.mp4", data / "ref" / "c0.mp4", out=tmp_path / "d", **{**kw, "html": True}).html
    assert page.exists()
    evaluate(data / "gen" / "c0.mp4", data / "ref" / "c0.mp4", out=tmp_path / "d", **kw)
    assert not page.exists()  # no page from an earlier run beside this run's summary


def test_bad_arguments_are_named(data, tmp_path):
    with pytest.raises(BadInputError, match="metrics"):
        evaluate(data / "gen", out=tmp_path / "a", metrics="psnr,fvd")
    with pytest.raises(BadInputError, match="protocol"):
        evaluate(data / "gen", out=tmp_path / "a", protocol="lrs3-magic")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("do not touch")
    with pytest.raises(BadInputError, match="did not write"):
        evaluate(data / "gen" / "c0.mp4", out=foreign, protocol=FAST, metrics="cpbd")
    assert (foreign / "thesis.tex").read_text() == "do not touch"
    bad = tmp_path / "bad.csv"
    bad.write_text("video,reference\nx.mp4,y.mp4\n")
    with pytest.raises(BadInputError, match="gen"):
        evaluate(bad, out=tmp_path / "b")
    with pytest.raises(BadInputError, match="folder"):
        evaluate(data / "gen", data / "ref" / "c0.mp4", out=tmp_path / "c")


def test_cli_eval_and_list_protocols(data, tmp_path, capsys):
    from thglib.cli import main

    assert main(["eval", "--list-protocols"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in ("wav2lip-lrs2", "syncnet-real-videos", "thg-default", "thg-synth"))
    assert "jpeg_roundtrip" in listed and "detector" in listed
    rc = main(["eval", str(data / "gen" / "c0.mp4"), "--ref", str(data / "ref" / "c0.mp4"), "--metrics", "psnr",
               "--protocol", "thg-synth", "--out", str(tmp_path / "cli"), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0 and "PSNR" in out and "report.html" in out
    rc = main(["eval", str(tmp_path / "nothing.mp4"), "--metrics", "cpbd", "--out", str(tmp_path / "cli2"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "failed nothing" in err and "MediaError" in err


# ------------------------------------------------------------------------------------------ protocols
def test_lse_reads_the_protocol_and_cards_carry_its_name(clips):
    c = clips["c0"]
    by_name = sync.lse(c, protocol="thg-synth")
    p = get_protocol("thg-synth")
    by_hand = sync.lse(c, scorer=p.sync_scorer, crop=p.sync_crop, every=p.detect_every,
                       jpeg_roundtrip=p.jpeg_roundtrip)
    assert by_name.lse_d.value == by_hand.lse_d.value and by_name.offset == by_hand.offset
    assert by_name.lse_d.card.eval_protocol == "thg-synth" and by_hand.lse_d.card.eval_protocol == ""
    with pytest.raises(ProtocolMismatch, match="eval_protocol"):
        by_name.lse_d.check_comparable(by_hand.lse_d)
    assert "thg-synth" in p.citation() and "detector dlib-hog" in p.citation()
    lrs2 = get_protocol("wav2lip-lrs2")
    assert lrs2.sync_kwargs() == {"crop": "none", "jpeg_roundtrip": True, "every": 1, "backend": "s3fd"}


def test_compare_refuses_runs_under_different_protocols(run, data, tmp_path):
    rows = compare(run.out, run.summary)
    assert {r["metric"].split(" ")[0] for r in rows} >= {"PSNR", "FD-dlib128"}
    assert all(r["better"] == "tie" for r in rows)
    other = evaluate(data / "gen" / "c0.mp4", data / "ref" / "c0.mp4", out=tmp_path / "other",
                     protocol=replace(PLAIN, name="thg-synth-other"), metrics="psnr", progress=False)
    with pytest.raises(ProtocolMismatch, match="PSNR"):
        compare(run.out, other.out)


# ------------------------------------------------------------------------------------------ alignment
def test_frame_lag_and_similarity_recover_known_shifts(clips):
    pts = clips["c0"].landmarks.astype(np.float64)
    for k in (-4, 0, 3):
        gen = np.roll(pts, k, axis=0)                 # generated[t + k] = reference[t]
        lag, r = align.frame_lag(pts[10:-10], gen[10:-10], max_lag=6)
        assert lag == k, (k, lag, r)
    theta = np.radians(4.0)
    m = np.array([[1.1 * np.cos(theta), -1.1 * np.sin(theta), 5.0], [1.1 * np.sin(theta), 1.1 * np.cos(theta), -3.0]])
    moved = pts @ m[:, :2].T + m[:, 2]
    sim = align.estimate_similarity(pts, moved)       # generated (moved) → reference
    np.testing.assert_allclose(sim.points(moved), pts, atol=1e-6)
    assert sim.scale == pytest.approx(1 / 1.1) and sim.rotation_deg == pytest.approx(-4.0)
    assert not sim.is_identity() and align.estimate_similarity(pts, pts).is_identity()


def test_runner_aligns_a_generated_clip_that_leads_by_two_frames(data, clips, tmp_path):
    c = clips["c0"]
    ref = read_video(data / "ref" / "c0.mp4", audio=False).frames
    shifted = write_video(tmp_path / "gen" / "c0.mp4", ref[2:], 25, audio=c.audio[2 * 640:], sample_rate=16000)
    r = evaluate(shifted, data / "ref" / "c0.mp4", out=tmp_path / "o", protocol=FAST, metrics="psnr",
                 progress=False).reports[0]
    assert r["alignment"]["frame_lag"] == -2
    unaligned = pixel.psnr(ref, read_video(shifted, audio=False).frames, length="truncate").value
    assert r["metrics"]["psnr"]["value"] > unaligned + 5, (r["metrics"]["psnr"]["value"], unaligned)
    assert "generated lags reference by -2 frames" in r["metrics"]["psnr"]["card"]["notes"]


# ------------------------------------------------------------------------------------------ visualise
def test_side_by_side_video_and_figure(run, data, clips, tmp_path):
    from thglib.eval.visualize import clip_figure, clip_video
    from thglib.face import landmarks_video
    from thglib.io import probe

    ref = read_video(data / "ref" / "c0.mp4", audio=False).frames
    gen = read_video(data / "gen" / "c0.mp4", audio=False).frames
    track = landmarks_video(gen, every=5, backend="dlib", policy="interpolate")
    conf = np.array(run.reports[0]["series"]["sync_confidence"])
    path = clip_video(tmp_path / "v.mp4", gen, 25, ref=ref, track=track, audio=clips["c0"].audio, confidence=conf)
    info = probe(path)
    assert (info.width, info.height) == (256, 128 + 64 + 2 * 64) and info.n_frames == len(gen) and info.has_audio
    frame = read_video(path, audio=False, max_frames=1).frames[0]
    right, left = (np.abs(frame[:128, s].astype(int) - gen[0]).mean() for s in (slice(128, None), slice(0, 128)))
    assert right < 10 and right < left  # the generated panel (with landmarks) is on the right
    fig = clip_figure(run.reports[0], tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 1000
    assert [ax.get_title() for ax in fig.axes][:2] == ["sync confidence per 5-frame window", "PSNR per frame"]
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)


# ------------------------------------------------------------------------------------------ HTML report
def test_html_report_opens_offline_in_chromium_with_its_tables_and_figures(run):
    from playwright.sync_api import sync_playwright

    from tests.test_site import chromium_binary

    html = run.html.read_text()
    assert "<script" not in html and "http://" not in html and "https://" not in html
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_binary(), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(run.html.as_uri(), wait_until="load")
        rows = page.locator("table#clips tr")
        assert rows.count() == 6 and page.locator("table#clips tr.failed").count() == 1
        assert "MediaError" in page.locator("table#clips tr.failed").inner_text()
        assert page.locator("table#summary").is_visible() and "FD-dlib128" in page.locator("table#summary").inner_text()
        sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])")
        assert len(sizes) == 2 and all(ok and w > 200 and h > 100 for ok, w, h in sizes), sizes
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(run.out / "report.png"), full_page=True)
        browser.close()
    assert requests and all(u == run.html.as_uri() or u.startswith("data:") for u in requests), requests
