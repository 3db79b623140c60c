"""Checks at the boundary: the few validators every public function and ``thg`` option goes through.

Each takes the value, the ``name`` the caller wrote it under (a parameter such as ``"fps"``, a file
path, or a CLI flag such as ``"--fps"``) and, where the default would not fit, a ``fix`` that exists
for the calling function; each raises :class:`~thglib.errors.BadInputError` (a file:
:class:`~thglib.errors.MediaError`) before any work is done.

* numbers: :func:`number`, :func:`count`, :func:`frame_rate`, :func:`sample_rate`, :func:`one_of`;
* arrays: :func:`finite`, :func:`samples` (audio), :func:`peak_limited` (clip > 1.0 with a warning),
  :func:`rgb_uint8` (images: uint16 scaled, NaN refused);
* files: :func:`existing_file`, :func:`writable_folder`, :func:`output_file`, :func:`image_size`,
  :func:`read_image` (header checked before decoding: no image bombs), :func:`texts`;
* :func:`cli_type`: the same number checks as ``argparse`` ``type=`` (the error names the flag).

The bounds below are shared by the library and the command line.
"""

from __future__ import annotations

import argparse
import math
import os
import struct
import tempfile
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BadInputError, MediaError

__all__ = ["FPS_RANGE", "SYNTH_FPS", "SYNTH_SIZE", "SAMPLE_RATES", "MAX_IMAGE_PIXELS", "number", "count",
           "frame_rate", "sample_rate", "one_of", "finite", "samples", "peak_limited", "rgb_uint8",
           "existing_file", "writable_folder", "output_file", "image_size", "read_image", "texts", "cli_type"]

#: Frame rates a video may be written or read at (fps).
FPS_RANGE = (1.0, 240.0)
#: Frame rates and frame sides (px) of THG-Synth clips: below 5 fps a mouth shape lasts longer than a
#: phoneme; above 1024 px one second of frames needs > 75 MB and the renderer's maps several times that.
SYNTH_FPS = (5.0, 120.0)
SYNTH_SIZE = (32, 1024)
#: Audio sample rates (Hz) accepted anywhere.
SAMPLE_RATES = (1000, 384000)
#: Largest image decoded (pixels): 8192 × 8192. An image-bomb header (60000 × 60000) is refused unread.
MAX_IMAGE_PIXELS = 8192 * 8192


# ----------------------------------------------------------------------------------------- numbers
def _is_bool(v: object) -> bool:
    return isinstance(v, (bool, np.bool_))


def _span(lo: float | None, hi: float | None, lo_open: bool) -> str:
    if lo is not None and hi is not None:
        return f"> {lo:g} and <= {hi:g}" if lo_open else f"in {lo:g}..{hi:g}"
    if lo is not None:
        return f"{'>' if lo_open else '>='} {lo:g}"
    return f"<= {hi:g}" if hi is not None else "(finite)"


def number(value: Any, name: str, *, lo: float | None = None, hi: float | None = None, integer: bool = False,
           lo_open: bool = False, fix: str = "") -> Any:
    """``value`` as a finite ``float`` (``int`` with ``integer=True``) in ``[lo, hi]`` (``lo_open``: ``> lo``).

    Booleans, strings, NaN and inf are refused; so are floats where an int is needed.
    """
    kind = "an integer" if integer else "a number"
    span = _span(lo, hi, lo_open)
    fix = fix or f"Pass {kind} {span}"
    ok_type = isinstance(value, (int, np.integer)) if integer else isinstance(
        value, (int, float, np.integer, np.floating))
    if _is_bool(value) or not ok_type:
        raise BadInputError(name, f"is {value!r} ({type(value).__name__}), not {kind}", fix)
    v = int(value) if integer else float(value)
    if not math.isfinite(v):
        raise BadInputError(name, f"is {value!r}, not a finite number", fix)
    if (lo is not None and (v < lo or (lo_open and v == lo))) or (hi is not None and v > hi):
        raise BadInputError(name, f"is {value!r}, outside the accepted range ({span})", fix)
    return v


