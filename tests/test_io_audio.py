"""Load, save, resample and downmix with :mod:`thglib.io.audio` (tones made in tmp_path)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import soundfile as sf

from thglib.errors import BadInputError, MediaError
from thglib.io import load_audio, resample, save_audio, to_float32, to_mono, write_video
from thglib.io.video import ffmpeg_exe

RATES = [8000, 16000, 22050, 44100, 48000]
PCM16 = 1 / 32768


def sine(freq: float, sr: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(sr * seconds))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_hz(x: np.ndarray, sr: int) -> float:
    """Peak of the windowed spectrum, refined by parabolic interpolation of the log magnitude."""
    spec = np.log(np.abs(np.fft.rfft(x * np.hanning(len(x)))) + 1e-12)
    k = int(np.argmax(spec))
    a, b, c = spec[k - 1], spec[k], spec[k + 1]
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / len(x)


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


@pytest.mark.parametrize("sr", RATES)
def test_wav_round_trip_at_common_rates(tmp_path, sr):
    x = sine(440, sr, 0.5)
    p = save_audio(tmp_path / f"tone{sr}.wav", x, sr)
    y, got = load_audio(p)
    assert got == sr and y.dtype == np.float32 and y.shape == x.shape
    assert np.max(np.abs(y - x)) <= PCM16  # 16-bit PCM quantisation
    assert sf.info(str(p)).samplerate == sr  # independent reader agrees


@pytest.mark.parametrize("suffix", [".flac", ".ogg"])
def test_flac_and_ogg(tmp_path, suffix):
    x = sine(660, 22050, 0.5)
    y, sr = load_audio(save_audio(tmp_path / f"t{suffix}", x, 22050))
    assert sr == 22050 and abs(len(y) - len(x)) <= 1
    assert np.corrcoef(x, y[: len(x)])[0, 1] > 0.99


def test_stereo_to_mono(tmp_path):
    left, right = sine(300, 44100, 0.3), sine(500, 44100, 0.3, amp=0.25)
    p = save_audio(tmp_path / "st.wav", np.stack([left, right], 1), 44100)
    both, _ = load_audio(p, mono=False)
    assert both.shape == (len(left), 2)
    mono, _ = load_audio(p)
    np.testing.assert_allclose(mono, (left + right) / 2, atol=PCM16)
    with pytest.raises(BadInputError, match="channels-first"):
        to_mono(np.zeros((2, 1000), np.float32))


def test_integer_dtypes():
    np.testing.assert_allclose(to_float32(np.array([-32768, 0, 16384], np.int16)), [-1, 0, 0.5])
    np.testing.assert_allclose(to_float32(np.array([-(2**31), 2**30], np.int32)), [-1, 0.5])
    np.testing.assert_allclose(to_float32(np.array([0, 128, 192], np.uint8)), [-1, 0, 0.5])
    assert to_float32(np.zeros(3, np.float64)).dtype == np.float32
    with pytest.raises(BadInputError, match="dtype"):
        to_float32(np.array(["a"]))


@pytest.mark.parametrize("sr_in, sr_out", [(44100, 16000), (48000, 8000), (8000, 22050), (22050, 48000)])
def test_resample_keeps_frequency_and_level(sr_in, sr_out):
    x = sine(1000, sr_in, 1.0)
    y = resample(x, sr_in, sr_out)
    assert y.dtype == np.float32 and abs(len(y) - round(len(x) * sr_out / sr_in)) <= 1
    assert dominant_hz(y, sr_out) == pytest.approx(1000, abs=1.0)
    core = slice(len(y) // 10, -len(y) // 10)  # skip filter edges
    assert np.sqrt(np.mean(y[core] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_resample_removes_content_above_new_nyquist():
    x = sine(6000, 48000, 1.0)  # above 4 kHz, the Nyquist of 8 kHz
    y = resample(x, 48000, 8000)
    core = y[800:-800]  # skip the onset/offset transients
    assert np.sqrt(np.mean(core ** 2)) < 1e-3 * 0.5  # filtered (> 60 dB down), not aliased to 2 kHz


def test_load_with_resample_and_int16_file(tmp_path):
    p = tmp_path / "i16.wav"
    sf.write(str(p), (sine(440, 48000, 0.5) * 32767).astype(np.int16), 48000, subtype="PCM_16")
    y, sr = load_audio(p, sr=16000)
    assert sr == 16000 and len(y) == 8000 and dominant_hz(y, sr) == pytest.approx(440, abs=1)


@pytest.mark.parametrize("suffix, codec", [(".m4a", "aac"), (".mp3", "libmp3lame")])
def test_compressed_formats_via_ffmpeg(tmp_path, suffix, codec):
    wav = save_audio(tmp_path / "src.wav", np.stack([sine(440, 44100, 1.0)] * 2, 1), 44100)
    enc = tmp_path / f"enc{suffix}"
    ffmpeg("-i", str(wav), "-c:a", codec, "-b:a", "128k", str(enc))
    stereo, sr = load_audio(enc, mono=False)
    assert sr == 44100 and stereo.shape[1] == 2 and abs(len(stereo) - 44100) < 0.06 * 44100
    y, sr = load_audio(enc, sr=16000)
    assert sr == 16000 and dominant_hz(y, 16000) == pytest.approx(440, abs=1)


def test_audio_track_of_mp4(tmp_path):
    frames = np.full((25, 32, 32, 3), 100, np.uint8)
    mp4 = write_video(tmp_path / "v.mp4", frames, 25, audio=sine(330, 16000, 1.0), sample_rate=16000)
    y, sr = load_audio(mp4)
    assert sr == 16000 and abs(len(y) - 16000) < 0.06 * 16000
    assert dominant_hz(y, sr) == pytest.approx(330, abs=1)
    silent = write_video(tmp_path / "silent.mp4", frames, 25)
    with pytest.raises(MediaError, match="no audio track") as e:
        load_audio(silent)
    assert str(silent) in str(e.value)


def test_save_refuses_existing_file(tmp_path):
    p = save_audio(tmp_path / "keep.wav", sine(440, 16000, 0.2), 16000)
    before = p.read_bytes()
    with pytest.raises(BadInputError, match="overwrite=True") as e:
        save_audio(p, sine(880, 16000, 0.4), 16000)
    assert str(p) in str(e.value) and p.read_bytes() == before
    save_audio(p, sine(880, 16000, 0.4), 16000, overwrite=True)
    assert len(load_audio(p)[0]) == 6400
    assert [q.name for q in tmp_path.iterdir()] == ["keep.wav"]


def test_save_validation_and_clipping(tmp_path):
    with pytest.raises(BadInputError, match="suffix"):
        save_audio(tmp_path / "a.mp3", sine(440, 16000, 0.1), 16000)
    with pytest.raises(BadInputError, match="sr"):
        save_audio(tmp_path / "a.wav", sine(440, 16000, 0.1), 0)
    with pytest.warns(UserWarning, match="clipped"):
        p = save_audio(tmp_path / "loud.wav", sine(440, 16000, 0.1, amp=2.0), 16000)
    assert np.max(np.abs(load_audio(p)[0])) <= 1.0
    bad = sine(440, 16000, 0.1)
    bad[10] = np.nan                                   # would be written as a full-scale click
    with pytest.raises(BadInputError, match="NaN"):
        save_audio(tmp_path / "nan.wav", bad, 16000)
    assert not (tmp_path / "nan.wav").exists()


@pytest.mark.parametrize("layout, n", [("mono", 1), ("5.1(side)", 6), ("7.1.4", 12), ("22.2", 24),
                                       ("cube", 8), ("hexadecagonal", 16), ("3 channels", 3)])
def test_channel_layout_names(layout, n):
    from thglib.io.video import _channels

    assert _channels(layout) == n and _channels(layout, strict=True) == n
    assert _channels("some-new-layout") == 2 and _channels("some-new-layout", strict=True) is None


def test_bad_files(tmp_path):
    missing = tmp_path / "none.wav"
    with pytest.raises(MediaError, match="does not exist") as e:
        load_audio(missing)
    assert str(missing) in str(e.value)
    junk = tmp_path / "junk.wav"
    junk.write_text("not audio")
    with pytest.raises(MediaError) as e:
        load_audio(junk)
    assert str(junk) in str(e.value)
