"""Round trips and bad inputs of :mod:`thglib.io.video` (media made in tmp_path)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from thglib.errors import BadInputError, MediaError
from thglib.io import Clip, iter_frames, mux_audio, probe, read_video, write_video
from thglib.io.video import ffmpeg_exe

FPS = 25
T, H, W = 30, 64, 96


def make_frames(t: int = T, h: int = H, w: int = W) -> np.ndarray:
    """Smooth moving colour gradients (H.264 keeps these accurately)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    k = np.arange(t, dtype=np.float32)[:, None, None]
    r = 128 + 100 * np.sin(2 * np.pi * (xx / w + k / t))
    g = 128 + 100 * np.cos(2 * np.pi * (yy / h - k / t))
    b = np.broadcast_to(40 + 4 * k, r.shape)
    return np.stack([r, g, b], -1).round().astype(np.uint8)


def sine(freq: float, sr: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(sr * seconds))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spec)])


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return make_frames()


@pytest.fixture(scope="module")
def mp4(tmp_path_factory, frames) -> Path:
    return write_video(tmp_path_factory.mktemp("v") / "clip.mp4", frames, FPS)


@pytest.fixture(scope="module")
def mp4_audio(tmp_path_factory, frames) -> Path:
    audio = sine(440, 16000, T / FPS)
    out = tmp_path_factory.mktemp("va") / "talk.mp4"
    return write_video(out, frames, FPS, audio=audio, sample_rate=16000)


def test_round_trip_shape_fps_count_and_pixel_error(mp4, frames):
    info = probe(mp4)
    assert (info.width, info.height, info.n_frames, info.n_frames_exact) == (W, H, T, True)
    assert info.fps == FPS and not info.is_vfr and not info.has_audio
    assert info.duration_s == pytest.approx(T / FPS, abs=1e-6)
    clip = read_video(mp4)
    assert isinstance(clip, Clip) and clip.frames.dtype == np.uint8
    assert clip.frames.shape == frames.shape and clip.fps == FPS and clip.audio is None
    err = np.abs(clip.frames.astype(np.int16) - frames)
    assert err.mean() < 3.5 and np.percentile(err, 99) < 10  # crf 18 + 4:2:0 chroma, smooth content
    diff = read_video(mp4, accurate_color=True).frames.astype(np.int16) - frames
    assert np.abs(diff).mean() < 2.0 and np.percentile(np.abs(diff), 99) < 8
    assert abs(diff.mean()) < 0.3  # unbiased, unlike ffmpeg's fast YUV->RGB path


def test_h264_yuv420p_faststart(mp4):
    info = probe(mp4)
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    data = mp4.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart: index before media data


def test_ntsc_rate_and_iterable_input(tmp_path, frames):
    out = write_video(tmp_path / "ntsc.mp4", (f for f in frames), 30000 / 1001)  # frame by frame
    info = probe(out)
    assert info.n_frames == T and info.fps == pytest.approx(30000 / 1001, rel=1e-6)


def test_iter_frames_chunks_concatenate_to_full_read(mp4):
    full = read_video(mp4).frames
    chunks = list(iter_frames(mp4, chunk=7))
    assert [len(c) for c in chunks] == [7, 7, 7, 7, 2]
    np.testing.assert_array_equal(np.concatenate(chunks), full)
    gray = np.concatenate(list(iter_frames(mp4, chunk=64, gray=True)))
    luma = full.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    assert gray.shape == full.shape[:3] and np.abs(gray - luma).mean() < 2.0


def test_iter_frames_can_stop_early(mp4):
    it = iter_frames(mp4, chunk=4)
    first = next(it)
    it.close()  # kills ffmpeg; must not hang or raise
    assert first.shape == (4, H, W, 3)


def test_size_and_max_frames(mp4):
    clip = read_video(mp4, size=(48, 32), max_frames=5)
    assert clip.frames.shape == (5, 32, 48, 3)
    assert next(iter_frames(mp4, size=(40, 20), gray=True)).shape == (T, 20, 40)
    with pytest.raises(BadInputError, match="size"):
        read_video(mp4, size=(48,))