def count(value: Any, name: str, *, lo: int = 1, hi: int | None = None, allow_none: bool = False,
          fix: str = "") -> int | None:
    """An ``int >= lo`` (and ``<= hi``), or ``None`` when ``allow_none``: sizes, batch sizes, strides."""
    if value is None and allow_none:
        return None
    return number(value, name, lo=lo, hi=hi, integer=True,
                  fix=fix or f"Pass an integer {_span(lo, hi, False)}" + (", or None" if allow_none else ""))


def frame_rate(value: Any, name: str = "fps", *, lo: float = FPS_RANGE[0], hi: float = FPS_RANGE[1],
               fix: str = "") -> float:
    """A frame rate in ``[lo, hi]`` fps."""
    return number(value, name, lo=lo, hi=hi, fix=fix or f"Pass a frame rate in {lo:g}..{hi:g} fps, e.g. 25")


def sample_rate(value: Any, name: str = "sr", *, allow_none: bool = False, fix: str = "") -> int | None:
    """An integer sample rate in :data:`SAMPLE_RATES` Hz (or ``None`` when ``allow_none``)."""
    if value is None and allow_none:
        return None
    lo, hi = SAMPLE_RATES
    return number(value, name, lo=lo, hi=hi, integer=True,
                  fix=fix or f"Pass an integer sample rate in Hz ({lo}..{hi}), e.g. 16000"
                  + (", or None" if allow_none else ""))


def one_of(value: Any, name: str, options: Iterable[Any], fix: str = "") -> Any:
    """``value`` if it is one of ``options``."""
    opts = list(options)
    try:
        ok = value in opts
    except TypeError:  # unhashable/odd types compare badly
        ok = False
    if not ok:
        raise BadInputError(name, f"is {value!r}", fix or f"Use one of {', '.join(map(repr, opts))}")
    return value


# ----------------------------------------------------------------------------------------- arrays
def finite(x: Any, name: str, *, fix: str = "", dtype: Any = None) -> np.ndarray:
    """``np.asarray(x)`` (as ``dtype`` if given) when it is numeric and free of NaN and inf."""
    try:
        a = np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise BadInputError(name, f"is not a numeric array ({e})", fix or "Pass a numpy array of numbers") from None
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise BadInputError(name, f"has dtype {a.dtype}, not numbers", fix or "Pass a numpy array of numbers")
    if np.issubdtype(a.dtype, np.inexact):
        bad = ~np.isfinite(a)
        if bad.any():
            n_nan, n_inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
            raise BadInputError(name, f"contains {n_nan} NaN and {n_inf} inf value(s) (of {a.size})",
                                fix or "Remove or repair them first, e.g. np.nan_to_num(x)")
    return a


