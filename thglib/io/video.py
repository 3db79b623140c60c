"""Video files through the ``ffmpeg`` binary bundled with ``imageio-ffmpeg``.

Frames travel through subprocess pipes as raw ``rgb24`` (or ``gray``) bytes, the approach of
``imageio-ffmpeg`` (``imageio_ffmpeg/_io.py``) and of ``ffmpeg-python``'s numpy examples.  No
system ``ffmpeg``/``ffprobe`` is assumed: :func:`probe` reads what ``ffmpeg -i`` prints plus a
demux-only packet scan (``-c copy -f framecrc``), which gives exact frame counts and per-frame
timestamps without decoding.

Conventions: frames are ``uint8`` RGB arrays shaped ``(T, H, W, 3)``; sizes are ``(width, height)``;
audio is float32 in [-1, 1], mono ``(n,)`` or channels-last ``(n, ch)``.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import subprocess
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import IO, Literal, Union

import numpy as np

from ..errors import BackendUnavailable, BadInputError, MediaError

__all__ = [
    "VideoInfo",
    "Clip",
    "probe",
    "read_video",
    "iter_frames",
    "write_video",
    "mux_audio",
    "ffmpeg_exe",
    "atomic_output",
]

PathLike = Union[str, os.PathLike]
#: ``read_video`` refuses to decode more than this many bytes of frames; use ``iter_frames``.
MAX_READ_BYTES = 4 * 2**30
#: Files larger than this get a partial packet scan in :func:`probe` (frame count estimated).
FULL_SCAN_BYTES = 256 * 2**20
#: swscale flags for YUV->RGB.  ffmpeg's default fast path (also used by OpenCV's VideoCapture) is
#: ~1 level dark: mean |error| of a lossless RGB->yuv420p->RGB trip is 2.2 levels (bias -1.1);
#: ``accurate_color=True`` (accurate_rnd+full_chroma_int) gives 0.4 but decodes 2x (256x256) to
#: 9x (1080p) slower.  Encoding always uses accurate rounding (cheap next to libx264).
SWS_FAST, SWS_ACCURATE = "bicubic", "bicubic+accurate_rnd+full_chroma_int"
_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


# --------------------------------------------------------------------------- plumbing
@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped by ``imageio-ffmpeg`` (honours ``$IMAGEIO_FFMPEG_EXE``)."""
    try:
        import imageio_ffmpeg
    except ImportError as e:
        raise BackendUnavailable("imageio-ffmpeg", "pip install imageio-ffmpeg") from e
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as e:
        raise BackendUnavailable("ffmpeg binary of imageio-ffmpeg",
                                 "pip install --force-reinstall imageio-ffmpeg") from e


def require_file(path: PathLike) -> Path:
    """Return ``Path(path)`` if it is an existing regular file, else raise :class:`MediaError`."""
    from ..validate import existing_file

    return existing_file(path)


def ff_path(p: PathLike) -> str:
    """A local path as an ffmpeg URL (``file:`` keeps names like ``take:2.mp4`` from being protocols)."""
    return "file:" + os.fspath(p)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


@lru_cache(maxsize=1)
def _umask() -> int:
    """The process umask. Linux reports it in /proc; elsewhere it is read by setting and restoring it
    (once: ``os.umask`` is process-wide, so doing that on every write would race with other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: PathLike, *, overwrite: bool = False, inputs: Sequence[PathLike] = (),
                  suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success ``os.replace`` it onto ``path``.

    Refuses a ``path`` that already exists unless ``overwrite=True``, and always refuses a ``path``
    that is one of ``inputs`` (the files the caller reads).  On error the temporary is deleted and
    the original file, if any, is untouched.
    """
    dst = Path(path).expanduser()
    for src in inputs:
        if _same_file(dst, Path(src)) or dst.resolve() == Path(src).expanduser().resolve():
            raise BadInputError(f"'{dst}'", "is also an input of this call, so writing it would "
                                "destroy the data being read", "Write to a new path (then os.replace "
                                "it onto the original yourself if you really want to)")
    if dst.is_dir():
        raise BadInputError(f"'{dst}'", "is a folder", "Pass a file path such as out/clip.mp4")
    if dst.exists() and not overwrite:
        raise BadInputError(f"'{dst}'", "already exists",
                            "Pass overwrite=True to replace it, or choose another path")
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".part" + suffix)
    except OSError as e:  # read-only or missing permissions: name the file asked for, not the temporary
        raise MediaError(dst, f"cannot be written: its folder '{dst.parent}' is not writable "
                         f"({e.strerror or e})", "Choose an output path in a folder you can write to") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        try:
            os.replace(tmp, dst)
        except OSError as e:
            raise MediaError(dst, f"could not be put in place ({e.strerror or e})",
                             "Choose an output path in a folder you can write to") from None
    finally:
        tmp.unlink(missing_ok=True)


