"""Helpers that tie the notebooks to the book: Colab links, the first-run install cell, glue.

The repository URL lives in one place, ``_config.yml`` (``repository.url``/``branch``); the Colab
badge and the install cell of every notebook are generated from it here, and the notebook tests
check that each notebook carries exactly these.  ``glue`` works inside the Jupyter Book build
(``myst_nb.glue``) and degrades to a plain display in Colab or JupyterLab.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["repository", "colab_url", "colab_badge", "install_cell", "glue", "headless", "interact"]

ROOT = Path(__file__).resolve().parent.parent
COLAB = "https://colab.research.google.com/github"
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


@lru_cache(maxsize=1)
def repository(config: str | Path = ROOT / "_config.yml") -> tuple[str, str]:
    """``(url, branch)`` of the book's repository, read from ``_config.yml``."""
    import yaml

    repo = yaml.safe_load(Path(config).read_text())["repository"]
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def colab_url(notebook: str | Path) -> str:
    """Colab URL that opens ``notebook`` (a path relative to the repository root) from GitHub."""
    url, branch = repository()
    slug = url.removeprefix("https://github.com/")
    return f"{COLAB}/{slug}/blob/{branch}/{Path(notebook).as_posix()}"


def colab_badge(notebook: str | Path) -> str:
    """Markdown for the 'Open in Colab' badge of ``notebook``."""
    return f"[![Open In Colab]({BADGE})]({colab_url(notebook)})"


def install_cell() -> str:
    """Source of the first-run cell: installs thglib in Colab, does nothing anywhere else."""
    url, branch = repository()
    return (
        "# First run in Colab: install thglib from the book's repository (a no-op elsewhere).\n"
        "import importlib.util, subprocess, sys\n"
        "if 'google.colab' in sys.modules and importlib.util.find_spec('thglib') is None:\n"
        "    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q',\n"
        f"                    'thglib @ git+{url}@{branch}'], check=True)"
    )


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


def headless() -> bool:
    """True when notebooks run without a live frontend: ``$THG_HEADLESS`` in {1, true, yes}.

    ``dev.py`` and CI set it for the book build and the papermill smoke runs.
    """
    from .runtime import env_flag

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
