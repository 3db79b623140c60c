"""Named evaluation protocols: every choice that changes a THG number, fixed in one word.

Published lip-sync, fidelity and FID numbers do not reproduce mostly because each script picks its own
frame rate, audio rate, face detector, crop, alignment and JPEG round trip (cf. Parmar et al. 2022 on
resizing in FID). An :class:`EvalProtocol` fixes all of them; :func:`thglib.metrics.sync.lse`,
:func:`thglib.eval.evaluate` and ``thg eval --protocol NAME`` read the same objects, and every
:class:`~thglib.metrics.card.ProtocolCard` produced under one carries its name, so two values computed
under different protocols raise :class:`~thglib.metrics.card.ProtocolMismatch` when compared.

``thg eval --list-protocols`` prints :func:`protocol_table`. Metric modules keep the mathematics; a
protocol only chooses their arguments.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from ..errors import BadInputError

__all__ = ["EvalProtocol", "PROTOCOLS", "get_protocol", "protocol_table", "register_protocol"]


@dataclass(frozen=True)
class EvalProtocol:
    """Every preprocessing choice of an evaluation. ``fps``/``sample_rate``: what the video and audio
    are resampled to before any metric (logged when it happens); ``detector``/``landmarks``/``identity``:
    :mod:`thglib.face` backends; ``sync_crop``/``jpeg_roundtrip``/``detect_every``/``sync_scorer``: the
    arguments of :func:`thglib.metrics.sync.lse`; ``temporal_align``/``spatial_align``: what
    :mod:`thglib.eval.align` does before full-reference metrics; ``fid_extractor``/``fid_stride``: the
    set-level features (every ``fid_stride``-th frame of each clip; ``"inception-untrained"``: a seeded
    random Inception for dry runs, its results carry the untrained caveat)."""

    name: str
    summary: str
    fps: float = 25.0
    sample_rate: int = 16000
    detector: str = "dlib-hog"
    landmarks: str = "dlib"
    identity: str = "dlib"
    detect_every: int = 5
    sync_crop: Literal["none", "track"] = "track"
    jpeg_roundtrip: bool = False
    sync_scorer: str = "syncnet_v2"
    temporal_align: bool = True
    spatial_align: bool = True
    max_lag: int = 10
    ssim_border: Literal["crop", "reflect"] = "crop"
    lpips_net: Literal["alex", "vgg"] = "alex"
    fid_extractor: Literal["inception", "dlib128", "inception-untrained"] = "inception"
    fid_stride: int = 5
    source: str = ""
    cite: str = ""

    def fixes(self) -> dict[str, Any]:
        """The fields that define the protocol (everything but its name, summary, source and citation)."""
        skip = {"name", "summary", "source", "cite"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}

    def sync_kwargs(self) -> dict[str, Any]:
        """Arguments of :func:`~thglib.metrics.sync.syncnet_inputs` under this protocol."""
        return {"crop": self.sync_crop, "jpeg_roundtrip": self.jpeg_roundtrip, "every": self.detect_every,
                "backend": self.detector}

    def citation(self) -> str:
        """One sentence to put in a paper's evaluation section."""
        fixed = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.fixes().items())
        return (f"Metrics were computed with thglib's `thg eval` under the `{self.name}` protocol "
                f"({fixed}){'; ' + self.source if self.source else ''}.")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


PROTOCOLS: dict[str, EvalProtocol] = {}


def register_protocol(p: EvalProtocol) -> EvalProtocol:
    """Add ``p`` to :data:`PROTOCOLS` (a name may be registered once)."""
    if not isinstance(p, EvalProtocol):
        raise BadInputError("protocol", f"is {type(p).__name__}", "Pass an EvalProtocol")
    if p.name in PROTOCOLS and PROTOCOLS[p.name] != p:
        raise BadInputError("protocol", f"a different protocol is already called {p.name!r}",
                            "Choose another name: a protocol's name must mean one set of choices")
    PROTOCOLS[p.name] = p
    return p


register_protocol(EvalProtocol(
    "wav2lip-lrs2", "Wav2Lip's LRS2 test set: inputs are already face crops; LSE with the official "
    "JPEG round trip and SyncNet v2", sync_crop="none", jpeg_roundtrip=True, detector="s3fd", landmarks="fan",
    identity="arcface", detect_every=1, temporal_align=False, spatial_align=False,
    source="Rudrabha/Wav2Lip evaluation/ (scores_LSE/calculate_scores_LRS.py, SyncNetInstance_calc_scores.py)",
    cite="prajwal2020lip"))
register_protocol(EvalProtocol(
    "syncnet-real-videos", "syncnet_python run_pipeline.py on full frames: S3FD on every frame, smoothed track, "
    "crop scale 0.4, JPEG round trip, SyncNet v2", sync_crop="track", jpeg_roundtrip=True, detector="s3fd",
    landmarks="fan", identity="arcface", detect_every=1, temporal_align=False, spatial_align=False,
    source="joonson/syncnet_python run_pipeline.py + Wav2Lip evaluation/scores_LSE/calculate_scores_real_videos.py",
    cite="prajwal2020lip"))
register_protocol(EvalProtocol(
    "thg-default", "thglib's default for full frames: dlib detector every 5 frames, tracked crop, no JPEG, "
    "SyncNet v2, temporal and spatial alignment, Inception FID on every 5th frame",
    source="thglib.metrics.protocols", cite="prajwal2020lip; heusel2017gans"))
register_protocol(EvalProtocol(
    "thg-synth", "Offline teaching protocol for THG-Synth clips: as thg-default, but LSE by the THG-Synth "
    "sync expert and FD over dlib face descriptors (FD-dlib128); numbers are labelled as such",
    sync_scorer="thgsynth_expert", fid_extractor="dlib128", source="thglib.metrics.protocols (offline stand-ins)",
    cite="prajwal2020lip"))


def get_protocol(name: str | EvalProtocol) -> EvalProtocol:
    """The protocol called ``name`` (an :class:`EvalProtocol` passes through)."""
    if isinstance(name, EvalProtocol):
        return name
    if name not in PROTOCOLS:
        raise BadInputError("protocol", f"unknown protocol {name!r}",
                            f"Use one of {sorted(PROTOCOLS)} (thg eval --list-protocols says what each fixes)")
    return PROTOCOLS[name]


def protocol_table() -> str:
    """A plain-text table: one block per protocol with what it fixes."""
    out = []
    for p in PROTOCOLS.values():
        out.append(f"{p.name}: {p.summary}")
        out += [f"    {k:<15} {v}" for k, v in p.fixes().items()]
        if p.source:
            out.append(f"    {'source':<15} {p.source}")
    return "\n".join(out)
