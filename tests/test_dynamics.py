"""THEval-style dynamics metrics (thglib.metrics.dynamics): hand-computed cases and THG-Synth truth."""

from __future__ import annotations

import importlib.util
import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from thglib import synth
from thglib.errors import BackendUnavailable, BadInputError
from thglib.metrics import dynamics as D
from thglib.synth.identity import load_identity
from thglib.synth.rig import POSE_PIVOT, apply_pose, expression_landmarks, pose_matrices

PARAMS = synth.SynthParams(size=64, pad_s=0.5)  # 62 frames; 0.5 s pauses before and after the speech
SIZE = (64, 64)
TEXT = "bin blue at f two now"


@pytest.fixture(scope="module")
def clip() -> synth.SynthClip:
    return synth.make_clip(TEXT, seed=1, params=PARAMS)


@pytest.fixture(scope="module")
def activity(clip) -> D.VoiceActivity:
    return D.voice_activity(clip.audio, clip.sample_rate, clip.fps, clip.n_frames)


def rig(clip, mouth=None, closure=None, pose=None) -> np.ndarray:
    """The clip's exact landmarks with some motion replaced (THG-Synth's rig, no rendering)."""
    ident = load_identity(clip.identity, clip.params.size, clip.params.crop_scale)
    mats = pose_matrices(clip.pose if pose is None else pose, ident.neutral[POSE_PIVOT], ident.iod)
    return apply_pose(expression_landmarks(ident.neutral, clip.mouth if mouth is None else mouth,
                                           clip.eye_closure if closure is None else closure), mats)


def still(n: int) -> np.ndarray:
    return np.tile(np.array([0.0, 0.0, 0.0, 1.0], np.float32), (n, 1))


def test_rig_reproduces_the_clip(clip) -> None:
    assert np.array_equal(rig(clip), clip.landmarks)


# ----------------------------------------------------------------------------- hand-computed values
def test_lip_dynamics_by_hand() -> None:
    p = np.zeros((3, 68, 2))
    p[:, 48:68] = 100.0
    p[:, 48, 0] += [0.0, 2.0, 4.0]  # 1 px per frame once x is rescaled from 512 to 256
    r = D.lip_dynamics(p, (512, 256))
    # 19 of the 190 pairs have distances (0, 1, 2): population std sqrt(2/3); the others are constant
    assert abs(r.value - 19 * math.sqrt(2 / 3) / 190) < 1e-9
    assert r.name == "Lip dynamics" and "48-67" in r.card.notes and "FACEMESH_LIPS" in r.card.notes


def test_eyebrow_dynamics_by_hand() -> None:
    p = np.zeros((3, 68, 2))
    p[:, 42:48] = (10.0, 0.0)  # eye centres 10 px apart
    p[:, 17:22, 1] = -np.array([3.0, 4.0, 4.0])[:, None]  # right brow
    p[:, 22:27] = (10.0, 0.0)
    p[:, 22:27, 1] = -np.array([3.0, 3.0, 5.0])[:, None]  # left brow
    r = D.eyebrow_dynamics(p)
    assert abs(r.value - 0.3 / 4) < 1e-9  # |Δd|: right 0.1, 0; left 0, 0.2 over 4 transitions
    np.testing.assert_allclose(r.per_frame, [0.05, 0.1], atol=1e-12)


def test_head_motion_dynamics_by_hand() -> None:
    p = np.zeros((4, 68, 2))
    p[:, :, 0] += np.array([0.0, 2.0, 0.0, 2.0])[:, None]  # centre x variance 1, y constant
    angles = np.array([[0.0, 0, 0], [1, 0, 0], [0, 0, 0], [1, 0, 0]])
    r = D.head_motion_dynamics(p, (64, 64), pose=angles)
    # mean std = 0.5 / 3, mean var(Δ) = (8/9) / 3, mean(var cx, var cy) = 0.5
    assert abs(r.value - math.sqrt((0.5 / 3) * (8 / 27) + 0.5)) < 1e-9


