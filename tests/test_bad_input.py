"""Hostile-but-fair inputs to the public API and the ``thg`` CLI (issue 20): each must fail early with a
typed error that names the argument as the caller wrote it (parameter, file or CLI flag) and a fix the
function really offers, or be flagged on the result.  Every input is made here, in tmp_path."""

from __future__ import annotations

import os
import pickle
import struct
import tempfile
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from torch import nn

from thglib import cli, validate
from thglib.errors import (BadInputError, FrameRateMismatch, MediaError, NoFaceError, THGError,
                           WeightsUnavailable)

# ------------------------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No network, an empty weights cache and torch hub dir: registry weights are unavailable here."""
    monkeypatch.setenv("THG_OFFLINE", "1")
    monkeypatch.setenv("THG_HOME", str(tmp_path / "thg_home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))


def says(e: pytest.ExceptionInfo | str, *parts: str, never: tuple[str, ...] = ()) -> None:
    """The message contains every part (the argument/file and the fix) and none of ``never``."""
    text = e if isinstance(e, str) else str(e.value)
    for p in parts:
        assert p in text, f"{p!r} not in: {text}"
    for p in never:
        assert p not in text, f"{p!r} should not be in: {text}"


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """``thg ARGV`` → (exit status, stderr); argparse's usage errors exit 2."""
    try:
        rc = cli.main(argv)
    except SystemExit as e:
        rc = int(e.code)
    return rc, capsys.readouterr().err


def tone(seconds: float = 0.6, sr: int = 16000, peak: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (peak * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)


def float_wav(path: Path, x: np.ndarray, sr: int = 16000) -> Path:
    sf.write(str(path), x, sr, subtype="FLOAT")
    return path


def png_bomb(path: Path, w: int = 60000, h: int = 60000) -> Path:
    """A 100-byte PNG whose IHDR declares w×h RGB pixels (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def read_only(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make ``folder`` refuse new files, as a read-only mount does (root ignores mode bits, so there the
    refusal is simulated where files are created: ``tempfile.mkstemp`` in that folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o555)
    if os.geteuid() == 0:
        real = tempfile.mkstemp

        def mkstemp(*args, dir=None, **kwargs):  # type: ignore[no-untyped-def]
            if dir is not None and Path(dir).resolve() == folder.resolve():
                raise PermissionError(13, "Permission denied", str(Path(dir) / ".probe"))
            return real(*args, dir=dir, **kwargs)

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    return folder


class Echo(nn.Module):
    """A stand-in Wav2Lip generator: returns the unmasked reference crop as the face (no weights)."""

    def forward(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        return face[:, 3:6]


class Payload:
    """Unpickling this would call _mark (the attack a code-carrying checkpoint makes)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_mark, (self.marker,))


def _mark(path: str) -> None:
    Path(path).write_text("executed")


class StubFeatures:
    """A 4-D feature extractor for the distribution metrics (no network)."""

    short, name, dim, weights, caveat = "stub", "stub features", 4, "none", ""

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        return frames.reshape(len(frames), -1)[:, :4].astype(np.float64)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small files shared by the tests: two clips at 25 and 29.97 fps, a portrait PNG, a speech WAV."""
    import cv2

    from thglib.io import write_video
    from thglib.samples import portrait

    d = tmp_path_factory.mktemp("bad_input_media")
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (12, 64, 64, 3), dtype=np.uint8)
    out = {"a25": write_video(d / "a_25fps.mp4", frames, 25),
           "b2997": write_video(d / "b_29.97fps.mp4", frames, 30000 / 1001)}
    face = cv2.resize(portrait("grace_hopper"), (128, 150), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(d / "face.png"), face[..., ::-1])
    out["face"] = d / "face.png"
    out["wav"] = float_wav(d / "speech.wav", tone())
    out["blank"] = d / "blank.png"
    cv2.imwrite(str(out["blank"]), np.full((200, 200, 3), 128, np.uint8))
    return out


# ------------------------------------------------------------------------------------------- audio files
@pytest.mark.parametrize("mono", [False, True])
def test_nan_wav_is_refused_naming_the_file(tmp_path, mono):
    from thglib.io import load_audio

    x = tone()
    x[100] = np.nan
    p = float_wav(tmp_path / "nan.wav", x)
    with pytest.raises(MediaError) as e:
        load_audio(p, mono=mono)
    says(e, "nan.wav", "NaN", "re-export", never=("x:",))


def test_inf_wav_is_refused(tmp_path):
    from thglib.io import load_audio

    x = np.stack([tone(), tone()], 1)
    x[5, 1] = np.inf
    with pytest.raises(MediaError) as e:
        load_audio(float_wav(tmp_path / "inf.wav", x), mono=False)
    says(e, "inf.wav", "inf", "pcm_s16le")


@pytest.mark.parametrize("sr", [0, -16000, True, 16000.5, float("nan")])
def test_load_audio_sample_rate_is_checked_under_its_own_name(media, sr):
    from thglib.io import load_audio

    with pytest.raises(BadInputError) as e:
        load_audio(media["wav"], sr=sr)
    assert e.value.what == "sr"
    says(e, "sample rate", "16000", never=("sr_out",))


def test_load_audio_of_a_number_is_a_typed_error():
    from thglib.io import load_audio

    with pytest.raises(BadInputError) as e:
        load_audio(123)  # type: ignore[arg-type]
    says(e, "path", "str or pathlib.Path")


def test_save_audio_refuses_nan_samples(tmp_path):
    from thglib.io import save_audio

    x = tone()
    x[3] = np.nan
    with pytest.raises(BadInputError) as e:
        save_audio(tmp_path / "o.wav", x, 16000)
    says(e, "x:", "NaN", "np.nan_to_num")
    assert not (tmp_path / "o.wav").exists()


def test_resample_names_the_bad_rate_and_quality():
    from thglib.io import resample

    with pytest.raises(BadInputError) as e:
        resample(tone(), 16000, -1)
    says(e, "sr_out", "sample rate in Hz")
    with pytest.raises(BadInputError) as e:
        resample(tone(), 16000, 8000, quality="best")
    says(e, "quality", "'HQ'")


# ------------------------------------------------------------------------------------------- video files
@pytest.mark.parametrize("fps", [float("inf"), 0.01, 1e6, True, "25"])
def test_write_video_bounds_the_frame_rate(tmp_path, fps):
    from thglib.io import write_video

    with pytest.raises(BadInputError) as e:
        write_video(tmp_path / "o.mp4", np.zeros((2, 16, 16, 3), np.uint8), fps)
    says(e, "fps", "1..240")


def test_write_video_crf_must_be_an_int(tmp_path):
    from thglib.io import write_video

    with pytest.raises(BadInputError) as e:
        write_video(tmp_path / "o.mp4", np.zeros((2, 16, 16, 3), np.uint8), 25, crf=1.5)
    says(e, "crf", "0..51")


def test_write_video_into_a_read_only_folder_names_the_output_not_the_temporary(tmp_path, monkeypatch):
    from thglib.io import write_video

    ro = read_only(tmp_path / "ro", monkeypatch)
    with pytest.raises(MediaError) as e:
        write_video(ro / "out.mp4", np.zeros((2, 16, 16, 3), np.uint8), 25)
    says(e, "out.mp4", "not writable", "folder you can write to", never=(".part",))


def test_write_video_below_a_file_names_the_output(tmp_path):
    from thglib.io import write_video

    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(MediaError) as e:
        write_video(tmp_path / "file.txt" / "out.mp4", np.zeros((2, 16, 16, 3), np.uint8), 25)
    says(e, "out.mp4", "cannot be written", never=(".part",))


def test_write_video_refuses_nan_audio(tmp_path):
    from thglib.io import write_video

    a = tone()
    a[0] = np.nan
    with pytest.raises(BadInputError) as e:
        write_video(tmp_path / "o.mp4", np.zeros((2, 16, 16, 3), np.uint8), 25, audio=a)
    says(e, "audio", "NaN", "nan_to_num")


def test_write_video_clips_loud_float_audio_with_a_warning(tmp_path):
    from thglib.io import load_audio, write_video

    with pytest.warns(UserWarning, match=r"audio: audio peaks at 3\.00.*clipped"):
        out = write_video(tmp_path / "o.mp4", np.zeros((10, 16, 16, 3), np.uint8), 25, audio=tone(peak=3.0))
    x, _ = load_audio(out)
    assert np.abs(x).max() <= 1.05  # AAC overshoots a clipped wave only slightly


@pytest.mark.parametrize("kwargs, name", [({"fps": 0}, "fps"), ({"fps": float("nan")}, "fps"),
                                          ({"max_frames": 0}, "max_frames"), ({"size": (0, 10)}, "size"),
                                          ({"size": (True, 10)}, "size"), ({"audio_sr": 1.5}, "audio_sr"),
                                          ({"vfr": "drop"}, "vfr")])
def test_read_video_checks_every_option(media, kwargs, name):
    from thglib.io import read_video

    with pytest.raises(BadInputError) as e:
        read_video(media["a25"], **kwargs)
    assert e.value.what == name
    assert e.value.fix


def test_iter_frames_chunk_zero(media):
    from thglib.io import iter_frames

    with pytest.raises(BadInputError) as e:
        iter_frames(media["a25"], chunk=0)
    says(e, "chunk", "64")


def test_read_video_of_a_folder(tmp_path):
    from thglib.io import read_video

    with pytest.raises(MediaError) as e:
        read_video(tmp_path)
    says(e, str(tmp_path), "not a regular file", "not a folder")


# ------------------------------------------------------------------------------------------- pixel metrics
@pytest.mark.parametrize("length", ["error", "truncate"])
def test_frame_rate_mismatch_is_its_own_error(media, length):
    from thglib.metrics import pixel

    with pytest.raises(FrameRateMismatch) as e:
        pixel.psnr(media["a25"], media["b2997"], length=length)
    assert isinstance(e.value, BadInputError)
    assert e.value.rate == pytest.approx(29.97, abs=0.01) and e.value.other_rate == 25
    says(e, "b_29.97fps.mp4", "29.97 fps", "25 fps", "fps=25", "-r 25", "drift")


def test_same_rate_clips_still_compare(media):
    from thglib.metrics import pixel

    assert pixel.psnr(media["a25"], media["a25"]).extra["identical_frames"] == 12


@pytest.mark.parametrize("kwargs, name", [({"length": "shorter"}, "length"), ({"data_range": 0}, "data_range"),
                                          ({"cap_db": float("nan")}, "cap_db"), ({"batch_size": 0}, "batch_size"),
                                          ({"size": "crop"}, "size"), ({"channels": "bgr"}, "channels")])
def test_psnr_options(kwargs, name):
    from thglib.metrics import pixel

    f = np.zeros((2, 16, 16, 3), np.uint8)
    with pytest.raises(BadInputError) as e:
        pixel.psnr(f, f, **kwargs)
    assert e.value.what == name and e.value.fix


@pytest.mark.parametrize("kwargs, name", [({"sigma": -1.0}, "sigma"), ({"k1": 0}, "k1"), ({"batch_size": 0}, "batch_size")])
def test_ssim_options(kwargs, name):
    from thglib.metrics import pixel

    f = np.zeros((1, 32, 32, 3), np.uint8)
    with pytest.raises(BadInputError) as e:
        pixel.ssim(f, f, **kwargs)
    assert e.value.what == name and e.value.fix


def test_ms_ssim_weights_must_be_finite():
    from thglib.metrics import pixel

    f = np.zeros((1, 200, 200, 3), np.uint8)
    with pytest.raises(BadInputError) as e:
        pixel.ms_ssim(f, f, weights=(float("nan"), 0.5))
    says(e, "weights", "MS_SSIM_WEIGHTS")


@pytest.mark.parametrize("bad", [123, None, [np.zeros((8, 8, 3), np.uint8), np.zeros((9, 9, 3), np.uint8)]])
def test_metric_frames_that_are_not_frames(bad):
    from thglib.metrics import pixel

    with pytest.raises(BadInputError) as e:
        pixel.psnr(bad, np.zeros((2, 8, 8, 3), np.uint8))
    says(e, "reference")
    assert e.value.fix


# ------------------------------------------------------------------------------------------- distribution
def test_fid_on_nan_features_names_the_set():
    from thglib.metrics import distribution

    real = np.random.default_rng(0).normal(size=(10, 4))
    gen = real.copy()
    gen[2, 1] = np.nan
    with pytest.raises(BadInputError) as e:
        distribution.fid(real, gen, StubFeatures())
    says(e, "generated", "NaN", "np.isfinite", never=("SVD",))


def test_fid_on_inf_frames_features_from_the_extractor():
    from thglib.metrics import distribution

    class Broken(StubFeatures):
        def __call__(self, frames):  # type: ignore[no-untyped-def]
            return np.full((len(frames), 4), np.inf)

    f = np.zeros((4, 8, 8, 3), np.uint8)
    with pytest.raises(BadInputError) as e:
        distribution.fid(f, f, Broken())
    says(e, "real", "stub features", "inf")


def test_fid_without_weights_names_its_own_way_to_pass_them():
    from thglib.metrics import distribution

    with pytest.raises(WeightsUnavailable) as e:
        distribution.fid(np.zeros((4, 8, 8, 3), np.uint8), np.zeros((4, 8, 8, 3), np.uint8))
    says(e, "fid_inception", "InceptionV3Features(weights=", "allow_untrained=True", never=("`path=`",))


def test_lpips_without_weights_names_weights_not_path():
    from thglib.metrics import perceptual

    f = np.zeros((1, 32, 32, 3), np.uint8)
    with pytest.raises(WeightsUnavailable) as e:
        perceptual.lpips(f, f)
    says(e, "lpips_alex_backbone", "`weights=`", "allow_untrained=True", never=("`path=`",))


@pytest.mark.parametrize("call, name", [
    (lambda d: d.kid(np.ones((5, 4)), np.ones((5, 4)), StubFeatures(), subsets=0), "subsets"),
    (lambda d: d.frechet_distance(np.array([np.nan, 0]), np.zeros(2), np.eye(2), np.eye(2)), "mu1"),
    (lambda d: d.inception_score_from_logits(np.full((4, 3), np.nan), splits=2), "logits"),
    (lambda d: d.gaussian_stats(np.array([[1.0, np.inf], [0, 0]])), "features"),
])
def test_distribution_helpers_refuse_nan_and_zero_counts(call, name):
    from thglib.metrics import distribution

    with pytest.raises(BadInputError) as e:
        call(distribution)
    assert e.value.what == name and e.value.fix


# ------------------------------------------------------------------------------------------- transcript
@pytest.mark.parametrize("ref, hyp, name", [(123, "a b", "reference"), (["a", 5], ["a", "b"], "reference"),
                                            ("a", None, "hypothesis"), ([], [], "reference"),
                                            (b"bytes", "a", "reference")])
def test_wer_of_non_text(ref, hyp, name):
    from thglib.metrics import transcript

    with pytest.raises(BadInputError) as e:
        transcript.wer(ref, hyp)
    assert e.value.what == name
    says(e, "Pass a string")


def test_transcribe_of_a_number():
    from thglib.metrics import transcript

    with pytest.raises(BadInputError) as e:
        transcript.transcribe(123, lambda p: "")  # type: ignore[arg-type]
    says(e, "media", "file path")


# ------------------------------------------------------------------------------------------- motion / beats
def _trajectory() -> np.ndarray:
    return np.cumsum(np.random.default_rng(1).normal(size=(50, 3)), axis=0)


def test_beat_align_score_on_nan_audio():
    from thglib.metrics import motion

    a = tone(2.0)
    a[10] = np.nan
    with pytest.raises(BadInputError) as e:
        motion.beat_align_score(_trajectory(), a, 16000)
    says(e, "audio", "NaN", "beats=", never=("ParameterError", "x:"))


def test_beat_align_score_on_silence():
    from thglib.metrics import motion

    with pytest.raises(BadInputError) as e:
        motion.beat_align_score(_trajectory(), np.zeros(32000, np.float32), 16000)
    says(e, "audio", "silent", "beats=")


@pytest.mark.parametrize("kwargs, name", [({"beats": [1.5]}, "beats"), ({"beats": [-3]}, "beats"),
                                          ({"audio": tone(2.0), "sr": 0}, "sr"), ({"beats": [3], "fps": 0}, "fps"),
                                          ({"beats": [3], "sigma": 0}, "sigma")])
def test_beat_align_score_options(kwargs, name):
    from thglib.metrics import motion

    with pytest.raises(BadInputError) as e:
        motion.beat_align_score(_trajectory(), **kwargs)
    assert e.value.what == name and e.value.fix


def test_energy_envelope_on_nan():
    from thglib.audio import energy_envelope

    with pytest.raises(BadInputError) as e:
        energy_envelope(np.array([0.1, np.nan, 0.2]), 16000)
    says(e, "wav", "NaN")


# ------------------------------------------------------------------------------------------- sync
def _sync_clip(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    frames = np.random.default_rng(2).integers(0, 255, (16, 48, 48, 3), dtype=np.uint8)
    return frames, audio


def test_lse_on_silent_audio_is_flagged_on_the_result():
    from thglib.metrics import sync

    frames, audio = _sync_clip(np.zeros(int(16 / 25 * 16000), np.float32))
    with pytest.warns(UserWarning, match="silent audio"):
        r = sync.lse(frames, audio, scorer="thgsynth_expert")
    assert r.lse_d.extra["silent_audio"] and r.lse_c.extra["silent_audio"]
    says(r.lse_d.card.caveat, "silent audio", "measure no sync")
    assert "SILENT AUDIO" in str(r)


def test_lse_on_speech_is_not_flagged():
    from thglib.metrics import sync

    frames, audio = _sync_clip(tone(16 / 25))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = sync.lse(frames, audio, scorer="thgsynth_expert")
    assert not [w for w in caught if "silent" in str(w.message)]
    assert not r.lse_d.extra["silent_audio"] and "silent" not in r.lse_d.card.caveat


@pytest.mark.parametrize("kwargs, name", [({"batch_size": 0}, "batch_size"), ({"vshift": -1}, "vshift"),
                                          ({"sample_rate": 0}, "sample_rate"), ({"every": 0}, "every")])
def test_lse_options(kwargs, name):
    from thglib.metrics import sync

    frames, audio = _sync_clip(tone(16 / 25))
    with pytest.raises(BadInputError) as e:
        sync.lse(frames, audio, scorer="thgsynth_expert", **kwargs)
    assert e.value.what == name and e.value.fix


def test_lse_on_nan_audio_names_audio():
    from thglib.metrics import sync

    a = tone(16 / 25)
    a[7] = np.inf
    with pytest.raises(BadInputError) as e:
        sync.lse(*_sync_clip(a), scorer="thgsynth_expert")
    says(e, "audio", "inf")


def test_lse_without_syncnet_weights_suggests_a_scorer():
    from thglib.metrics import sync

    with pytest.raises(WeightsUnavailable) as e:
        sync.lse(*_sync_clip(tone(16 / 25)))
    says(e, "scorer=load_scorer('syncnet_v2', path=PATH)", "thgsynth_expert", never=("with the `path=`",))


# ------------------------------------------------------------------------------------------- faces
def test_landmarks_refuse_a_box_outside_the_image():
    from thglib import face

    img = np.full((192, 192, 3), 128, np.uint8)
    with pytest.raises(BadInputError) as e:
        face.landmarks(img, box=[1000, 1000, 1100, 1100], backend="dlib")
    says(e, "box", "outside the 192x192 image", "box=None")


def test_landmarks_refuse_a_box_mostly_outside():
    from thglib import face

    img = np.full((192, 192, 3), 128, np.uint8)
    with pytest.raises(BadInputError) as e:
        face.landmarks(img, box=[150, 150, 300, 300], backend="dlib")
    says(e, "box", "mostly outside", "detect_face")


def test_detect_face_hint_names_its_own_options():
    from thglib import face

    blank = np.full((120, 120, 3), 128, np.uint8)
    with pytest.raises(NoFaceError) as e:
        face.detect_face(blank, backend="dlib-hog")
    says(e, "no face found", "upsample=2", "backend='dlib-mmod'", never=("policy",))
    with pytest.raises(NoFaceError) as e:
        face.detect_face(blank, backend="dlib-hog", upsample=2)
    says(e, "backend='dlib-mmod'", never=("policy", "upsample=2"))


def test_landmarks_and_identity_hints_name_their_own_options():
    from thglib import face

    blank = np.full((120, 120, 3), 128, np.uint8)
    with pytest.raises(NoFaceError) as e:
        face.landmarks(blank, backend="dlib")
    says(e, "upsample=2", "detector='dlib-mmod'", "box=", never=("policy", "backend='dlib-mmod'"))
    with pytest.raises(NoFaceError) as e:  # the automatic upsampling reaches the same hint (it compared ints)
        face.landmarks(blank, backend="dlib", upsample="auto")
    says(e, "upsample=2", "detector='dlib-mmod'", "box=")
    with pytest.raises(NoFaceError) as e:
        face.identity_embedding(blank, backend="dlib")
    says(e, "points=thglib.face.landmarks(image, upsample=2)", never=("policy",))


def test_uint16_images_are_scaled_not_clipped():
    from thglib import face
    from thglib.samples import portrait

    img8 = portrait("astronaut")
    img16 = img8.astype(np.uint16) * 257  # what a 16-bit PNG reads as
    assert np.array_equal(validate.rgb_uint8(img16), img8)
    assert face.detect_face(img16, backend="dlib-hog") == face.detect_face(img8, backend="dlib-hog")


@pytest.mark.parametrize("bad, words", [(np.full((32, 32, 3), np.nan, np.float32), ("NaN", "nan_to_num")),
                                        (np.full((32, 32, 3), 0.5, np.float32), ("[0, 1]", "* 255")),
                                        (np.full((32, 32, 3), -3, np.int16), ("int16", "uint8")),
                                        ("photo.jpg", ("numpy array", "imread"))])
def test_face_functions_refuse_bad_pixels(bad, words):
    from thglib import face

    with pytest.raises(BadInputError) as e:
        face.detect_faces(bad)
    says(e, "image", *words)


def test_identity_embedding_points_must_be_finite():
    from thglib import face

    pts = np.zeros((68, 2))
    pts[0, 0] = np.nan
    with pytest.raises(BadInputError) as e:
        face.identity_embedding(np.full((64, 64, 3), 128, np.uint8), pts, backend="dlib")
    says(e, "points", "NaN")


def test_online_face_backend_without_weights_suggests_an_offline_one():
    from thglib import face

    with pytest.raises(WeightsUnavailable) as e:  # (a failed build is not cached: nothing to reset)
        face.detect_faces(np.full((64, 64, 3), 128, np.uint8), backend="s3fd")
    says(e, "s3fd", "$THG_HOME", "'dlib-hog'", never=("`path=`",))


# ------------------------------------------------------------------------------------------- image bombs
def test_image_bomb_header_is_refused_before_decoding(tmp_path):
    p = png_bomb(tmp_path / "bomb.png")
    t0 = time.perf_counter()
    with pytest.raises(MediaError) as e:
        validate.read_image(p)
    assert time.perf_counter() - t0 < 1.0
    says(e, "bomb.png", "60000×60000", "refused before decoding", "scale=")


def test_image_bomb_as_synth_identity(tmp_path, capsys):
    rc, err = run_cli(["synth", "--text", "hi", "--out", str(tmp_path / "o"),
                       "--identity", str(png_bomb(tmp_path / "bomb.png"))], capsys)
    assert rc == 1 and err.count("\n") == 1
    says(err, "thg: error:", "bomb.png", "60000×60000", never=("Traceback", "cv2.error"))


def test_image_bomb_as_lipsync_face(tmp_path, media):
    from thglib.lipsync import lipsync

    with pytest.raises(MediaError) as e:
        lipsync(png_bomb(tmp_path / "bomb.png"), media["wav"], tmp_path / "o.mp4", weights=Echo(), sync=False)
    says(e, "bomb.png", "refused before decoding")


def test_corrupt_image_is_a_media_error(tmp_path):
    p = tmp_path / "broken.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(MediaError) as e:
        validate.read_image(p)
    says(e, "broken.png", "JPEG or PNG")


# ------------------------------------------------------------------------------------------- thg synth
@pytest.mark.parametrize("flag, value, words", [("--fps", "0.01", "5..120"), ("--fps", "1e6", "5..120"),
                                                ("--fps", "inf", "5..120"), ("--fps", "nan", "5..120"),
                                                ("--size", "20000", "32..1024"), ("--size", "0", "32..1024"),
                                                ("--rate", "5", "80..450"), ("--processes", "0", "1..64"),
                                                ("--coupling", "-1", "0..10"), ("--grid-seed", "-2", ">= 0"),
                                                ("--size", "12.5", "integer")])
def test_synth_options_are_bounded_at_the_argument(tmp_path, capsys, flag, value, words):
    t0 = time.perf_counter()
    rc, err = run_cli(["synth", "--text", "hi", "--out", str(tmp_path / "o"), flag, value], capsys)
    assert rc == 2 and time.perf_counter() - t0 < 5
    says(err, f"argument {flag}", value, words, never=("Traceback",))
    assert not (tmp_path / "o").exists()


def test_synth_out_is_an_existing_file(tmp_path, capsys):
    f = tmp_path / "taken.mp4"
    f.write_bytes(b"keep me")
    rc, err = run_cli(["synth", "--text", "hi", "--out", str(f)], capsys)
    assert rc == 1 and f.read_bytes() == b"keep me"
    says(err, "--out", "taken.mp4", "existing file", "folder", "--overwrite", never=("FileExistsError",))


def test_synth_out_read_only_folder(tmp_path, capsys, monkeypatch):
    ro = read_only(tmp_path / "ro", monkeypatch)
    rc, err = run_cli(["synth", "--text", "hi", "--out", str(ro)], capsys)
    assert rc == 1
    says(err, "--out", str(ro), "cannot be written", "folder you can write to", never=(".part", "Traceback"))


def test_synth_identity_without_a_face(media, tmp_path, capsys):
    rc, err = run_cli(["synth", "--text", "hi", "--out", str(tmp_path / "o"), "--identity", str(media["blank"])],
                      capsys)
    assert rc == 1
    says(err, "blank.png", "no face found", "--identity PATH", "astronaut", never=("policy", "Traceback"))


@pytest.mark.parametrize("argv, words", [(["--degrade", "blur=nan"], ("--degrade", "blur=2")),
                                         (["--degrade", "blurr"], ("--degrade", "blur")),
                                         (["--name", "../escape"], ("--name", "plain name"))])
def test_synth_degrade_and_name(tmp_path, capsys, argv, words):
    rc, err = run_cli(["synth", "--text", "hi", "--out", str(tmp_path / "o"), *argv], capsys)
    assert rc == 1
    says(err, *words)


@pytest.mark.parametrize("kwargs, words", [({"size": 20000}, ("size=20000", "32..1024")),
                                           ({"fps": float("inf")}, ("fps=inf", "5..120")),
                                           ({"rate": 10}, ("rate=10", "80..450")),
                                           ({"coupling": float("nan")}, ("coupling=nan", "0..10"))])
def test_synth_params_are_bounded(kwargs, words):
    from thglib.synth import SynthParams

    with pytest.raises(BadInputError) as e:
        SynthParams(**kwargs)
    says(e, "SynthParams", *words)


@pytest.mark.parametrize("kwargs, name", [({"text": ""}, "text"), ({"text": 42}, "text"),
                                          ({"grid_seed": -1}, "grid_seed"), ({"text": "hi", "identity": 7}, "identity"),
                                          ({"text": "hi", "seed": -1}, "seed"), ({"text": "hi", "params": {}}, "params")])
def test_make_clip_arguments(kwargs, name):
    from thglib.synth import make_clip

    with pytest.raises(BadInputError) as e:
        make_clip(**kwargs)
    assert e.value.what == name and e.value.fix


def test_degradation_strength_must_be_finite():
    from thglib.synth import degrade

    with pytest.raises(BadInputError) as e:
        degrade(None, "blur", float("inf"))  # type: ignore[arg-type]
    says(e, "strength of blur", "typical")


# ------------------------------------------------------------------------------------------- lipsync
@pytest.mark.parametrize("kwargs, name", [({"batch_size": 0}, "batch_size"), ({"batch_size": 2.5}, "batch_size"),
                                          ({"fps": 0.01}, "fps"), ({"fps": float("inf")}, "fps"),
                                          ({"pads": (0, 0, 0)}, "pads"), ({"pads": (0, 10, 0, 1e9)}, "pads"),
                                          ({"detect_every": 0}, "detect_every"), ({"smooth_window": 0}, "smooth_window"),
                                          ({"policy": "ignore"}, "policy"), ({"length": "video"}, "length")])
def test_lipsync_options_are_checked_before_any_work(tmp_path, kwargs, name):
    from thglib.lipsync import lipsync

    with pytest.raises(BadInputError) as e:
        lipsync(tmp_path / "absent.png", tmp_path / "absent.wav", tmp_path / "o.mp4", **kwargs)
    assert e.value.what == name and e.value.fix


def test_lipsync_clips_a_loud_float_wav_before_aac(media, tmp_path):
    from thglib.io import load_audio
    from thglib.lipsync import lipsync

    loud = float_wav(tmp_path / "loud.wav", tone(0.4, peak=3.0))
    with pytest.warns(UserWarning, match=r"loud\.wav.*peaks at 3\.00.*clipped"):
        r = lipsync(media["face"], loud, tmp_path / "o.mp4", weights=Echo(), sync=False, progress=False)
    x, _ = load_audio(r.output)
    assert np.abs(x).max() <= 1.05


def test_lipsync_pads_that_empty_the_box_name_pads(media, tmp_path):
    from thglib.lipsync import lipsync

    with pytest.raises(BadInputError) as e:
        lipsync(media["face"], media["wav"], tmp_path / "o.mp4", weights=Echo(), pads=(-1000, 0, 0, 0),
                sync=False, progress=False)
    says(e, "pads", "(-1000, 0, 0, 0)", "empty crop", "(0, 10, 0, 0)")


def test_lipsync_without_weights_names_weights_and_allow_untrained(media, tmp_path):
    from thglib.lipsync import lipsync

    with pytest.raises(WeightsUnavailable) as e:
        lipsync(media["face"], media["wav"], tmp_path / "o.mp4", sync=False)
    says(e, "wav2lip_gan", "`weights=`", "allow_untrained=True", never=("`path=`",))


@pytest.mark.parametrize("content, words", [(b"<!DOCTYPE html><html><body>Sign in</body></html>", ("web page",)),
                                            (np.random.default_rng(3).bytes(256), ("start like a torch.save",)),
                                            (b"\x80\x02" + np.random.default_rng(4).bytes(256), ("not valid pickle",))])
def test_lipsync_weights_that_are_not_a_checkpoint(media, tmp_path, content, words):
    from thglib.lipsync import lipsync

    w = tmp_path / "wav2lip_gan.pth"
    w.write_bytes(content if not content.startswith((b"PK", b"\x80\x80")) else b"x" + content)
    with pytest.raises(MediaError) as e:
        lipsync(media["face"], media["wav"], tmp_path / "o.mp4", weights=w, sync=False)
    says(e, "wav2lip_gan.pth", "not", *words, never=("weights_only=False", "refused"))


def test_thg_lipsync_existing_out_names_overwrite(tmp_path, media, capsys):
    out = tmp_path / "o.mp4"
    out.write_bytes(b"keep")
    rc, err = run_cli(["lipsync", "--face", str(media["face"]), "--audio", str(media["wav"]), "--out", str(out)],
                      capsys)
    assert rc == 1 and out.read_bytes() == b"keep"
    says(err, "o.mp4", "already exists", "--overwrite", never=("overwrite=True",))


@pytest.mark.parametrize("flag, value", [("--batch-size", "0"), ("--fps", "inf"), ("--detect-every", "0"),
                                         ("--smooth", "-1")])
def test_thg_lipsync_options(tmp_path, capsys, flag, value):
    rc, err = run_cli(["lipsync", "--face", "f.png", "--audio", "a.wav", "--out", str(tmp_path / "o.mp4"),
                       flag, value], capsys)
    assert rc == 2
    says(err, f"argument {flag}", value, "pass")


def test_thg_lipsync_pads_error_names_the_flag(tmp_path, media, capsys, monkeypatch):
    import thglib.lipsync as ls

    monkeypatch.setattr(ls, "load_generator", lambda *a, **k: (Echo(), "echo", None))
    rc, err = run_cli(["lipsync", "--face", str(media["face"]), "--audio", str(media["wav"]), "--out",
                       str(tmp_path / "o.mp4"), "--pads", "-1000", "0", "0", "0", "--no-sync", "--quiet"], capsys)
    assert rc == 1
    says(err, "--pads", "-1000", "empty crop", never=("box:", "Traceback"))


# ------------------------------------------------------------------------------------------- weights files
def test_weights_fetch_refuses_a_code_carrying_pickle(tmp_path, capsys):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps(Payload(marker)))
    assert len(evil.read_bytes()) < 200 and evil.read_bytes()[:1] == b"\x80"
    rc, err = run_cli(["weights", "fetch", "wav2lip", "--path", str(evil)], capsys)
    assert rc == 1 and not marker.exists()
    says(err, "--path", "evil.pth", "run code", "refused without being loaded", never=("Traceback",))


def test_weights_fetch_refuses_code_hidden_in_a_torch_save_zip(tmp_path):
    from thglib import weights

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.ones(1)}, "extra": Payload(marker)}, evil)
    with pytest.raises(BadInputError) as e:
        weights.fetch("wav2lip_expert", path=evil)
    assert not marker.exists()
    says(e, "path", "evil.pth", "_mark", "run code")


@pytest.mark.parametrize("legacy", [False, True])
def test_weights_fetch_accepts_plain_checkpoints(tmp_path, legacy):
    from thglib import weights

    ok = tmp_path / "ok.pth"
    torch.save({"state_dict": {"module.w": torch.ones(2)}, "global_step": 7}, ok,
               _use_new_zipfile_serialization=not legacy)
    assert weights.fetch("wav2lip", path=ok) == ok


def test_weights_fetch_of_a_folder_and_of_a_web_page(tmp_path, capsys):
    rc, err = run_cli(["weights", "fetch", "wav2lip", "--path", str(tmp_path)], capsys)
    assert rc == 1
    says(err, "--path", "folder", "wav2lip.pth")
    page = tmp_path / "w.pth"
    page.write_text("<html><head><title>Sign in</title></head></html>")
    rc, err = run_cli(["weights", "fetch", "wav2lip", "--path", str(page)], capsys)
    assert rc == 1
    says(err, "--path", "web page", "Re-download")


@pytest.mark.parametrize("content, words", [(b"<!doctype html><p>Sign in</p>", ("web page",)),
                                            (b"version https://git-lfs.github.com/spec/v1\n", ("Git LFS",)),
                                            (b"", ("empty",))])
def test_load_state_dict_says_not_a_checkpoint_first(tmp_path, content, words):
    from thglib import weights

    p = tmp_path / "x.pth"
    p.write_bytes(content)
    with pytest.raises(MediaError) as e:
        weights.load_state_dict(p)
    says(e, "x.pth", "not a PyTorch checkpoint", *words, never=("weights_only",))


def test_load_state_dict_security_refusal_never_suggests_disabling_it(tmp_path):
    from thglib import weights

    marker = tmp_path / "pwned"
    p = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.ones(1)}, "extra": Payload(marker)}, p)
    with pytest.raises(MediaError) as e:
        weights.load_state_dict(p)
    assert not marker.exists()
    says(e, "evil.pth", "weights_only=True", "_mark", "torch.save(model.state_dict()", never=("weights_only=False",))


# ------------------------------------------------------------------------------------------- the CLI itself
def test_cli_turns_an_unexpected_exception_into_one_line(capsys, monkeypatch):
    import thglib.weights as w

    def boom() -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(w, "registry_table", boom)
    rc, err = run_cli(["weights", "list"], capsys)
    assert rc == 1 and err.count("\n") == 1
    says(err, "thg: error: unexpected ZeroDivisionError", "--debug", never=("Traceback",))
    rc, err = run_cli(["--debug", "weights", "list"], capsys)
    assert rc == 1
    says(err, "Traceback", "ZeroDivisionError", "thg: error:")


def test_cli_reports_an_os_error_with_its_file(capsys, monkeypatch):
    import thglib.weights as w

    def denied() -> None:
        raise PermissionError(13, "Permission denied", "/root/secret")

    monkeypatch.setattr(w, "registry_table", denied)
    rc, err = run_cli(["weights", "list"], capsys)
    assert rc == 1
    says(err, "Permission denied", "/root/secret", "permissions", never=("Traceback",))


def test_cli_translation_of_parameters_to_flags():
    text = cli._in_cli_words("Pass overwrite=True to replace it; or pass its location with the `weights=` "
                             "argument, batch_size=8 or allow_untrained=True", {
                                 "overwrite": "--overwrite", "weights": "--weights",
                                 "batch_size": "--batch-size", "allow_untrained": "--allow-untrained"})
    assert text == ("Pass --overwrite to replace it; or pass its location with the `--weights` argument, "
                    "--batch-size 8 or --allow-untrained")


# ------------------------------------------------------------------------------------------- the validators
@pytest.mark.parametrize("value, kwargs", [(True, {}), ("3", {}), (float("nan"), {}), (0, {"lo": 0, "lo_open": True}),
                                           (3.5, {"integer": True}), (11, {"hi": 10})])
def test_number_validator(value, kwargs):
    with pytest.raises(BadInputError) as e:
        validate.number(value, "--knob", **kwargs)
    assert e.value.what == "--knob" and e.value.fix.startswith("Pass")


def test_every_error_here_is_a_thg_error():
    for cls in (FrameRateMismatch, MediaError, NoFaceError, WeightsUnavailable):
        assert issubclass(cls, THGError)
    assert issubclass(FrameRateMismatch, BadInputError) and issubclass(FrameRateMismatch, ValueError)
