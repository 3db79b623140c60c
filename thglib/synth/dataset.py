"""Many synthetic clips at once, in parallel, with a manifest CSV.

Clip ``i`` speaks GRID sentence ``seed + i`` at a rate drawn from ``params.rate_range`` (default
140–180 words/minute), with identity ``identities[i % len(identities)]`` and motion seed
``seed + i``. With ``params.voices`` (e.g. ``SynthParams.realistic()``) its voice is drawn from them
(``default_rng([seed, i, 1])``), and with ``params.identity_variants = N`` it plays variant
``1 + (i // len(identities)) % N`` of its portrait (:mod:`.variation`); each clip's JSON records
both. With degradations, each clean clip ``clip_NNNN`` gets a degraded twin ``clip_NNNN_degraded``
whose reference it is.
Work is spread over ``spawn``-ed worker processes (:mod:`multiprocessing`; forking a parent whose
OpenCV thread pool is running can deadlock); the portrait landmarks are computed once in the parent
and handed to each worker, so dlib's model is never loaded there.
"""

from __future__ import annotations

import csv
import multiprocessing as mp
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import BadInputError
from .clip import SynthParams, make_clip, save_clip
from .degrade import apply_degradations
from . import identity as _identity

__all__ = ["make_dataset", "MANIFEST_COLUMNS"]

MANIFEST_COLUMNS = ("clip", "text", "identity", "grid_seed", "seed", "rate", "n_frames", "duration_s",
                    "mp4", "wav", "npz", "json", "reference", "degradations")


def _one(job: tuple) -> list[dict]:
    """Make, degrade and save clip ``i``; return its manifest rows."""
    i, out, seed, identity, params, specs, overwrite, n_ident = job
    lo, hi = params.rate_range
    rate = int(np.random.default_rng([seed, i]).integers(lo, hi + 1))
    clip = make_clip(grid_seed=seed + i, identity=identity, seed=seed + i,
                     params=_clip_params(params, i, seed, rate, n_ident))
    name = f"clip_{i:04d}"
    rows = [_row(clip, name, save_clip(clip, out / name, overwrite=overwrite), seed + i, "")]
    if specs:
        bad = apply_degradations(clip, specs)
        paths = save_clip(bad, out / f"{name}_degraded", overwrite=overwrite)
        rows.append(_row(bad, f"{name}_degraded", paths, seed + i, name))
    return rows


def _clip_params(params: SynthParams, i: int, seed: int, rate: int, n_ident: int) -> SynthParams:
    """``params`` of clip ``i``: its rate, and its voice and portrait variant when the preset asks for them."""
    changes: dict = {"rate": rate}
    if params.voices:
        changes["voice"] = params.voices[int(np.random.default_rng([seed, i, 1]).integers(len(params.voices)))]
    if params.identity_variants:
        changes["identity_variant"] = 1 + (i // n_ident) % params.identity_variants
    return replace(params, **changes)


def _row(clip, name: str, paths: dict[str, Path], grid_seed: int, reference: str) -> dict:  # noqa: ANN001
    return {"clip": name, "text": clip.text, "identity": clip.identity, "grid_seed": grid_seed, "seed": clip.seed,
            "rate": clip.params.rate, "n_frames": clip.n_frames,
            "duration_s": round(clip.n_frames / clip.fps, 3), **{k: p.name for k, p in paths.items()},
            "reference": reference, "degradations": ";".join(f"{n}={s:g}" for n, s in clip.degradations)}


def make_dataset(n: int, out_dir: str | Path, *, seed: int = 0,
                 identities: Sequence[str] = ("astronaut", "grace_hopper"), params: SynthParams | None = None,
                 degradations: Sequence[tuple[str, float | None]] = (), processes: int = 2,
                 overwrite: bool = False) -> Path:
    """Write ``n`` clips (and degraded twins) plus ``manifest.csv`` into ``out_dir``; return the manifest path.

    Refuses a folder that already holds a manifest unless ``overwrite=True``.
    """
    from ..io.video import atomic_output

    if not isinstance(n, (int, np.integer)) or n < 1:
        raise BadInputError("n", f"must be a positive number of clips, got {n!r}")
    if not identities:
        raise BadInputError("identities", "is empty", "Pass at least one portrait name or image path")
    out = Path(out_dir).expanduser()
    manifest = out / "manifest.csv"
    if manifest.exists() and not overwrite:
        raise BadInputError(f"'{manifest}'", "already exists", "Pass overwrite=True or another folder")
    out.mkdir(parents=True, exist_ok=True)
    for ident in dict.fromkeys(identities):
        _identity.portrait_landmarks(ident)  # computed once here, handed to the workers
    params = params or SynthParams()
    jobs = [(i, out, seed, identities[i % len(identities)], params, list(degradations), overwrite, len(identities))
            for i in range(n)]
    if processes > 1 and n > 1:
        with mp.get_context("spawn").Pool(min(processes, n), _identity._seed_cache,
                                          (dict(_identity._LANDMARKS),)) as pool:
            results = pool.map(_one, jobs, chunksize=1)
    else:
        results = [_one(j) for j in jobs]
    with atomic_output(manifest, overwrite=overwrite) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(row for rows in results for row in rows)
    return manifest
