"""Batched inference that survives a too-large batch: :class:`BatchRunner`.

Shared by the Wav2Lip (:mod:`thglib.lipsync`) and SadTalker (:mod:`thglib.pipelines.sadtalker`)
pipelines.  The batch is halved on CUDA out-of-memory and the halving is kept for later calls, as
Wav2Lip's ``inference.py`` does for face detection.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from ..errors import BadInputError

__all__ = ["BatchRunner", "is_oom"]


def is_oom(e: BaseException) -> bool:
    """True for a CUDA out-of-memory error (its own type, or a ``RuntimeError`` saying so)."""
    return isinstance(e, torch.cuda.OutOfMemoryError) or (
        isinstance(e, RuntimeError) and "out of memory" in str(e).lower())


def _to_cpu(y: Any) -> Any:
    """Float32 CPU copies of a tensor, or of the tensors of a dict / tuple / list."""
    if isinstance(y, torch.Tensor):
        return y.float().cpu()
    if isinstance(y, Mapping):
        return {k: _to_cpu(v) for k, v in y.items()}
    if isinstance(y, (tuple, list)):
        return type(y)(_to_cpu(v) for v in y)
    raise BadInputError("fn", f"returned {type(y).__name__}",
                        "Return a tensor, or a dict / tuple of tensors with the batch on dim 0")


def _cat(parts: list[Any]) -> Any:
    first = parts[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(parts)
    if isinstance(first, Mapping):
        return {k: torch.cat([p[k] for p in parts]) for k in first}
    return type(first)(torch.cat(list(col)) for col in zip(*parts))


class BatchRunner:
    """Apply ``fn`` to tensors in sub-batches of ``batch_size`` rows, halving it on CUDA out-of-memory.

    The halving is kept for later calls (``inference.py`` does the same for face detection;
    ``halvings`` counts them).  At batch size 1 the error is re-raised.  Inputs go to ``device``;
    with ``fp16`` the call runs under ``torch.autocast("cuda", float16)``; outputs come back to
    the CPU as float32.  ``fn`` may return a tensor or a dict / tuple of tensors (batch on dim 0).
    """

    def __init__(self, fn: Callable[..., Any], batch_size: int, device: str = "cpu",
                 fp16: bool = False) -> None:
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise BadInputError("batch_size", f"expected an int >= 1, got {batch_size!r}")
        if fp16 and not str(device).startswith("cuda"):
            raise BadInputError("fp16", "half-precision autocast needs a CUDA device", "Use fp16=False on CPU")
        self.fn, self.batch_size, self.device, self.fp16 = fn, int(batch_size), str(device), fp16
        self.halvings = 0

    @torch.no_grad()
    def __call__(self, *inputs: torch.Tensor) -> Any:
        out, i, n = [], 0, len(inputs[0])
        while i < n:
            bs = self.batch_size
            try:
                with torch.autocast("cuda", dtype=torch.float16, enabled=self.fp16):
                    y = self.fn(*(x[i:i + bs].to(self.device, non_blocking=True) for x in inputs))
            except (torch.cuda.OutOfMemoryError, RuntimeError) as e:
                if not is_oom(e) or bs == 1:
                    raise
                self.batch_size, self.halvings = bs // 2, self.halvings + 1
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                print(f"out of memory at batch size {bs}; retrying with {bs // 2}", file=sys.stderr)
                continue
            out.append(_to_cpu(y))
            i += bs
        return _cat(out)