def _lips(gaps_px: np.ndarray) -> np.ndarray:
    p = np.zeros((len(gaps_px), 68, 2))
    p[:, 45, 0] = 100.0  # outer eye corners 100 px apart on a 256² frame
    p[:, [65, 66, 67], 1] = np.asarray(gaps_px)[:, None]
    return p


def test_silent_lip_stability_by_hand() -> None:
    voiced = np.ones(20, bool)
    voiced[3:5] = False  # a 0.2 s pause: shorter than 300 ms, ignored
    voiced[10:] = False  # 1 s of silence
    g = np.zeros(20)
    g[10:] = [10, 10, 10, 20, 10, 10, 10, 10, 10, 40]  # gaps / 100: mean 0.14
    act = D.VoiceActivity(voiced, (), "given")
    r = D.silent_lip_stability(_lips(g), (256, 256), np.zeros(2000), 1000, 10.0, vad=act)
    assert abs(r.value - 0.04) < 1e-9  # median |g - mean| (about the mean, as THEval: about the median it is 0)
    assert r.card.samples == 10 and int(r.extra["silent"].sum()) == 10


def test_lip_sync_energy_by_hand() -> None:
    fps, sr = 20.0, 1000  # one 50 ms RMS frame per video frame, centred on it
    amp = [0.0, 1, 2, 3, 4, 0]
    audio = np.concatenate([np.full(25, amp[0])] + [np.full(50, a) for a in amp[1:]] + [np.zeros(25)])
    p = np.zeros((6, 68, 2))
    p[:, [36, 39, 42, 45], 0] = [20, 40, 120, 140]  # eye-corner centres 0.5 frame widths apart
    p[:, 60:68, 1] = 50.0
    h = np.array([0.0, 10, 20, 40, 30, 0])
    p[:, [65, 66, 67], 1] += h[:, None]
    voiced = np.array([0, 1, 1, 1, 1, 0], bool)
    r = D.lip_sync_energy(p, (200, 100), audio, sr, fps, vad=D.VoiceActivity(voiced, (), "given"))
    o, v = h[1:5] / 50, np.array(amp[1:5])
    on, vn = (o - o.min()) / (np.ptp(o) + 1e-8), (v - v.min()) / (np.ptp(v) + 1e-8)
    assert abs(r.value - np.abs(on - vn).mean()) < 1e-9 and abs(r.value - 1 / 6) < 1e-7


def test_rms_matches_librosa() -> None:
    librosa = pytest.importorskip("librosa")
    x = np.random.default_rng(0).standard_normal(16000 * 2 + 123) * 0.1
    want = librosa.feature.rms(y=x, frame_length=800, hop_length=800)[0]
    times = np.arange(len(want)) * 0.05
    np.testing.assert_allclose(D._rms_at(x, 16000, times), want, rtol=1e-6)


def test_theval_scoring_by_hand() -> None:
    gt = D.THEVAL_GT
    s = D.theval_scores({"Lip dynamics": 1.5 * gt["Lip dynamics"], "Eyebrow dynamics": gt["Eyebrow dynamics"],
                         "Lip sync": 0.0})
    assert abs(s["Lip dynamics"] - 0.5) < 1e-9 and abs(s["Eyebrow dynamics"] - 1) < 1e-9 and abs(s["Lip sync"]) < 1e-9
    assert abs(s["Naturalness"] - 0.75) < 1e-9 and abs(s["Synchronization"]) < 1e-9 and "Video quality" not in s
    assert abs(s["Final score"] - 0.5) < 1e-9
    w = D.theval_scores({"Lip dynamics": 3.0, "Lip sync": 1.0}, {"Lip dynamics": 2.0, "Lip sync": 1.0},
                        weights={"Lip dynamics": 3.0})
    assert abs(w["Final score"] - (3 * 0.5 + 1) / 4) < 1e-9
    assert D.theval_score(3.0, 1.0) == -1.0  # not clipped, as THEval
    # the published GT row of THEval's examples/gt_metrics.csv
    assert D.THEVAL_GT["Head motion dynamics"] == 18.46757 and "gt_metrics.csv" in D.THEVAL_GT_SOURCE


