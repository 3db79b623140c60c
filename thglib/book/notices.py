"""Page notices: say once per page that a chapter's numbers come from untrained or stand-in weights.

A chapter that runs offline computes many results with untrained networks; repeating the warning
under every cell buries the page.  :func:`untrained_notice` shows one warning admonition per page
(per kernel) — the first caveat, and that every result carries its own label — and nothing for
trained weights; plots, tables and printed results keep their caveats in their labels
(``MetricResult.label``, ``LipSyncResult.caveat``).
"""

from __future__ import annotations

import html

__all__ = ["untrained_notice", "reset_notices"]

_SHOWN: list[str] = []


def untrained_notice(caveat: str | None, *, what: str = "Untrained weights") -> bool:
    """Display the page's one warning admonition for ``caveat``; return True if it was shown now.

    An empty or ``None`` caveat (trained, verified weights) shows nothing, and so does every call
    after the first on the same page.
    """
    if not caveat:
        return False
    _SHOWN.append(caveat)
    if len(_SHOWN) > 1:
        return False
    from IPython.display import HTML, display

    display(HTML(f'<div class="admonition warning"><p class="admonition-title">{html.escape(what)}</p>'
                 f"<p>{html.escape(caveat.rstrip('. '))}.</p><p>Other networks on this page may run "
                 "untrained as well: every number, figure and video that depends on one is labelled. "
                 "Run the chapter with the official weights (e.g. in Colab) for real values.</p></div>"))
    return True


def reset_notices() -> None:
    """Forget the notice (a new page in the same process, e.g. in tests)."""
    _SHOWN.clear()
