"""Which metric catches which failure: every ``thg eval`` metric on every THG-Synth degradation.

:func:`metric_study` makes clean THG-Synth clips, degrades each with every degradation of
:data:`thglib.synth.DEGRADATIONS` at several severities, and scores each
condition as a set with :func:`thglib.eval.evaluate` over a manifest, so the numbers are exactly what
``thg eval`` reports. Two controls: ``clean`` (the clean frames, encoded as every generated clip is) and
``reencoded`` (the clean frames through one more H.264 round trip at the same CRF: the noise floor).
The result is a tidy frame (:data:`COLUMNS`); the analyses below read it:

- :func:`sensitivity`: ``(mean degraded - mean clean) / SD clean``, signed so that worse is positive;
- :func:`monotonicity`: Spearman's rho of the (signed) value with the severity;
- :func:`noise_floor`: the same change for ``reencoded`` instead of a degradation;
- :func:`blind_spots`: degradations a metric does not see at their top severity;
- :func:`redundancy`: metric-metric Spearman correlations over the degraded clips, clustered;
- :func:`cost`: seconds per clip of each metric run alone.

``python -m thglib.eval.study --out data/metric_study.csv`` regenerates the book's table.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import BadInputError

__all__ = ["COLUMNS", "CONTROLS", "TOP", "SMOKE", "GEN_CRF", "STUDY_PROTOCOL", "study_protocol",
           "study_degradations", "metric_study", "save_study", "load_study", "sensitivity", "monotonicity",
           "noise_floor", "blind_spots", "redundancy", "cost"]

#: columns of the tidy frame. ``kind``: ``clip`` (one clip's value), ``set`` (set-level value, ``clip="set"``)
#: or ``metric`` (one row per metric: ``value`` = seconds per clip run alone, ``note`` = its name as the
#: reports give it and its backend, or why it did not run)
COLUMNS = ("kind", "degradation", "severity", "strength", "clip", "metric", "value", "higher_is_better", "note")
CONTROLS = ("clean", "reencoded")
#: strength at the top severity; severity k of K is ``k / K`` of it (``offset``: whole frames)
TOP: dict[str, float] = {"lip_damp": 1.0, "lip_exaggerate": 1.0, "head_freeze": 1.0, "head_jitter": 2.0,
                         "identity_swap": 1.0, "offset": 8, "wrong_audio": 1.0, "frame_drop": 0.5, "blur": 4.0,
                         "noise": 20.0, "jpeg": 0.95, "h264": 1.0, "downscale": 3.0, "flicker": 0.3}
#: the tiny grid of the chapter's smoke mode and the tests
SMOKE: dict[str, Any] = {"n_clips": 2, "severities": 2, "degradations": ("blur", "offset")}
GEN_CRF = 18  # every "generated" clip is encoded so; references keep save_clip's default (CRF 15)
#: ``thg-synth`` with CSIM and the FD/KD features on every 10th frame instead of every 5th: the study's
#: budget (those dlib descriptors are 3/4 of a clip's evaluation time); everything else as ``thg-synth``
STUDY_PROTOCOL = "thg-synth-stride10"
_EXTRA = ("av_offset",)  # |LSE offset| from the LSE report (frames)


def study_protocol() -> Any:
    """:data:`STUDY_PROTOCOL`, registered in :data:`thglib.metrics.protocols.PROTOCOLS` on first use."""
    from ..metrics.protocols import PROTOCOLS, get_protocol, register_protocol

    if STUDY_PROTOCOL not in PROTOCOLS:
        register_protocol(replace(get_protocol("thg-synth"), name=STUDY_PROTOCOL, fid_stride=10,
                                  summary="thg-synth with CSIM and FD/KD on every 10th frame (the metric study)"))
    return get_protocol(STUDY_PROTOCOL)


def study_degradations() -> tuple[str, ...]:
    """Every degradation the study knows: the THG-Synth registry."""
    from ..synth import DEGRADATIONS

    return tuple(DEGRADATIONS)


def _strengths(name: str, k: int) -> list[float]:
    top = TOP[name]
    return [float(round(top * i / k)) if name == "offset" else top * i / k for i in range(1, k + 1)]


def _reencode(clip: Any) -> Any:
    """The clean clip after one more H.264 round trip at :data:`GEN_CRF` (then saved like every clip)."""
    from ..io import read_video, write_video

    with tempfile.TemporaryDirectory() as td:
        path = write_video(Path(td) / "x.mp4", clip.frames, clip.fps, crf=GEN_CRF)
        return replace(clip, frames=read_video(path, audio=False, accurate_color=True).frames)


def _check(n_clips: int, severities: int, degradations: Sequence[str] | None) -> tuple[str, ...]:
    from ..validate import count

    count(n_clips, "n_clips", lo=2, hi=1000, fix="Pass at least 2 clips (a clean spread needs two), e.g. 10")
    count(severities, "severities", lo=2, hi=20, fix="Pass at least 2 severities (Spearman needs two), e.g. 4")
    known = study_degradations()
    names = known if degradations is None else tuple(degradations)
    bad = [d for d in names if d not in known]
    if bad or not names or isinstance(degradations, str):
        raise BadInputError("degradations", f"unknown or empty: {bad or names!r}",
                            f"Pass a list of names from {', '.join(known)}")
    return tuple(dict.fromkeys(names))


def _rows(run: Any, condition: tuple[str, int, float], names: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """Tidy rows of one condition's :class:`~thglib.eval.EvalRun` (per clip, then set level)."""
    from .report import METRIC_COLUMNS

    deg, sev, strength = condition
    base = {"degradation": deg, "severity": sev, "strength": strength}
    rows = []
    for r in run.reports:
        got = dict(r.get("metrics", {}))
        if "lse_d" in got and got["lse_d"]["extra"].get("offset") is not None:
            got["av_offset"] = {"value": abs(float(got["lse_d"]["extra"]["offset"])), "higher_is_better": False,
                                "card": {"metric": "|AV offset| found by the LSE search (frames)",
                                         "implementation": got["lse_d"]["card"]["metric"]}}
        for k in (*METRIC_COLUMNS, *_EXTRA):
            m = got.get(k)
            if m is not None:
                names.setdefault(k, (m["card"]["metric"], m["card"].get("extractor") or m["card"]["implementation"]))
            hib = bool(m["higher_is_better"]) if m else None
            value = np.nan if m is None or m["value"] is None else float(m["value"])
            errs = r.get("errors", {})
            why = "" if m else str(errs.get(k, errs.get("lse" if k in ("lse_d", "lse_c", "av_offset") else k, "")))
            rows.append({"kind": "clip", **base, "clip": r["id"], "metric": k, "value": value,
                         "higher_is_better": hib, "note": why})
    for k, v in run.summary.get("set", {}).items():
        names.setdefault(k, (v["card"]["metric"], v["card"].get("extractor") or v["card"]["implementation"]))
        rows.append({"kind": "set", **base, "clip": "set", "metric": k,
                     "value": np.nan if v["value"] is None else float(v["value"]),
                     "higher_is_better": bool(v["higher_is_better"]), "note": ""})
    for k, why in run.summary.get("set_errors", {}).items():
        rows.append({"kind": "set", **base, "clip": "set", "metric": k, "value": np.nan, "higher_is_better": None,
                     "note": str(why)})
    return rows