# ----------------------------------------------------------------------------- THG-Synth truth
def test_lip_dynamics_rises_with_articulation(clip) -> None:
    values = [D.lip_dynamics(synth.make_clip(TEXT, seed=1, params=replace(PARAMS, articulation=a)).landmarks,
                             SIZE).value for a in (0.0, 0.5, 1.25, 2.5)]
    assert values[1] > 3 * values[0]  # articulation 0: only the head's scale changes the distances
    assert np.all(np.diff(values) > 0.5)
    assert 3.5 < values[3] / values[1] < 5.5  # ~ proportional (x5 in articulation)


def test_eyebrow_dynamics_is_zero_for_frozen_brows(clip) -> None:
    n = clip.n_frames
    frozen = rig(clip, closure=np.zeros(n))  # the rig's brows never move relative to the eyes
    assert D.eyebrow_dynamics(frozen).value < 1e-6
    iod = clip.iod
    raise_ = 0.05 * np.sin(np.arange(n) / 3.0)  # brows rise and fall by 0.05 IOD
    moved = frozen.astype(np.float64)
    moved[:, 17:27, 1] -= iod * raise_[:, None]
    want = np.abs(np.diff(raise_)).mean()
    still_head = rig(clip, closure=np.zeros(n), pose=still(n)).astype(np.float64)
    still_head[:, 17:27, 1] -= iod * raise_[:, None]
    # |Δ‖v‖| <= ‖Δv‖ = iod |Δraise| per side; equality when the brow-eye vector is vertical (it nearly is)
    for lms in (still_head, moved):
        assert 0.9 * want < D.eyebrow_dynamics(lms).value <= want * (1 + 1e-6)
    blinks = rig(replace(clip, eye_closure=np.clip(np.sin(np.arange(n) / 2.0), 0, 1).astype(np.float32)))
    assert D.eyebrow_dynamics(blinks).value < 0.5 * want  # lids move the eye centroid a little


def test_head_motion_dynamics_zero_when_still_and_rising_with_motion(clip) -> None:
    n, quiet = clip.n_frames, np.zeros_like(clip.mouth)
    assert D.head_motion_dynamics(rig(clip, mouth=quiet, pose=still(n)), SIZE).value < 1e-6
    values = []
    for k in (0.5, 1.0, 2.0, 4.0):
        pose = clip.pose.astype(np.float64).copy()
        pose[:, :3] *= k
        pose[:, 3] = 1 + k * (pose[:, 3] - 1)
        values.append(D.head_motion_dynamics(rig(clip, mouth=quiet, pose=pose.astype(np.float32)), SIZE).value)
    assert np.all(np.diff(values) > 0.1) and values[0] > 0.2
    # PnP on the chin and mouth corners sees speech: a still, talking head is not at 0 (documented)
    talking = D.head_motion_dynamics(rig(clip, pose=still(n)), SIZE).value
    assert 0.1 < talking < D.head_motion_dynamics(clip.landmarks, SIZE).value


def test_voice_activity_finds_the_pauses(clip, activity) -> None:
    speech = [p for p in clip.phonemes if p.symbol != "_"]
    t = (np.arange(clip.n_frames) + 0.5) / clip.fps
    inside = (t > speech[0].start_s + 0.05) & (t < speech[-1].end_s - 0.05)
    pauses = (t < speech[0].start_s - 0.1) | (t > speech[-1].end_s + 0.2)
    assert activity.voiced[inside].all() and not activity.voiced[pauses].any()
    if importlib.util.find_spec("silero_vad") is not None:  # a pyproject dependency; the fallback otherwise
        assert activity.caveat == "" and "silero-vad" in activity.method
    energy = D.voice_activity(clip.audio, clip.sample_rate, clip.fps, clip.n_frames, vad="energy")
    assert energy.voiced[inside].all() and not energy.voiced[pauses].any()
    assert np.sum(energy.voiced != activity.voiced) <= 4 and "fallback" in energy.caveat


