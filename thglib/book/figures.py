"""The book's figures: inline and high-resolution in every kernel, one consistent style.

A Jupyter kernel keeps a ``$MPLBACKEND`` it inherits (ipykernel sets the inline backend only when
the variable is unset), so a build started with ``MPLBACKEND=Agg`` — as CI and many servers set it —
draws every figure into nothing.  :func:`setup` switches such a kernel to the inline backend, asks
for 2× ("retina") PNGs, and applies :data:`STYLE`; every chapter calls it in its set-up cell.
"""

from __future__ import annotations

from typing import Any

from cycler import cycler

__all__ = ["STYLE", "NON_INTERACTIVE", "setup", "in_kernel"]

#: The book's matplotlib style: light grid, no top/right spines, readable sizes at page width.
STYLE: dict[str, Any] = {
    "figure.figsize": (8.0, 4.5),
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "image.cmap": "viridis",
    "axes.prop_cycle": cycler(
        color=["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]),
}

#: Backends that draw to files only: a kernel on one of them shows no figure.
NON_INTERACTIVE = frozenset({"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"})


def in_kernel() -> bool:
    """True inside a Jupyter kernel (ipykernel), False in plain Python or a terminal IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _route_untrained_warnings() -> None:
    """Show :class:`~thglib.errors.UntrainedWeightsWarning` as one page admonition, not stderr."""
    import warnings

    from ..errors import UntrainedWeightsWarning
    from .notices import untrained_notice

    shown = warnings.showwarning
    if getattr(shown, "_thg_routed", False):
        return

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, UntrainedWeightsWarning):
            untrained_notice(str(message).split(" Why: ")[0])
        else:
            shown(message, category, filename, lineno, file, line)
    show._thg_routed = True
    warnings.showwarning = show


def setup(*, style: bool = True, formats: tuple[str, ...] = ("retina",)) -> None:
    """Prepare a notebook for the book (the set-up cell of every chapter calls it).

    In a Jupyter kernel, :class:`~thglib.errors.UntrainedWeightsWarning` is shown once per page as
    an admonition (:func:`thglib.book.untrained_notice`) instead of on stderr.  A kernel whose backend is non-interactive (``$MPLBACKEND=Agg``, ...) it switches to
    the inline backend; a user's interactive choice (``%matplotlib widget``) is kept.  Inline figures
    are emitted in ``formats`` (default 2× PNG, shown at 1× size).  ``style`` applies :data:`STYLE`
    and pandas options that never truncate a table with "…".
    Outside a kernel only the style is applied.
    """
    import matplotlib
    import matplotlib.pyplot as plt

    if style:
        import pandas as pd

        from .tables import DISPLAY_OPTIONS

        matplotlib.rcParams.update(STYLE)
        for key, value in DISPLAY_OPTIONS.items():
            pd.set_option(key, value)
    if in_kernel():
        from IPython import get_ipython

        _route_untrained_warnings()
        if matplotlib.get_backend().lower() in NON_INTERACTIVE:
            get_ipython().run_line_magic("matplotlib", "inline")
        if "inline" in matplotlib.get_backend():
            from matplotlib_inline.backend_inline import set_matplotlib_formats

            set_matplotlib_formats(*formats)
            if style:  # %matplotlib inline resets a few rcParams (figure size, dpi): re-apply
                matplotlib.rcParams.update(STYLE)
    plt.close("all")
