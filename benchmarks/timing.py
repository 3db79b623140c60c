"""Wall-clock timing shared by the benchmark scripts (run them as `python benchmarks/bench_*.py`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def timed(fn: Callable[[], T], repeat: int = 3, warmup: bool = False) -> tuple[T, float]:
    """``(result of the last call, fastest of repeat wall-clock timings in s)``; ``warmup`` adds one
    untimed call first (caches, lazy imports, JIT)."""
    if warmup:
        fn()
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def best_of(fn: Callable[[], object], repeat: int = 3, warmup: bool = False) -> float:
    """Fastest of ``repeat`` wall-clock timings of ``fn()``, in seconds."""
    return timed(fn, repeat, warmup)[1]
