"""Notebook display helpers embed playable media as data URIs (:mod:`thglib.io.display`)."""

from __future__ import annotations

import base64
import io
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from IPython.display import HTML

from thglib.errors import BadInputError
from thglib.io import display, probe, read_video, show_audio, show_video, show_videos, write_video
from thglib.io.video import ffmpeg_exe


class Tags(HTMLParser):
    """Collect (tag, attrs) pairs and caption text, as a browser's DOM would see them."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def elements(self, name: str) -> list[dict]:
        return [a for t, a in self.tags if t == name]


def frames_(t: int = 12, h: int = 48, w: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    frames = [np.stack([xx * 4 + k * 8, yy * 5, np.full_like(xx, 90)], -1) for k in range(t)]
    return np.stack(frames).astype(np.uint8)


def decode_uri(uri: str, prefix: str) -> bytes:
    assert uri.startswith(prefix)
    return base64.b64decode(uri[len(prefix):])


def embedded_video(obj: HTML, tmp_path: Path, i: int = 0) -> Path:
    (video,) = Tags(obj.data).elements("video")[i: i + 1]
    p = tmp_path / f"embedded{i}.mp4"
    p.write_bytes(decode_uri(video["src"], "data:video/mp4;base64,"))
    return p


def test_show_video_frames_round_trip(tmp_path):
    fr = frames_()
    obj = show_video(fr, fps=12, width=200, label="ours <v2>")
    assert isinstance(obj, HTML)
    tags = Tags(obj.data)
    (video,) = tags.elements("video")
    assert "controls" in video and video["width"] == "200"
    assert "ours <v2>" in "".join(tags.text) and "<v2>" not in obj.data  # caption escaped
    clip = read_video(embedded_video(obj, tmp_path))
    assert clip.frames.shape == fr.shape and clip.fps == 12
    assert np.abs(clip.frames.astype(np.int16) - fr).mean() < 4


def test_show_video_path_embeds_h264_file_as_is(tmp_path):
    src = write_video(tmp_path / "a.mp4", frames_(), 25)
    obj = show_video(src)
    assert embedded_video(obj, tmp_path).read_bytes() == src.read_bytes()


def test_show_video_transcodes_other_formats(tmp_path):
    mkv = tmp_path / "b.mkv"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=10",
                    "-t", "1", "-c:v", "mpeg4", str(mkv)], check=True)
    info = probe(embedded_video(show_video(mkv, width=160), tmp_path))
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p")
    assert (info.width, info.height, info.n_frames) == (320, 180, 10)  # scaled to 2 x width


def test_show_video_clip_with_audio_and_downscale(tmp_path):
    sr = 16000
    audio = (0.3 * np.sin(2 * np.pi * 440 * np.arange(sr) / sr)).astype(np.float32)
    src = write_video(tmp_path / "talk.mp4", frames_(25, 120, 160), 25, audio=audio, sample_rate=sr)
    obj = show_video(read_video(src), width=50)
    info = probe(embedded_video(obj, tmp_path))
    assert info.has_audio and info.width == 100 and info.height == 76  # even, aspect kept


def test_show_videos_side_by_side(tmp_path):
    a = write_video(tmp_path / "a.mp4", frames_(), 25)
    obj = show_videos([a, frames_(6)], labels=["real", "fake"], fps=25)
    tags = Tags(obj.data)
    assert len(tags.elements("video")) == 2 and "flex" in tags.elements("div")[0]["style"]
    assert ["real", "fake"] == [t for t in tags.text if t.strip()]
    assert probe(embedded_video(obj, tmp_path, 1)).n_frames == 6
    with pytest.raises(BadInputError, match="labels"):
        show_videos([a, a], labels=["one"])


def test_show_audio(tmp_path):
    x = (0.5 * np.sin(2 * np.pi * 220 * np.arange(8000) / 16000)).astype(np.float32)
    obj = show_audio(x, 16000, label="tone")
    (audio,) = Tags(obj.data).elements("audio")
    assert "controls" in audio
    y, sr = sf.read(io.BytesIO(decode_uri(audio["src"], "data:audio/wav;base64,")), dtype="float32")
    assert sr == 16000 and np.max(np.abs(y - x)) <= 1 / 32767
    p = tmp_path / "t.wav"
    sf.write(str(p), x, 16000)
    src = Tags(show_audio(p).data).elements("audio")[0]["src"]
    z, _ = sf.read(io.BytesIO(decode_uri(src, "data:audio/wav;base64,")), dtype="float32")
    assert np.max(np.abs(z - x)) <= 2 / 32767


def test_errors_and_size_warning(monkeypatch, tmp_path):
    with pytest.raises(BadInputError, match="fps"):
        show_video(frames_())
    with pytest.raises(BadInputError, match="sr"):
        show_audio(np.zeros(100, np.float32))
    monkeypatch.setattr(display, "EMBED_WARN_BYTES", 1000)
    with pytest.warns(UserWarning, match="MB"):
        show_video(frames_(), fps=10)
