"""THG-Synth clips: determinism, audio-visual ground truth, files, CLI and dataset."""

from __future__ import annotations

import csv
from dataclasses import replace

import numpy as np
import pytest

from thglib.audio import energy_envelope
from thglib.cli import main
from thglib.errors import BadInputError
from thglib.synth import (SynthParams, head_track, load_clip, make_clip, make_dataset, save_clip, speech_drive,
                          viseme_segments)
from thglib.tts import PAUSE

FAST = SynthParams(size=128, pad_s=0.3)
TEXT = "bin blue at F two now"


@pytest.fixture(scope="module")
def clip():
    return make_clip(TEXT, seed=1, params=FAST)


def _gt(c) -> dict:
    return {k: getattr(c, k) for k in ("frames", "audio", "landmarks", "mouth", "eye_closure", "pose",
                                       "pose_matrices", "visemes", "blinks", "frame_source")}


def test_same_seed_same_clip_bit_for_bit(clip) -> None:
    again = make_clip(TEXT, seed=1, params=FAST)
    for k, v in _gt(clip).items():
        assert np.array_equal(v, _gt(again)[k]), k
    assert again.phonemes == clip.phonemes and again.text == clip.text


def test_different_seeds_give_different_motion_and_utterances(clip) -> None:
    other = make_clip(TEXT, seed=2, params=FAST)
    assert np.array_equal(other.audio, clip.audio) and np.array_equal(other.mouth, clip.mouth)  # same speech
    assert not np.allclose(other.pose, clip.pose) and not np.array_equal(other.frames, clip.frames)
    a, b = make_clip(grid_seed=1, params=FAST), make_clip(grid_seed=2, params=FAST)
    assert a.text != b.text and len(a.text.split()) == 6
    assert [p.symbol for p in a.phonemes] != [p.symbol for p in b.phonemes]


def test_shapes_and_audio_length(clip) -> None:
    t = clip.n_frames
    assert clip.frames.shape == (t, 128, 128, 3) and clip.frames.dtype == np.uint8
    assert clip.landmarks.shape == (t, 68, 2) and clip.pose_matrices.shape == (t, 2, 3)
    assert len(clip.audio) == t * clip.sample_rate / clip.fps  # whole frames of audio
    assert clip.phonemes[0].start_s == 0 and clip.phonemes[-1].end_s == pytest.approx(t / clip.fps)


def test_mouth_opening_follows_speech_energy_and_closes_in_silence(clip) -> None:
    env = energy_envelope(clip.audio, clip.sample_rate, clip.fps)
    r = np.corrcoef(env, clip.mouth[:, 0])[0, 1]
    assert r > 0.5, r
    speech = [p for p in clip.phonemes if p.symbol != PAUSE]
    centres = (np.arange(clip.n_frames) + 0.5) / clip.fps
    far = (centres < speech[0].start_s - 0.15) | (centres > speech[-1].end_s + 0.15)
    assert far.sum() >= 4
    assert np.all(clip.mouth[far, 0] < 5e-3)  # < 0.3 px of lip gap at 256²
    gap = np.linalg.norm(clip.landmarks[:, 66] - clip.landmarks[:, 62], axis=1) / clip.pose[:, 3]
    assert np.allclose(gap, clip.mouth[:, 0] * clip.iod, atol=1e-3)  # landmarks carry the parameter exactly


def test_visemes_per_frame_are_silence_outside_speech(clip) -> None:
    speech = [p for p in clip.phonemes if p.symbol != PAUSE]
    centres = (np.arange(clip.n_frames) + 0.5) / clip.fps
    outside = (centres < speech[0].start_s) | (centres >= speech[-1].end_s)
    assert np.all(clip.visemes[outside] == 0) and np.any(clip.visemes[~outside] > 0)
    assert len(viseme_segments(clip.phonemes)) >= len(speech)


def test_blinks_close_the_eyelids() -> None:
    c = make_clip(TEXT, seed=3, params=replace(FAST, blink_per_minute=60))
    assert len(c.blinks) >= 1 and len(c.blink_frames) >= 1
    assert np.all((c.blinks[:, 1] >= 0.1) & (c.blinks[:, 1] <= 0.15))
    lid = np.linalg.norm(c.landmarks[:, 37] - c.landmarks[:, 41], axis=1)
    open_eyes = c.eye_closure == 0
    assert lid[c.blink_frames].max() < 0.6 * lid[open_eyes].min()
    for start, dur in c.blinks:  # each blink is at least half closed on some frame inside it
        inside = np.arange(int(start * c.fps), int((start + dur) * c.fps) + 1)
        assert np.any(c.eye_closure[inside[inside < c.n_frames]] >= 0.5)


