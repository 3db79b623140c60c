"""Deterministic weights and inputs for checking a port against reference-network fixtures.

Real checkpoints cannot ship with the book, so each port is checked the other way round: the
fixtures in ``tests/fixtures/*.json`` record, for the official code, every state_dict key, an
implementation-free weight fill, deterministic inputs and the resulting outputs.  A port that has
the same keys, is filled by :func:`fill_` and fed :func:`input_from_recipe` must reproduce those
outputs (:func:`golden_mismatches`).

The fill, per the fixtures' ``fill_recipe``: sort the keys; for key number ``i`` and flat index
``j`` hash ``h = j + 1 + i*1000003`` with the murmur3 ``fmix64`` finaliser, map it to
``b = (h >> 11) / 2**53 * 2 - 1`` in [-1, 1), then shape ``b`` by the key's role.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from ..errors import BadInputError

__all__ = ["FillRecipe", "fmix64", "uniform_hash", "fill_values", "fill_",
           "sine_input", "input_from_recipe", "golden_mismatches", "layout_mismatches"]

_T = TypeVar("_T", bound="nn.Module | MutableMapping[str, torch.Tensor]")

_KEY_STRIDE = 1000003
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)


@dataclass(frozen=True)
class FillRecipe:
    """The two per-network constants of the fill: ``gain`` for weights, ``bias`` for biases."""

    gain: float
    bias: float

    @classmethod
    def of(cls, recipe: FillRecipe | Mapping[str, Any]) -> FillRecipe:
        """Accept a :class:`FillRecipe` or a fixture dict with ``GAIN`` and ``BIAS``."""
        if isinstance(recipe, FillRecipe):
            return recipe
        if isinstance(recipe, Mapping) and "GAIN" in recipe and "BIAS" in recipe:
            return cls(float(recipe["GAIN"]), float(recipe["BIAS"]))
        raise BadInputError("recipe", f"expected a FillRecipe or a fixture dict with GAIN and BIAS, "
                            f"got {type(recipe).__name__}", "Pass the loaded fixture JSON")


def fmix64(h: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finaliser on a uint64 array, in place (multiplications wrap modulo 2**64)."""
    h ^= h >> _S33
    h *= _M1
    h ^= h >> _S33
    h *= _M2
    h ^= h >> _S33
    return h


def uniform_hash(key_index: int, n: int) -> np.ndarray:
    """``b[j] = (fmix64(j + 1 + i*1000003) >> 11) / 2**53 * 2 - 1`` for j < n, float64 in [-1, 1)."""
    h = np.arange(1, n + 1, dtype=np.uint64)
    h += np.uint64(key_index * _KEY_STRIDE)
    b = (fmix64(h) >> np.uint64(11)).astype(np.float64)
    b *= 2.0 / 2.0**53  # exact: a power of two
    b -= 1.0
    return b


def fill_values(key: str, shape: tuple[int, ...], key_index: int, recipe: FillRecipe) -> np.ndarray:
    """Float64 fill of one floating-point tensor, by its role (BN statistics, weight, bias)."""
    n = int(np.prod(shape, dtype=np.int64))
    b = uniform_hash(key_index, n)
    if key.endswith("running_var"):
        v = 1.0 + 0.5 * np.abs(b)
    elif key.endswith("running_mean"):
        v = 0.1 * b
    elif len(shape) >= 2:
        v = b * recipe.gain * np.sqrt(3.0 / (n / shape[0]))
    elif key.endswith(".weight"):
        v = 1.0 + 0.1 * b
    else:
        v = recipe.bias * b
    return v.reshape(shape)


@torch.no_grad()
def fill_(target: _T, recipe: FillRecipe | Mapping[str, Any]) -> _T:
    """Overwrite every floating-point tensor of a module (or state_dict) in place with the fill.

    Integer tensors (``num_batches_tracked``) keep their values.  Returns ``target``.
    """
    r = FillRecipe.of(recipe)
    sd = target.state_dict() if isinstance(target, nn.Module) else target
    for i, key in enumerate(sorted(sd)):
        t = sd[key]
        if t.is_floating_point():
            v = fill_values(key, tuple(t.shape), i, r)
            t.copy_(torch.from_numpy(v.astype(np.float32)))
    return target