def test_energy_fallback_is_labelled(clip, monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "silero_vad" else real(name, *a))
    r = D.silent_lip_stability(clip.landmarks, SIZE, clip.audio, clip.sample_rate, clip.fps)
    assert "energy VAD fallback" in r.card.caveat and "energy VAD" in r.card.extractor
    with pytest.raises(BackendUnavailable, match="silero-vad"):
        D.voice_activity(clip.audio, clip.sample_rate, clip.fps, clip.n_frames, vad="silero")


def test_silent_lip_stability_degrades_with_jitter_in_pauses(clip, activity) -> None:
    pause = ~activity.voiced
    noise = np.abs(np.random.default_rng(0).standard_normal(int(pause.sum())))
    values = []
    for amount in (0.0, 0.02, 0.05, 0.1):  # mouth opening jitter in the pauses, IOD
        mouth = clip.mouth.copy()
        mouth[pause, 0] += amount * noise
        r = D.silent_lip_stability(rig(clip, mouth=mouth), SIZE, clip.audio, clip.sample_rate, clip.fps, vad=activity)
        values.append(r.value)
    assert values[0] < 1e-3 and np.all(np.diff(values) > 2e-3)
    assert r.card.samples == 21 and r.name == "Silent lip stability" and not r.higher_is_better


def test_lip_sync_true_audio_beats_shifted_and_wrong_audio(clip, activity) -> None:
    args = (clip.landmarks, SIZE)
    true = D.lip_sync_energy(*args, clip.audio, clip.sample_rate, clip.fps, vad=activity).value
    hop = clip.sample_rate // int(clip.fps)
    for k in (3, 6, -6):
        shifted = D.lip_sync_energy(*args, np.roll(clip.audio, k * hop), clip.sample_rate, clip.fps, vad=activity).value
        assert shifted > true + 0.04, (k, shifted, true)
    wrong = synth.degrade(clip, "wrong_audio", 1.0)
    assert D.lip_sync_energy(*args, wrong.audio, clip.sample_rate, clip.fps).value > true + 0.04
    assert true < 0.25


def test_lip_sync_undefined_without_speech(clip) -> None:
    r = D.lip_sync_energy(clip.landmarks, SIZE, np.zeros_like(clip.audio), clip.sample_rate, clip.fps, vad="energy")
    assert math.isnan(r.value) and "undefined" in r.card.caveat and "0%" in r.extra["reason"]
    few = np.zeros(clip.n_frames, bool)
    few[30:35] = True  # 8 % of the frames
    r = D.lip_sync_energy(clip.landmarks, SIZE, clip.audio, clip.sample_rate, clip.fps,
                          vad=D.VoiceActivity(few, (), "given"))
    assert math.isnan(r.value) and "< 10%" in r.card.caveat


def test_tracks_with_missing_frames_use_their_frame_indices(clip, activity) -> None:
    keep = np.setdiff1d(np.arange(clip.n_frames), np.arange(20, 25))
    track = SimpleNamespace(points=clip.landmarks[keep], frames=keep, n_frames=clip.n_frames, backend="dlib",
                            detector="dlib-hog")
    r = D.lip_sync_energy(track, SIZE, clip.audio, clip.sample_rate, clip.fps, vad=activity)
    full = D.lip_sync_energy(clip.landmarks, SIZE, clip.audio, clip.sample_rate, clip.fps, vad=activity)
    m = full.extra["voiced"].copy()
    m[20:25] = False
    o, v = full.extra["openness"][m], full.extra["volume"][m]
    on, vn = (o - o.min()) / (np.ptp(o) + 1e-8), (v - v.min()) / (np.ptp(v) + 1e-8)
    assert abs(r.value - np.abs(on - vn).mean()) < 1e-12 and "dlib 68-point" in r.card.extractor
    assert abs(D.lip_dynamics(track, SIZE).value - D.lip_dynamics(clip.landmarks[keep], SIZE).value) < 1e-12


