"""Decoding the way evaluation code decodes: ffmpeg's MJPEG round trip, raw BGR frames, 16-bit PCM.

The official LSE loop (``SyncNetInstance_calc_scores.evaluate`` of Rudrabha/Wav2Lip, a copy of
joonson/syncnet_python's ``evaluate``) runs ``ffmpeg -i VIDEO -threads 1 -f image2 %06d.jpg`` (ffmpeg's
MJPEG encoder with its defaults, no ``-qscale``), reads every JPEG back with ``cv2.imread`` and extracts
``-async 1 -ac 1 -vn -acodec pcm_s16le -ar 16000`` audio. These functions reproduce those bytes without
touching the disk: the MJPEG stream is piped and cut at start-of-image markers, then ``cv2.imdecode``
decodes each JPEG exactly as ``cv2.imread`` would. Frames are BGR (OpenCV order), uint8.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import MediaError
from .video import PathLike, _chain, ff_path, ffmpeg_exe

__all__ = ["ffmpeg_version", "run_ffmpeg", "split_jpegs", "jpeg_roundtrip_file", "iter_jpeg_roundtrip_file",
           "jpeg_roundtrip_frames", "iter_jpeg_roundtrip_frames", "raw_bgr_frames", "pcm16_of_file"]


@lru_cache(maxsize=1)
def ffmpeg_version() -> str:
    """First line of ``ffmpeg -version`` of the bundled binary (the JPEG encoder is ffmpeg's)."""
    out = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "ffmpeg (unknown version)"


def run_ffmpeg(args: list[str], what: str, stdin: bytes | None = None) -> bytes:
    """Run the bundled ffmpeg with ``args`` and return its stdout; a failure raises :class:`MediaError`
    naming ``what`` (the file, or "frames")."""
    r = subprocess.run([ffmpeg_exe(), "-v", "error", "-nostdin", *args], input=stdin, capture_output=True)
    if r.returncode != 0:
        msg = r.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise MediaError(what, f"ffmpeg failed ({msg[0]})", "Check that the file is a readable video")
    return r.stdout


def split_jpegs(stream: bytes) -> list[bytes]:
    """Cut an MJPEG stream into JPEG files at each start-of-image marker ``FF D8 FF``."""
    starts, i = [], stream.find(b"\xff\xd8\xff")
    while i >= 0:
        starts.append(i)
        i = stream.find(b"\xff\xd8\xff", i + 3)
    return [stream[a:b] for a, b in zip(starts, starts[1:] + [len(stream)])]


def _mjpeg(input_args: list[str], what: str, stdin: bytes | None = None) -> np.ndarray:
    """Frames through ffmpeg's MJPEG encoder with its defaults and ``-threads 1``, decoded by
    ``cv2.imdecode`` (BGR), stacked ``(T, H, W, 3)``."""
    import cv2

    jpegs = split_jpegs(run_ffmpeg([*input_args, "-threads", "1", "-f", "image2pipe", "-c:v", "mjpeg",
                                    "pipe:1"], what, stdin))
    if not jpegs:
        raise MediaError(what, "has zero video frames", "Pass a video with at least one frame")
    return np.stack([cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR) for j in jpegs])


def jpeg_roundtrip_file(path: PathLike) -> np.ndarray:
    """The frames of a video file as the official loop sees them: ``ffmpeg -i PATH -f image2 %06d.jpg``
    then ``cv2.imread``, bit for bit (BGR uint8)."""
    return _mjpeg(["-i", ff_path(path)], str(path))


