"""Running the per-clip job: in this process, in a local process pool, or on a Dask cluster.

The job (:func:`thglib.eval.runner.evaluate_clip`) is the same everywhere and deterministic for a
given ``threads`` value, so every engine gives the same numbers bit for bit; it writes its clip report
and feature files under the run's output folder, which must therefore be a path every worker can
write (a shared file system on a cluster). Set-level metrics are reduced afterwards from those files.
Within one process, clip jobs run one at a time (a lock): torch's thread count, warning capture and
dlib's models are process-wide, so a Dask worker with several threads still gives the same numbers
(use ``--nthreads 1`` workers, or more worker processes, for parallelism).

**Why Dask (``distributed``) and not Ray.** The job is a plain function over file paths and returns a
small dict, which is exactly ``Client.map``; ``distributed`` is pure Python (a few MB, no separate
object store or dashboard daemons), so CI starts a real two-worker ``LocalCluster`` in seconds on
2 cores, and the same code reaches an existing cluster with ``--address tcp://HOST:8786`` (also
dask-jobqueue/SLURM, Kubernetes). GPUs are requested per task as the Dask resource ``GPU``
(start workers with ``--resources GPU=1``). Ray would work as well, with a heavier install (a
~70 MB wheel and a raylet per node) for nothing this job needs.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Literal

from ..errors import BackendUnavailable, BadInputError
from .runner import ClipJob, EvalConfig, evaluate_clip

__all__ = ["ENGINES", "run_jobs"]

ENGINES = ("local", "dask")


def _safe(job: ClipJob, cfg: EvalConfig) -> dict[str, Any]:
    """:func:`evaluate_clip`, with any escaped error turned into a failed report (never lose the run)."""
    try:
        return evaluate_clip(job, cfg)
    except Exception as e:  # noqa: BLE001
        from .runner import FORMAT, _reason

        return {"format": FORMAT, "id": job.id, "status": "failed", "reason": _reason(e), "metrics": {},
                "errors": {"job": _reason(e)}, "inputs": {"gen": {"path": job.gen}}, "features": {}}


def run_jobs(jobs: Sequence[ClipJob], cfg: EvalConfig, *, engine: Literal["local", "dask"] = "local",
             workers: int = 1, address: str | None = None,
             on_done: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Reports of ``jobs`` in job order. ``engine="local"``: in this process (``workers=1``) or a pool of
    ``workers`` spawned processes; ``"dask"``: on the cluster at ``address`` (a scheduler address such as
    ``tcp://10.0.0.5:8786``), or on a new ``LocalCluster`` of ``workers`` processes when ``address`` is
    None. ``on_done`` is called with each report as it arrives (progress bars)."""
    from ..validate import count

    count(workers, "workers", hi=1024, fix="Pass the number of worker processes, e.g. 2")
    if engine not in ENGINES:
        raise BadInputError("engine", f"unknown engine {engine!r}", f"Use one of {ENGINES}")
    if engine == "local" and address is not None:
        raise BadInputError("address", "is only for --engine dask", "Drop --address, or pass --engine dask")
    done = on_done or (lambda r: None)
    if engine == "dask":
        return _dask(jobs, cfg, workers, address, done)
    if workers == 1 or len(jobs) <= 1:
        out = []
        for j in jobs:
            out.append(_safe(j, cfg))
            done(out[-1])
        return out
    results: dict[int, dict[str, Any]] = {}
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(_safe, j, cfg): i for i, j in enumerate(jobs)}
        for f in as_completed(futures):
            results[futures[f]] = f.result()
            done(results[futures[f]])
    return [results[i] for i in range(len(jobs))]


def _dask(jobs: Sequence[ClipJob], cfg: EvalConfig, workers: int, address: str | None,
          done: Callable[[dict[str, Any]], None]) -> list[dict[str, Any]]:
    try:
        from distributed import Client, LocalCluster, as_completed as dask_completed
    except ImportError as e:
        raise BackendUnavailable("dask (distributed)", "pip install distributed") from e
    cluster = None
    if address is not None:
        _reachable(address)
    if address is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        address = cluster.scheduler_address
    try:
        with Client(address, timeout="30s") as client:
            resources = {"GPU": 1} if cfg.device.startswith("cuda") else None
            futures = client.map(_safe, list(jobs), cfg=cfg, pure=False, resources=resources,
                                 key=[f"thg-eval-{j.id}-{i}" for i, j in enumerate(jobs)])
            index = {f.key: i for i, f in enumerate(futures)}
            results: dict[int, dict[str, Any]] = {}
            for f in dask_completed(futures):
                results[index[f.key]] = f.result()
                done(results[index[f.key]])
            return [results[i] for i in range(len(jobs))]
    except OSError as e:
        raise BadInputError("--address", f"cannot reach the Dask scheduler at {address} ({e})",
                            "Start one (dask scheduler; dask worker ADDRESS) or drop --address for a local cluster") from None
    finally:
        if cluster is not None:
            cluster.close()


def _reachable(address: str, timeout: float = 5.0) -> None:
    """Fail at once, naming the address, when nothing listens there (the client would retry for its timeout)."""
    import socket
    from urllib.parse import urlsplit

    u = urlsplit(address if "://" in address else f"tcp://{address}")
    if u.scheme not in ("tcp", "tls") or not u.hostname or not u.port:
        raise BadInputError("--address", f"{address!r} is not a scheduler address",
                            "Pass it as tcp://HOST:PORT (dask scheduler prints it), e.g. tcp://10.0.0.5:8786")
    try:
        with socket.create_connection((u.hostname, u.port), timeout=timeout):
            pass
    except OSError as e:
        raise BadInputError("--address", f"cannot reach the Dask scheduler at {address} ({e.strerror or e})",
                            "Start one (dask scheduler; dask worker ADDRESS) or drop --address for a local "
                            "cluster") from None