def _evaluate(pairs: list[tuple[str, Path, Path]], out: Path, protocol: str, metrics: Any) -> Any:
    """``evaluate`` over a manifest of ``(id, generated stem, reference stem)`` (audio: the generated WAV)."""
    from .api import evaluate

    out.mkdir(parents=True, exist_ok=True)
    manifest = out.with_suffix(".csv")
    with open(manifest, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["gen", "ref", "audio", "id"])
        w.writerows([f"{g}.mp4", f"{r}.mp4", f"{g}.wav", i] for i, g, r in pairs)
    return evaluate(manifest, out=out, protocol=protocol, metrics=metrics, progress=False, overwrite=True,
                    html=False)


def metric_study(n_clips: int = 10, severities: int = 4, degradations: Sequence[str] | None = None, *,
                 seed: int = 0, size: int = 176, pad_s: float = 0.4, protocol: str | None = None,
                 metrics: Sequence[str] | None = None,
                 cost_clips: int = 3, work: str | Path | None = None, progress: bool = True) -> pd.DataFrame:
    """Run the study; return the tidy frame (:data:`COLUMNS`).

    Clip ``i`` speaks GRID sentence ``seed + i`` (``size`` px, 25 fps, ``pad_s`` of silence around the
    speech, rate as :func:`thglib.synth.make_dataset` draws it), the two bundled portraits alternating.
    References are saved by :func:`~thglib.synth.save_clip`, every generated clip at CRF :data:`GEN_CRF`.
    Each condition (a degradation at a severity, or a control) is one :func:`~thglib.eval.evaluate` run
    of ``metrics`` (default: all) under ``protocol`` (default :func:`study_protocol`). Metric rows: median
    seconds per clip of each metric alone, and of all together (``all``), on ``cost_clips`` clean clips, each
    run cold (the landmark-track and face-descriptor memos emptied first). ``work``: where clips and
    reports go (default: a temporary folder, removed).
    """
    from .. import synth
    from ..validate import count
    from .api import resolve_metrics
    from .runner import METRICS, forget_cached

    names_ = _check(n_clips, severities, degradations)
    metrics = None if metrics is None else list(resolve_metrics(metrics))
    count(cost_clips, "cost_clips", lo=0, hi=n_clips, fix=f"Pass 0..{n_clips} clips to time each metric on")
    params = synth.SynthParams(size=size, pad_s=pad_s)
    protocol = protocol or study_protocol().name
    root = Path(tempfile.mkdtemp(prefix="thg-study-")) if work is None else Path(work).expanduser()
    t0, rows, names = time.perf_counter(), [], {}
    say = (lambda s: print(f"[{time.perf_counter() - t0:7.1f} s] {s}", flush=True)) if progress else (lambda s: None)
    try:
        clips = []
        for i in range(n_clips):
            rate = int(np.random.default_rng([seed, i]).integers(140, 181))
            clips.append(synth.make_clip(grid_seed=seed + i, identity=("astronaut", "grace_hopper")[i % 2],
                                         seed=seed + i, params=replace(params, rate=rate)))
            synth.save_clip(clips[-1], root / "ref" / f"c{i:02d}", overwrite=True)
        conditions = [(c, 0, 0.0) for c in CONTROLS] + [(d, k + 1, s) for d in names_
                                                        for k, s in enumerate(_strengths(d, severities))]
        for deg, sev, s in conditions:
            folder, pairs, t1 = root / "gen" / f"{deg}_{sev}", [], time.perf_counter()
            for i, clip in enumerate(clips):
                bad = clip if deg == "clean" else _reencode(clip) if deg == "reencoded" else synth.degrade(clip, deg, s)
                synth.save_clip(bad, folder / f"c{i:02d}", overwrite=True, crf=GEN_CRF)
                pairs.append((f"c{i:02d}", folder / f"c{i:02d}", root / "ref" / f"c{i:02d}"))
            t2 = time.perf_counter()
            run = _evaluate(pairs, root / "eval" / f"{deg}_{sev}", protocol, metrics)
            rows += _rows(run, (deg, sev, s), names)
            say(f"{deg} severity {sev} (strength {s:g}): made in {t2 - t1:.1f} s, "
                f"evaluated in {time.perf_counter() - t2:.1f} s")
        df = pd.DataFrame(rows, columns=COLUMNS)
        never = set(df["metric"]) - set(df.loc[df["value"].notna(), "metric"])
        rows = [r for r in rows if r["metric"] not in never]  # kept once, as a metric row with the reason
        clean = [(f"c{i:02d}", root / "gen" / "clean_0" / f"c{i:02d}", root / "ref" / f"c{i:02d}")
                 for i in range(cost_clips)]
        for m in ("all", *(METRICS if metrics is None else metrics)) if cost_clips else ():
            forget_cached()  # cold: no landmark track or face descriptor remembered from the grid
            run = _evaluate(clean, root / "cost" / m, protocol, metrics if m == "all" else [m])
            sec = float(np.median([r["elapsed_s"] for r in run.reports]))
            if m == "all":
                rows.append({"kind": "metric", "degradation": "", "severity": 0, "strength": 0.0, "clip": "",
                             "metric": "all", "value": sec, "higher_is_better": None,
                             "note": f"every metric in one thg eval run ({protocol}; shared decoding and landmarks)"})
                continue
            for k in (("lse_d", "lse_c", "av_offset") if m == "lse" else (m,)):
                have = df[(df["metric"] == k) & df["value"].notna()]
                why = df.loc[(df["metric"] == k) & (df["note"] != ""), "note"]
                why = why.iloc[0] if len(why) else "no value"
                note = (f"{names[k][0]} | {names[k][1]}"[:200] if len(have) else
                        f"not run{' offline' if 'WeightsUnavailable' in why else ''}: {why}")
                rows.append({"kind": "metric", "degradation": "", "severity": 0, "strength": 0.0, "clip": "",
                             "metric": k, "value": sec if len(have) else np.nan,
                             "higher_is_better": have["higher_is_better"].iloc[0] if len(have) else None, "note": note})
            say(f"cost of {m}: {sec:.2f} s per clip")
        return pd.DataFrame(rows, columns=COLUMNS)
    finally:
        if work is None:
            shutil.rmtree(root, ignore_errors=True)


