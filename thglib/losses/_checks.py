"""The one input validator every loss in :mod:`thglib.losses` calls.

``check(input=(x, "B C H W"), target=(y, "B C H W"))`` asserts that each argument is a
floating-point tensor, that all share one dtype and device, and that their shapes follow the
given patterns.  A pattern is a space-separated list of dimensions:

* a name (``B``, ``C``, ``K`` …) binds a size on first use; every later use must agree;
* a number is a fixed size; ``*`` is any single size;
* ``...`` is any run of dimensions, bound like a name (all ``...`` of one call must be equal).

A tuple of patterns accepts any one of them, e.g. ``("K", "B K")`` for a per-landmark weight.
No loss broadcasts silently: a size-1 dimension is allowed only where a pattern writes ``1``.
Violations raise :class:`~thglib.errors.BadInputError` naming the argument.
"""

from __future__ import annotations

import torch

from ..errors import BadInputError

__all__ = ["check"]

Spec = str | tuple[str, ...]


def _bind(tokens: list[str], shape: tuple[int, ...], sizes: dict) -> dict | None:
    """``sizes`` extended by matching ``shape`` against ``tokens``, or ``None`` if it does not fit."""
    sizes = dict(sizes)
    if "..." in tokens:
        i = tokens.index("...")
        n_tail = len(tokens) - i - 1
        if len(shape) < len(tokens) - 1:
            return None
        rest = shape[i:len(shape) - n_tail]
        if "..." in sizes and sizes["..."][0] != rest:
            return None
        sizes.setdefault("...", (rest, None))
        tokens, shape = tokens[:i] + tokens[i + 1:], shape[:i] + shape[len(shape) - n_tail:]
    if len(tokens) != len(shape):
        return None
    for tok, n in zip(tokens, shape):
        if tok.isdigit():
            if int(tok) != n:
                return None
        elif tok != "*":
            if tok in sizes and sizes[tok][0] != n:
                return None
            sizes.setdefault(tok, (n, None))
    return sizes


def _describe(spec: str, sizes: dict) -> str:
    """``"B C H W"`` → ``"(B=2, C=3, H, W)"`` with the sizes bound so far."""
    parts = []
    for tok in spec.split():
        if tok in sizes and tok != "...":
            parts.append(f"{tok}={sizes[tok][0]} (from '{sizes[tok][1]}')")
        elif tok == "..." and "..." in sizes:
            parts.append(f"...={sizes['...'][0]} (from '{sizes['...'][1]}')")
        else:
            parts.append(tok)
    return "(" + ", ".join(parts) + ")"


def check(**specs: tuple[torch.Tensor, Spec]) -> dict[str, int | tuple[int, ...]]:
    """Validate loss arguments ``name=(tensor, pattern)``; return the bound sizes, e.g. ``{"B": 2}``."""
    sizes: dict = {}
    first: tuple[str, torch.Tensor] | None = None
    for name, (x, spec) in specs.items():
        if not isinstance(x, torch.Tensor):
            raise BadInputError(name, f"expected a torch.Tensor, got {type(x).__name__}",
                                "Convert with torch.as_tensor(x, dtype=torch.float32)")
        if not x.is_floating_point():
            raise BadInputError(name, f"expected a floating-point tensor, got dtype {x.dtype}",
                                "Convert with x.float() (x.double() for gradcheck)")
        if first is not None and (x.dtype != first[1].dtype or x.device != first[1].device):
            raise BadInputError(name, f"is {x.dtype} on {x.device} but '{first[0]}' is "
                                f"{first[1].dtype} on {first[1].device}",
                                "Give every input of one loss the same dtype and device")
        first = first or (name, x)
        options = (spec,) if isinstance(spec, str) else spec
        for option in options:
            bound = _bind(option.split(), tuple(x.shape), sizes)
            if bound is not None:
                sizes = {k: (v, s if s is not None else name) for k, (v, s) in bound.items()}
                break
        else:
            want = " or ".join(_describe(o, sizes) for o in options)
            raise BadInputError(name, f"expected shape {want}, got {tuple(x.shape)}",
                                "Losses never broadcast: make the shapes match exactly")
    return {k: v for k, (v, _) in sizes.items()}
