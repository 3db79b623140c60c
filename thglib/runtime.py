"""Where the code runs: device choice, smoke mode, Colab, network.

Notebooks call these instead of repeating environment checks, so the same
chapter runs in the book build, in CI (``SMOKE``), in Colab and offline.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

__all__ = ["device", "env_flag", "is_smoke", "in_colab", "offline", "network_available", "describe", "progress",
           "attributes"]


def device(choice: str = "auto") -> str:
    """Return a torch device string: ``"auto"`` → ``"cuda"`` when a GPU is visible, else ``"cpu"``.

    Any other value (``"cpu"``, ``"cuda:1"``, ``"mps"``) is returned unchanged after a check that
    torch can use it.
    """
    import torch

    if choice == "auto":
        if torch.cuda.is_available():
            return "cuda"
        return "cpu"
    if choice.startswith("cuda") and not torch.cuda.is_available():
        from .errors import BadInputError

        raise BadInputError("device", f"'{choice}' requested but CUDA is not available",
                            "Use device='auto' or 'cpu' (in Colab: Runtime → Change runtime type → GPU)")
    return choice


def env_flag(name: str, default: bool = False) -> bool:
    """A yes/no environment switch: ``$name`` in {1, true, yes, on} (any case); ``default`` when unset."""
    v = os.environ.get(name)
    return default if v is None else v.strip().lower() in {"1", "true", "yes", "on"}


def is_smoke(default: bool = False) -> bool:
    """Smoke mode (tiny inputs, every code path): ``$THG_SMOKE``; else ``default``."""
    return env_flag("THG_SMOKE", default)


def offline() -> bool:
    """``$THG_OFFLINE``: never touch the network (downloads, connectivity probes)."""
    return env_flag("THG_OFFLINE")


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules


@lru_cache(maxsize=8)
def network_available(host: str = "github.com", port: int = 443, timeout: float = 2.0) -> bool:
    """True if a TCP connection to ``host:port`` succeeds within ``timeout`` seconds.

    ``$THG_OFFLINE=1`` forces False (no connection is attempted).
    """
    if offline():
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def describe() -> str:
    """One line describing the runtime, for the top of a notebook."""
    import platform

    try:
        import torch

        dev = device("auto")
        tv = torch.__version__
    except ImportError:  # pragma: no cover - torch is a hard dependency
        dev, tv = "cpu", "not installed"
    where = "Colab" if in_colab() else platform.node() or "local"
    return (f"thglib runtime: {where}, Python {platform.python_version()}, torch {tv}, "
            f"device={dev}, network={'yes' if network_available() else 'no'}")


def progress(*, total: int | None, desc: str, unit: str = "it", show: bool = True, **kw: object):
    """The library's one progress bar: ``tqdm.auto`` (a widget in Jupyter/Colab, text in a terminal).

    Disabled when ``show`` is False and in headless runs (``$THG_HEADLESS``: the book build and CI),
    where a bar would leave only noise (or a widget nobody can see) on a static page.
    """
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not show or env_flag("THG_HEADLESS"), **kw)


@contextmanager
def attributes(changes: Sequence[tuple[Any, str, Any]]) -> Iterator[None]:
    """Set each ``(object, attribute, value)`` for the duration of the block; the old values are restored
    afterwards, in reverse order, even when the block raises (process-wide switches: torch flags, patches)."""
    old = [(obj, name, getattr(obj, name)) for obj, name, _ in changes]
    try:
        for obj, name, value in changes:
            setattr(obj, name, value)
        yield
    finally:
        for obj, name, value in reversed(old):
            setattr(obj, name, value)