def save_study(df: pd.DataFrame, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the tidy frame as CSV (temporary file, then renamed; refuses an existing file unless ``overwrite``)."""
    from ..io.video import atomic_output

    if list(df.columns) != list(COLUMNS):
        raise BadInputError("df", f"has columns {list(df.columns)}",
                            f"Pass metric_study's frame ({', '.join(COLUMNS)})")
    first = df["note"].str.split(r" \(|\. ", regex=True).str[0]  # a reason's first clause: no local paths
    keep = (df["kind"] == "metric") & ~df["note"].str.startswith("not run")
    short = df.assign(note=df["note"].where(keep, first.str.slice(0, 80).where(df["kind"] != "metric", first)))
    with atomic_output(path, overwrite=overwrite, suffix=".csv") as tmp:
        short.to_csv(tmp, index=False, float_format="%.6g")
    return Path(path)


def load_study(path: str | Path) -> pd.DataFrame:
    """Read a CSV written by :func:`save_study`."""
    df = pd.read_csv(path, keep_default_na=False, na_values=[""],
                     dtype={"kind": str, "degradation": str, "clip": str, "metric": str, "note": str})
    if list(df.columns) != list(COLUMNS):
        raise BadInputError(f"'{path}'", "is not a metric-study table", f"Its header must be {','.join(COLUMNS)}")
    df["higher_is_better"] = df["higher_is_better"].map({True: True, False: False, "True": True, "False": False})
    return df.fillna({"degradation": "", "clip": "", "note": ""})


# ------------------------------------------------------------------------------------- analyses
def _signed(df: pd.DataFrame, kind: str = "clip") -> pd.DataFrame:
    """Rows of ``kind`` with ``worse``: the value, negated where higher is better (so worse is larger)."""
    d = df[df["kind"] == kind].copy()
    d["higher_is_better"] = d.groupby("metric")["higher_is_better"].transform("first")  # also for NaN rows
    d = d[d["higher_is_better"].notna()]
    d["worse"] = np.where(d["higher_is_better"].astype(bool), -d["value"], d["value"])
    return d


def _per_sd(delta: pd.Series, sd: pd.Series) -> pd.Series:
    """``delta / sd``; where the clean clips do not vary at all (``sd = 0``): +-inf, or 0 for no change."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(np.where(sd > 0, delta / sd, np.sign(delta) * np.inf), index=delta.index).where(
            delta.notna() & sd.notna()).mask((sd == 0) & (delta == 0), 0.0)


