"""Reports of a ``thg eval`` run: one JSON per clip (written by the job), an appendable CSV, a summary
JSON and a self-contained HTML page (inline CSS and PNG figures, no script, no network), plus
:func:`compare`, which refuses to compare two runs whose protocols differ.

Layout of ``OUT/``::

    clips/ID.json       per clip: per-frame series, values, protocol cards, log, versions, weight hashes
    features/*.npy      per-clip features for the set-level metrics
    results.csv         one row per clip and run (appended; columns widened when a run adds metrics)
    summary.json        set-level metrics, means over clips, failures, protocol and how to cite it
    report.html         the whole set, offline
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BadInputError
from ..metrics.card import MetricResult
from .runner import FORMAT, card_of, jsonable

__all__ = ["CLIP_COLUMNS", "METRIC_COLUMNS", "clip_row", "clip_warnings", "append_csv", "summarise",
           "write_summary", "write_html", "load_summary", "compare"]

#: CSV metric columns: key in a clip report's ``metrics``
METRIC_COLUMNS = ("lse_d", "lse_c", "cpbd", "pose_diversity", "beat_align", "lip_dynamics", "eyebrow_dynamics",
                  "head_motion_dynamics", "silent_lip_stability", "lip_sync_energy", "psnr", "ssim", "ms_ssim", "lpips",
                  "csim", "lmd")
CLIP_COLUMNS = ("run", "finished_utc", "protocol", "id", "status", "reason", "gen", "ref", "audio", "lse_offset",
                *METRIC_COLUMNS, "errors")
_LABELS = {"lse_d": "LSE-D ↓", "lse_c": "LSE-C ↑", "cpbd": "CPBD ↑", "pose_diversity": "Pose diversity ↑ (deg)",
           "beat_align": "Beat Align ↑", "psnr": "PSNR ↑ (dB)", "ssim": "SSIM ↑", "ms_ssim": "MS-SSIM ↑",
           "lpips": "LPIPS ↓", "csim": "CSIM ↑", "lmd": "LMD ↓ (IOD)", "fid": "FID/FD ↓", "kid": "KID/KD ↓",
           "is": "IS ↑", "lip_dynamics": "Lip dynamics (px@256)", "eyebrow_dynamics": "Eyebrow dynamics",
           "head_motion_dynamics": "Head-motion dynamics", "silent_lip_stability": "Silent-lip stability ↓",
           "lip_sync_energy": "Lip sync (openness vs energy) ↓"}


def _value(rep: dict[str, Any], key: str) -> float:
    v = rep.get("metrics", {}).get(key, {}).get("value")
    return float("nan") if v is None else float(v)


def clip_row(rep: dict[str, Any], run: str, finished: str, protocol: str) -> dict[str, Any]:
    """One CSV row of a clip report (NaN where a metric failed or was not asked for)."""
    inp = rep.get("inputs", {})
    row = {"run": run, "finished_utc": finished, "protocol": protocol, "id": rep["id"], "status": rep["status"],
           "reason": rep.get("reason", ""), **{k: (inp.get(k) or {}).get("path", "") for k in ("gen", "ref", "audio")}}
    off = rep.get("metrics", {}).get("lse_d", {}).get("extra", {}).get("offset")
    row["lse_offset"] = "" if off is None else off
    row |= {k: repr(_value(rep, k)) for k in METRIC_COLUMNS}
    row["errors"] = "; ".join(f"{k}: {v}" for k, v in rep.get("errors", {}).items())
    return row


def append_csv(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Append ``rows`` to the CSV at ``path`` (created with a header); an existing file with other columns
    is rewritten (atomically) with the union of the columns, old rows keeping their values."""
    from ..io.video import atomic_output

    columns = list(CLIP_COLUMNS)
    old: list[dict[str, str]] = []
    if path.exists():
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            head = list(reader.fieldnames or [])
            if head == columns:
                with open(path, "a", newline="") as g:
                    csv.DictWriter(g, fieldnames=columns).writerows(rows)
                return path
            old = list(reader)
        columns = head + [c for c in columns if c not in head]
    with atomic_output(path, overwrite=True) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, restval="")
        w.writeheader()
        w.writerows(old)
        w.writerows(rows)
    return path


