"""Wav2Lip ``inference.py``'s frame options in :func:`thglib.lipsync.lipsync` and ``thg lipsync``:
``box`` / ``--box``, ``resize_factor`` / ``--resize_factor``, ``crop`` / ``--crop``, ``rotate`` /
``--rotate``, ``--nosmooth``; and ``upsample="auto"`` in the pipeline."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from thglib import lipsync as ls
from thglib.cli import build_parser, main
from thglib.errors import BadInputError
from thglib.io import probe, save_audio
from thglib.samples import portrait


@pytest.fixture(autouse=True)
def _offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THG_OFFLINE", "1")
    monkeypatch.setenv("THG_HOME", str(tmp_path / "thg_home"))


class Echo(nn.Module):
    """A stand-in generator that returns the unmasked reference crop (channels 3-5) as its face."""

    def forward(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        return face[:, 3:6]


def speech(seconds: float = 0.2) -> tuple[np.ndarray, int]:
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.3 * np.sign(np.sin(2 * np.pi * 140 * t)) * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t))).astype(
        np.float32), 16000


def clip(width: int = 128, height: int = 150, n: int = 3) -> np.ndarray:
    """``n`` distinct frames of Grace Hopper (each a little brighter than the last)."""
    img = cv2.resize(portrait("grace_hopper"), (width, height), interpolation=cv2.INTER_AREA)
    return np.stack([np.clip(img.astype(int) + 4 * i, 0, 255).astype(np.uint8) for i in range(n)])


def crop96(region: np.ndarray) -> np.ndarray:
    return cv2.resize(region, (96, 96), interpolation=cv2.INTER_LINEAR)


def run(tmp_path: Path, frames: np.ndarray, **kwargs: object) -> ls.LipSyncResult:
    return ls.lipsync(frames, speech(), tmp_path / "o.mp4", weights=Echo(), sync=False, keep_crops=True,
                      progress=False, **kwargs)


@pytest.fixture
def no_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a detector was loaded")

    monkeypatch.setattr("thglib.face.backends._build", refuse)
    monkeypatch.setattr("thglib.face.get_detector", refuse)
    monkeypatch.setattr("thglib.face.detect_faces", refuse)


# --------------------------------------------------------------------------- the options
def test_box_gives_exactly_that_crop_in_every_frame_without_a_detector(tmp_path: Path, no_detector: None) -> None:
    frames = clip()
    r = run(tmp_path, frames, box=(20, 110, 15, 100))  # top, bottom, left, right
    assert r.n_frames == 5 and r.box == (20, 110, 15, 100)
    assert (r.boxes.boxes == [15, 20, 100, 110]).all() and not r.boxes.detected.any()
    for i in range(r.n_frames):
        np.testing.assert_array_equal(r.crops_in[i], crop96(frames[i % 3][20:110, 15:100]))
    assert "fixed box top 20, bottom 110, left 15, right 100" in r.summary()


def test_resize_factor_halves_the_frames_before_detection_and_output(tmp_path: Path) -> None:
    frames = clip(256, 300)
    r = run(tmp_path, frames, resize_factor=2)
    assert r.boxes.frame_size == (128, 150) and (probe(r.output).width, probe(r.output).height) == (128, 150)
    small = [cv2.resize(f, (128, 150)) for f in frames]  # inference.py: cv2.resize(frame, (w // f, h // f))
    for i in range(r.n_frames):
        x0, y0, x1, y1 = r.boxes.boxes[i % 3]
        np.testing.assert_array_equal(r.crops_in[i], crop96(small[i % 3][y0:y1, x0:x1]))
    assert "frames: resize_factor 2; 256x300 -> 128x150" in r.summary()


def test_crop_cuts_the_frame_and_minus_one_means_the_edge(tmp_path: Path, no_detector: None) -> None:
    frames = clip()
    r = run(tmp_path, frames, crop=(10, -1, 20, 120), box=(5, 95, 10, 90))
    assert r.edits.crop == (10, 150, 20, 120) and r.edits.size == (100, 140)
    assert (probe(r.output).width, probe(r.output).height) == (100, 140)
    np.testing.assert_array_equal(r.crops_in[1], crop96(frames[1][10:150, 20:120][5:95, 10:90]))
    assert "crop rows 10:150 columns 20:120; 128x150 -> 100x140" in r.summary()


def test_rotate_turns_the_frames_clockwise_after_resizing_and_before_cropping(tmp_path: Path,
                                                                              no_detector: None) -> None:
    frames = clip()
    r = run(tmp_path, frames, rotate=True, box=(10, 100, 20, 140))
    assert r.edits.size == (150, 128) and (probe(r.output).width, probe(r.output).height) == (150, 128)
    turned = cv2.rotate(frames[2], cv2.ROTATE_90_CLOCKWISE)
    np.testing.assert_array_equal(r.crops_in[2], crop96(turned[10:100, 20:140]))
    both = run(tmp_path, frames, resize_factor=2, rotate=True, crop=(5, 61, 0, 74), box=(0, 50, 10, 60),
               overwrite=True)
    want = cv2.rotate(cv2.resize(frames[0], (64, 75)), cv2.ROTATE_90_CLOCKWISE)[5:61, 0:74]
    assert both.edits.size == (74, 56)
    np.testing.assert_array_equal(both.crops_in[0], crop96(want[0:50, 10:60]))
    assert "resize_factor 2, rotated 90° clockwise, crop rows 5:61 columns 0:74; 128x150 -> 74x56" in both.summary()


def test_smooth_window_1_and_auto_upsampling_are_recorded(tmp_path: Path) -> None:
    r = run(tmp_path, clip(), smooth_window=1)
    assert r.upsample == "auto" and r.smooth_window == 1
    assert "detector dlib-hog (upsample auto), no box smoothing" in r.summary()
    raw = ls.pad_boxes(r.boxes.raw, ls.DEFAULT_PADS, 128, 150)
    np.testing.assert_array_equal(r.boxes.boxes, raw.astype(np.int64))  # no smoothing: padded boxes as found


@pytest.mark.parametrize("kwargs, name", [
    ({"box": (0, 200, 0, 100), "resize_factor": 2}, "box"),  # inside 128x150, not inside 64x75
    ({"box": (-1, -1, -1, -1)}, "box"),
    ({"box": (10, 5, 0, 50)}, "box"),
    ({"box": (0, 50, 0)}, "box"),
    ({"box": (0, 50.0, 0, 50)}, "box"),
    ({"box": (0, 140, 0, 50), "rotate": True}, "box"),  # 150 wide after rotating, but 128 tall
    ({"resize_factor": 0}, "resize_factor"),
    ({"resize_factor": 1.5}, "resize_factor"),
    ({"resize_factor": 10}, "resize_factor"),  # 12x15 frames
    ({"crop": (50, 10, 0, -1)}, "crop"),
    ({"crop": (0, 151, 0, -1)}, "crop"),
    ({"crop": (0, -1, -1, 50)}, "crop"),
    ({"rotate": "yes"}, "rotate"),
    ({"upsample": 5}, "upsample"),
    ({"upsample": "fast"}, "upsample"),
])
def test_bad_values_raise_typed_errors_naming_the_argument(tmp_path: Path, no_detector: None, kwargs: dict,
                                                           name: str) -> None:
    with pytest.raises(BadInputError) as e:
        run(tmp_path, clip(), **kwargs)
    assert e.value.what == name
    assert not (tmp_path / "o.mp4").exists()


# --------------------------------------------------------------------------- thg lipsync
@pytest.fixture
def inputs(tmp_path: Path) -> list[str]:
    cv2.imwrite(str(tmp_path / "face.png"), clip(128, 148, n=1)[0][..., ::-1])
    save_audio(tmp_path / "speech.wav", *speech())
    return ["lipsync", "--face", str(tmp_path / "face.png"), "--audio", str(tmp_path / "speech.wav"),
            "--out", str(tmp_path / "out.mp4"), "--allow-untrained", "--quiet", "--no-sync"]


def test_cli_box_resize_rotate_run_without_a_detector(tmp_path: Path, inputs: list[str], capsys,
                                                       no_detector: None) -> None:
    rc = main(inputs + ["--resize_factor", "2", "--rotate", "--box", "5", "60", "10", "70"])
    assert rc == 0, capsys.readouterr().err
    info = probe(tmp_path / "out.mp4")
    assert (info.width, info.height, info.n_frames) == (74, 64, 5)  # 64x74, rotated
    out = capsys.readouterr().out
    assert "resize_factor 2, rotated 90° clockwise; 128x148 -> 74x64" in out and "fixed box top 5" in out


@pytest.mark.parametrize("extra, flag", [
    (["--box", "0", "999", "0", "10"], "--box"),
    (["--crop", "50", "10", "0", "-1"], "--crop"),
    (["--resize-factor", "20"], "--resize-factor"),
])
def test_cli_errors_name_the_flag(inputs: list[str], capsys, no_detector: None, extra: list[str], flag: str) -> None:
    assert main(inputs + extra) == 1
    assert capsys.readouterr().err.startswith(f"thg: error: {flag}: ")


@pytest.mark.parametrize("extra, flag", [
    (["--resize-factor", "0"], "--resize-factor"), (["--upsample", "5"], "--upsample"),
    (["--nosmooth", "--smooth", "3"], "--smooth"), (["--box", "1", "2"], "--box")])
def test_cli_usage_errors_name_the_flag(inputs: list[str], capsys, extra: list[str], flag: str) -> None:
    with pytest.raises(SystemExit) as e:
        main(inputs + extra)
    assert e.value.code == 2 and flag in capsys.readouterr().err


def test_cli_parses_the_wav2lip_spellings(inputs: list[str]) -> None:
    args = build_parser().parse_args(inputs + ["--nosmooth", "--resize_factor", "3", "--box", "-1", "-1", "-1", "-1"])
    assert args.smooth == 1 and args.resize_factor == 3 and args.box == [-1, -1, -1, -1]
    defaults = build_parser().parse_args(inputs)
    got = (defaults.smooth, defaults.upsample, defaults.box, defaults.crop, defaults.rotate)
    assert got == (5, "auto", None, None, False)


@pytest.mark.parametrize("kwargs, name", [({"resize_factor": 0}, "resize_factor"), ({"rotate": 1}, "rotate"),
                                          ({"box": (0, 1, 2)}, "box"), ({"crop": "top"}, "crop"),
                                          ({"upsample": 9}, "upsample")])
def test_size_free_checks_come_before_any_file_is_read(tmp_path: Path, kwargs: dict, name: str) -> None:
    with pytest.raises(BadInputError) as e:
        ls.lipsync(tmp_path / "absent.png", tmp_path / "absent.wav", tmp_path / "o.mp4", **kwargs)
    assert e.value.what == name and e.value.fix
