"""Error types of :mod:`thglib`.

Every error the library raises on purpose derives from :class:`THGError`, so a
notebook can catch the whole family with one ``except``.  Each subclass also
derives from the built-in exception a Python user would expect (``ValueError``
for bad input, ``RuntimeError`` for missing weights), and every message says
what went wrong *and* what to do about it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "THGError",
    "BadInputError",
    "MediaError",
    "FrameRateMismatch",
    "NoFaceError",
    "WeightsUnavailable",
    "BackendUnavailable",
    "UntrainedWeightsWarning",
]


class THGError(Exception):
    """Base class of every error raised by :mod:`thglib`."""


class BadInputError(THGError, ValueError):
    """An argument or a file is not what the function needs.

    ``what`` names the argument or file; ``fix`` says how to correct it.
    """

    def __init__(self, what: str, problem: str, fix: str = "") -> None:
        self.what, self.problem, self.fix = what, problem, fix
        msg = f"{what}: {problem}"
        if fix:
            msg += f". {fix}"
        super().__init__(msg)


class MediaError(BadInputError):
    """A media file is missing, unreadable, truncated, or lacks a needed stream."""

    def __init__(self, path: str | Path, problem: str, fix: str = "") -> None:
        self.path = Path(path)
        super().__init__(f"'{path}'", problem, fix)


class FrameRateMismatch(BadInputError):
    """Two videos that are compared frame by frame run at different frame rates.

    Pairing frame ``t`` of one with frame ``t`` of the other would compare moments that drift apart
    by ``t · |1/rate − 1/other_rate|`` seconds, so this is refused whatever the length policy.
    ``rate`` belongs to ``what``, ``other_rate`` to ``other``.
    """

    def __init__(self, what: str, rate: float, other: str, other_rate: float, fix: str = "") -> None:
        self.rate, self.other_rate, self.other = float(rate), float(other_rate), other
        drift = abs(1 / self.rate - 1 / self.other_rate) * min(self.rate, self.other_rate)
        fix = fix or (f"Resample one clip to the other's rate first, e.g. "
                      f"ffmpeg -i IN -r {self.other_rate:g} OUT.mp4")
        super().__init__(what, f"runs at {self.rate:g} fps but {other} runs at {self.other_rate:g} fps, so "
                         f"frames paired by index drift apart by {drift:.3g} s per second of video", fix)


class NoFaceError(BadInputError):
    """No face was found where one is required (``frame`` is the 0-based index, if any)."""

    def __init__(self, frame: int | None = None, source: str = "image", fix: str = "") -> None:
        self.frame = frame
        where = source if frame is None else f"{source} frame {frame}"
        fix = fix or (
            "Check that the face is visible, frontal-ish and at least ~80 px tall, "
            "or pass policy='skip'/'interpolate' to tolerate missing frames"
        )
        super().__init__(where, "no face found", fix)


class WeightsUnavailable(THGError, RuntimeError):
    """Model weights could not be found locally nor downloaded.

    The message gives the official URL, the expected cache path, and how to
    place the file there by hand, or which argument of the function that raised it takes a local
    copy: ``arg`` (default ``"path"``, as :func:`thglib.weights.fetch`), or the free text ``option``.
    """

    def __init__(self, name: str, url: str | None, path: str | Path, reason: str = "",
                 option: str | None = None, instead: str = "", *, arg: str = "path") -> None:
        option = option or _option_for(arg)
        self.name, self.url, self.path, self.reason, self.option = name, url, Path(path), reason, option
        self.instead, self.arg = instead, arg
        msg = f"weights '{name}' are not available"
        if reason:
            msg += f" ({reason})"
        msg += f". Expected file: {path}."
        if url:
            msg += f" Download it from {url} and place it at that path,"
        else:
            msg += " Obtain the file and place it at that path,"
        msg += f" {instead}" if instead else f" or pass its location with {option} (or set $THG_HOME)."
        super().__init__(msg)

    def for_option(self, option: str, arg: str | None = None) -> WeightsUnavailable:
        """The same error, telling the caller to pass the file with ``option`` (e.g. "the `weights=` argument")."""
        e = WeightsUnavailable(self.name, self.url, self.path, self.reason, option, arg=arg or self.arg)
        e.__cause__ = self.__cause__
        return e

    def for_arg(self, arg: str, more: str = "") -> WeightsUnavailable:
        """The same error naming the argument ``arg`` of the function that raised it as the way to pass
        the file (``more`` is appended, e.g. ", or pass allow_untrained=True ...")."""
        return self.for_option(_option_for(arg) + more, arg)

    def instead_(self, instead: str) -> WeightsUnavailable:
        """The same error ending with ``instead`` (what to do when the call has no file argument)."""
        e = WeightsUnavailable(self.name, self.url, self.path, self.reason, self.option, instead, arg=self.arg)
        e.__cause__ = self.__cause__
        return e


def _option_for(arg: str) -> str:
    """How a :class:`WeightsUnavailable` message names the argument that takes a local file:
    ``_option_for("weights")`` → "the `weights=` argument" (``thg`` commands rewrite it as ``--weights``)."""
    return f"the `{arg}=` argument"


class BackendUnavailable(THGError, ImportError):
    """An optional backend (a package or model family) is not installed here."""

    def __init__(self, backend: str, install: str) -> None:
        self.backend = backend
        super().__init__(f"backend '{backend}' is not available here. Install it with: {install}")


class UntrainedWeightsWarning(UserWarning):
    """A result is being computed with untrained or stand-in weights: it shows mechanics only.

    Scripts see it on stderr; in a book chapter :func:`thglib.book.setup` turns it into one warning
    admonition per page (:func:`thglib.book.untrained_notice`).
    """