def iter_jpeg_roundtrip_file(path: PathLike, chunk: int = 256, read_size: int = 1 << 20) -> Iterator[np.ndarray]:
    """:func:`jpeg_roundtrip_file` as a stream of ``(≤ chunk, H, W, 3)`` BGR arrays, the same frames bit
    for bit, in memory bounded by one chunk (the MJPEG pipe is read ``read_size`` bytes at a time)."""
    import cv2

    buf, out, total = b"", [], 0
    with tempfile.TemporaryFile() as errf:
        proc = subprocess.Popen([ffmpeg_exe(), "-v", "error", "-nostdin", "-i", ff_path(path), "-threads", "1",
                                 "-f", "image2pipe", "-c:v", "mjpeg", "pipe:1"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errf)
        try:
            while True:
                block = proc.stdout.read(read_size)
                buf += block
                jpegs = split_jpegs(buf)
                done = jpegs if not block else jpegs[:-1]     # the last one may be incomplete until EOF
                buf = b"" if not block else (jpegs[-1] if jpegs else buf)
                for j in done:
                    out.append(cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR))
                    if len(out) == chunk:
                        total += chunk
                        yield np.stack(out)
                        out = []
                if not block:
                    break
            if proc.wait() != 0:
                errf.seek(0)
                msg = errf.read().decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
                raise MediaError(str(path), f"ffmpeg failed ({msg[0]})", "Check that the file is a readable video")
            if out:
                total += len(out)
                yield np.stack(out)
            if total == 0:
                raise MediaError(str(path), "has zero video frames", "Pass a video with at least one frame")
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.wait()


def jpeg_roundtrip_frames(frames_bgr: np.ndarray, fps: float = 25.0) -> np.ndarray:
    """The same JPEG round trip for frames already in memory: raw BGR piped into the same encoder."""
    h, w = frames_bgr.shape[1:3]
    args = ["-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", "pipe:0"]
    return _mjpeg(args, "frames", np.ascontiguousarray(frames_bgr).tobytes())


def iter_jpeg_roundtrip_frames(chunks_bgr: Iterable[np.ndarray], fps: float = 25.0) -> Iterator[np.ndarray]:
    """:func:`jpeg_roundtrip_frames` for a stream of BGR chunks, bit for bit: every frame goes through **one**
    encoder process, as in the official loop (ffmpeg's MJPEG rate control carries state from frame to
    frame, so encoding chunk by chunk would change the JPEGs). A reader thread drains the encoder while
    chunks are written; decoded frames come out in chunks as they are ready."""
    import queue
    import threading

    import cv2

    it = iter(chunks_bgr)
    first = next(it, None)
    if first is None:
        return
    h, w = first.shape[1:3]
    cmd = [ffmpeg_exe(), "-v", "error", "-nostdin", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}",
           "-r", f"{fps:g}", "-i", "pipe:0", "-threads", "1", "-f", "image2pipe", "-c:v", "mjpeg", "pipe:1"]
    ready: queue.Queue = queue.Queue()
    with tempfile.TemporaryFile() as errf:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errf)

        def read() -> None:
            buf = b""
            while True:
                block = proc.stdout.read1(1 << 20)
                buf += block
                jpegs = split_jpegs(buf)
                done, buf = (jpegs, b"") if not block else (jpegs[:-1], jpegs[-1] if jpegs else buf)
                for j in done:
                    ready.put(cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR))
                if not block:
                    ready.put(None)
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()

        def drain(block: bool) -> Iterator[np.ndarray]:
            out = []
            while True:
                try:
                    f = ready.get(block=block)
                except queue.Empty:
                    break
                if f is None:
                    break
                out.append(f)
            if out:
                yield np.stack(out)

        try:
            for chunk in _chain(first, it):
                proc.stdin.write(np.ascontiguousarray(chunk).tobytes())
                yield from drain(block=False)
            proc.stdin.close()
            yield from drain(block=True)
            reader.join()
            if proc.wait() != 0:
                errf.seek(0)
                msg = errf.read().decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
                raise MediaError("frames", f"ffmpeg failed ({msg[0]})", "Check the frames (uint8 BGR, one size)")
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def raw_bgr_frames(path: PathLike, width: int, height: int) -> np.ndarray:
    """All frames of ``path`` as BGR, colour converted with accurate rounding (no JPEG)."""
    raw = run_ffmpeg(["-i", ff_path(path), "-an", "-sws_flags", "bicubic+accurate_rnd+full_chroma_int",
                      "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"], str(path))
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def pcm16_of_file(path: PathLike, sample_rate: int = 16000) -> np.ndarray:
    """The first audio track as the official command makes it: ``-async 1 -ac 1 -ar RATE pcm_s16le``."""
    raw = run_ffmpeg(["-i", ff_path(Path(path)), "-async", "1", "-ac", "1", "-vn", "-acodec", "pcm_s16le",
                      "-ar", str(int(sample_rate)), "-f", "s16le", "pipe:1"], str(path))
    return np.frombuffer(raw, np.int16).copy()