def _controls(d: pd.DataFrame) -> pd.DataFrame:
    """Per metric: mean signed value of ``clean`` and ``reencoded``, and the SD of the clean clips."""
    g = d[d["degradation"].isin(CONTROLS)].groupby(["metric", "degradation"])["worse"]
    t = g.mean().unstack().reindex(columns=list(CONTROLS))
    return t.assign(sd=g.std().unstack().reindex(columns=["clean"])["clean"])


def sensitivity(df: pd.DataFrame) -> pd.DataFrame:
    """Normalised effect size of each metric x degradation x severity:
    ``(mean degraded - mean clean) / SD of the clean clips``, signed so that worse is positive."""
    d = _signed(df)
    c = _controls(d)
    out = d[~d["degradation"].isin(CONTROLS)].groupby(["metric", "degradation", "severity"])["worse"].mean()
    out = out.reset_index()
    out["effect"] = _per_sd(out["worse"] - out["metric"].map(c["clean"]), out["metric"].map(c["sd"]))
    return out.drop(columns="worse")


def monotonicity(df: pd.DataFrame) -> pd.DataFrame:
    """Spearman's rho (and p) of the signed per-clip value with the severity (clean = severity 0), per
    metric x degradation: +1 = always worse as the severity grows."""
    from scipy.stats import spearmanr

    d = _signed(df).dropna(subset=["worse"])
    clean = d[d["degradation"] == "clean"]
    rows = []
    for (m, g), x in d[~d["degradation"].isin(CONTROLS)].groupby(["metric", "degradation"]):
        x = pd.concat([clean[clean["metric"] == m], x])
        r = spearmanr(x["severity"], x["worse"]) if x["worse"].nunique() > 1 else None
        rows.append({"metric": m, "degradation": g, "rho": np.nan if r is None else float(r.statistic),
                     "p": np.nan if r is None else float(r.pvalue), "n": len(x)})
    return pd.DataFrame(rows)


