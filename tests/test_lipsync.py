"""Wav2Lip inference pipeline (thglib.lipsync) and ``thg lipsync``, on tiny inputs with filled weights."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from thglib import lipsync as ls
from thglib.audio import wav2lip_melspectrogram
from thglib.cli import main
from thglib.errors import BadInputError, MediaError, NoFaceError, UntrainedWeightsWarning, WeightsUnavailable
from thglib.face import FaceBox
from thglib.io import load_audio, probe, read_video, save_audio, write_video
from thglib.models import ExpertSyncNet, Wav2Lip, fill_
from thglib.samples import moving_portrait, portrait

FPS = 25.0


@pytest.fixture(autouse=True)
def _offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No network and an empty weights cache: the registry weights are always unavailable here."""
    monkeypatch.setenv("THG_OFFLINE", "1")
    monkeypatch.setenv("THG_HOME", str(tmp_path / "thg_home"))


@pytest.fixture(scope="module")
def nets() -> dict[str, nn.Module]:
    return {"generator": fill_(Wav2Lip().eval(), ls.UNTRAINED_FILL),
            "expert": fill_(ExpertSyncNet().eval(), ls.UNTRAINED_FILL)}


def speech(seconds: float, sr: int) -> np.ndarray:
    """A voiced-speech stand-in: a 140 Hz pulse train with a 4 Hz syllable envelope."""
    t = np.arange(int(round(seconds * sr))) / sr
    buzz = np.sign(np.sin(2 * np.pi * 140 * t)) * 0.3 + 0.05 * np.random.default_rng(0).standard_normal(len(t))
    return (buzz * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)


def hopper(width: int = 128, height: int = 150) -> np.ndarray:
    return cv2.resize(portrait("grace_hopper"), (width, height), interpolation=cv2.INTER_AREA)


