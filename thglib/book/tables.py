"""Tables on a page: short, rounded, never truncated with "…"; long ones collapsed and downloadable."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from typing import Any

import pandas as pd

from ..errors import BadInputError

__all__ = ["show_table", "DISPLAY_OPTIONS"]

#: pandas display options :func:`thglib.book.setup` applies: no "…" in long cells or wide tables.
DISPLAY_OPTIONS = {"display.max_colwidth": None, "display.max_columns": None, "display.width": None,
                   "display.precision": 3}


def show_table(df: pd.DataFrame, *, max_rows: int = 15, digits: int = 3, name: str = "table",
               caption: str | None = None, index: bool = True,
               style: Callable[[pd.DataFrame], Any] | None = None):
    """An ``IPython.display.HTML`` of ``df``: the first ``max_rows`` rows rounded to ``digits``
    decimals; when longer, all rows in a collapsed block and a CSV download link (full precision).

    ``style`` (optional) turns a frame into a pandas ``Styler`` (colours, formats) for both parts.
    Use it as a cell's last expression or pass it to ``display``.
    """
    from IPython.display import HTML

    if not isinstance(df, pd.DataFrame):
        df = pd.DataFrame(df)
    if max_rows < 1:
        raise BadInputError("max_rows", f"{max_rows} shows no row", "Pass max_rows >= 1")
    rounded = df.round(digits)

    def number(v: float) -> str:
        return f"{v:.{digits}f}".rstrip("0").rstrip(".") if v == v and abs(v) != float("inf") else str(v)

    def render(d: pd.DataFrame) -> str:
        if style is not None:
            return style(d).to_html()
        return d.to_html(index=index, border=0, classes="thg-table", na_rep="—", float_format=number)

    parts = [f"<p class='thg-table-caption'><strong>{html.escape(caption)}</strong></p>" if caption else ""]
    parts.append(render(rounded.head(max_rows)))
    if len(df) > max_rows:
        csv = base64.b64encode(df.to_csv(index=index).encode()).decode()
        parts.append(f"<details class='thg-table-rest'><summary>All {len(df)} rows</summary>"
                     f"{render(rounded)}</details>"
                     f"<p><a download='{html.escape(name)}.csv' href='data:text/csv;base64,{csv}'>"
                     f"Download all {len(df)} rows as CSV</a></p>")
    return HTML("".join(parts))