def samples(x: Any, name: str = "audio", *, fix: str = "") -> np.ndarray:
    """Audio samples as float32 (int16 / 32768, int32 / 2³¹, uint8 (x − 128) / 128, floats as they are),
    mono ``(n,)`` or channels-last ``(n, ch)``, non-empty and finite."""
    a = np.asarray(x)
    if a.dtype == np.int16:
        y = a.astype(np.float32) / 32768.0
    elif a.dtype == np.int32:
        y = (a.astype(np.float64) / 2**31).astype(np.float32)
    elif a.dtype == np.uint8:
        y = (a.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(a.dtype, np.floating):
        y = finite(a, name, fix=fix or "Clean the signal first, e.g. np.nan_to_num(x): encoders would write "
                   "NaN/inf as full-scale clicks").astype(np.float32, copy=False)
    else:
        raise BadInputError(name, f"has dtype {a.dtype}", fix or "Pass float, int16, int32 or uint8 samples")
    if y.ndim not in (1, 2) or y.shape[0] == 0:
        raise BadInputError(name, f"has shape {y.shape}", fix or "Pass non-empty mono (n,) or channels-last "
                            "(n, ch) samples")
    return y


def peak_limited(x: np.ndarray, name: str, *, stacklevel: int = 3) -> np.ndarray:
    """``x`` clipped to [−1, 1] with a warning naming ``name`` when its peak exceeds full scale
    (AAC and PCM encoders would otherwise wrap or overshoot)."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 1.0:
        warnings.warn(f"{name}: audio peaks at {peak:.2f} > 1.0 (full scale); clipped to [-1, 1] before encoding. "
                      "Scale it down first (x / np.abs(x).max()) to keep its waveform", UserWarning,
                      stacklevel=stacklevel)
        return np.clip(x, -1.0, 1.0)
    return x


def rgb_uint8(image: Any, name: str = "image", *, min_side: int = 8) -> np.ndarray:
    """``image`` as a C-contiguous ``(H, W, 3)`` uint8 RGB array.

    ``(H, W)`` grey is replicated, ``(H, W, 4)`` RGBA loses its alpha; uint16 (16-bit PNG/TIFF) is
    scaled by 255/65535; floats must be finite and already in [0, 255] (a float image in [0, 1] is
    refused: a silent ``*255`` guess is wrong half of the time); other dtypes are refused.
    """
    if not isinstance(image, np.ndarray):
        raise BadInputError(name, f"expected a numpy array, got {type(image).__name__}",
                            "Load the image first, e.g. thglib.samples.portrait() or imageio.v3.imread(path)")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise BadInputError(name, f"expected shape (H, W, 3) RGB, got {image.shape}",
                            "Pass one frame at a time, channels last")
    if image.shape[0] < min_side or image.shape[1] < min_side:
        raise BadInputError(name, f"image of {image.shape[1]}x{image.shape[0]} px is too small to hold a face",
                            f"Pass an image at least {min_side} px on each side")
    if image.dtype == np.uint8:
        return np.ascontiguousarray(image[:, :, :3])
    if image.dtype == np.uint16:
        return np.ascontiguousarray((image[:, :, :3].astype(np.float32) * np.float32(255 / 65535)).round()
                                    .astype(np.uint8))
    if np.issubdtype(image.dtype, np.floating):
        img = finite(image, name, fix="Repair the pixels first (e.g. np.nan_to_num(img)), then convert to uint8")
        lo, hi = float(img.min()), float(img.max())
        if hi <= 1.0 or lo < 0 or hi > 255:
            raise BadInputError(name, f"expected uint8 in [0, 255], got {img.dtype} with range [{lo:g}, {hi:g}]",
                                "Convert with np.clip(img * 255, 0, 255).astype(np.uint8) if it is in [0, 1]")
        return np.ascontiguousarray(np.rint(img[:, :, :3]).astype(np.uint8))
    if np.issubdtype(image.dtype, np.integer) and image.size and image.min() >= 0 and image.max() <= 255:
        return np.ascontiguousarray(image[:, :, :3].astype(np.uint8))
    raise BadInputError(name, f"has dtype {image.dtype}" + (
        f" with range [{image.min()}, {image.max()}]" if np.issubdtype(image.dtype, np.number) and image.size else ""),
        "Pass uint8 RGB (uint16 is scaled automatically)")


# ----------------------------------------------------------------------------------------- files
def existing_file(path: Any, name: str | None = None) -> Path:
    """``Path(path)`` when it is an existing regular file, else :class:`MediaError` naming it."""
    if not isinstance(path, (str, os.PathLike)):
        raise BadInputError(name or "path", f"is a {type(path).__name__}, not a file path",
                            "Pass the path of the file as a str or pathlib.Path")
    p = Path(path).expanduser()
    if not p.exists():
        raise MediaError(p, "does not exist",
                         f"Check the spelling; relative paths are resolved against {os.getcwd()}")
    if not p.is_file():
        raise MediaError(p, "is not a regular file", "Pass the path of a file, not a folder")
    return p


def writable_folder(folder: Any, name: str, *, fix: str = "") -> Path:
    """Create ``folder`` (and parents) if needed and check that files can be created in it."""
    d = Path(folder).expanduser()
    fix = fix or "Choose a folder you can write to"
    if d.exists() and not d.is_dir():
        raise BadInputError(name, f"'{d}' is an existing file, not a folder", fix)
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=d, prefix=".thg-write-test.")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise BadInputError(name, f"folder '{d}' cannot be written ({e.strerror or e})", fix) from None
    return d


def output_file(path: Any, name: str, *, overwrite: bool, option: str = "overwrite=True",
                suffixes: Sequence[str] | None = None) -> Path:
    """An output file path that may be written now: not a folder, not existing unless ``overwrite``
    (the error names ``option``, the caller's way to allow it), in a writable folder."""
    if not isinstance(path, (str, os.PathLike)):
        raise BadInputError(name, f"is a {type(path).__name__}, not a file path", "Pass a str or pathlib.Path")
    p = Path(path).expanduser()
    if suffixes is not None and p.suffix.lower() not in suffixes:
        raise BadInputError(name, f"'{p}' has suffix '{p.suffix}'", f"Use one of {', '.join(suffixes)}")
    if p.is_dir():
        raise BadInputError(name, f"'{p}' is a folder", f"Pass a file path such as {p / ('out' + (suffixes or [''])[0])}")
    if p.exists() and not overwrite:
        raise BadInputError(f"'{p}'", "already exists", f"Pass {option} to replace it, or choose another path")
    writable_folder(p.parent, f"'{p}'", fix="Write it to a folder you can write to")
    return p


# ----------------------------------------------------------------------------------------- images
def _png_size(head: bytes) -> tuple[int, int] | None:
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    return None


def image_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` from the image header alone (nothing decoded), or ``None`` if unknown."""
    with open(path, "rb") as f:
        head = f.read(32)
    if (wh := _png_size(head)) is not None:
        return wh
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            old, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                with Image.open(path) as im:  # lazy: reads the header only
                    return im.size
            finally:
                Image.MAX_IMAGE_PIXELS = old
    except Exception:  # not an image PIL knows: let the decoder report it
        return None


def read_image(path: Any, name: str | None = None, *, max_pixels: int = MAX_IMAGE_PIXELS,
               fix: str = "Pass a JPEG or PNG file") -> np.ndarray:
    """An image file as ``(H, W, 3)`` uint8 RGB (16-bit files scaled to 8 bits), its size checked
    against ``max_pixels`` from the header before anything is decoded."""
    import cv2

    p = existing_file(path, name)
    wh = image_size(p)
    if wh is not None:
        w, h = wh
        if w < 1 or h < 1 or w * h > max_pixels:
            raise MediaError(p, f"declares {w}×{h} pixels ({w * h / 1e6:.0f} MP, more than the "
                             f"{max_pixels / 1e6:.0f} MP limit) — refused before decoding",
                             "Downscale it first, e.g. ffmpeg -i IN -vf scale=1024:-2 OUT.png")
    try:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
    except cv2.error as e:
        raise MediaError(p, f"could not be decoded as an image ({str(e).strip().splitlines()[-1]})", fix) from None
    if img is None:
        raise MediaError(p, "could not be read as an image", fix)
    return np.ascontiguousarray(img[..., ::-1])


# ----------------------------------------------------------------------------------------- text
def texts(x: Any, name: str) -> list[str]:
    """A string or a non-empty sequence of strings, as a list."""
    if isinstance(x, str):
        return [x]
    if isinstance(x, (bytes, bytearray)) or not isinstance(x, Iterable) or isinstance(x, dict):
        raise BadInputError(name, f"is {type(x).__name__} {x!r:.40}, not text",
                            "Pass a string, or a list with one string per utterance")
    items = list(x)
    bad = [f"item {i} is {type(t).__name__}" for i, t in enumerate(items) if not isinstance(t, str)]
    if not items or bad:
        raise BadInputError(name, "is an empty list" if not items else ", ".join(bad[:3]),
                            "Pass a string, or a non-empty list with one string per utterance")
    return items


# ----------------------------------------------------------------------------------------- CLI
def cli_type(*, lo: float | None = None, hi: float | None = None, integer: bool = False,
             lo_open: bool = False) -> Callable[[str], Any]:
    """An ``argparse`` ``type=``: parse a number and apply :func:`number` (argparse names the flag)."""

    def parse(text: str) -> Any:
        kind = "an integer" if integer else "a number"
        try:
            value = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"got {text!r}: pass {kind} {_span(lo, hi, lo_open)}") from None
        try:
            return number(value, "value", lo=lo, hi=hi, integer=integer, lo_open=lo_open)
        except BadInputError as e:
            raise argparse.ArgumentTypeError(f"got {text}: {e.fix[0].lower()}{e.fix[1:]}") from None

    parse.__name__ = "integer" if integer else "number"
    return parse
