"""Figures and an interactive explorer over the survey tables (:mod:`thglib.survey`).

Every plot takes the loaded table, draws on a Matplotlib ``Axes`` (a new one when ``ax`` is
``None``), gives it a title and labelled axes, and returns the ``Axes``; colours per category
follow :data:`thglib.survey.SCHEMAS` order, with grey for :data:`~thglib.survey.NOT_LABELLED`.

>>> from thglib.survey import load_table
>>> from thglib.survey_plots import plot_counts_by_year
>>> ax = plot_counts_by_year(load_table("methods"), by="paradigm")    # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from .errors import BadInputError
from .survey import FILTERS, NOT_LABELLED, SCHEMAS, category_counts, filter_methods

__all__ = ["EXPLORER_COLUMNS", "category_colors", "plot_counts_by_year", "plot_category_heatmap",
           "plot_timeline", "explorer_table", "method_explorer"]

#: Columns the explorer shows, in order.
EXPLORER_COLUMNS = ("name", "year", "venue", "driving_modality", "representation", "paradigm", "task",
                    "identity_setting")
_GREY = "#b0b0b0"


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    return plt.subplots(figsize=size)[1] if ax is None else ax


def category_colors(column: str, table: str = "methods") -> dict[str, Any]:
    """Colour of each allowed category of ``table.column`` (seaborn ``colorblind``), grey for unlabelled."""
    import seaborn as sns

    allowed = {c.name: c.allowed for c in SCHEMAS[table]}.get(column)
    if not allowed:
        raise BadInputError(column, f"not a categorical column of {table}", "Pass e.g. 'paradigm' or 'representation'")
    colors = dict(zip(allowed, sns.color_palette("colorblind", len(allowed))))
    return {**colors, NOT_LABELLED: _GREY}


def plot_counts_by_year(methods: pd.DataFrame, by: str = "paradigm", ax: Axes | None = None) -> Axes:
    """Stacked bars: number of methods per publication year, split by the categories of ``by``.

    Undated rows are left out; the title says how many methods the bars hold.
    """
    dated = methods.dropna(subset=["year"])
    counts = category_counts(dated, "year", by)
    counts = counts.loc[:, counts.sum() > 0]
    ax = _axes(ax, (9, 4.5))
    colors = category_colors(by)
    bottom = pd.Series(0, index=counts.index)
    for cat in counts.columns:
        ax.bar(counts.index.astype(int), counts[cat], bottom=bottom, color=colors[cat], label=cat,
               edgecolor="white", linewidth=0.5)
        bottom += counts[cat]
    ax.set_xticks(counts.index.astype(int))
    ax.set(title=f"Talking-head methods per year by {by} ({len(dated)} dated methods)",
           xlabel="publication year", ylabel="methods (count)")
    ax.legend(title=by, fontsize=8, title_fontsize=9, frameon=False, loc="upper left")
    return ax


def plot_category_heatmap(methods: pd.DataFrame, rows: str = "driving_modality", cols: str = "representation",
                          ax: Axes | None = None) -> Axes:
    """Annotated seaborn heat map of method counts over two categorical columns (zeros kept)."""
    import seaborn as sns

    counts = category_counts(methods, rows, cols)
    ax = _axes(ax, (8, 4))
    sns.heatmap(counts, annot=True, fmt="d", cmap="Blues", linewidths=0.5, cbar_kws={"label": "methods (count)"},
                ax=ax)
    ax.set(title=f"{len(methods)} methods by {rows} × {cols}", xlabel=f"{cols} (category)",
           ylabel=f"{rows} (category)")
    ax.tick_params(axis="x", rotation=30)
    ax.tick_params(axis="y", rotation=0)
    return ax


def plot_timeline(methods: pd.DataFrame, names: Sequence[str], lane: str = "representation",
                  color_by: str = "paradigm", ax: Axes | None = None) -> Axes:
    """Labelled points for the methods ``names``: year on x, one horizontal lane per ``lane`` category,
    colour by ``color_by``.  Points sharing a year and lane are spread vertically."""
    rows = methods.set_index("name").reindex(list(names))
    missing = rows.index[rows["year"].isna()].tolist()
    if missing:
        raise BadInputError("names", f"not dated methods of the table: {missing}", "Check the names in methods.csv")
    lanes = [c for c in category_counts(rows.reset_index(), lane, color_by).index
             if c in set(rows[lane].fillna(NOT_LABELLED))]
    colors = category_colors(color_by)
    ax = _axes(ax, (12, 1.0 + 0.8 * len(lanes)))
    rows = rows.assign(_lane=rows[lane].fillna(NOT_LABELLED), _color=rows[color_by].fillna(NOT_LABELLED))
    for (year, lane_name), group in rows.groupby(["year", "_lane"]):
        y0 = lanes.index(lane_name)
        offsets = [0.0] if len(group) == 1 else [-0.25 + 0.5 * i / (len(group) - 1) for i in range(len(group))]
        for (name, row), dy in zip(group.iterrows(), offsets):
            ax.scatter(int(year), y0 + dy, s=60, color=colors[row["_color"]], edgecolor="black", linewidth=0.5,
                       zorder=3)
            ax.annotate(name, (int(year), y0 + dy), xytext=(6, 0), textcoords="offset points", va="center",
                        fontsize=8)
    for cat in [c for c in colors if c in set(rows["_color"])]:
        ax.scatter([], [], color=colors[cat], edgecolor="black", linewidth=0.5, label=cat)
    years = rows["year"].astype(int)
    ax.set(yticks=range(len(lanes)), yticklabels=lanes, ylim=(-0.6, len(lanes) - 0.4),
           xlim=(years.min() - 0.5, years.max() + 1.2), xticks=range(years.min(), years.max() + 1),
           title=f"Landmark talking-head methods ({len(rows)}) by year and {lane}; colour = {color_by}",
           xlabel="publication year", ylabel=f"{lane} (category)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(title=color_by, fontsize=8, title_fontsize=9, frameon=False, loc="upper left",
              bbox_to_anchor=(1.0, 1.0))
    return ax


def explorer_table(methods: pd.DataFrame, *, years: tuple[int, int] | None = None,
                   columns: Sequence[str] = EXPLORER_COLUMNS, **categories: str | list[str] | None) -> pd.DataFrame:
    """What the explorer shows for these filters: :func:`~thglib.survey.filter_methods`, sorted by year then
    name, restricted to ``columns``, with empty cells shown as ``"—"``."""
    rows = filter_methods(methods, years=years, **categories)
    rows = rows.sort_values(["year", "name"], na_position="last")[list(columns)]
    return rows.astype(object).where(rows.notna(), "—").reset_index(drop=True)


def method_explorer(methods: pd.DataFrame, *, max_rows: int = 15, columns: Sequence[str] = EXPLORER_COLUMNS) -> Any:
    """An ipywidgets panel: drop-downs for modality, representation and paradigm, a year-range slider,
    a count label and the first ``max_rows`` rows of :func:`explorer_table`.  Headless
    (:func:`thglib.book.headless`: the book build, CI) it returns that initial table instead, since
    output widgets can deadlock a headless executor."""
    from IPython.display import display

    from .book import headless

    if headless():
        print("Run this notebook in Jupyter or Colab for the interactive explorer; its initial state:")
        return explorer_table(methods, columns=columns).head(max_rows)
    import ipywidgets as w

    def dropdown(key: str) -> Any:
        column = FILTERS[key]
        allowed = {c.name: c.allowed for c in SCHEMAS["methods"]}[column]
        present = [c for c in allowed if (methods[column] == c).any()]
        return w.Dropdown(options=[("any", None)] + [(c, c) for c in present], value=None, description=key)

    controls = {key: dropdown(key) for key in ("modality", "representation", "paradigm")}
    years = methods["year"].dropna().astype(int)
    span = w.IntRangeSlider(value=(years.min(), years.max()), min=years.min(), max=years.max(), description="years")
    count, out = w.HTML(), w.Output()

    def update(_: object = None) -> None:
        table = explorer_table(methods, years=span.value, columns=columns,
                               **{k: c.value for k, c in controls.items()})
        count.value = f"<b>{len(table)} of {len(methods)} methods</b> (showing up to {max_rows})"
        with out:
            out.clear_output(wait=True)
            display(table.head(max_rows))

    for widget in (*controls.values(), span):
        widget.observe(update, names="value")
    update()
    return w.VBox([w.HBox(list(controls.values())), span, count, out])
