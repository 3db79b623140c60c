"""``evaluate``: the library function behind ``thg eval``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from ..errors import BadInputError
from ..metrics.protocols import EvalProtocol, get_protocol
from .runner import METRICS, EvalConfig, collect_jobs, reduce_set

__all__ = ["EvalRun", "evaluate", "resolve_metrics"]

MARKER = ".thg-eval"


@dataclass
class EvalRun:
    """What a run wrote: ``out`` folder, ``summary`` (as in ``summary.json``), per-clip ``reports``."""

    out: Path
    summary: dict[str, Any]
    reports: list[dict[str, Any]]
    csv: Path
    html: Path | None  #: None when the run was asked for no HTML report

    def table(self) -> Any:
        """Per-clip values as a pandas DataFrame (NaN where a metric failed), index = clip id."""
        import pandas as pd

        from .report import METRIC_COLUMNS, _value

        rows = [{"id": r["id"], "status": r["status"], **{k: _value(r, k) for k in METRIC_COLUMNS}}
                for r in self.reports]
        df = pd.DataFrame(rows).set_index("id")
        return df.dropna(axis=1, how="all")

    def value(self, key: str) -> float:
        """A set-level value (``fid``, ``kid``, ``is``) or a mean over clips (``psnr``, ``lse_d``…); NaN if absent."""
        v = self.summary.get("set", {}).get(key) or self.summary.get("means", {}).get(key)
        return float("nan") if not v or v.get("value") is None else float(v["value"])


def resolve_metrics(metrics: str | Sequence[str] | None) -> tuple[str, ...]:
    """``None``/``"all"``: every metric; else names from :data:`~thglib.eval.runner.METRICS` (comma-separated
    string or list)."""
    if metrics is None or metrics == "all":
        return METRICS
    names = [m.strip().lower().replace("-", "_") for m in (metrics.split(",") if isinstance(metrics, str) else metrics)]
    names = [m for m in names if m]
    bad = [m for m in names if m not in METRICS]
    if bad or not names:
        raise BadInputError("metrics", f"unknown metric(s) {bad or names}", f"Use names from {', '.join(METRICS)}")
    return tuple(dict.fromkeys(names))


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise BadInputError(f"'{out}'", "is a file", "Pass a folder for the reports (--out DIR)")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists() and not overwrite:
        raise BadInputError(f"'{out}'", "is a non-empty folder that thg eval did not write",
                            "Choose a new or empty folder, or pass overwrite=True to write into it anyway")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("written by thg eval; reports in clips/, summary.json, results.csv, report.html\n")


def evaluate(gen: str | Path, ref: str | Path | None = None, audio: str | Path | None = None, *,
             out: str | Path = "thg-eval", protocol: str | EvalProtocol = "thg-default",
             metrics: str | Sequence[str] | None = None, engine: Literal["local", "dask"] = "local",
             workers: int = 1, address: str | None = None, threads: int = 1, device: str = "cpu",
             visualize: bool = False, resume: bool = True, overwrite: bool = False,
             progress: bool = True, memory_mb: float = 2048.0, stream: bool | None = None,
             chunk: int = 128, html: bool = True) -> EvalRun:
    """Evaluate generated clips under one protocol and write the reports into ``out``.

    ``gen``/``ref``/``audio``: files, folders (paired by file stem) or, for ``gen``, a manifest CSV
    (``gen,ref,audio,id``). No-reference metrics always, full-reference ones where a reference is
    given, set-level ones (FID/KID/IS) over the set (``metrics`` restricts them). A clip that fails
    gets NaN and its reason and the run goes on. Clips whose report exists with unchanged inputs are
    skipped (``resume``). ``engine``/``workers``/``address``: see :func:`thglib.eval.engine.run_jobs`.
    A clip whose decoded frames would exceed ``memory_mb`` MiB (or every clip, ``stream=True``) is
    evaluated ``chunk`` frames at a time in bounded memory (:mod:`thglib.eval.stream`; same numbers).
    ``html=False`` skips ``report.html`` (its figures cost seconds per run; JSON and CSV are always written).
    """
    from ..runtime import progress as bar
    from ..validate import count, number
    from .engine import run_jobs
    from .report import append_csv, clip_row, summarise, write_html, write_summary

    proto = get_protocol(protocol)
    names = resolve_metrics(metrics)
    count(threads, "threads", hi=256, fix="Pass the torch threads per clip job, e.g. 1")
    count(chunk, "chunk", hi=100_000, fix="Pass the frames decoded at a time when streaming, e.g. 128")
    number(memory_mb, "memory_mb", lo=0, lo_open=True, fix="Pass the budget for decoded frames in MiB, e.g. 2048")
    jobs = collect_jobs(gen, ref, audio)
    out_dir = Path(out).expanduser().resolve()
    _prepare_out(out_dir, overwrite)
    cfg = EvalConfig(proto, names, str(out_dir), threads=int(threads), device=device, visualize=visualize,
                     resume=resume, memory_mb=float(memory_mb), chunk=int(chunk), stream=stream)
    run_id, started = uuid.uuid4().hex[:8], datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    with bar(total=len(jobs), desc="thg eval", unit="clip", show=progress) as pb:
        reports = run_jobs(jobs, cfg, engine=engine, workers=workers, address=address,
                           on_done=lambda r: (pb.update(1), pb.set_postfix_str(f"{r['id']}: {r['status']}")))
    set_results, set_errors = reduce_set(reports, cfg)
    finished = datetime.now(timezone.utc).isoformat(timespec="seconds")
    meta = {"run": run_id, "started_utc": started, "finished_utc": finished, "engine": engine,
            "workers": workers, "threads": threads, "protocol": proto.as_dict(), "citation": proto.citation(),
            "metrics_requested": list(names), "elapsed_s": round(time.perf_counter() - t0, 3)}
    summary = summarise(reports, set_results, set_errors, meta)
    csv_path = append_csv(out_dir / "results.csv", [clip_row(r, run_id, finished, proto.name) for r in reports])
    write_summary(out_dir, summary)
    if not html:  # never leave a page from an earlier run beside this run's summary
        (out_dir / "report.html").unlink(missing_ok=True)
    page = write_html(out_dir, summary, reports) if html else None
    return EvalRun(out_dir, summary, reports, csv_path, page)
