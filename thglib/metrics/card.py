"""Metric results with a protocol card.

A number such as "FID 12.3" means little without its protocol: which implementation, colour
space, crop, resize, data range, feature extractor (and its weights), and how many samples.
Every metric in :mod:`thglib.metrics` returns a :class:`MetricResult` whose
:class:`ProtocolCard` records these; printing a result prints the card, and comparing two results
whose protocols differ raises :class:`ProtocolMismatch` instead of silently comparing them.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import THGError

__all__ = ["ProtocolCard", "MetricResult", "ProtocolMismatch", "library_versions", "UNTRAINED_TAG",
           "untrained_name"]

#: Appended to the *name* of every metric computed with untrained or stand-in weights, so the name
#: alone (a table column, a plot legend, a CSV row) never passes such a number off as the real metric.
UNTRAINED_TAG = " (untrained)"


def untrained_name(metric: str, untrained: bool = True) -> str:
    """``metric`` + :data:`UNTRAINED_TAG` when ``untrained`` (idempotent), e.g. ``"LPIPS-alex (untrained)"``."""
    if not untrained or metric.endswith(UNTRAINED_TAG):
        return metric
    return metric + UNTRAINED_TAG

_VERSIONED = ("thglib", "numpy", "torch", "scikit-image", "torchmetrics", "lpips", "pytorch-fid", "dlib-bin")


def library_versions(names: tuple[str, ...] = _VERSIONED) -> dict[str, str]:
    """Installed versions of the libraries a metric may depend on (missing ones are left out)."""
    return dict(_versions(names))


@lru_cache(maxsize=8)
def _versions(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Reading package metadata costs tens of milliseconds: once per process is enough."""
    out = {}
    for n in names:
        try:
            out[n] = importlib.metadata.version(n)
        except importlib.metadata.PackageNotFoundError:
            pass
    return tuple(out.items())


class ProtocolMismatch(THGError, ValueError):
    """Two metric values were computed under different protocols and cannot be compared."""


@dataclass(frozen=True)
class ProtocolCard:
    """How a metric value was computed. Fields other than ``samples``, ``notes`` and ``versions``
    define the protocol: two values are comparable only when these agree."""

    metric: str
    implementation: str
    colour_space: str = "RGB"
    crop: str = "none (full frame)"
    resize: str = "none"
    data_range: float | None = None
    extractor: str | None = None
    weights: str | None = None  # name and SHA-256 of the extractor's weights, or "untrained"
    caveat: str = ""  # e.g. "untrained backbone: illustrates mechanics only"
    eval_protocol: str = ""  # name of the evaluation protocol (thglib.metrics.protocols), "" when none was named
    samples: int | None = None
    notes: str = ""
    versions: dict[str, str] = field(default_factory=library_versions, compare=False)

    def protocol(self) -> tuple:
        """The fields that must agree for two values to be comparable."""
        skip = {"samples", "notes", "versions"}
        return tuple(getattr(self, f.name) for f in fields(self) if f.name not in skip)

    def with_(self, **changes: Any) -> ProtocolCard:
        """A copy with some fields changed (the card is frozen), e.g. ``card.with_(samples=10)``."""
        return replace(self, **changes)

    def __str__(self) -> str:
        rows = [(k, v) for k, v in asdict(self).items() if v not in (None, "", {}) and k != "versions"]
        rows.append(("versions", ", ".join(f"{k} {v}" for k, v in self.versions.items())))
        width = max(len(k) for k, _ in rows)
        lines = [f"  {k.replace('_', ' '):<{width}}  {v}" for k, v in rows]
        head = "Protocol card" + (f"  [!] {self.caveat.upper()}" if self.caveat else "")
        return "\n".join([head, *lines])


@dataclass
class MetricResult:
    """A metric value, its per-frame values where they exist, and its protocol card."""

    value: float
    card: ProtocolCard
    higher_is_better: bool
    per_frame: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.card.metric

    def __float__(self) -> float:
        return float(self.value)

    def label(self) -> str:
        """Short label for plots and tables, e.g. ``'PSNR ↑ (untrained backbone…)'``."""
        arrow = "↑" if self.higher_is_better else "↓"
        return f"{self.name} {arrow}" + (f" ({self.card.caveat})" if self.card.caveat else "")

    def check_comparable(self, other: MetricResult) -> None:
        """Raise :class:`ProtocolMismatch` unless both values share one protocol."""
        if self.card.protocol() != other.card.protocol():
            diff = [f.name for f in fields(self.card) if f.name not in {"samples", "notes", "versions"}
                    and getattr(self.card, f.name) != getattr(other.card, f.name)]
            raise ProtocolMismatch(f"{self.name} values computed under different protocols "
                                   f"(differ in: {', '.join(diff)}); recompute one of them with the "
                                   f"other's settings before comparing")

    def better_than(self, other: MetricResult) -> bool:
        """True when this value is better than ``other``'s (same protocol required)."""
        self.check_comparable(other)
        return self.value > other.value if self.higher_is_better else self.value < other.value

    def __str__(self) -> str:
        n = "" if self.per_frame is None else f" (mean over {len(self.per_frame)} frames)"
        return f"{self.label()} = {self.value:.6g}{n}\n{self.card}"

    def _repr_markdown_(self) -> str:
        return "```text\n" + str(self) + "\n```"
