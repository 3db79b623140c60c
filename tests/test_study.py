"""thglib.eval.study: the analyses against hand-computed values on small tidy frames, and a tiny real run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from thglib.errors import BadInputError
from thglib.eval import study
from thglib.eval.study import (COLUMNS, blind_spots, load_study, metric_study, monotonicity, noise_floor, redundancy,
                               save_study, sensitivity)


def frame(values: dict[str, dict[tuple[str, int], list[float]]], higher: dict[str, bool]) -> pd.DataFrame:
    """A tidy frame from ``{metric: {(degradation, severity): [value of clip 0, 1, ...]}}``."""
    rows = [{"kind": "clip", "degradation": d, "severity": s, "strength": float(s), "clip": f"c{i}", "metric": m,
             "value": v, "higher_is_better": higher[m], "note": ""}
            for m, conds in values.items() for (d, s), vs in conds.items() for i, v in enumerate(vs)]
    return pd.DataFrame(rows, columns=COLUMNS)


CONDS = [("clean", 0), ("reencoded", 0), ("blur", 1), ("blur", 2)]
A = dict(zip(CONDS, ([10.0, 12.0, 14.0], [10.0, 12.0, 13.0], [9.0, 10.0, 12.0], [6.0, 8.0, 10.0])))  # higher better
B = dict(zip(CONDS, ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [3.0, 4.0, 5.0], [4.0, 5.0, 6.0])))  # lower better
D = dict(zip(CONDS, ([5.0, 6.0, 7.0], [5.0, 6.0, 7.0], [7.0, 5.0, 6.0], [6.0, 7.0, 5.0])))  # blind to blur
HIGHER = {"a": True, "b": False, "c": True, "d": True, "m": False}


@pytest.fixture()
def tidy() -> pd.DataFrame:
    return frame({"a": A, "b": B, "c": A, "d": D}, HIGHER)


def test_sensitivity_is_signed_so_that_worse_is_positive(tidy):
    s = sensitivity(tidy).set_index(["metric", "degradation", "severity"])["effect"]
    # a: clean mean 12, SD 2; blur 2 mean 8: PSNR-like drop of 4 = +2 SD
    assert s["a", "blur", 2] == pytest.approx(2.0, abs=1e-12)
    assert s["a", "blur", 1] == pytest.approx((12 - 31 / 3) / 2, abs=1e-12)
    # b (lower is better): clean mean 2, SD 1; blur 2 mean 5: rise of 3 = +3 SD
    assert s["b", "blur", 2] == pytest.approx(3.0, abs=1e-12)
    assert s["d", "blur", 2] == pytest.approx(0.0, abs=1e-12)


def test_zero_clean_spread_gives_inf_or_zero():
    zeros = {("clean", 0): [0.0, 0.0], ("reencoded", 0): [0.0, 0.0], ("blur", 1): [0.0, 0.0], ("blur", 2): [2.0, 2.0]}
    s = sensitivity(frame({"m": zeros}, HIGHER)).set_index("severity")["effect"]
    assert s[1] == 0.0 and math.isinf(s[2]) and s[2] > 0


def test_monotone_series_gives_rho_one():
    steps = {("clean", 0): [10.0] * 3, ("reencoded", 0): [10.0] * 3, ("blur", 1): [11.0] * 3, ("blur", 2): [12.0] * 3}
    r = monotonicity(frame({"m": steps}, HIGHER)).iloc[0]
    assert r["rho"] == pytest.approx(1.0, abs=1e-12) and r["n"] == 9
    down = {k: [-x for x in v] for k, v in steps.items()}  # the same series read as higher-is-better: better
    assert monotonicity(frame({"a": down}, {"a": False})).iloc[0]["rho"] == pytest.approx(-1.0, abs=1e-12)


def test_noise_floor_by_hand(tidy):
    f = noise_floor(tidy).loc["a"]
    assert f["clean_mean"] == pytest.approx(12.0) and f["reencoded_mean"] == pytest.approx(35 / 3)
    assert f["clean_sd"] == pytest.approx(2.0)
    assert f["delta"] == pytest.approx(1 / 3) and f["effect"] == pytest.approx(1 / 6)
    assert noise_floor(tidy).loc["b", "delta"] == pytest.approx(0.0)


def test_blind_spots(tidy):
    b = blind_spots(tidy).set_index(["metric", "degradation"])
    assert b.loc[("a", "blur"), "verdict"] == "sees it" and b.loc[("b", "blur"), "verdict"] == "sees it"
    assert b.loc[("d", "blur"), "verdict"] == "blind"
    assert b.loc[("a", "blur"), "delta"] == pytest.approx(4.0) and b.loc[("a", "blur"), "floor"] == pytest.approx(1 / 3)
    # a change of 2 SD that re-encoding alone also causes is within the noise floor
    noisy = {**A, ("reencoded", 0): [5.0, 7.0, 9.0]}
    assert blind_spots(frame({"a": noisy}, HIGHER)).iloc[0]["verdict"] == "blind"
    # a larger threshold makes the same change invisible
    strict = blind_spots(tidy, threshold=2.5).set_index(["metric", "degradation"])
    assert strict.loc[("a", "blur"), "verdict"] == "blind"


def test_identical_metrics_correlate_one_and_share_a_cluster(tidy):
    corr, z, labels = redundancy(tidy, threshold=0.9)
    assert corr.loc["a", "c"] == pytest.approx(1.0, abs=1e-12)
    assert labels["a"] == labels["c"] and labels["a"] != labels["d"]
    assert z.shape == (len(corr) - 1, 4)


def test_bad_arguments_raise_the_typed_error(tmp_path):
    for kwargs in ({"n_clips": 1}, {"severities": 1}, {"degradations": ["nope"]}, {"degradations": "blur"},
                   {"degradations": []}, {"cost_clips": 5, "n_clips": 2}, {"metrics": ["psnr", "nope"]}):
        with pytest.raises(BadInputError):
            metric_study(**kwargs)
    with pytest.raises(BadInputError):
        save_study(pd.DataFrame({"x": [1]}), tmp_path / "x.csv")
    (tmp_path / "old.csv").write_text("x\n")
    with pytest.raises(BadInputError):
        study.main(["--out", str(tmp_path / "old.csv"), "--smoke"])
    with pytest.raises(BadInputError):
        load_study(tmp_path / "old.csv")


def test_tiny_real_run_psnr_falls_with_blur(tmp_path):
    df = metric_study(n_clips=2, severities=2, degradations=["blur"], metrics=["psnr"], cost_clips=1, size=128,
                      progress=False)
    assert list(df.columns) == list(COLUMNS)
    assert set(df["kind"]) == {"clip", "metric"}
    psnr = df[(df["kind"] == "clip") & (df["metric"] == "psnr")].groupby(["degradation", "severity"])["value"].mean()
    assert psnr["clean", 0] > psnr["blur", 1] > psnr["blur", 2]
    assert psnr["clean", 0] - psnr["reencoded", 0] < psnr["clean", 0] - psnr["blur", 1]
    assert sensitivity(df).set_index("severity")["effect"].is_monotonic_increasing
    costs = df[df["kind"] == "metric"].set_index("metric")
    assert costs.loc["psnr", "value"] > 0 and costs.loc["psnr", "note"].startswith("PSNR")
    path = save_study(df, tmp_path / "s.csv")
    back = load_study(path)
    assert list(back.columns) == list(COLUMNS) and len(back) == len(df)
    np.testing.assert_allclose(back["value"].to_numpy(float), df["value"].to_numpy(float), rtol=1e-5)
    with pytest.raises(BadInputError):
        save_study(df, path)