def _stderr_tail(err: bytes | str, n: int = 3) -> str:
    text = err.decode("utf-8", "replace") if isinstance(err, bytes) else err
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("frame=")]
    return " | ".join(lines[-n:]) or "no message"


def _read_err(f: IO[bytes]) -> str:
    f.seek(0)
    return f.read().decode("utf-8", "replace")


# --------------------------------------------------------------------------- probe
@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` found out about a video file (sizes after display rotation)."""

    path: Path
    width: int
    height: int
    fps: float  #: constant rate, or the average rate when ``is_vfr``
    n_frames: int
    n_frames_exact: bool  #: True: counted packets; False: estimated as duration × fps
    duration_s: float
    has_audio: bool
    audio_sample_rate: int | None
    audio_channels: int | None
    is_vfr: bool
    codec: str
    pix_fmt: str


_NICE_RATES = [float(n) for n in range(1, 241)] + [n * 1000 / 1001 for n in (24, 30, 48, 60, 120)]


def _snap_fps(fps: float) -> float:
    """Snap a measured rate to an integer or NTSC rate (24000/1001, ...) within 0.1 %."""
    best = min(_NICE_RATES, key=lambda r: abs(r - fps))
    return best if abs(best - fps) <= 1e-3 * fps else fps


def _num(s: str) -> float:
    return float(s[:-1]) * 1000 if s.endswith("k") else float(s)


def _channels(layout: str, strict: bool = False) -> int | None:
    """Channel count of an ffmpeg layout name: ``"5.1(side)"`` → 6, ``"7.1.4"`` → 12, ``"cube"`` → 8.

    An unknown name gives 2 (a guess, for display) or, with ``strict``, ``None``.
    """
    named = {"mono": 1, "stereo": 2, "binaural": 2, "downmix": 2, "quad": 4, "hexagonal": 6,
             "octagonal": 8, "cube": 8, "hexadecagonal": 16}
    layout = layout.strip()
    if m := re.match(r"(\d+) channels", layout):
        return int(m.group(1))
    if m := re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", layout):
        return sum(int(g) for g in m.groups() if g)
    return named.get(layout.split("(")[0], None if strict else 2)


def _video_stream(line: str) -> dict:
    """Fields of a banner line such as ``Stream #0:0: Video: h264 (High), yuv420p(tv), 256x256, 25 fps``."""
    desc = line.split(": Video:")[1]
    size = re.search(r", (\d+)x(\d+)", desc)
    pix = re.search(r", ([a-z0-9]+)[(,]", desc)
    fps, tbr = re.search(r", ([\d.]+k?) fps", desc), re.search(r", ([\d.]+k?) tbr", desc)
    return {"codec": desc.split()[0].rstrip(","), "pix_fmt": pix.group(1) if pix else "",
            "size": (int(size.group(1)), int(size.group(2))) if size else None,
            "fps": _num(fps.group(1)) if fps else None, "tbr": _num(tbr.group(1)) if tbr else None}


def _parse_banner(err: str) -> dict:
    """Parse the ``Input #0`` section that ``ffmpeg -i`` prints (streams, duration, rotation)."""
    section = err.split("\nOutput #")[0]
    info: dict = {"duration": None, "video": None, "audio": None, "rotation": 0}
    if m := re.search(r"Duration: (\d+):(\d+):(\d+\.?\d*)", section):
        info["duration"] = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    for line in section.splitlines():
        if "Stream #" not in line:
            continue
        if ": Video:" in line and "(attached pic)" not in line and info["video"] is None:
            info["video"] = _video_stream(line)
        elif ": Audio:" in line and info["audio"] is None:
            sr = re.search(r", (\d+) Hz, ([^,]+)", line)
            info["audio"] = {"sr": int(sr.group(1)), "channels": _channels(sr.group(2))} if sr else {}
    if m := re.search(r"rotation of (-?[\d.]+) degrees", section):
        info["rotation"] = int(round(float(m.group(1)))) % 360
    return info


def _parse_packets(out: str) -> tuple[Fraction, np.ndarray]:
    """Time base and sorted presentation timestamps from ``-f framecrc`` output.

    Packets flagged discard (``F=0x4``: cut away by an edit list) are not frames and are skipped.
    """
    tb = Fraction(1, 1)
    pts = []
    for line in out.splitlines():
        if line.startswith("#tb 0:"):
            tb = Fraction(line.split(":")[1].strip())
        elif line and not line.startswith("#"):
            fields = line.split(",")
            flags = int(fields[6].split("=")[1], 16) if len(fields) > 6 and "F=" in fields[6] else 1
            p = int(fields[2])
            if p != -(2**63) and not flags & 0x4:
                pts.append(p)
    return tb, np.sort(np.asarray(pts, dtype=np.int64))


def _is_vfr(pts: np.ndarray) -> bool:
    """Frame intervals deviating from their median by more than 1 tick + 1 % mean variable rate."""
    if len(pts) < 3:
        return False
    d = np.diff(pts)
    med = float(np.median(d))
    return bool(np.any(np.abs(d - med) > 1 + 0.01 * med))


def _looks_like_mp4(p: Path) -> bool:
    with open(p, "rb") as f:
        return f.read(12)[4:8] == b"ftyp"


_TRUNCATED = ("partial file", "File ended prematurely", "moov atom not found", "truncat")


def probe(path: PathLike) -> VideoInfo:
    """Describe a video: size, frame rate, exact frame count, audio stream, variable frame rate.

    One ``ffmpeg -i PATH -map 0:V:0 -c copy -f framecrc -`` run: the banner gives streams and
    ``fps`` (avg_frame_rate) vs ``tbr`` (r_frame_rate); the packet list gives per-frame timestamps.
    A stream is VFR when frame intervals differ (see :func:`_is_vfr`).  Files over
    ``FULL_SCAN_BYTES`` are scanned for 2000 packets only and ``n_frames`` is estimated.
    """
    p = require_file(path)
    full = p.stat().st_size <= FULL_SCAN_BYTES
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", ff_path(p), "-map", "0:V:0?", "-c", "copy"]
    cmd += ([] if full else ["-frames:v", "2000"]) + ["-f", "framecrc", "-"]
    r = subprocess.run(cmd, capture_output=True)
    err = r.stderr.decode("utf-8", "replace")
    if "Input #0" not in err:
        if "moov atom not found" in err and _looks_like_mp4(p):
            raise MediaError(p, "is truncated or unfinished (its 'moov' index is missing)",
                             "Re-download or re-export the file; if it is still being written, wait")
        raise MediaError(p, f"is not a readable video (ffmpeg: {_stderr_tail(err, 1)})",
                         "Check that it really is a video file (e.g. H.264 MP4), not a renamed other file")
    meta = _parse_banner(err)
    if meta["video"] is None or meta["video"]["size"] is None:
        what = "is audio only" if meta["audio"] else "contains no streams"
        raise MediaError(p, f"has zero video frames ({what})", "Pass a file with a video track")
    if any(s in ln for ln in err.splitlines() if ln.startswith("[") for s in _TRUNCATED):
        raise MediaError(p, "is truncated (the file ends before its last frame)",
                         "Re-download or re-export it; to salvage the readable part, run ffmpeg -i "
                         "IN -c copy OUT.mp4 and read OUT.mp4")
    tb, pts = _parse_packets(r.stdout.decode("ascii", "replace"))
    if len(pts) == 0:
        raise MediaError(p, "has zero video frames", "Pass a video that contains at least one frame")
    return _info_from(p, meta, tb, pts, full)


def _info_from(p: Path, meta: dict, tb: Fraction, pts: np.ndarray, full: bool) -> VideoInfo:
    """Combine banner fields and packet timestamps (rate from the timestamp span when scanned fully)."""
    v, a = meta["video"], meta["audio"] or {}
    vfr = _is_vfr(pts)
    if not full and v["fps"] and v["tbr"]:
        vfr = vfr or abs(v["fps"] - v["tbr"]) > 0.01 * v["tbr"]
    span = float((int(pts[-1]) - int(pts[0])) * tb)
    step = float(np.median(np.diff(pts)) * tb) if len(pts) > 1 else 0.0
    if full and len(pts) > 1 and span > 0:
        fps = (len(pts) - 1) / span if not vfr else len(pts) / (span + step)
        duration = span + step
    else:
        fps = v["fps"] or v["tbr"] or (1 / step if step else 25.0)
        duration = meta["duration"] or len(pts) / fps
    fps = _snap_fps(fps)
    n = len(pts) if full else int(round(duration * fps))
    w, h = v["size"]
    if meta["rotation"] in (90, 270):
        w, h = h, w
    return VideoInfo(path=p, width=w, height=h, fps=fps, n_frames=n, n_frames_exact=full,
                     duration_s=duration if full else float(meta["duration"] or duration),
                     has_audio=meta["audio"] is not None, audio_sample_rate=a.get("sr"),
                     audio_channels=a.get("channels"), is_vfr=vfr,
                     codec=v["codec"], pix_fmt=v["pix_fmt"])


# --------------------------------------------------------------------------- reading
@dataclass
class Clip:
    """Decoded video: ``frames`` (T, H, W, 3) uint8 RGB, ``fps``, mono float32 ``audio`` or None."""

    frames: np.ndarray
    fps: float
    audio: np.ndarray | None
    sample_rate: int | None
    path: Path | None = None

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.fps


def _check_size(size: tuple[int, int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    ok = isinstance(size, (tuple, list)) and len(size) == 2 and all(
        isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_)) and 0 < s <= 16384 for s in size)
    if not ok:
        raise BadInputError("size", f"is {size!r}", "Pass (width, height) as two ints in 1..16384, or None")
    return int(size[0]), int(size[1])


def _decode_cmd(p: Path, pix_fmt: str, size: tuple[int, int] | None, fps: float | None,
                max_frames: int | None, accurate: bool = False) -> list[str]:
    filters = [f"fps={Fraction(fps).limit_denominator(1001)}"] if fps is not None else []
    wh = f"{size[0]}:{size[1]}:" if size is not None else ""
    filters.append(f"scale={wh}flags={SWS_ACCURATE if accurate else SWS_FAST},format={pix_fmt}")
    cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-i", ff_path(p), "-map", "0:V:0", "-an", "-sn"]
    cmd += ["-vf", ",".join(filters)]
    cmd += ["-fps_mode", "passthrough"] if fps is None else []
    cmd += ["-frames:v", str(max_frames)] if max_frames is not None else []
    return cmd + ["-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:1"]


def _readinto(stream: IO[bytes], buf: np.ndarray) -> int:
    """Fill ``buf`` from ``stream``; return the number of bytes read (less only at EOF)."""
    mv, got = memoryview(buf).cast("B"), 0
    while got < len(mv):
        n = stream.readinto(mv[got:])
        if not n:
            break
        got += n
    return got


def _frame_chunks(cmd: list[str], shape: tuple[int, ...], chunk: int, path: Path) -> Iterator[np.ndarray]:
    """Run ``cmd`` and yield its raw output as arrays of up to ``chunk`` frames of ``shape``."""
    frame_bytes, total = math.prod(shape), 0
    with tempfile.TemporaryFile() as errf:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errf)
        try:
            while True:
                buf = np.empty((chunk, *shape), np.uint8)
                k = _readinto(proc.stdout, buf) // frame_bytes
                if k:
                    total += k
                    yield buf[:k]
                if k < chunk:
                    break
            if proc.wait() != 0:
                raise MediaError(path, f"could not be decoded (ffmpeg: {_stderr_tail(_read_err(errf))})",
                                 "Re-export it as H.264 MP4, e.g. ffmpeg -i IN -c:v libx264 OUT.mp4")
            if total == 0:
                raise MediaError(path, "has zero video frames", "Pass a video with at least one frame")
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.wait()


def iter_frames(path: PathLike, *, chunk: int = 64, gray: bool = False,
                size: tuple[int, int] | None = None, accurate_color: bool = False,
                fps: float | None = None) -> Iterator[np.ndarray]:
    """Stream a video as chunks of up to ``chunk`` frames, ``(n, H, W, 3)`` RGB or ``(n, H, W)`` gray.

    Memory stays at about two chunks however long the file is.  Frames come out as decoded (no frame-rate
    resampling, even for VFR files) unless ``fps`` is given: then ffmpeg's ``fps`` filter resamples to that
    constant rate, the same frames :func:`read_video` with ``fps=`` returns. ``gray`` is ffmpeg's
    full-range luma (BT.601 weights). ``accurate_color``: exact YUV->RGB rounding, slower (see ``SWS_ACCURATE``).
    """
    from ..validate import count, frame_rate

    chunk = count(chunk, "chunk", fix="Pass a positive int such as 64")
    size = _check_size(size)
    fps = None if fps is None else frame_rate(fps, "fps")
    info = probe(path)
    w, h = size or (info.width, info.height)
    shape = (h, w) if gray else (h, w, 3)
    cmd = _decode_cmd(info.path, "gray" if gray else "rgb24", size, fps, None, accurate_color)
    return _frame_chunks(cmd, shape, int(chunk), info.path)


def read_video(path: PathLike, *, audio_sr: int | None = 16000, require_audio: bool = False,
               max_frames: int | None = None, size: tuple[int, int] | None = None,
               vfr: Literal["raise", "resample"] = "raise", fps: float | None = None,
               audio: bool = True, accurate_color: bool = False) -> Clip:
    """Decode a whole video (and its first audio track, mono, at ``audio_sr`` Hz) into a :class:`Clip`.

    ``audio_sr=None`` keeps the file's rate; ``audio=False`` skips audio; audio is not trimmed to the
    video's length (except with ``max_frames``).  ``size=(w, h)`` rescales.
    A variable-frame-rate file raises unless ``vfr="resample"``, which resamples it to its average
    rate with ffmpeg's ``fps`` filter (frames duplicated/dropped); ``fps=`` forces any constant rate.
    ``accurate_color=True`` trades speed for exact YUV->RGB rounding (see ``SWS_ACCURATE``).
    """
    from ..validate import count, frame_rate, one_of, sample_rate

    one_of(vfr, "vfr", ("raise", "resample"))
    count(max_frames, "max_frames", allow_none=True)
    sample_rate(audio_sr, "audio_sr", allow_none=True)
    fps = None if fps is None else frame_rate(fps, "fps")
    size = _check_size(size)
    info = probe(path)
    if require_audio and not info.has_audio:
        raise MediaError(info.path, "has no audio track, but require_audio=True",
                         "Add audio with thglib.io.mux_audio(video, wav, sr, out), "
                         "or pass require_audio=False")
    if info.is_vfr and vfr == "raise" and fps is None:
        raise MediaError(info.path, f"has a variable frame rate (average {info.fps:.3f} fps)",
                         "Pass vfr='resample' (or fps=25) to resample it to a constant rate")
    out_fps = fps if fps is not None else (info.fps if info.is_vfr else None)
    frames = _read_all(info, size, out_fps, max_frames, accurate_color)
    rate = float(out_fps or info.fps)
    wav, sr = None, None
    if audio and info.has_audio:
        wav, sr = _clip_audio(info.path, audio_sr, frames.shape[0] / rate if max_frames else None)
    return Clip(frames=frames, fps=rate, audio=wav, sample_rate=sr, path=info.path)


def _read_all(info: VideoInfo, size: tuple[int, int] | None, fps: float | None,
              max_frames: int | None, accurate: bool) -> np.ndarray:
    w, h = size or (info.width, info.height)
    n = info.n_frames if fps is None else int(math.ceil(info.duration_s * fps))
    n = min(n, max_frames) if max_frames is not None else n
    if n * w * h * 3 > MAX_READ_BYTES:
        raise BadInputError(f"'{info.path}'", f"would need {n * w * h * 3 / 2**30:.1f} GiB as frames",
                            "Stream it with iter_frames(), or pass max_frames= / size=")
    cmd = _decode_cmd(info.path, "rgb24", size, fps, max_frames, accurate)
    chunks = list(_frame_chunks(cmd, (h, w, 3), n + 2, info.path))
    frames = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    if info.n_frames_exact and fps is None and frames.shape[0] < n:
        raise MediaError(info.path, f"decoded only {frames.shape[0]} of {n} frames (damaged file)",
                         "Re-export it, e.g. ffmpeg -i IN -c:v libx264 OUT.mp4")
    return frames


def _clip_audio(p: Path, sr: int | None, seconds: float | None) -> tuple[np.ndarray, int]:
    from .audio import decode_with_ffmpeg, resample, to_mono

    x, native = decode_with_ffmpeg(p)
    x = to_mono(x)
    if sr is not None and sr != native:
        x = resample(x, native, sr)
    rate = sr or native
    if seconds is not None:
        x = x[: int(round(seconds * rate))]
    return x, rate


# --------------------------------------------------------------------------- writing
def _container(path: Path) -> str:
    fmt = _CONTAINERS.get(path.suffix.lower())
    if fmt is None:
        raise BadInputError(f"'{path}'", f"has unsupported suffix '{path.suffix}'",
                            f"Use one of {sorted(_CONTAINERS)} (H.264 video)")
    return fmt


def _as_chunks(frames: np.ndarray | Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Normalise frames (array or iterable of frames/chunks) to validated (n, H, W, 3) uint8 chunks."""
    if isinstance(frames, np.ndarray):
        if frames.ndim != 4:
            raise BadInputError("frames", f"has shape {frames.shape}, expected (T, H, W, 3)",
                                "For one frame pass frame[None]; for gray frames "
                                "np.repeat(x[..., None], 3, -1)")
        frames = [frames]
    hw = None
    for i, f in enumerate(frames):
        f = np.asarray(f)
        f = f[None] if f.ndim == 3 else f
        if f.ndim != 4 or f.shape[-1] != 3:
            raise BadInputError("frames", f"item {i} has shape {np.shape(f)}, "
                                "expected (H, W, 3) or (n, H, W, 3)",
                                "Pass RGB frames; convert gray with np.repeat(x[..., None], 3, -1)")
        if f.dtype != np.uint8:
            raise BadInputError("frames", f"dtype is {f.dtype}, expected uint8",
                                "Convert floats in [0, 1] with "
                                "(np.clip(x, 0, 1) * 255).round().astype(np.uint8)")
        if hw is not None and f.shape[1:3] != hw:
            raise BadInputError("frames", f"item {i} is {f.shape[1:3]} but earlier frames are {hw}",
                                "All frames must have the same height and width")
        hw = f.shape[1:3]
        if f.shape[0]:
            yield np.ascontiguousarray(f)


def _pad_even(chunk: np.ndarray) -> np.ndarray:
    h, w = chunk.shape[1:3]
    return np.pad(chunk, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _audio_input(audio: np.ndarray | PathLike, sr: int | None, tmpdir: str) -> list[str]:
    """ffmpeg input arguments for audio given as a file path or an array (written as raw f32le)."""
    if not isinstance(audio, np.ndarray):
        return ["-i", ff_path(require_file(audio))]
    from .audio import to_float32

    x = to_float32(audio, "audio")
    if x.ndim not in (1, 2) or x.size == 0:
        raise BadInputError("audio", f"has shape {x.shape}",
                            "Pass mono (n,) or channels-last (n, ch) samples")
    from ..validate import peak_limited, sample_rate

    sr = sample_rate(sr, "sample_rate", fix="Pass the audio's sample rate in Hz, e.g. 16000")
    x = peak_limited(x, "audio", stacklevel=5)  # AAC would keep (and overshoot) peaks above full scale
    raw = os.path.join(tmpdir, "audio.f32")
    np.ascontiguousarray(x, dtype="<f4").tofile(raw)
    ch = 1 if x.ndim == 1 else x.shape[1]
    return ["-f", "f32le", "-ar", str(int(sr)), "-ac", str(ch), "-i", ff_path(raw)]


def _encoder_args(fmt: str, crf: int, has_audio: bool) -> list[str]:
    args = ["-c:v", "libx264", "-crf", str(crf), "-preset", "medium", "-pix_fmt", "yuv420p"]
    args += ["-c:a", "aac", "-b:a", "128k"] if has_audio else []
    return args + (["-movflags", "+faststart"] if fmt in ("mp4", "mov") else []) + ["-f", fmt]


def write_video(path: PathLike, frames: np.ndarray | Iterable[np.ndarray], fps: float, *,
                audio: np.ndarray | PathLike | None = None, sample_rate: int = 16000, crf: int = 18,
                overwrite: bool = False, size: tuple[int, int] | None = None) -> Path:
    """Encode RGB uint8 frames to H.264 (libx264, yuv420p, BT.709, faststart) with optional AAC audio.

    ``frames`` is a (T, H, W, 3) array or an iterable of frames/chunks (streamed, never stacked).
    Odd sizes are padded by one edge pixel (yuv420p needs even sizes), with a warning.  ``audio`` is
    samples at ``sample_rate`` or a file path.  Written atomically; an existing ``path`` is refused
    unless ``overwrite=True``.
    """
    dst = Path(path).expanduser()
    fmt = _container(dst)
    from ..validate import frame_rate, number

    fps = frame_rate(fps, "fps")
    number(crf, "crf", lo=0, hi=51, integer=True, fix="Pass an int in 0..51 (18 ≈ visually lossless)")
    size = _check_size(size)
    if size is not None and (size[0] % 2 or size[1] % 2):
        raise BadInputError("size", f"is {size}; H.264 yuv420p needs even sizes",
                            "Pass even width and height")
    chunks = _as_chunks(frames)
    first = next(chunks, None)
    if first is None:
        raise BadInputError("frames", "is empty (zero frames)", "Pass at least one frame")
    inputs = [] if audio is None or isinstance(audio, np.ndarray) else [audio]
    with atomic_output(dst, overwrite=overwrite, inputs=inputs) as tmp, tempfile.TemporaryDirectory() as td:
        h, w = first.shape[1:3]
        if h % 2 or w % 2:
            warnings.warn(f"frames are {w}x{h}; padded to {w + w % 2}x{h + h % 2} (H.264 yuv420p needs even "
                          "sizes). Crop or resize to even sizes to avoid this", UserWarning, stacklevel=2)
        cmd = _encode_cmd(tmp, (w + w % 2, h + h % 2), fps, audio, sample_rate, crf, fmt, size, td)
        _pipe_frames(cmd, _chain(first, chunks), bool(h % 2 or w % 2), dst)
    return dst


def _encode_cmd(tmp: Path, wh: tuple[int, int], fps: float, audio: np.ndarray | PathLike | None,
                sr: int | None, crf: int, fmt: str, size: tuple[int, int] | None, td: str) -> list[str]:
    """ffmpeg command: raw rgb24 on stdin (+ audio) -> BT.709 yuv420p H.264 (+ AAC) in ``tmp``."""
    rate = str(Fraction(float(fps)).limit_denominator(1001))
    cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{wh[0]}x{wh[1]}", "-r", rate, "-i", "pipe:0"]
    if audio is not None:
        cmd += _audio_input(audio, sr, td) + ["-map", "0:v:0", "-map", "1:a:0"]
    scale = f"scale={size[0]}:{size[1]}:" if size else "scale="
    cmd += ["-vf", scale + "out_color_matrix=bt709:out_range=tv:flags=accurate_rnd,format=yuv420p,"
            "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv"]
    return cmd + _encoder_args(fmt, crf, audio is not None) + [ff_path(tmp)]


def _pipe_frames(cmd: list[str], chunks: Iterator[np.ndarray], pad: bool, dst: Path) -> None:
    """Run ``cmd`` and stream the chunks into its stdin; raise :class:`MediaError` if ffmpeg fails."""
    with tempfile.TemporaryFile() as errf:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errf)
        try:
            for c in chunks:
                proc.stdin.write((_pad_even(c) if pad else c).data)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # ffmpeg stopped early; its exit status and message are reported below
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
        if proc.wait() != 0:
            raise MediaError(dst, f"could not be encoded (ffmpeg: {_stderr_tail(_read_err(errf))})",
                             "Check the frames, fps and audio arguments")


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def mux_audio(video_path: PathLike, audio: np.ndarray | PathLike, sample_rate: int | None,
              out_path: PathLike, *, overwrite: bool = False) -> Path:
    """Copy the video stream of ``video_path`` and replace its audio (array or file) with AAC audio.

    ``out_path`` may never be ``video_path`` (or the audio file): write elsewhere, then replace.
    """
    info = probe(video_path)
    dst = Path(out_path).expanduser()
    fmt = _container(dst)
    inputs = [info.path] + ([] if isinstance(audio, np.ndarray) else [audio])
    with atomic_output(dst, overwrite=overwrite, inputs=inputs) as tmp, tempfile.TemporaryDirectory() as td:
        cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-y", "-i", ff_path(info.path)]
        cmd += _audio_input(audio, sample_rate, td) + ["-map", "0:V:0", "-map", "1:a:0"]
        cmd += ["-c:v", "copy", "-c:a", "aac", "-b:a", "128k"]
        cmd += (["-movflags", "+faststart"] if fmt in ("mp4", "mov") else []) + ["-f", fmt, ff_path(tmp)]
        r = subprocess.run(cmd, capture_output=True)
        if r.returncode != 0:
            raise MediaError(info.path, f"could not be muxed with the audio "
                             f"(ffmpeg: {_stderr_tail(r.stderr)})",
                             "Check that the audio is a valid array with its sample_rate, or a readable file")
    return dst