def noise_floor(df: pd.DataFrame) -> pd.DataFrame:
    """Per metric: clean mean and SD, re-encoded mean (in the metric's units), the signed change
    ``delta`` (re-encoded - clean, worse positive) and ``effect = delta / SD`` (set level: no SD)."""
    out = []
    for kind in ("clip", "set"):
        d = _signed(df, kind)
        c, raw = _controls(d), d[d["degradation"].isin(CONTROLS)].groupby(["metric", "degradation"])["value"].mean()
        raw = raw.unstack().reindex(columns=list(CONTROLS))
        t = pd.DataFrame({"kind": kind, "clean_mean": raw["clean"], "clean_sd": c["sd"],
                          "reencoded_mean": raw["reencoded"], "delta": c["reencoded"] - c["clean"]})
        out.append(t.assign(effect=_per_sd(t["delta"], t["clean_sd"])))
    return pd.concat(out)


def blind_spots(df: pd.DataFrame, threshold: float = 1.0) -> pd.DataFrame:
    """Each metric x degradation at its top severity: ``blind`` when the signed change from clean is no
    larger than re-encoding alone causes (``|delta|`` of :func:`noise_floor`) or, for per-clip metrics,
    below ``threshold`` clean SDs; ``no value`` when the metric gave none."""
    out = []
    for kind in ("clip", "set"):
        d = _signed(df, kind)
        c = _controls(d)
        x = d[~d["degradation"].isin(CONTROLS)]
        x = x[x["severity"] == x.groupby("degradation")["severity"].transform("max")]
        t = x.groupby(["metric", "degradation"])["worse"].mean().reset_index()
        t["delta"] = t["worse"] - t["metric"].map(c["clean"])
        t["floor"] = t["metric"].map((c["reencoded"] - c["clean"]).abs())
        t["effect"] = _per_sd(t["delta"], t["metric"].map(c["sd"]))
        seen = (t["delta"] > t["floor"]) & ((t["effect"] >= threshold) if kind == "clip" else True)
        t["verdict"] = np.where(t["delta"].isna(), "no value", np.where(seen, "sees it", "blind"))
        out.append(t.drop(columns="worse").assign(kind=kind))
    return pd.concat(out, ignore_index=True)


