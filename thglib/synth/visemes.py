"""Phonemes to visemes to mouth parameters, with coarticulation.

A *viseme* is the visible mouth shape of a group of phonemes. We use the 15 visemes of the MPEG-4
facial-animation standard as adopted by the Oculus (Meta) Lipsync SDK: ``sil`` (rest), ``PP``
(p b m), ``FF`` (f v), ``TH`` (th), ``DD`` (t d), ``kk`` (k g ng), ``CH`` (ch j sh zh), ``SS`` (s z),
``nn`` (n l), ``RR`` (r), and the vowels ``aa`` (father), ``E`` (bed), ``ih`` (tip), ``oh`` (toe),
``ou`` (book). Diphthongs become two visemes (``aI`` = ``aa`` then ``ih``).

Each viseme has a target for four mouth parameters (:data:`MOUTH_PARAMS`), lengths in units of the
inter-ocular distance (IOD):

* ``open``: gap between the inner lips at the midline (IOD); 0 = lips touching;
* ``width``: relative change of mouth width (+0.1 = 10 % wider, spread lips);
* ``round``: lip rounding/protrusion in [0, 1] (narrows the mouth, pouts the lips);
* ``raise``: upper-lip raise (IOD).

Coarticulation follows the dominance model of Cohen & Massaro (1993): segment ``i`` (centre
``u_i``, duration ``Δu_i``, in seconds) pulls each parameter toward its target ``F*_i`` (scaled by
the stress weight ``w_i``) with dominance ``Ω_i(u) = α_i exp(−k_i η max(|u − u_i| − Δu_i/4, 0))``,
and the trajectory is the dominance-weighted mean ``F(u) = Σ_i Ω_i(u) w_i F*_i / Σ_i Ω_i(u)``.
Lip-critical visemes (``PP``, ``FF``, rounded ``ou``) get a large ``α_i`` (and ``PP``, ``FF`` a
fast decay ``k_i > 1``), so a /p/ nearly closes the lips even between open vowels without
flattening them, whereas tongue consonants (``DD``, ``kk``, ``nn``) get a small one and take their
neighbours' shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import BadInputError
from ..tts import PAUSE, Phoneme

__all__ = ["VISEMES", "MOUTH_PARAMS", "VISEME_TARGETS", "VISEME_DOMINANCE", "VISEME_SHARPNESS", "PHONEME_VISEMES",
           "VisemeSegment", "phoneme_visemes", "viseme_segments", "coarticulate", "frame_visemes"]

VISEMES: tuple[str, ...] = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR",
                            "aa", "E", "ih", "oh", "ou")
MOUTH_PARAMS: tuple[str, ...] = ("open", "width", "round", "raise")

#: target (open, width, round, raise) of each viseme
VISEME_TARGETS: dict[str, tuple[float, float, float, float]] = {
    "sil": (0.00, 0.00, 0.0, 0.00), "PP": (0.00, -0.02, 0.0, 0.00), "FF": (0.02, 0.00, 0.0, 0.02),
    "TH": (0.08, 0.02, 0.0, 0.02), "DD": (0.09, 0.03, 0.0, 0.01), "kk": (0.11, 0.02, 0.0, 0.00),
    "CH": (0.07, -0.08, 0.7, 0.04), "SS": (0.04, 0.05, 0.0, 0.02), "nn": (0.08, 0.02, 0.0, 0.00),
    "RR": (0.08, -0.05, 0.5, 0.02), "aa": (0.30, 0.03, 0.0, 0.03), "E": (0.18, 0.07, 0.0, 0.03),
    "ih": (0.10, 0.10, 0.0, 0.02), "oh": (0.22, -0.07, 0.7, 0.02), "ou": (0.10, -0.12, 1.0, 0.02),
}
#: dominance magnitude ``α_i`` of each viseme (how strongly it resists coarticulation)
VISEME_DOMINANCE: dict[str, float] = {
    "sil": 1.2, "PP": 8.0, "FF": 4.0, "TH": 0.8, "DD": 0.6, "kk": 0.5, "CH": 1.5, "SS": 1.0,
    "nn": 0.6, "RR": 1.0, "aa": 1.0, "E": 1.0, "ih": 1.0, "oh": 1.2, "ou": 1.5,
}
#: decay-rate multiplier ``k_i`` of each viseme's dominance (> 1: strong but brief, as a lip closure)
VISEME_SHARPNESS: dict[str, float] = {v: {"PP": 2.0, "FF": 1.5}.get(v, 1.0) for v in VISEME_DOMINANCE}
#: eSpeak NG English phoneme mnemonics (stress marks removed) to one or two visemes
PHONEME_VISEMES: dict[str, tuple[str, ...]] = {
    **{p: ("PP",) for p in ("p", "b", "m")}, **{p: ("FF",) for p in ("f", "v")},
    **{p: ("TH",) for p in ("T", "D")}, **{p: ("DD",) for p in ("t", "d", "t#", "d#", "t2", "d2")},
    **{p: ("kk",) for p in ("k", "g", "N", "x")}, **{p: ("CH",) for p in ("tS", "dZ", "S", "Z")},
    **{p: ("SS",) for p in ("s", "z")}, **{p: ("nn",) for p in ("n", "l", "n-", "l/", "@L", "L")},
    **{p: ("RR",) for p in ("r", "r-", "3:", "3")}, "w": ("ou",), "j": ("ih",), ";": ("ih",),
    **{p: ("aa",) for p in ("a", "a#", "aa", "a2", "A:", "A@", "A", "V", "0")},
    **{p: ("E",) for p in ("E", "e", "E2", "E3", "e@", "@", "@2", "@5")},
    **{p: ("ih",) for p in ("I", "i", "i:", "I#", "I2", "y")},
    **{p: ("oh",) for p in ("O", "O:", "O@", "o@", "O2", "o")},
    **{p: ("ou",) for p in ("u:", "U", "U@", "u@", "u")},
    "aI": ("aa", "ih"), "aI@": ("aa", "ih"), "aI3": ("aa", "ih"), "aU": ("aa", "ou"),
    "eI": ("E", "ih"), "oU": ("oh", "ou"), "OI": ("oh", "ih"), "i@": ("ih", "E"), "i@3": ("ih", "E"),
}
_TRANSPARENT = {"h", "?"}  # no lip shape of their own: take the next segment's viseme
_VOWEL_VISEMES = {"aa", "E", "ih", "oh", "ou"}
_STRESS_WEIGHT = {"'": 1.0, ",": 0.9, "": 0.75}  # vowel target scale by stress mark
_PAUSE_CHUNK_S = 0.08  # long pauses are split so silence dominates all through them


@dataclass(frozen=True)
class VisemeSegment:
    """A viseme spanning ``[start_s, end_s)`` seconds, from ``phoneme``; ``weight`` ``w_i`` scales its target."""

    viseme: str
    start_s: float
    end_s: float
    phoneme: str = ""
    weight: float = 1.0


def _fallback(symbol: str) -> tuple[str, ...]:
    """Viseme of a mnemonic missing from the table, from its first letter (other eSpeak languages)."""
    for letters, vis in (("aAV", "aa"), ("eE@3", "E"), ("iIy", "ih"), ("oO0", "oh"), ("uUw", "ou")):
        if symbol[:1] in letters:
            return (vis,)
    return ("DD",)


def phoneme_visemes(symbol: str) -> tuple[str, ...]:
    """Visemes of one eSpeak phoneme symbol: stress marks dropped, then :data:`PHONEME_VISEMES`.

    Unknown symbols are retried without trailing length/variant marks (``#:;0-9/-``), then
    classified by their first letter. The pause ``"_"`` is ``("sil",)``; ``;`` alone is the /j/-like
    glide eSpeak inserts between vowels ("three-y-again").
    """
    sym = symbol.lstrip("',%=")
    if not sym or sym.startswith(PAUSE):
        return ("sil",)
    while sym:
        if sym in PHONEME_VISEMES:
            return PHONEME_VISEMES[sym]
        if sym[-1] not in "#:;0123456789/-":
            break
        sym = sym[:-1]
    return _fallback(sym or symbol.lstrip("',%="))


def _split(seg: VisemeSegment, n: int) -> list[VisemeSegment]:
    edges = np.linspace(seg.start_s, seg.end_s, n + 1)
    return [VisemeSegment(seg.viseme, float(a), float(b), seg.phoneme, seg.weight)
            for a, b in zip(edges[:-1], edges[1:])]


def _segments_of(p: Phoneme) -> list[VisemeSegment]:
    """One phoneme as viseme segments: diphthongs split 60/40, long pauses cut into short chunks."""
    vis = phoneme_visemes(p.symbol)
    if vis == ("sil",):
        n = max(1, int(np.ceil((p.end_s - p.start_s) / _PAUSE_CHUNK_S - 1e-9)))
        return _split(VisemeSegment("sil", p.start_s, p.end_s, p.symbol), n)
    w = _STRESS_WEIGHT.get(p.symbol[:1] if p.symbol[:1] in "'," else "", 1.0)
    if len(vis) == 1:
        return [VisemeSegment(vis[0], p.start_s, p.end_s, p.symbol, w if vis[0] in _VOWEL_VISEMES else 1.0)]
    mid = p.start_s + 0.6 * (p.end_s - p.start_s)
    return [VisemeSegment(vis[0], p.start_s, mid, p.symbol, w), VisemeSegment(vis[1], mid, p.end_s, p.symbol, w)]


def viseme_segments(phonemes: Sequence[Phoneme]) -> list[VisemeSegment]:
    """Viseme segments of a phoneme sequence (``thglib.tts.Speech.phonemes``), in time order.

    ``h`` and the glottal stop take the viseme of the following segment (their lips anticipate it).
    """
    segs = [s for p in phonemes if p.end_s > p.start_s for s in _segments_of(p)]
    for i in range(len(segs) - 1, -1, -1):
        if segs[i].phoneme.lstrip("',") in _TRANSPARENT:
            nxt = segs[i + 1] if i + 1 < len(segs) else None
            vis, w = (nxt.viseme, nxt.weight) if nxt else ("sil", 1.0)
            segs[i] = VisemeSegment(vis, segs[i].start_s, segs[i].end_s, segs[i].phoneme, w)
    return segs


def coarticulate(segments: Sequence[VisemeSegment], times: np.ndarray, theta: float = 20.0) -> np.ndarray:
    """Mouth parameters ``(len(times), 4)`` at ``times`` (s) by Cohen–Massaro dominance blending.

    ``F(u) = Σ_i Ω_i(u) w_i F*_i / Σ_i Ω_i(u)`` with ``Ω_i(u) = α_i exp(−k_i η max(|u − u_i| − Δu_i/4, 0))``
    at ``u`` = ``times``; decay rate η (parameter ``theta``) in 1/s, larger = crisper.
    """
    if not segments:
        raise BadInputError("segments", "is empty", "Pass the viseme_segments of some speech")
    t = np.asarray(times, dtype=np.float64)[:, None]
    start = np.array([s.start_s for s in segments])
    end = np.array([s.end_s for s in segments])
    alpha = np.array([VISEME_DOMINANCE[s.viseme] for s in segments])
    rate = theta * np.array([VISEME_SHARPNESS[s.viseme] for s in segments])
    target = np.array([VISEME_TARGETS[s.viseme] for s in segments]) * np.array([s.weight for s in segments])[:, None]
    tau = np.maximum(np.abs(t - (start + end) / 2) - (end - start) / 4, 0.0)
    dom = alpha * np.exp(-rate * tau)  # Ω: (times, segments)
    return (dom @ target / dom.sum(axis=1, keepdims=True)).astype(np.float32)


def frame_visemes(segments: Sequence[VisemeSegment], times: np.ndarray) -> np.ndarray:
    """Index into :data:`VISEMES` of the segment covering each time (``sil`` outside all segments)."""
    t = np.asarray(times, dtype=np.float64)
    out = np.zeros(t.shape, dtype=np.int8)
    for s in segments:
        out[(t >= s.start_s) & (t < s.end_s)] = VISEMES.index(s.viseme)
    return out
