"""Sentences of the GRID audio-visual corpus grammar (Cooke et al. 2006), drawn reproducibly.

Every GRID sentence has six words, one from each slot, e.g. "bin blue at F two now":

    command  colour  preposition  letter        digit       adverb
    bin      blue    at           A-Z minus W   zero-nine   again
    lay      green   by                                     now
    place    red     in                                     please
    set      white   with                                   soon

that is 4 * 4 * 4 * 25 * 10 * 4 = 64,000 sentences. Letters are written as capitals; a few are
respelled for the speech synthesiser, which would otherwise read "A" as the article (schwa) and
"I" as the unstressed pronoun.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BadInputError

__all__ = ["GRID_SLOTS", "GridSentence", "grid_sentence", "grid_sentences"]

GRID_SLOTS: dict[str, tuple[str, ...]] = {
    "command": ("bin", "lay", "place", "set"),
    "colour": ("blue", "green", "red", "white"),
    "preposition": ("at", "by", "in", "with"),
    "letter": tuple("ABCDEFGHIJKLMNOPQRSTUVXYZ"),
    "digit": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "adverb": ("again", "now", "please", "soon"),
}
_SPOKEN_LETTER = {"A": "eh", "I": "eye"}  # eSpeak reads the bare capitals as words, not letter names


@dataclass(frozen=True)
class GridSentence:
    """One GRID sentence: its six words (``words``), the transcript and what the synthesiser reads."""

    words: tuple[str, ...]

    @property
    def text(self) -> str:
        """The transcript, e.g. ``"bin blue at F two now"``."""
        return " ".join(self.words)

    @property
    def spoken(self) -> str:
        """The text given to the speech synthesiser (letters respelled where needed)."""
        return " ".join(_SPOKEN_LETTER.get(w, w) for w in self.words)


def grid_sentence(seed: int) -> GridSentence:
    """The GRID sentence drawn by ``numpy.random.default_rng(seed)``: one uniform choice per slot."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise BadInputError("seed", f"must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    return GridSentence(tuple(str(words[rng.integers(len(words))]) for words in GRID_SLOTS.values()))


def grid_sentences(n: int, seed: int = 0) -> list[GridSentence]:
    """``n`` sentences, the ``i``-th being :func:`grid_sentence` ``(seed + i)``."""
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise BadInputError("n", f"must be a non-negative integer, got {n!r}")
    return [grid_sentence(seed + i) for i in range(n)]