def test_audio_round_trip_through_aac(mp4_audio):
    info = probe(mp4_audio)
    assert info.has_audio and info.audio_sample_rate == 16000 and info.audio_channels == 1
    clip = read_video(mp4_audio, audio_sr=16000)
    ref = sine(440, 16000, T / FPS)
    assert clip.sample_rate == 16000 and clip.audio.dtype == np.float32
    assert abs(len(clip.audio) - len(ref)) <= 0.03 * 16000  # AAC frame padding at most ~1 frame
    n = min(len(ref), len(clip.audio))
    mid = slice(n // 10, n - n // 10)
    assert np.corrcoef(ref[mid], clip.audio[mid])[0, 1] > 0.95  # aligned: edit list removes priming
    low = read_video(mp4_audio, audio_sr=8000)
    assert low.sample_rate == 8000 and abs(len(low.audio) - len(clip.audio) / 2) <= 2
    assert dominant_hz(low.audio, 8000) == pytest.approx(440, abs=2)
    short = read_video(mp4_audio, max_frames=10)
    assert len(short.audio) == pytest.approx(10 / FPS * 16000, abs=1)


def test_mux_audio_replaces_track_and_keeps_video(mp4_audio, tmp_path):
    out = mux_audio(mp4_audio, sine(880, 22050, T / FPS), 22050, tmp_path / "dub.mp4")
    a, b = read_video(mp4_audio, audio_sr=None), read_video(out, audio_sr=None)
    np.testing.assert_array_equal(a.frames, b.frames)  # video stream copied, not re-encoded
    assert b.sample_rate == 22050 and dominant_hz(b.audio, 22050) == pytest.approx(880, abs=3)


def test_mux_audio_refuses_to_write_over_its_input(mp4_audio):
    before = mp4_audio.read_bytes()
    for overwrite in (False, True):
        with pytest.raises(BadInputError, match="input of this call") as e:
            mux_audio(mp4_audio, sine(880, 16000, 1.0), 16000, mp4_audio, overwrite=overwrite)
        assert str(mp4_audio) in str(e.value)
    assert mp4_audio.read_bytes() == before


def test_overwrite_refused_and_original_untouched(tmp_path, frames):
    out = write_video(tmp_path / "a.mp4", frames, FPS)
    before = out.read_bytes()
    with pytest.raises(BadInputError, match="overwrite=True") as e:
        write_video(out, frames[:5], FPS)
    assert str(out) in str(e.value) and out.read_bytes() == before
    write_video(out, frames[:5], FPS, overwrite=True)
    assert probe(out).n_frames == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4"]  # no temp files left behind


def test_relative_names_that_look_like_urls(tmp_path, frames, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = write_video("take:2.mp4", frames[:4], FPS, audio=np.zeros(8000, np.float32))
    assert read_video(out).n_frames == 4 and probe(out).has_audio
    assert mux_audio(out, np.zeros(4000, np.float32), 16000, "http:x.mp4").exists()


def test_failed_write_leaves_nothing(tmp_path, frames):
    def gen():
        yield frames[:3]
        yield frames[:3].astype(np.float32)  # bad chunk mid-stream

    with pytest.raises(BadInputError, match="dtype"):
        write_video(tmp_path / "b.mp4", gen(), FPS)
    assert list(tmp_path.iterdir()) == []


def test_odd_size_is_padded_with_warning(tmp_path):
    fr = make_frames(6, 31, 45)
    with pytest.warns(UserWarning, match="even"):
        out = write_video(tmp_path / "odd.mp4", fr, FPS)
    got = read_video(out, accurate_color=True).frames.astype(np.int16)
    assert got.shape == (6, 32, 46, 3)
    aligned, shifted = np.abs(got[:, :31, :45] - fr).mean(), np.abs(got[:, 1:, 1:] - fr).mean()
    assert aligned < 5 and aligned < shifted / 2  # padding went to the bottom/right edge


@pytest.mark.parametrize("bad, match", [
    (np.zeros((4, 16, 16, 3), np.float32), "dtype"),
    (np.zeros((4, 16, 16), np.uint8), "shape"),
    (np.zeros((4, 16, 16, 4), np.uint8), "shape"),
    (np.zeros((0, 16, 16, 3), np.uint8), "zero frames"),
    ([np.zeros((16, 16, 3), np.uint8), np.zeros((8, 8, 3), np.uint8)], "same height"),
])
def test_bad_frames(tmp_path, bad, match):
    with pytest.raises(BadInputError, match=match):
        write_video(tmp_path / "x.mp4", bad, FPS)
    assert not (tmp_path / "x.mp4").exists()


def test_edit_list_cut_counts_only_shown_frames(tmp_path, mp4):
    cut = tmp_path / "cut.mp4"
    ffmpeg("-ss", "0.5", "-i", str(mp4), "-c", "copy", str(cut))  # keeps GOP head, hidden by an edit list
    info = probe(cut)
    assert info.n_frames == read_video(cut).n_frames == sum(len(c) for c in iter_frames(cut))
    assert info.n_frames < T


def test_display_rotation_is_applied(tmp_path, mp4):
    rot = tmp_path / "phone.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(mp4), "-c", "copy", str(rot))  # portrait phone clip
    info = probe(rot)
    assert (info.width, info.height) == (H, W)
    assert read_video(rot).frames.shape == (T, W, H, 3)


def test_missing_file(tmp_path):
    p = tmp_path / "missing.mp4"
    for fn in (probe, read_video, iter_frames):  # iter_frames checks eagerly, before iteration
        with pytest.raises(MediaError, match="does not exist") as e:
            fn(p)
        assert str(p) in str(e.value)


def test_text_file_renamed_mp4(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("this is not a video\n" * 10)
    with pytest.raises(MediaError, match="not a readable video") as e:
        read_video(p)
    assert str(p) in str(e.value)


def test_zero_frames(tmp_path):
    p = tmp_path / "empty.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:rate=25", "-frames:v", "0", "-c:v", "libx264", str(p))
    with pytest.raises(MediaError, match="zero video frames") as e:
        read_video(p)
    assert str(p) in str(e.value)
    m4a = tmp_path / "voice.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=300:sample_rate=16000", "-t", "0.5", "-c:a", "aac", str(m4a))
    with pytest.raises(MediaError, match="audio only"):
        probe(m4a)


def test_truncated_mp4(tmp_path, mp4):
    cut = tmp_path / "cut.mp4"
    data = mp4.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match="truncated") as e:
        read_video(cut)
    assert str(cut) in str(e.value)
    # without +faststart the index sits at the end: the cut removes it
    tail = tmp_path / "tail_index.mp4"
    ffmpeg("-i", str(mp4), "-c", "copy", str(tail))
    data = tail.read_bytes()
    assert data.index(b"moov") > data.index(b"mdat")
    tail.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match="truncated"):
        probe(tail)
    mkv = tmp_path / "src.mkv"
    ffmpeg("-i", str(mp4), "-c", "copy", str(mkv))
    data = mkv.read_bytes()
    mkv.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match="truncated"):
        probe(mkv)