def sine_input(shape: tuple[int, ...], lo: float, hi: float, freq: float, phase: float) -> torch.Tensor:
    """``x[j] = lo + (hi - lo) * (0.5 + 0.5*sin(freq*j + phase))`` over the row-major flat index j."""
    j = np.arange(int(np.prod(shape, dtype=np.int64)), dtype=np.float64)
    x = lo + (hi - lo) * (0.5 + 0.5 * np.sin(freq * j + phase))
    return torch.from_numpy(x.astype(np.float32).reshape(shape))


_NUM = r"(-?[0-9.]+(?:e-?[0-9]+)?)"
_FORMULA = re.compile(
    rf"x\[j\] = {_NUM} \+ \({_NUM} - {_NUM}\) \* \(0\.5 \+ 0\.5\*sin\({_NUM}\*j \+ {_NUM}\)\)")


def input_from_recipe(spec: Mapping[str, Any]) -> torch.Tensor:
    """The input a fixture describes: ``{"shape": [...], "recipe": "x[j] = lo + (hi - lo) * ..."}``."""
    m = _FORMULA.search(str(spec.get("recipe", "")))
    if m is None or "shape" not in spec:
        raise BadInputError("spec", f"not a sine-input recipe: {spec.get('recipe')!r}",
                            "Pass one entry of a fixture's 'inputs' list")
    lo, hi, _, freq, phase = (float(g) for g in m.groups())
    return sine_input(tuple(spec["shape"]), lo, hi, freq, phase)


def golden_mismatches(output: torch.Tensor, golden: Mapping[str, Any], *, rtol: float = 1e-4,
                      atol: float = 1e-4) -> list[str]:
    """Differences between ``output`` and a fixture's golden record; empty when they agree.

    Shape must match; mean, std (unbiased, ``torch.std``'s default) and sum|x| within ``rtol``
    (the mean's relative to ``max(|mean|, std)``, so a near-zero mean is not held to an absurd
    bar); each sample within ``atol + rtol*|expected|``.
    """
    x = output.detach().to(torch.float64).cpu().numpy()
    if list(x.shape) != list(golden["shape"]):
        return [f"shape {list(x.shape)} != {golden['shape']}"]
    out = []
    std = float(x.std(ddof=1)) if x.size > 1 else 0.0
    got = {"mean": float(x.mean()), "std": std, "abs_sum": float(np.abs(x).sum())}
    for name, value in got.items():
        want = float(golden[name])
        scale = max(abs(want), float(golden["std"])) if name == "mean" else abs(want)
        if abs(value - want) > rtol * scale:
            out.append(f"{name} {value!r} != {want!r}")
    flat = x.reshape(-1)
    for idx, want in golden["samples"].items():
        value = float(flat[int(idx)])
        if abs(value - want) > atol + rtol * abs(want):
            out.append(f"sample[{idx}] {value!r} != {want!r}")
    return out


def layout_mismatches(model: nn.Module, fixture: Mapping[str, Any]) -> list[str]:
    """How ``model``'s state_dict differs from a fixture's (every key with shape and dtype, and the
    parameter count, as the official checkpoint holds them); empty when the layouts agree."""
    got = {k: (list(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in model.state_dict().items()}
    want = {k: (list(v["shape"]), v["dtype"]) for k, v in fixture["state_dict"].items()}
    out = [f"missing {k} {want[k]}" for k in want.keys() - got.keys()]
    out += [f"unexpected {k} {got[k]}" for k in got.keys() - want.keys()]
    out += [f"{k}: {got[k]} != {want[k]}" for k in want.keys() & got.keys() if got[k] != want[k]]
    n = sum(p.numel() for p in model.parameters())
    if n != fixture["parameter_count"]:
        out.append(f"parameter count {n} != {fixture['parameter_count']}")
    return sorted(out)