def test_head_motion_coupling_adds_exactly_the_speech_term(clip) -> None:
    drive = speech_drive(clip.audio, clip.sample_rate, clip.fps, clip.n_frames)
    rng = lambda: np.random.default_rng(5)  # noqa: E731
    free = head_track(clip.n_frames, clip.fps, rng(), drive, coupling=0.0)
    coupled = head_track(clip.n_frames, clip.fps, rng(), drive, coupling=2.0, nod=0.05, lean=0.01)
    assert np.allclose(coupled - free, 2.0 * drive[:, None] * [0, 0, 0.05, 0.01], atol=1e-6)
    strong = make_clip(TEXT, seed=1, params=replace(FAST, coupling=4.0))
    assert np.corrcoef(strong.pose[:, 2], drive)[0, 1] > 0.7  # the head nods with loudness
    assert np.array_equal(strong.mouth, clip.mouth)


def test_save_load_round_trip_and_no_overwrite(clip, tmp_path) -> None:
    paths = save_clip(clip, tmp_path / "c")
    assert {p.name for p in paths.values()} == {"c.mp4", "c.wav", "c.npz", "c.json"}
    back = load_clip(tmp_path / "c.json")
    for k in ("landmarks", "mouth", "eye_closure", "pose", "pose_matrices", "visemes", "blinks", "frame_source"):
        assert np.array_equal(getattr(back, k), getattr(clip, k)), k
    assert back.phonemes == clip.phonemes and back.params == clip.params and back.text == clip.text
    assert np.abs(back.audio - clip.audio).max() < 1e-4  # 16-bit PCM
    mse = np.mean((back.frames.astype(float) - clip.frames) ** 2)
    assert back.frames.shape == clip.frames.shape and 10 * np.log10(255**2 / mse) > 30  # H.264 at crf 15
    before = (tmp_path / "c.npz").read_bytes()
    with pytest.raises(BadInputError, match="overwrite"):
        save_clip(replace(clip, mouth=clip.mouth * 0), tmp_path / "c")
    assert (tmp_path / "c.npz").read_bytes() == before
    save_clip(clip, tmp_path / "c", overwrite=True)
    assert load_clip(tmp_path / "c", frames=False).frames.shape[0] == 0


def test_make_clip_rejects_bad_input() -> None:
    with pytest.raises(BadInputError):
        make_clip("hello", grid_seed=1, params=FAST)
    with pytest.raises(BadInputError):
        make_clip(params=FAST)
    with pytest.raises(BadInputError, match="identity"):
        make_clip("hello", identity="no_such_face.png", params=FAST)
    with pytest.raises(BadInputError, match=r"fps=0, articulation=-1"):   # names each bad field and value
        SynthParams(fps=0, articulation=-1)


def test_cli_single_clip_with_degradation_and_overwrite_guard(tmp_path, capsys) -> None:
    args = ["synth", "--text", "hello", "--size", "64", "--out", str(tmp_path), "--degrade", "offset=2"]
    assert main(args) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"clip{s}.{e}" for s in ("", "_degraded") for e in ("json", "mp4", "npz", "wav"))
    assert load_clip(tmp_path / "clip_degraded", frames=False).av_offset == 2
    stamp = (tmp_path / "clip.mp4").stat().st_mtime_ns
    assert main(args) == 1 and "overwrite" in capsys.readouterr().err
    assert (tmp_path / "clip.mp4").stat().st_mtime_ns == stamp
    assert main(args + ["--overwrite"]) == 0
    assert main(["synth", "--grid-seed", "1", "--out", str(tmp_path), "--degrade", "nope=1"]) == 1


def test_cli_realistic_preset(tmp_path) -> None:
    assert main(["synth", "--text", "hi", "--size", "96", "--realistic", "--out", str(tmp_path)]) == 0
    clip = load_clip(tmp_path / "clip", frames=False)
    assert clip.params.size == 96 and clip.params == SynthParams.realistic(size=96)
    assert np.abs(clip.yaw_pitch).max() > 0.5  # the head turns


def test_dataset_with_manifest(tmp_path) -> None:
    manifest = make_dataset(2, tmp_path, params=replace(FAST, size=64), degradations=[("blur", 1.0)], processes=2)
    rows = list(csv.DictReader(manifest.open()))
    assert [r["clip"] for r in rows] == ["clip_0000", "clip_0000_degraded", "clip_0001", "clip_0001_degraded"]
    assert rows[1]["reference"] == "clip_0000" and rows[1]["degradations"] == "blur=1"
    assert {r["identity"] for r in rows} == {"astronaut", "grace_hopper"} and rows[0]["text"] != rows[2]["text"]
    for r in rows:
        for col in ("mp4", "wav", "npz", "json"):
            assert (tmp_path / r[col]).is_file()
    with pytest.raises(BadInputError, match="exists"):
        make_dataset(1, tmp_path, params=replace(FAST, size=64))
