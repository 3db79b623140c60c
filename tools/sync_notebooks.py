#!/usr/bin/env python3
"""Keep every notebook's Colab badge and first-run install cell in sync with ``_config.yml``.

    python tools/sync_notebooks.py          # rewrite badges/install cells, strip outputs
    python tools/sync_notebooks.py --check  # exit 1 if anything would change

The badge is the first ``[![Open In Colab](...)](...)`` link in the first markdown cell; the
install cell is the code cell that starts with the install comment (see ``thglib.book``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from thglib.book import colab_badge, install_cell  # noqa: E402

BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")
INSTALL_MARK = "# First run in Colab"


def sync(path: Path) -> bool:
    """Rewrite ``path`` in place if needed; return True when it changed."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    rel = path.resolve().relative_to(ROOT)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and BADGE_RE.search(cell.source):
            cell.source = BADGE_RE.sub(lambda _: colab_badge(rel), cell.source, count=1)
            break
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith(INSTALL_MARK):
            cell.source = install_cell()
            break
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    after = nbformat.writes(nb)
    if after != before:
        path.write_text(after)
        return True
    return False


def main(argv: list[str]) -> int:
    check = "--check" in argv
    changed = []
    for nb in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in nb.parts:
            continue
        if check:
            text = nb.read_text()
            if sync(nb):
                changed.append(nb)
                nb.write_text(text)
        elif sync(nb):
            changed.append(nb)
    for nb in changed:
        print(("out of sync: " if check else "updated: ") + str(nb.relative_to(ROOT)))
    return 1 if (check and changed) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
