"""``thg eval`` on a real Dask cluster (a two-worker ``LocalCluster`` this test starts) and in a local
process pool: every number equals the single-process run's bit for bit, and the set-level FD is
reduced from the workers' feature files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from thglib import synth
from thglib.eval import evaluate, get_protocol

FAST = replace(get_protocol("thg-synth"), name="thg-synth-engine-test", fid_stride=15)
METRICS = "lse,cpbd,psnr,ssim,fid,kid"
SENTENCES = ("bin blue at f", "set white with p")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("enginedata")
    for i, text in enumerate(SENTENCES):
        clip = synth.make_clip(text, identity=("grace_hopper", "astronaut")[i % 2], seed=i,
                               params=synth.SynthParams(size=128))
        synth.save_clip(clip, root / "ref" / f"s{i}")
        synth.save_clip(synth.degrade(clip, "noise", 6.0), root / "gen" / f"s{i}")
    return root


@pytest.fixture(scope="module")
def single(data, tmp_path_factory):
    return evaluate(data / "gen", data / "ref", out=tmp_path_factory.mktemp("single") / "o", protocol=FAST,
                    metrics=METRICS, threads=1, progress=False)


def _numbers(run) -> list:
    """Every value, per-frame series, offset and feature of a run, in clip order."""
    out = []
    for r in run.reports:
        out.append((r["id"], r["status"], sorted(r["errors"])))
        for k in sorted(r["metrics"]):
            m = r["metrics"][k]
            out.append((k, m["value"], m["per_frame"], m["extra"], {f: m["card"][f] for f in m["card"] if f != "versions"}))
        out.append(r["series"])
        out += [np.load(run.out / r["features"][f]).tobytes() for f in sorted(r["features"]) if not f.endswith("spec")]
    return out + [(k, v["value"]) for k, v in sorted(run.summary["set"].items())]


def test_dask_local_cluster_equals_the_single_process_run_bit_for_bit(data, single, tmp_path):
    from distributed import Client, LocalCluster

    assert single.summary["n_ok"] == 2 and {"fid", "kid"} <= set(single.summary["set"])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        run = evaluate(data / "gen", data / "ref", out=tmp_path / "dask", protocol=FAST, metrics=METRICS,
                       engine="dask", address=cluster.scheduler_address, threads=1, progress=False)
        with Client(cluster.scheduler_address) as client:
            assert len(client.scheduler_info()["workers"]) == 2
    assert run.summary["engine"] == "dask" and run.summary["n_ok"] == 2
    assert _numbers(run) == _numbers(single)
    # the set-level values come from the feature files each worker wrote
    assert sorted(p.name for p in (run.out / "features").iterdir()) == \
        sorted(f"s{i}.dlib128.{side}.npy" for i in range(2) for side in ("gen", "ref"))


def test_local_process_pool_equals_the_single_process_run(data, tmp_path):
    runs = [evaluate(data / "gen", data / "ref", out=tmp_path / f"w{w}", protocol=FAST, metrics="cpbd",
                     workers=w, threads=1, progress=False) for w in (1, 2)]
    assert runs[0].summary["n_ok"] == 2 and _numbers(runs[1]) == _numbers(runs[0])


def test_engine_arguments_are_checked(data, tmp_path):
    from thglib.errors import BadInputError

    with pytest.raises(BadInputError, match="address"):
        evaluate(data / "gen", out=tmp_path / "x", protocol=FAST, metrics="cpbd", address="tcp://127.0.0.1:1")
    with pytest.raises(BadInputError, match="engine"):
        evaluate(data / "gen", out=tmp_path / "y", protocol=FAST, metrics="cpbd", engine="spark")  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match="Dask scheduler"):
        evaluate(data / "gen", out=tmp_path / "z", protocol=FAST, metrics="cpbd", engine="dask",
                 address="tcp://127.0.0.1:9")