def test_results_score_against_theval_gt(clip, activity) -> None:
    audio = (clip.audio, clip.sample_rate, clip.fps)
    results = [D.lip_dynamics(clip.landmarks, SIZE), D.eyebrow_dynamics(clip.landmarks),
               D.head_motion_dynamics(clip.landmarks, SIZE),
               D.lip_sync_energy(clip.landmarks, SIZE, *audio, vad=activity)]
    assert all("landmark mapping: Face" in r.card.notes and "68-point" in r.card.implementation for r in results)
    s = D.theval_scores(results)
    assert set(s) == {r.name for r in results} | {"Naturalness", "Synchronization", "Final score"}
    own = {r.name: float(r) for r in results if r.name != "Eyebrow dynamics"}  # ~0 here: no reference
    assert D.theval_scores(own, own)["Final score"] == 1.0


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, name", [
    (lambda c: D.lip_dynamics(np.zeros((5, 67, 2)), SIZE), "landmarks"),
    (lambda c: D.lip_dynamics(np.full((5, 68, 2), np.nan), SIZE), "landmarks"),
    (lambda c: D.lip_dynamics(c.landmarks[:1], SIZE), "landmarks"),
    (lambda c: D.lip_dynamics(c.landmarks, (0, 64)), "frame_size"),
    (lambda c: D.lip_dynamics(c.landmarks, 64), "frame_size"),
    (lambda c: D.head_motion_dynamics(c.landmarks, SIZE, pose=np.zeros((3, 3))), "pose"),
    (lambda c: D.silent_lip_stability(c.landmarks, SIZE, c.audio[:8000], c.sample_rate, c.fps), "audio"),
    (lambda c: D.silent_lip_stability(c.landmarks, SIZE, np.stack([c.audio] * 2, 1), c.sample_rate, c.fps), "audio"),
    (lambda c: D.silent_lip_stability(c.landmarks, SIZE, c.audio, 10, c.fps), "sr"),
    (lambda c: D.silent_lip_stability(c.landmarks, SIZE, c.audio, c.sample_rate, 0.0), "fps"),
    (lambda c: D.silent_lip_stability(c.landmarks, SIZE, c.audio, c.sample_rate, c.fps, min_silence_s=-1),
     "min_silence_s"),
    (lambda c: D.lip_sync_energy(c.landmarks, SIZE, c.audio, c.sample_rate, c.fps, vad="webrtc"), "vad"),
    (lambda c: D.lip_sync_energy(c.landmarks, SIZE, c.audio, c.sample_rate, c.fps, min_voiced=2), "min_voiced"),
    (lambda c: D.lip_sync_energy(c.landmarks, SIZE, c.audio, c.sample_rate, c.fps,
                                 vad=D.VoiceActivity(np.ones(3, bool), (), "given")), "vad"),
    (lambda c: D.theval_score(1.0, 0.0), "reference"),
    (lambda c: D.theval_scores({"LSE-C": 1.0}), "values"),
    (lambda c: D.theval_scores({"Lip sync": float("nan")}), "values['Lip sync']"),
    (lambda c: D.theval_scores({"Lip sync": 1.0}, {"Lip dynamics": 1.0}), "reference"),
])
def test_bad_input_names_the_argument(clip, call, name) -> None:
    with pytest.raises(BadInputError) as e:
        call(clip)
    assert e.value.what.startswith(name)


def test_real_reference_row_is_what_thglib_measures_on_the_carphone_clip() -> None:
    """REAL_REFERENCE is regenerated by scripts/theval_real_reference.py from real footage that ships on PyPI."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "theval_real_reference.py"
    spec = importlib.util.spec_from_file_location("theval_real_reference", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    row, missing = script.carphone_row()
    assert set(row) == set(D.REAL_REFERENCE) and missing < 30
    for k, v in D.REAL_REFERENCE.items():
        assert row[k] == pytest.approx(v, rel=1e-5), k
    scores = D.theval_scores(row, D.REAL_REFERENCE)
    assert scores["Final score"] == pytest.approx(1.0) and "Naturalness" in scores
    with pytest.raises(BadInputError, match="reference"):  # the audio metrics have no real reference offline
        D.theval_scores({**row, "Lip sync": 0.2}, D.REAL_REFERENCE)
