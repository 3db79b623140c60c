"""THG-Synth degradations: each changes what it should, exactly, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from thglib.audio import energy_envelope
from thglib.errors import BadInputError
from thglib.synth import (DEGRADATIONS, SynthParams, apply_degradations, degrade, expression_landmarks,
                          frame_visemes, load_identity, make_clip, parse_degradation, viseme_segments)
from thglib.synth.degrade import audio_offset, frame_drop, lip_damp

FIELDS = ("frames", "audio", "landmarks", "mouth", "eye_closure", "pose", "pose_matrices", "visemes", "blinks",
          "frame_source", "phonemes", "av_offset", "audio_text", "identity", "text", "yaw_pitch")


@pytest.fixture(scope="module")
def clean():
    return make_clip("bin blue at F two now", seed=7, params=SynthParams(size=96, pad_s=0.3, blink_per_minute=40))


def _changed(a, b) -> set[str]:
    out = set()
    for f in FIELDS:
        x, y = getattr(a, f), getattr(b, f)
        if f == "identity":
            x, y = (a.identity, a.identity_mix), (b.identity, b.identity_mix)
        same = np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
        if not same:
            out.add(f)
    return out


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / np.mean((a.astype(float) - b) ** 2)))


@pytest.mark.parametrize("name", sorted(DEGRADATIONS))
def test_changes_exactly_the_declared_fields(clean, name: str) -> None:
    d = DEGRADATIONS[name]
    bad = degrade(clean, name)
    changed, declared = _changed(clean, bad), set(d.changes)
    assert changed <= declared  # nothing else changes ...
    # ... and all of it does (eyes: only if a blink frame is dropped; yaw/pitch: all zero on a frontal clip)
    assert declared - changed <= {"eye_closure", "yaw_pitch"}
    assert bad.degradations == [(name, float(d.typical))] and clean.degradations == []
    assert bad.frames.shape == clean.frames.shape and len(bad.audio) == len(clean.audio)
    if name != "offset":  # strength 0 is the identity
        assert _changed(clean, degrade(clean, name, 0)) == set()


@pytest.fixture(scope="module")
def turning():
    return make_clip("bin blue at F two now", seed=7, params=SynthParams.realistic(size=96, pad_s=0.3, voices=("en-us",),
                                                                                  identity_variants=0))


@pytest.mark.parametrize("name", ["lip_damp", "head_jitter", "head_freeze", "frame_drop"])
def test_degradations_keep_or_change_the_3d_rotation_as_declared(turning, name: str) -> None:
    assert np.abs(turning.yaw_pitch).max() > 1  # the preset turns the head
    bad = degrade(turning, name, DEGRADATIONS[name].typical)
    assert bad.yaw_pitch.shape == turning.yaw_pitch.shape
    if name == "head_freeze":  # typical strength 1: frontal
        np.testing.assert_array_equal(bad.yaw_pitch, 0)
    elif name == "frame_drop":
        np.testing.assert_array_equal(bad.yaw_pitch, turning.yaw_pitch[bad.frame_source])
    else:  # re-rendered with the same rotation: the landmarks' 3-D turn survives
        np.testing.assert_array_equal(bad.yaw_pitch, turning.yaw_pitch)
        redo = degrade(turning, name, 0)
        np.testing.assert_allclose(redo.landmarks, turning.landmarks, atol=1e-3)


@pytest.mark.parametrize("k", [-2, 1, 3])
def test_offset_shifts_audio_and_alignment_by_exactly_k_frames(clean, k: int) -> None:
    bad = audio_offset(clean, k)
    spf = clean.sample_rate // int(clean.fps)
    n = len(clean.audio)
    if k > 0:
        assert np.array_equal(bad.audio[k * spf:], clean.audio[: n - k * spf]) and not bad.audio[: k * spf].any()
    else:
        assert np.array_equal(bad.audio[: n + k * spf], clean.audio[-k * spf:])
    t = (np.arange(clean.n_frames) + 0.5) / clean.fps
    heard = frame_visemes(viseme_segments(bad.phonemes), t)  # what the shifted audio says at each frame
    lo, hi = max(k, 0), clean.n_frames + min(k, 0)
    assert np.array_equal(heard[lo:hi], clean.visemes[lo - k:hi - k])
    e_bad, e = energy_envelope(bad.audio, bad.sample_rate, bad.fps), energy_envelope(clean.audio, 16000, 25)
    assert np.array_equal(e_bad[lo:hi], e[lo - k:hi - k])  # frame-aligned: the envelope moves by k frames
    assert bad.av_offset == k and audio_offset(bad, -k).av_offset == 0
    with pytest.raises(BadInputError):
        audio_offset(clean, 1.5)


def test_lip_damp_one_freezes_the_mouth_shut(clean) -> None:
    bad = lip_damp(clean, 1.0)
    assert not bad.mouth.any()
    assert np.allclose(bad.landmarks[:, [67, 66, 65]], bad.landmarks[:, [61, 62, 63]], atol=1e-3)
    assert np.allclose(bad.landmarks[:, 17:48], clean.landmarks[:, 17:48], atol=1e-4)  # eyes, brows, nose kept
    half = lip_damp(clean, 0.5)
    assert np.allclose(half.mouth, clean.mouth / 2)


def test_head_freeze_removes_pose(clean) -> None:
    bad = degrade(clean, "head_freeze", 1.0)
    assert np.allclose(bad.pose, [0, 0, 0, 1])
    ident = load_identity(clean.identity, clean.params.size)
    assert np.allclose(bad.landmarks, expression_landmarks(ident.neutral, clean.mouth, clean.eye_closure), atol=1e-3)


def test_frame_drop_repeats_frames_with_their_ground_truth(clean) -> None:
    bad = frame_drop(clean, 0.3)
    src = bad.frame_source
    assert src[0] == 0 and np.all(np.diff(src) >= 0) and np.all(src <= np.arange(clean.n_frames))
    assert (src != np.arange(clean.n_frames)).sum() == round(0.3 * (clean.n_frames - 1))
    assert np.array_equal(bad.frames, clean.frames[src]) and np.array_equal(bad.landmarks, clean.landmarks[src])
    assert np.array_equal(bad.visemes, clean.visemes)  # the audio (and what it says) is untouched


def test_pixel_degradations_get_worse_with_strength(clean) -> None:
    for name, weak, strong in [("blur", 0.7, 2.5), ("noise", 3, 20), ("jpeg", 0.5, 0.95), ("h264", 0.3, 1.0),
                               ("downscale", 1, 3), ("flicker", 0.05, 0.3)]:
        p_weak = _psnr(degrade(clean, name, weak).frames, clean.frames)
        p_strong = _psnr(degrade(clean, name, strong).frames, clean.frames)
        assert p_strong < p_weak < 60, name
    noisy = degrade(clean, "noise", 10).frames.astype(float) - clean.frames
    assert 8 < noisy.std() < 11  # sigma 10, a little less after clipping
    lum = degrade(clean, "flicker", 0.2).frames.mean(axis=(1, 2, 3)) / clean.frames.mean(axis=(1, 2, 3))
    assert lum.std() > 0.05


def test_wrong_audio_keeps_the_start_and_replaces_the_rest(clean) -> None:
    bad = degrade(clean, "wrong_audio", 0.5)
    cut = round(0.5 * clean.n_frames) * clean.sample_rate // int(clean.fps)
    assert np.array_equal(bad.audio[:cut], clean.audio[:cut])
    assert not np.array_equal(bad.audio[cut:], clean.audio[cut:])
    before = lambda c: [(p.symbol, p.start_s) for p in c.phonemes if p.start_s < cut / 16000]  # noqa: E731
    assert before(bad) == before(clean)
    assert all(p.end_s <= cut / 16000 for p in bad.phonemes if p.start_s < cut / 16000)  # cut at the switch
    assert "|" in bad.audio_text and bad.audio_text.startswith(clean.text)
    full = degrade(clean, "wrong_audio", 1.0)
    assert full.audio_text != clean.text and full.text == clean.text


def test_identity_swap_changes_who_but_not_how() -> None:
    from thglib.face import DLIB_THRESHOLD, identity_distance, identity_embedding

    clean = make_clip("bin blue", seed=1, params=SynthParams(size=160, pad_s=0.1))
    swapped = degrade(clean, "identity_swap", 1.0)
    assert swapped.identity == "grace_hopper" and np.array_equal(swapped.mouth, clean.mouth)
    emb = lambda c, t: identity_embedding(c.frames[t], c.landmarks[t], backend="dlib", normalize=False)  # noqa: E731
    same = identity_distance(emb(clean, 0), emb(clean, clean.n_frames - 1))
    other = identity_distance(emb(clean, 0), emb(swapped, 0))
    assert same < DLIB_THRESHOLD < other


def test_ordering_and_parsing(clean) -> None:
    bad = apply_degradations(clean, [("blur", 1.0), ("lip_damp", 0.5), ("offset", 2)])
    assert [d for d, _ in bad.degradations] == ["lip_damp", "offset", "blur"]  # motion, audio, pixel
    with pytest.raises(BadInputError, match="re-render"):
        degrade(degrade(clean, "blur", 1.0), "head_jitter", 1.0)
    assert parse_degradation("blur=2.5") == ("blur", 2.5) and parse_degradation("noise") == ("noise", None)
    for spec in ("bogus=1", "blur=x"):
        with pytest.raises(BadInputError):
            parse_degradation(spec)
    with pytest.raises(BadInputError):
        degrade(clean, "lip_damp", 1.5)