@pytest.fixture(scope="module")
def vfr_mp4(tmp_path_factory) -> Path:
    """1 s at 25 fps followed by 1 s at 10 fps in one stream."""
    p = tmp_path_factory.mktemp("vfr") / "vfr.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25", "-t", "2",
           "-vf", "setpts='if(lt(N,25),N/25,1+(N-25)/10)/TB'", "-fps_mode", "vfr",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", str(p))
    return p


def test_variable_frame_rate_detected_and_resampled(vfr_mp4):
    info = probe(vfr_mp4)
    assert info.is_vfr and info.n_frames == 35  # 25 + 10 frames, counted from packets
    with pytest.raises(MediaError, match="variable frame rate") as e:
        read_video(vfr_mp4)
    assert str(vfr_mp4) in str(e.value) and "vfr='resample'" in str(e.value)
    clip = read_video(vfr_mp4, vfr="resample")
    assert clip.fps == pytest.approx(info.fps)
    assert abs(clip.n_frames - info.duration_s * info.fps) <= 2
    assert read_video(vfr_mp4, fps=25).n_frames == pytest.approx(50, abs=2)
    assert sum(len(c) for c in iter_frames(vfr_mp4)) == 35  # streaming keeps decoded frames


def test_require_audio(mp4):
    with pytest.raises(MediaError, match="no audio track") as e:
        read_video(mp4, require_audio=True)
    assert str(mp4) in str(e.value)


def test_fps_validation(tmp_path, frames):
    for bad in (0, -5, float("nan")):
        with pytest.raises(BadInputError, match="fps"):
            write_video(tmp_path / "f.mp4", frames, bad)