def _mean(reports: Sequence[dict[str, Any]], key: str) -> tuple[dict[str, Any] | None, str]:
    """Mean over clips of one metric, with the first clip's card (``samples`` = clips); refused when the
    clips' cards disagree on the protocol."""
    have = [r["metrics"][key] for r in reports if key in r.get("metrics", {}) and r["metrics"][key]["value"] is not None]
    skipped = sum(1 for r in reports if key in r.get("metrics", {}) and r["metrics"][key]["value"] is None)
    if not have:
        return None, (f"{skipped} clip(s) have only non-finite values (e.g. PSNR of identical frames)" if skipped else "")
    first = MetricResult(0.0, card_of(have[0]["card"]), have[0]["higher_is_better"])
    for h in have[1:]:
        try:
            first.check_comparable(MetricResult(0.0, card_of(h["card"]), h["higher_is_better"]))
        except Exception as e:  # noqa: BLE001
            return None, f"clips computed under different protocols: {e}"
    values = np.array([h["value"] for h in have], np.float64)
    left = f"; {skipped} clip(s) with a non-finite value left out (e.g. PSNR +inf of identical frames)" if skipped else ""
    card = dict(have[0]["card"], samples=len(values),
                notes=f"mean over {len(values)} clips{left}; " + have[0]["card"].get("notes", ""))
    return {"value": float(values.mean()), "n": len(values), "std": float(values.std()),
            "higher_is_better": have[0]["higher_is_better"], "card": card}, ""


def clip_warnings(rep: dict[str, Any]) -> list[str]:
    """The warnings raised while a clip was scored, as its log records them (once each), e.g.
    ``"lse: warning: gen.mp4: silent audio (...)"``."""
    return [line for line in rep.get("log", ()) if ": warning: " in line]


def summarise(reports: Sequence[dict[str, Any]], set_results: dict[str, Any], set_errors: dict[str, str],
              meta: dict[str, Any]) -> dict[str, Any]:
    """The run's summary: counts, failures with reasons, means over clips, set-level metrics."""
    from ..metrics.card import library_versions

    means, mean_errors = {}, {}
    for k in METRIC_COLUMNS:
        m, err = _mean(reports, k)
        if m is not None:
            means[k] = m
        elif err:
            mean_errors[k] = err
    status = [r["status"] for r in reports]
    return jsonable({
        "format": FORMAT, **meta, "n_clips": len(reports), "n_ok": status.count("ok"),
        "n_partial": status.count("partial"), "n_failed": status.count("failed"),
        "n_resumed": sum(bool(r.get("resumed")) for r in reports),
        "failures": [{"id": r["id"], "reason": r.get("reason", "")} for r in reports if r["status"] == "failed"],
        "metric_errors": {r["id"]: r.get("errors", {}) for r in reports if r.get("errors")},
        "warnings": {r["id"]: w for r in reports if (w := clip_warnings(r))},
        "means": means, "mean_errors": mean_errors, "set": set_results, "set_errors": set_errors,
        "versions": library_versions()})


def write_summary(out: Path, summary: dict[str, Any]) -> Path:
    from ..io.video import atomic_output

    path = out / "summary.json"
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(summary, indent=1, allow_nan=False))
    return path


def load_summary(run: str | Path | dict[str, Any]) -> dict[str, Any]:
    """A run's summary from its folder, its ``summary.json``, or the dict itself."""
    if isinstance(run, dict):
        return run
    p = Path(run).expanduser()
    p = p / "summary.json" if p.is_dir() else p
    if not p.is_file():
        raise BadInputError(f"'{run}'", "has no summary.json", "Pass the --out folder of a finished thg eval run")
    s = json.loads(p.read_text())
    if s.get("format") != FORMAT:
        raise BadInputError(f"'{p}'", f"is not a {FORMAT} summary", "Pass the summary of a thg eval run")
    return s


