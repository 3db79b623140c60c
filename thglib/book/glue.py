"""``myst_nb.glue`` in the book build, a plain display elsewhere."""

from __future__ import annotations

from typing import Any

__all__ = ["glue"]


def glue(name: str, value: Any, display: bool = True) -> None:
    """``myst_nb.glue`` in the book build; a plain ``IPython.display`` elsewhere (e.g. Colab)."""
    try:
        from myst_nb import glue as _glue
    except ImportError:
        if display:
            from IPython.display import display as _display

            _display(value)
        return
    _glue(name, value, display=display)
