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
    "NoFaceError",
    "WeightsUnavailable",
    "BackendUnavailable",
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
    place the file there by hand.
    """

    def __init__(self, name: str, url: str | None, path: str | Path, reason: str = "") -> None:
        self.name, self.url, self.path = name, url, Path(path)
        msg = f"weights '{name}' are not available"
        if reason:
            msg += f" ({reason})"
        msg += f". Expected file: {path}."
        if url:
            msg += f" Download it from {url} and place it at that path,"
        else:
            msg += " Obtain the file and place it at that path,"
        msg += " or pass its location with the `path=` argument (or set $THG_HOME)."
        super().__init__(msg)


class BackendUnavailable(THGError, ImportError):
    """An optional backend (a package or model family) is not installed here."""

    def __init__(self, backend: str, install: str) -> None:
        self.backend = backend
        super().__init__(f"backend '{backend}' is not available here. Install it with: {install}")
