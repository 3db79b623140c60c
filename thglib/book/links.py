"""Links from a notebook to its repository: the Colab badge and the first-run set-up cell.

The repository URL lives in one place, ``_config.yml`` (``repository.url``/``branch``); the Colab
badge and the install cell of every notebook are generated from it here, and the notebook tests
check that each notebook carries exactly these.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

__all__ = ["repository", "colab_url", "colab_badge", "install_cell"]

ROOT = Path(__file__).resolve().parents[2]
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
    """Source of the set-up cell: installs thglib in Colab (first run only), then applies the book's
    notebook set-up (:func:`thglib.book.setup`: inline high-resolution figures, one style)."""
    url, branch = repository()
    return (
        "# First run in Colab: install thglib from the book's repository (a no-op elsewhere).\n"
        "import importlib.util, subprocess, sys\n"
        "if 'google.colab' in sys.modules and importlib.util.find_spec('thglib') is None:\n"
        "    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q',\n"
        f"                    'thglib @ git+{url}@{branch}'], check=True)\n"
        "import thglib.book\n"
        "thglib.book.setup()  # figures inline whatever $MPLBACKEND says, in the book's style"
    )
