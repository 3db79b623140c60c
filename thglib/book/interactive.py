"""Interactive controls that degrade to one static call in headless runs (book build, CI)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["headless", "interact"]


def headless() -> bool:
    """True when notebooks run without a live frontend: ``$THG_HEADLESS`` in {1, true, yes}.

    ``dev.py`` and CI set it for the book build and the papermill smoke runs.
    """
    from ..runtime import env_flag

    return env_flag("THG_HEADLESS")


def _initial(name: str, control: Any, default: Any) -> Any:
    """The value ``ipywidgets.interact`` would start ``name`` at."""
    if hasattr(control, "value"):  # a widget instance keeps its own value
        return control.value
    if default is not inspect.Parameter.empty:  # an abbreviation starts at the function's default
        return default
    if isinstance(control, tuple) and len(control) >= 2:
        lo, hi = control[:2]
        mid = (lo + hi) / 2
        return int(mid) if all(isinstance(v, int) for v in control) else mid
    if isinstance(control, (list, dict)):
        return next(iter(control.values() if isinstance(control, dict) else control))
    return control


def interact(fn: Callable[..., Any], /, **controls: Any) -> Any:
    """``ipywidgets.interact(fn, **controls)`` in a live notebook (Jupyter, Colab).

    Headless (see :func:`headless`) it calls ``fn`` once with the controls' initial values instead:
    a static page cannot move a slider, and ``interact`` can deadlock the headless executor
    (jupyter/nbclient#312, nteract/papermill#723).
    """
    if not headless():
        import ipywidgets

        return ipywidgets.interact(fn, **controls)
    params = inspect.signature(fn).parameters
    values = {k: _initial(k, c, params[k].default if k in params else inspect.Parameter.empty)
              for k, c in controls.items()}
    print("Run this notebook in Jupyter or Colab for interactive controls; shown here with "
          + ", ".join(f"{k}={v!r}" for k, v in values.items()))
    return fn(**values)