def compare(a: str | Path | dict[str, Any], b: str | Path | dict[str, Any]) -> list[dict[str, Any]]:
    """Metric by metric, run ``a`` against run ``b`` (means over clips and set-level values): one row per
    metric both have, with which is better. Raises :class:`~thglib.metrics.card.ProtocolMismatch` as soon
    as one metric was computed under different protocols in the two runs."""
    sa, sb = load_summary(a), load_summary(b)
    rows = []
    for group in ("means", "set"):
        for k, va in sa.get(group, {}).items():
            vb = sb.get(group, {}).get(k)
            if vb is None or va.get("value") is None or vb.get("value") is None:
                continue
            ra = MetricResult(va["value"], card_of(va["card"]), va["higher_is_better"])
            rb = MetricResult(vb["value"], card_of(vb["card"]), vb["higher_is_better"])
            better = ra.better_than(rb)  # raises ProtocolMismatch
            rows.append({"metric": ra.label(), "a": ra.value, "b": rb.value,
                         "better": "a" if better else ("b" if rb.better_than(ra) else "tie")})
    return rows


# ----------------------------------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}tr.failed td{background:#fde8e8}tr.partial td{background:#fff6dd}
.caveat{color:#a40}code,pre{background:#f6f6f6;font-size:.85em}pre{padding:.6em;overflow-x:auto;white-space:pre-wrap}
img{max-width:100%;height:auto;border:1px solid #eee}.small{font-size:.8em;color:#555}
"""


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "NaN"
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


def _cell(rep: dict[str, Any], key: str) -> str:
    m = rep.get("metrics", {}).get(key)
    if m is not None and m.get("value") is None:
        return html.escape(m.get("extra", {}).get("nonfinite", "NaN"))
    return _fmt(_value(rep, key))


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _value_figure(reports: Sequence[dict[str, Any]]) -> str | None:
    """One panel per metric: each clip's value (failed metrics left out). Figures are made without
    pyplot, so writing a report never touches a notebook's backend or open figures."""
    from matplotlib.figure import Figure

    keys = [k for k in METRIC_COLUMNS if any(np.isfinite(_value(r, k)) for r in reports)]
    if not keys:
        return None
    cols = min(3, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig = Figure(figsize=(4 * cols, 2.6 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    ids = [r["id"] for r in reports]
    for ax, k in zip(axes.flat, keys):
        y = np.array([_value(r, k) for r in reports])
        ax.plot(np.arange(len(y)), y, "o", color="C0")
        ax.set_title(_LABELS[k])
        ax.set_xlabel("clip")
        ax.set_ylabel(_LABELS[k].split(" ")[0])
        ax.set_xticks(np.arange(len(y)))
        ax.set_xticklabels(ids if len(ids) <= 8 else [str(i) for i in range(len(ids))], rotation=30, ha="right",
                           fontsize=7)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.suptitle("Per-clip values")
    fig.tight_layout()
    return _png(fig)


def _series_figure(reports: Sequence[dict[str, Any]], max_clips: int = 8) -> str | None:
    """Per-frame sync confidence and PSNR of the first clips."""
    from matplotlib.figure import Figure

    have = [r for r in reports if r.get("series", {}).get("sync_confidence") or
            (r.get("metrics", {}).get("psnr", {}).get("per_frame"))][:max_clips]
    if not have:
        return None
    fig = Figure(figsize=(11, 3))
    a, b = fig.subplots(1, 2)
    for r in have:
        conf = r.get("series", {}).get("sync_confidence")
        if conf:
            a.plot(np.array(conf, dtype=float), label=r["id"], lw=1)
        psnr = r.get("metrics", {}).get("psnr", {}).get("per_frame")
        if psnr:
            b.plot(np.array([np.nan if v is None else v for v in psnr], dtype=float), label=r["id"], lw=1)
    a.set_title("Per-window sync confidence")
    a.set_xlabel("5-frame window (frame index at 25 fps)")
    a.set_ylabel("confidence (distance units)")
    b.set_title("Per-frame PSNR")
    b.set_xlabel("frame")
    b.set_ylabel("PSNR (dB)")
    for ax in (a, b):
        if ax.lines:
            ax.legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def _card_block(card: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th class='l'>{html.escape(k.replace('_', ' '))}</th><td class='l'>{_fmt(v)}</td></tr>"
                   for k, v in card.items() if v not in (None, "", {}) and k != "versions")
    return f"<table>{rows}</table>"


def write_html(out: Path, summary: dict[str, Any], reports: Sequence[dict[str, Any]]) -> Path:
    """``OUT/report.html``: summary, set-level and mean values with their cards, the per-clip table (failed
    clips with their reason) and figures, in one file with inline CSS and PNGs (opens offline)."""
    from ..io.video import atomic_output

    proto = summary.get("protocol", {})
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>thg eval report: "
             f"{html.escape(str(proto.get('name', '')))}</title><style>{_CSS}</style></head><body>",
             f"<h1>thg eval report</h1><p>{summary['n_clips']} clip(s): {summary['n_ok']} ok, "
             f"{summary['n_partial']} partial, <b>{summary['n_failed']} failed</b>, {summary['n_resumed']} resumed "
             f"from earlier reports. Protocol <code>{html.escape(str(proto.get('name')))}</code>; engine "
             f"{html.escape(str(summary.get('engine')))}; finished {html.escape(str(summary.get('finished_utc')))}.</p>"]
    parts.append("<h2>Set-level and mean values</h2><table id='summary'><tr><th class='l'>metric</th><th>value</th>"
                 "<th>n</th><th class='l'>over</th><th class='l'>caveat</th></tr>")
    for k, v in summary.get("set", {}).items():
        parts.append(f"<tr><td class='l'>{html.escape(v['card']['metric'])}</td><td>{_fmt(v['value'])}</td>"
                     f"<td>{_fmt(v['card'].get('samples'))}</td><td class='l'>set (frames)</td>"
                     f"<td class='l caveat'>{_fmt(v['card'].get('caveat'))}</td></tr>")
    for k, v in summary.get("means", {}).items():
        parts.append(f"<tr><td class='l'>{html.escape(v['card']['metric'])}</td><td>{_fmt(v['value'])}</td>"
                     f"<td>{v['n']}</td><td class='l'>mean over clips</td>"
                     f"<td class='l caveat'>{_fmt(v['card'].get('caveat'))}</td></tr>")
    for k, why in {**summary.get("set_errors", {}), **summary.get("mean_errors", {})}.items():
        parts.append(f"<tr><td class='l'>{html.escape(k)}</td><td>NaN</td><td></td><td class='l'>not computed</td>"
                     f"<td class='l'>{html.escape(why)}</td></tr>")
    parts.append("</table>")
    asked = set(summary.get("metrics_requested", ())) | {"lse_d", "lse_c"} if "lse" in summary.get(
        "metrics_requested", ()) else set(summary.get("metrics_requested", ()))
    cols = [k for k in METRIC_COLUMNS if k in asked or any(k in r.get("metrics", {}) for r in reports)]
    head = "".join(f"<th>{html.escape(_LABELS[k])}</th>" for k in cols)
    parts.append(f"<h2>Clips</h2><table id='clips'><tr><th class='l'>id</th><th class='l'>status</th>{head}"
                 "<th class='l'>reason / metric errors / warnings</th></tr>")
    for r in reports:
        why = r.get("reason") or "; ".join(f"{k}: {v}" for k, v in r.get("errors", {}).items())
        why = "; ".join(x for x in (why, *clip_warnings(r)) if x)
        cells = "".join(f"<td>{_cell(r, k)}</td>" for k in cols)
        parts.append(f"<tr class='{html.escape(r['status'])}'><td class='l'>{html.escape(r['id'])}</td>"
                     f"<td class='l'>{html.escape(r['status'])}</td>{cells}<td class='l small'>{html.escape(why)}</td></tr>")
    parts.append("</table>")
    for title, fig in (("Values per clip", _value_figure(reports)), ("Per-frame series", _series_figure(reports))):
        if fig:
            parts.append(f"<h2>{title}</h2><img alt='{html.escape(title)}' src='{fig}'>")
    parts.append("<h2>Protocol</h2>" + _card_block({k: v for k, v in proto.items()}))
    parts.append(f"<p>How to cite it:</p><pre>{html.escape(str(summary.get('citation', '')))}</pre>")
    parts.append("<h2>Protocol cards</h2>")
    for k, v in {**summary.get("set", {}), **summary.get("means", {})}.items():
        parts.append(f"<details><summary>{html.escape(v['card']['metric'])}</summary>{_card_block(v['card'])}</details>")
    versions = ", ".join(f"{k} {v}" for k, v in summary.get("versions", {}).items())
    parts.append(f"<p class='small'>Versions: {html.escape(versions)}</p></body></html>")
    path = out / "report.html"
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text("\n".join(parts), encoding="utf-8")
    return path