class Echo(nn.Module):
    """A stand-in generator: returns the reference (channels 3-5) or the masked target (0-2) as its face."""

    def __init__(self, channels: slice = slice(3, 6), oom_above: int | None = None) -> None:
        super().__init__()
        self.channels, self.oom_above, self.calls = channels, oom_above, []

    def forward(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        self.calls.append(len(face))
        if self.oom_above is not None and len(face) > self.oom_above:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return face[:, self.channels]


def reference_mel_chunks(mel: np.ndarray, fps: float) -> np.ndarray:
    """inference.py main(): mel_chunks, transcribed from Rudrabha/Wav2Lip."""
    chunks, i, mult = [], 0, 80.0 / fps
    while True:
        start = int(i * mult)
        if start + 16 > mel.shape[1]:
            chunks.append(mel[:, mel.shape[1] - 16:])
            return np.stack(chunks)
        chunks.append(mel[:, start:start + 16])
        i += 1


def reference_smoothing(boxes: np.ndarray, t: int = 5) -> np.ndarray:
    """inference.py get_smoothened_boxes on its integer array, transcribed from Rudrabha/Wav2Lip."""
    b = boxes.copy()
    for i in range(len(b)):
        window = b[len(b) - t:] if i + t > len(b) else b[i:i + t]
        b[i] = np.mean(window, axis=0)
    return b


# --------------------------------------------------------------------------- end to end
def test_cli_image_plus_audio_gives_mp4_with_audio_of_the_right_duration(tmp_path: Path, capsys) -> None:
    cv2.imwrite(str(tmp_path / "face.png"), hopper()[..., ::-1])
    save_audio(tmp_path / "speech.wav", speech(0.2, 22050), 22050)  # not 16 kHz: resampled inside
    rc = main(["lipsync", "--face", str(tmp_path / "face.png"), "--audio", str(tmp_path / "speech.wav"),
               "--out", str(tmp_path / "out.mp4"), "--allow-untrained", "--quiet", "--no-sync"])
    assert rc == 0
    info = probe(tmp_path / "out.mp4")
    assert (info.width, info.height, info.fps, info.n_frames) == (128, 150, FPS, 5)
    assert info.codec == "h264" and info.has_audio and info.audio_sample_rate == 22050
    wav, sr = load_audio(tmp_path / "out.mp4")
    assert abs(len(wav) / sr - 0.2) < 0.03
    captured = capsys.readouterr()
    assert "UNTRAINED WEIGHTS" in captured.err and "Wav2Lip generator" in captured.err
    assert "5 frames at 25 fps" in captured.out


def test_video_plus_audio_loops_frames_and_pastes_only_inside_the_box(tmp_path: Path, nets: dict) -> None:
    frames = moving_portrait("grace_hopper", n_frames=4, size=128)
    write_video(tmp_path / "face.mp4", frames, FPS, crf=0)
    src = read_video(tmp_path / "face.mp4").frames  # what the pipeline decodes
    r = ls.lipsync(tmp_path / "face.mp4", (speech(0.24, 16000), 16000), tmp_path / "out.mp4",
                   weights=nets["generator"], expert_weights=nets["expert"], progress=False)
    assert r.n_frames == 6 and r.frame_index.tolist() == [0, 1, 2, 3, 0, 1]
    assert r.sync is not None and r.sync.cosine.shape == (2,) and "caller-supplied" in r.sync.weights
    assert set(r.timings) >= {"load", "mel", "decode", "crop", "generate", "paste", "encode", "sync"}
    out = read_video(r.output)
    assert out.frames.shape[0] == 6 and out.audio is not None
    looped = src[r.frame_index]
    plain = read_video(write_video(tmp_path / "plain.mp4", looped, FPS)).frames  # the same H.264 loss, no paste
    for i, frame in enumerate(out.frames):
        x0, y0, x1, y1 = r.boxes.boxes[r.frame_index[i]]
        inside = np.zeros(frame.shape[:2], bool)
        inside[y0:y1, x0:x1] = True
        near = cv2.dilate(inside.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        diff = np.abs(frame.astype(int) - looped[i].astype(int)).mean(axis=2)
        loss = np.abs(plain[i].astype(int) - looped[i].astype(int)).mean(axis=2)
        assert diff[~near].mean() < loss[~near].mean() + 0.5, i  # outside the box: the source frame
        assert diff[inside].mean() > 3 * loss[inside].mean() + 5, i  # inside: the (untrained) generator's face


def test_echo_generator_round_trips_the_bgr_crop_and_masks_the_lower_half(tmp_path: Path) -> None:
    img = hopper()
    audio = (speech(0.3, 16000), 16000)
    ref = ls.lipsync(img, audio, tmp_path / "ref.mp4", weights=Echo(slice(3, 6)), sync=False, keep_crops=True,
                     progress=False)
    # the unmasked half of the input comes back as it went in (up to the x/255*255 truncation)
    assert np.abs(ref.crops_out.astype(int) - ref.crops_in.astype(int)).max() <= 1
    masked = ls.lipsync(img, audio, tmp_path / "masked.mp4", weights=Echo(slice(0, 3)), sync=False,
                        keep_crops=True, progress=False)
    assert (masked.crops_out[:, 48:] == 0).all()
    assert np.abs(masked.crops_out[:, :48].astype(int) - masked.crops_in[:, :48].astype(int)).max() <= 1


def test_video_longer_than_audio_is_cut_and_detected_only_where_used(tmp_path: Path) -> None:
    frames = moving_portrait("grace_hopper", n_frames=12, size=128)
    r = ls.lipsync(frames, (speech(0.2, 16000), 16000), tmp_path / "o.mp4", weights=Echo(), sync=False,
                   progress=False)
    assert r.n_frames == 5 and len(r.boxes) == 5 and r.frame_index.tolist() == [0, 1, 2, 3, 4]
    assert probe(r.output).n_frames == 5


# --------------------------------------------------------------------------- alignment and boxes
@pytest.mark.parametrize("fps", [25.0, 30.0])
def test_mel_windows_and_frame_count_follow_inference_py(tmp_path: Path, fps: float) -> None:
    wav = speech(0.5, 16000)
    chunks = reference_mel_chunks(wav2lip_melspectrogram(wav, 16000), fps)
    frames = np.repeat(hopper()[None], 3, axis=0)
    r = ls.lipsync(frames, (wav, 16000), tmp_path / "w.mp4", weights=Echo(), fps=fps, length="wav2lip",
                   sync=False, progress=False)
    assert r.n_frames == len(chunks) and probe(r.output).n_frames == len(chunks)
    np.testing.assert_array_equal(r.mel_windows, chunks)
    a = ls.lipsync(frames, (wav, 16000), tmp_path / "a.mp4", weights=Echo(), fps=fps, sync=False, progress=False)
    assert abs(a.n_frames / fps - 0.5) <= 0.5 / fps + 1e-9  # length="audio": the video lasts as long as the audio
    k = min(len(chunks) - 1, a.n_frames)    # windows before inference.py's right-aligned tail agree
    np.testing.assert_array_equal(a.mel_windows[:k], chunks[:k])
    np.testing.assert_array_equal(a.mel_windows[-1], chunks[-1])


class StubDetector:
    name = "stub"


def test_boxes_are_padded_clipped_and_smoothed_as_inference_py(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    n, w, h = 12, 120, 100
    det = [FaceBox(30 + rng.uniform(-4, 4), 20 + rng.uniform(-4, 4), 80 + rng.uniform(-4, 4), 95 + rng.uniform(-3, 3))
           for _ in range(n)]
    frames = [np.full((h, w, 3), i, np.uint8) for i in range(n)]  # frame i has value i: tells the stub which box
    monkeypatch.setattr("thglib.face.get_detector", lambda name="auto": StubDetector())
    monkeypatch.setattr("thglib.face.detect_faces", lambda img, backend, upsample: [det[int(img[0, 0, 0])]])
    pads = (3, 10, 2, 5)
    track = ls.face_boxes(frames, pads=pads)
    # inference.py: int detector boxes, padded and clipped, then smoothed on an int array
    raw = np.array([[int(b.x0), int(b.y0), int(b.x1), int(b.y1)] for b in det])
    padded = np.stack([np.maximum(0, raw[:, 0] - 2), np.maximum(0, raw[:, 1] - 3),
                       np.minimum(w, raw[:, 2] + 5), np.minimum(h, raw[:, 3] + 10)], axis=1)
    want = reference_smoothing(padded)
    assert (padded[:, 3] == h).any()  # the bottom pad was clipped somewhere
    np.testing.assert_array_equal(track.boxes[:n - 4], want[:n - 4])
    assert np.abs(track.boxes - want).max() <= 1  # last 4: float vs int intermediate smoothing
    assert track.detector == "stub" and track.detected.all() and track.missing == ()


def test_missing_face_raises_naming_the_frame_or_is_interpolated(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = [np.full((100, 100, 3), i, np.uint8) for i in range(6)]
    box = FaceBox(20, 20, 60, 70)
    monkeypatch.setattr("thglib.face.get_detector", lambda name="auto": StubDetector())
    monkeypatch.setattr("thglib.face.detect_faces",
                        lambda img, backend, upsample: [] if img[0, 0, 0] == 3 else [box])
    with pytest.raises(NoFaceError, match="frame 3") as e:
        ls.face_boxes(frames, source="clip.mp4")
    assert e.value.frame == 3
    track = ls.face_boxes(frames, policy="interpolate", smooth_window=1)
    assert track.missing == (3,) and track.boxes[3].tolist() == [20, 20, 60, 80]
    with pytest.raises(BadInputError, match="policy"):
        ls.face_boxes(frames, policy="ignore")


def test_skip_policy_leaves_frames_without_a_face_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frames = np.stack([np.full((64, 64, 3), 100 + 20 * i, np.uint8) for i in range(4)])
    monkeypatch.setattr("thglib.face.get_detector", lambda name="auto": StubDetector())
    monkeypatch.setattr("thglib.face.detect_faces",
                        lambda img, backend, upsample: [] if img[0, 0, 0] == 140 else [FaceBox(8, 8, 56, 46)])
    r = ls.lipsync(frames, (speech(0.2, 16000), 16000), tmp_path / "o.mp4", weights=Echo(slice(0, 3)),
                   policy="skip", sync=False, progress=False)  # Echo of the masked target: black lower half
    out = read_video(r.output).frames
    assert r.skipped == (2,) and r.boxes.missing == (2,)
    lower = [float(f[40:50, 20:44].mean()) for f in out]  # inside the padded box, lower half
    assert lower[2] > 130 and max(lower[:2] + lower[3:4]) < 20


def test_detect_every_n_tracks_the_box_in_between() -> None:
    frames = moving_portrait("grace_hopper", n_frames=6, size=128)
    every = ls.face_boxes(frames, detect_every=1)
    tracked = ls.face_boxes(frames, detect_every=3)
    assert tracked.detected.tolist() == [True, False, False, True, False, False]
    assert np.abs(tracked.boxes - every.boxes).max() < 12  # tracked boxes stay on the face


# --------------------------------------------------------------------------- pieces
def test_model_inputs_are_bgr_masked_target_then_reference() -> None:
    crops = np.random.default_rng(0).integers(0, 256, (2, 96, 96, 3), dtype=np.uint8)
    x = ls.model_inputs(crops).numpy()
    assert x.shape == (2, 6, 96, 96) and x.dtype == np.float32
    bgr = crops[..., ::-1].transpose(0, 3, 1, 2) / 255.0
    np.testing.assert_allclose(x[:, 3:], bgr, rtol=0, atol=1e-7)
    np.testing.assert_allclose(x[:, :3, :48], bgr[:, :, :48], rtol=0, atol=1e-7)
    assert (x[:, :3, 48:] == 0).all()


def test_paste_face_changes_only_the_box() -> None:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (80, 100, 3), dtype=np.uint8)
    face = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
    out = ls.paste_face(frame, face, (10, 5, 60, 70))
    changed = (out != frame).any(axis=2)
    assert changed[5:70, 10:60].mean() > 0.9 and not changed[:5].any() and not changed[70:].any()
    assert not changed[:, :10].any() and not changed[:, 60:].any()
    np.testing.assert_array_equal(out[5:70, 10:60], cv2.resize(face, (50, 65)))
    with pytest.raises(BadInputError, match="box"):
        ls.paste_face(frame, face, (50, 5, 120, 70))


def test_batch_runner_halves_the_batch_on_cuda_oom() -> None:
    echo = Echo(oom_above=3)
    runner = ls.BatchRunner(echo, batch_size=16)
    face, mel = torch.rand(10, 6, 96, 96), torch.zeros(10, 1, 80, 16)
    out = runner(mel, face)
    torch.testing.assert_close(out, face[:, 3:], rtol=0, atol=0)
    assert runner.batch_size == 2 and runner.halvings == 3 and echo.calls[:4] == [10, 8, 4, 2]
    with pytest.raises(torch.cuda.OutOfMemoryError):
        ls.BatchRunner(Echo(oom_above=0), batch_size=4)(mel, face)

    def broken(mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("shape mismatch")

    broken_runner = ls.BatchRunner(broken, batch_size=8)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        broken_runner(mel, face)
    assert broken_runner.batch_size == 8


def test_pipeline_recovers_from_oom_with_a_smaller_batch(tmp_path: Path) -> None:
    echo = Echo(oom_above=2)
    r = ls.lipsync(hopper(), (speech(0.3, 16000), 16000), tmp_path / "o.mp4", weights=echo, batch_size=8,
                   sync=False, progress=False)
    assert r.batch_size == 2 and r.n_frames == 8 and probe(r.output).n_frames == 8


def test_expert_confidence_stacks_five_lower_halves_frame_major(nets: dict) -> None:
    rng = np.random.default_rng(2)
    faces = rng.integers(0, 256, (6, 96, 96, 3), dtype=np.uint8)
    mels = rng.standard_normal((6, 80, 16)).astype(np.float32)
    cos = ls.expert_sync_confidence(nets["expert"], faces, mels)
    assert cos.shape == (2,)
    k = 1  # window 1 by hand, as hq_wav2lip_train.get_sync_loss builds it
    g = torch.from_numpy(faces[k:k + 5, 48:, :, ::-1].copy()).permute(3, 0, 1, 2).float()[None] / 255  # B,3,T,H,W
    face = torch.cat([g[:, :, i] for i in range(5)], dim=1)
    with torch.no_grad():
        a, v = nets["expert"](torch.from_numpy(mels[k])[None, None], face)
    assert abs(float(torch.nn.functional.cosine_similarity(a, v)) - cos[k]) < 1e-5
    faces[k + 4, :48] = 0  # upper halves do not matter
    assert abs(ls.expert_sync_confidence(nets["expert"], faces[k:k + 5], mels[k:k + 5])[0] - cos[k]) < 1e-6


# --------------------------------------------------------------------------- bad input
def test_bad_inputs_raise_clear_typed_errors(tmp_path: Path) -> None:
    img, ok = hopper(), (speech(0.3, 16000), 16000)
    with pytest.raises(BadInputError, match="silent"):
        ls.lipsync(img, (np.zeros(8000, np.float32), 16000), tmp_path / "o.mp4", weights=Echo())
    with pytest.raises(BadInputError, match="at least 0.2 s"):
        ls.lipsync(img, (speech(0.1, 16000), 16000), tmp_path / "o.mp4", weights=Echo())
    with pytest.raises(BadInputError, match="empty"):
        ls.lipsync(img, (np.zeros(0, np.float32), 16000), tmp_path / "o.mp4", weights=Echo())
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(MediaError):
        ls.lipsync(img, tmp_path / "empty.wav", tmp_path / "o.mp4", weights=Echo())
    (tmp_path / "notes.mp4").write_text("not a video")
    with pytest.raises(MediaError, match="notes.mp4"):
        ls.lipsync(tmp_path / "notes.mp4", ok, tmp_path / "o.mp4", weights=Echo())
    (tmp_path / "broken.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(MediaError, match="image"):
        ls.lipsync(tmp_path / "broken.png", ok, tmp_path / "o.mp4", weights=Echo())
    with pytest.raises(MediaError, match="does not exist"):
        ls.lipsync(tmp_path / "missing.mp4", ok, tmp_path / "o.mp4", weights=Echo())
    with pytest.raises(NoFaceError, match="face array"):
        ls.lipsync(np.full((128, 128, 3), 127, np.uint8), ok, tmp_path / "o.mp4", weights=Echo())
    with pytest.raises(BadInputError, match="also an input"):
        ls.lipsync(tmp_path / "notes.mp4", ok, tmp_path / "notes.mp4", weights=Echo(), overwrite=True)
    (tmp_path / "taken.mp4").write_bytes(b"keep me")
    with pytest.raises(BadInputError, match="already exists"):
        ls.lipsync(img, ok, tmp_path / "taken.mp4", weights=Echo())
    assert (tmp_path / "taken.mp4").read_bytes() == b"keep me"
    with pytest.raises(BadInputError, match="not a Wav2Lip generator checkpoint name"):
        ls.lipsync(img, ok, tmp_path / "o.mp4", weights="wav2lip_expert")
    with pytest.raises(BadInputError, match="CUDA"):
        ls.lipsync(img, ok, tmp_path / "o.mp4", weights=Echo(), device="cpu", fp16=True)
    assert not (tmp_path / "o.mp4").exists()


def test_unavailable_weights_raise_unless_untrained_is_allowed(tmp_path: Path, capsys) -> None:
    with pytest.raises(WeightsUnavailable, match="wav2lip_gan.pth"):
        ls.lipsync(hopper(), (speech(0.3, 16000), 16000), tmp_path / "o.mp4")
    with pytest.warns(UntrainedWeightsWarning, match="UNTRAINED WEIGHTS — expert SyncNet"):
        model, desc, caveat = ls.load_expert(allow_untrained=True)
    assert isinstance(model, ExpertSyncNet) and "UNTRAINED" in desc and caveat and "'wav2lip_expert'" in caveat
    assert main(["lipsync", "--face", "x.png", "--audio", "y.wav", "--out", str(tmp_path / "z.mp4")]) == 1