def redundancy(df: pd.DataFrame, threshold: float = 0.9) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """Spearman correlation of the metrics (signed: worse is larger) over every degraded clip, average-linkage
    clustering on ``1 - |rho|``, and clusters of metrics with ``|rho| >= threshold`` (linkage, labels)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    d = _signed(df)
    wide = d[~d["degradation"].isin(CONTROLS)].pivot_table(index=["clip", "degradation", "severity"],
                                                           columns="metric", values="worse")
    wide = wide.loc[:, (wide.notna().sum() >= 3) & (wide.nunique() > 1)]
    corr = wide.corr(method="spearman", min_periods=3)
    dist = (1 - corr.abs()).fillna(1.0).to_numpy(copy=True)
    np.fill_diagonal(dist, 0.0)
    z = linkage(squareform(np.clip((dist + dist.T) / 2, 0, 1), checks=False), method="average")
    return corr, z, pd.Series(fcluster(z, 1 - threshold, criterion="distance"), index=corr.index, name="cluster")


def cost(df: pd.DataFrame) -> pd.DataFrame:
    """Seconds per clip of each metric run alone (decoding and the landmark tracks it needs included)."""
    c = df[(df["kind"] == "metric")][["metric", "value", "note"]].rename(columns={"value": "seconds_per_clip"})
    return c.sort_values("seconds_per_clip", na_position="last").reset_index(drop=True)


# ------------------------------------------------------------------------------------- command line
def main(argv: Sequence[str] | None = None) -> int:
    """``python -m thglib.eval.study --out data/metric_study.csv [--smoke] [--overwrite]``."""
    ap = argparse.ArgumentParser(prog="python -m thglib.eval.study", description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="CSV to write (refused if it exists, unless --overwrite)")
    ap.add_argument("--smoke", action="store_true", help=f"the tiny grid {SMOKE}")
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--severities", type=int, default=4)
    ap.add_argument("--degradations", default="", help="comma-separated names (default: all)")
    ap.add_argument("--size", type=int, default=176, help="frame side (px; MS-SSIM needs >= 176)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cost-clips", type=int, default=3)
    ap.add_argument("--work", default=None, help="keep clips and reports in this folder")
    ap.add_argument("--overwrite", action="store_true")
    a = ap.parse_args(argv)
    out = Path(a.out)
    if out.exists() and not a.overwrite:
        raise BadInputError(f"'{out}'", "already exists", "Pass --overwrite to replace it, or another --out")
    grid = dict(SMOKE, cost_clips=1) if a.smoke else {
        "n_clips": a.clips, "severities": a.severities, "cost_clips": a.cost_clips,
        "degradations": [d.strip() for d in a.degradations.split(",") if d.strip()] or None}
    t0 = time.perf_counter()
    df = metric_study(**grid, seed=a.seed, size=a.size, work=a.work)
    save_study(df, out, overwrite=a.overwrite)
    print(f"{len(df)} rows -> {out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
