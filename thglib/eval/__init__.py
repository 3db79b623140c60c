"""``thg eval``: every metric of :mod:`thglib.metrics` on one clip or a whole test set, under a named protocol.

>>> from thglib.eval import evaluate
>>> run = evaluate("generated/", ref="real/", protocol="thg-synth", out="eval/")
>>> run.summary["means"]["psnr"]["value"], run.html

Modules: :mod:`~thglib.eval.runner` (the per-clip job, set-level reduction), :mod:`~thglib.eval.engine`
(local process pool or Dask), :mod:`~thglib.eval.align`, :mod:`~thglib.eval.visualize`,
:mod:`~thglib.eval.report` (JSON, CSV, HTML, :func:`compare`), :mod:`~thglib.eval.cli`,
:mod:`~thglib.eval.study` (:func:`metric_study`: which metric catches which failure). The protocols
live in :mod:`thglib.metrics.protocols`, which the metrics read too.
"""

from __future__ import annotations

from ..metrics.protocols import PROTOCOLS, EvalProtocol, get_protocol, protocol_table
from .api import EvalRun, evaluate
from .report import compare, load_summary
from .runner import METRICS, ClipJob, collect_jobs

__all__ = ["evaluate", "EvalRun", "compare", "load_summary", "collect_jobs", "ClipJob", "METRICS",
           "PROTOCOLS", "EvalProtocol", "get_protocol", "protocol_table", "metric_study"]


def __getattr__(name: str) -> object:
    """``metric_study`` on first use (:mod:`~thglib.eval.study` imports pandas)."""
    if name == "metric_study":
        from .study import metric_study

        return metric_study
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
