"""Helpers that tie the notebooks to the book.

- :mod:`.links`: the Colab badge and the set-up cell, generated from ``_config.yml``;
- :mod:`.figures`: :func:`setup`, inline high-resolution figures in one style;
- :mod:`.tables`: :func:`show_table`, short rounded tables with the rest collapsed or downloadable;
- :mod:`.notices`: :func:`untrained_notice`, one warning per page for untrained weights;
- :mod:`.glue` and :mod:`.interactive`: ``myst_nb.glue`` and ``ipywidgets.interact`` that degrade
  gracefully outside the book build and in headless runs.
"""

from .figures import STYLE, in_kernel, setup
from .glue import glue
from .interactive import headless, interact
from .links import colab_badge, colab_url, install_cell, repository
from .notices import reset_notices, untrained_notice
from .tables import show_table

__all__ = ["setup", "STYLE", "in_kernel", "glue", "headless", "interact", "colab_badge", "colab_url",
           "install_cell", "repository", "untrained_notice", "reset_notices", "show_table"]
