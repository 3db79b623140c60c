"""How far THG-Synth is from what a landmark detector sees: dlib vs ground truth, per feature, for the
original generator (``v1`` = ``SynthParams()``) and the realism preset (``SynthParams.realistic()``).

    THG_OFFLINE=1 python benchmarks/synth_realism.py --out data/synth_realism.csv [--clips 2] [--smoke]

For each version, bundled portrait and clip (GRID sentences ``0..clips-1``, motion seed = sentence,
40 blinks/min so that every clip blinks), dlib's HOG detector + 68-point predictor runs on every
second frame and on every frame whose eyes are at least half closed. Features (truth from the clip's
own ground truth, dlib from its landmarks on the rendered frames):

* ``yaw_sd_deg`` / ``pitch_sd_deg``: standard deviation over frames; truth = the rig's
  ``yaw_pitch``, dlib = ``thglib.face.pose.pose_from_landmarks`` (PnP) on dlib's points;
  ``pnp_truth`` = PnP on the exact landmarks (what a perfect detector would give);
* ``closed_eye_pct``: % of frames with eyes closed (truth ``eye_closure >= 0.5``; dlib EAR < 0.2,
  the eye aspect ratio of Soukupová & Čech 2016, ``EAR = (|p2 − p6| + |p3 − p5|) / (2 |p1 − p4|)``);
* ``ear_closed`` / ``ear_open``: mean EAR on the truly closed / open (``eye_closure < 0.1``) frames;
* ``lip_gap_closed_iod`` / ``closed_lip_pct``: inner-lip gap ``|p62 − p66| / IOD`` on frames whose
  true gap is below 0.02 IOD, and the % of frames below 0.02 IOD;
* ``iod_px``: inter-ocular distance (eye-centre distance) in pixels;
* ``face_missed_pct``: % of the tried frames where dlib's HOG detector found no face (all other
  features use the frames where it found one);
* ``landmark_rms_iod``: RMS distance of dlib's 68 points to the truth, in IOD (truth column 0).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

COLUMNS = ("feature", "version", "identity", "truth", "dlib", "pnp_truth", "unit", "frames", "clips")
IDENTITIES = ("astronaut", "grace_hopper")
EAR_CLOSED, LIP_CLOSED = 0.2, 0.02


def ear(points: np.ndarray) -> np.ndarray:
    """Mean eye aspect ratio of both eyes, ``(T,)`` from ``(T, 68, 2)``."""
    out = []
    for a in (36, 42):
        q = points[:, a:a + 6]
        out.append((np.linalg.norm(q[:, 1] - q[:, 5], axis=1) + np.linalg.norm(q[:, 2] - q[:, 4], axis=1))
                   / (2 * np.linalg.norm(q[:, 0] - q[:, 3], axis=1)))
    return np.mean(out, axis=0)


def iod(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, 36:42].mean(axis=1) - points[:, 42:48].mean(axis=1), axis=1)


def lip_gap(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(points[:, 66] - points[:, 62], axis=1) / iod(points)


def measure(clip) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Truth and dlib arrays of one clip on the frames dlib is run on."""
    from thglib.face import landmarks
    from thglib.face.pose import pose_from_landmarks

    from thglib.errors import NoFaceError

    tried = np.union1d(np.arange(0, clip.n_frames, 2), np.flatnonzero(clip.eye_closure >= 0.5))
    found, det = [], []
    for t in tried:
        try:
            det.append(landmarks(clip.frames[t], backend="dlib").points)
            found.append(t)
        except NoFaceError:
            pass
    frames, det = np.array(found, int), np.array(det, np.float64)
    truth = clip.landmarks[frames].astype(np.float64)
    size = (clip.params.size, clip.params.size)
    return {"truth": truth, "dlib": det, "closure": clip.eye_closure[frames],
            "yaw_pitch": clip.yaw_pitch[frames].astype(np.float64),
            "pnp_dlib": pose_from_landmarks(det, size).angles[:, :2],
            "pnp_truth": pose_from_landmarks(truth, size).angles[:, :2], "missed": np.array([len(tried) - len(found)]),
            "tried": np.array([len(tried)])}


def features(m: dict[str, np.ndarray]) -> list[tuple[str, float, float, float, str]]:
    """``(feature, truth, dlib, pnp_truth, unit)`` rows of the concatenated measurements ``m``."""
    t, d, closed, open_ = m["truth"], m["dlib"], m["closure"] >= 0.5, m["closure"] < 0.1
    lips = lip_gap(t) < LIP_CLOSED
    nan = float("nan")
    rows = [(f"{n}_sd_deg", m["yaw_pitch"][:, i].std(), m["pnp_dlib"][:, i].std(), m["pnp_truth"][:, i].std(), "deg")
            for i, n in enumerate(("yaw", "pitch"))]
    rows += [("closed_eye_pct", 100 * closed.mean(), 100 * (ear(d) < EAR_CLOSED).mean(), nan, "%"),
             ("ear_closed", ear(t)[closed].mean(), ear(d)[closed].mean(), nan, "ratio"),
             ("ear_open", ear(t)[open_].mean(), ear(d)[open_].mean(), nan, "ratio"),
             ("lip_gap_closed_iod", lip_gap(t)[lips].mean(), lip_gap(d)[lips].mean(), nan, "IOD"),
             ("closed_lip_pct", 100 * lips.mean(), 100 * (lip_gap(d) < LIP_CLOSED).mean(), nan, "%"),
             ("iod_px", iod(t).mean(), iod(d).mean(), nan, "px"),
             ("face_missed_pct", 0.0, 100 * m["missed"].sum() / m["tried"].sum(), nan, "%"),
             ("landmark_rms_iod", 0.0, float(np.sqrt(((d - t) ** 2).sum(-1).mean() / iod(t).mean() ** 2)), nan,
              "IOD")]
    return [(f, float(a), float(b), float(c), u) for f, a, b, c, u in rows]


def run(clips: int, smoke: bool) -> list[dict]:
    from thglib.synth import SynthParams, make_clip

    versions = {"v1": SynthParams(blink_per_minute=40),
                "preset": SynthParams.realistic(blink_per_minute=40, identity_variants=0)}
    if smoke:
        versions = {k: SynthParams.from_dict({**v.__dict__, "size": 128, "pad_s": 0.1}) for k, v in versions.items()}
    out = []
    for version, params in versions.items():
        for ident in IDENTITIES:
            ms = [measure(make_clip(grid_seed=g, identity=ident, seed=g, params=params)) for g in range(clips)]
            m = {k: np.concatenate([x[k] for x in ms]) for k in ms[0]}
            for f, truth, dlib, pnp, unit in features(m):
                out.append({"feature": f, "version": version, "identity": ident, "truth": round(truth, 4),
                            "dlib": round(dlib, 4), "pnp_truth": "" if np.isnan(pnp) else round(pnp, 4),
                            "unit": unit, "frames": len(m["truth"]), "clips": clips})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="CSV to write (default: print only)")
    ap.add_argument("--clips", type=int, default=2, help="clips per portrait and version (default 2)")
    ap.add_argument("--smoke", action="store_true", help="128² frames, one short clip: seconds")
    args = ap.parse_args()
    rows = run(1 if args.smoke else args.clips, args.smoke)
    if args.out:
        with open(args.out, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    for r in rows:
        print(f"{r['feature']:20s} {r['version']:7s} {r['identity']:13s} truth {r['truth']:9.4f} dlib {r['dlib']:9.4f}")


if __name__ == "__main__":
    main()
