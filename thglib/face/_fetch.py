"""Lazy access to :func:`thglib.weights.fetch` for the online face backends."""

from __future__ import annotations

from pathlib import Path

from ..errors import BackendUnavailable


def fetch_weights(name: str, path: str | Path | None = None) -> Path:
    """Local path of the registered weights ``name`` (raises WeightsUnavailable when offline)."""
    try:
        from ..weights import fetch
    except ImportError as e:  # pragma: no cover - thglib.weights ships with thglib
        raise BackendUnavailable(f"weights registry for '{name}'", "pip install --upgrade thglib") from e
    return fetch(name, path=path)
