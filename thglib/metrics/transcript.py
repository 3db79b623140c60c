"""WER and CER: how much of what was said a recogniser can read back from a video.

``WER = (S + D + I) / N``: the word-level Levenshtein alignment of the hypothesis to the reference
(``S`` substitutions, ``D`` deletions, ``I`` insertions, ``N`` reference words), summed over all
utterances before dividing (corpus WER, as ``jiwer`` computes it); CER is the same over characters.
The numbers come from ``jiwer`` (``process_words`` / ``process_characters``); thglib adds an
explicit text normalisation and records which **recogniser** produced the hypothesis (a
lip-reading model on the video, a speech recogniser on the audio, or none: given transcripts)
— a WER means nothing without it.

Normalisation (:func:`normalise_text`): Unicode NFKC, lower case, numbers written as words
(``num2words``, English by default: "42" → "forty two", "1,500" → "one thousand five hundred",
"10.30" → "ten point three zero", "1.2.3" → "one point two point three"), hyphens to spaces, punctuation removed
(apostrophes inside words kept: "don't"), whitespace collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import BackendUnavailable, BadInputError, WeightsUnavailable
from .card import MetricResult, ProtocolCard

__all__ = ["Recogniser", "normalise_text", "wer", "cer", "transcribe", "hf_recogniser"]

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")   # 1,500 or 12,345.5


class Recogniser(Protocol):
    """Anything that turns a media file into a transcript and says what it is (``name``)."""

    name: str

    def __call__(self, media: str | Path) -> str: ...


def _number_words(match: re.Match[str], lang: str) -> str:
    """A number as it is read aloud: digits after a single decimal point one by one (zeros kept),
    other dotted or comma-separated groups (versions, dates, decimal commas) group by group."""
    from num2words import num2words

    token = match.group(0)
    if _THOUSANDS.fullmatch(token):
        token = token.replace(",", "")
    say = lambda digits: num2words(int(digits), lang=lang)  # noqa: E731
    if token.count(".") == 1 and "," not in token:
        whole, frac = token.split(".")
        return f" {say(whole)} point {' '.join(say(d) for d in frac)} "
    parts = re.split(r"([.,])", token)
    return " " + " ".join(say(p) if p not in ".," else ("point" if p == "." else "") for p in parts) + " "


def normalise_text(text: str, *, numbers: bool = True, lang: str = "en") -> str:
    """Lower-cased, number-spelled, punctuation-free text with single spaces (see the module docstring)."""
    if not isinstance(text, str):
        raise BadInputError("text", f"expected a string, got {type(text).__name__}")
    s = unicodedata.normalize("NFKC", text).lower()
    if numbers and _NUMBER.search(s):
        try:
            s = _NUMBER.sub(lambda m: _number_words(m, lang), s)
        except ImportError:
            raise BackendUnavailable("num2words", "pip install num2words  (or pass numbers=False)") from None
    s = s.replace("-", " ")
    s = re.sub(r"[^\w\s']|_", " ", s)  # punctuation (keep letters, digits, apostrophes)
    s = re.sub(r"(?<!\w)'|'(?!\w)", " ", s)  # apostrophes that are quotes, not inside a word
    return " ".join(s.split())


def _texts(x: str | Sequence[str], name: str) -> list[str]:
    from ..validate import texts

    return texts(x, name)


def _rate(kind: str, reference: str | Sequence[str], hypothesis: str | Sequence[str], normalise: bool,
          numbers: bool, recogniser: str) -> MetricResult:
    import jiwer

    ref, hyp = _texts(reference, "reference"), _texts(hypothesis, "hypothesis")
    if len(ref) != len(hyp):
        raise BadInputError("hypothesis", f"{len(hyp)} hypotheses for {len(ref)} references", "Pass one per utterance")
    if normalise:
        ref, hyp = [normalise_text(t, numbers=numbers) for t in ref], [normalise_text(t, numbers=numbers) for t in hyp]
    if any(not t.strip() for t in ref):
        raise BadInputError("reference", "an utterance is empty (after normalisation)", "Drop empty references")
    out = jiwer.process_words(ref, hyp) if kind == "WER" else jiwer.process_characters(ref, hyp)
    value = out.wer if kind == "WER" else out.cer
    per = np.array([(jiwer.wer if kind == "WER" else jiwer.cer)(r, h) for r, h in zip(ref, hyp)])
    norm = f"normalise_text(numbers={numbers})" if normalise else "none (raw text)"
    card = ProtocolCard(metric=kind, implementation=f"jiwer process_{'words' if kind == 'WER' else 'characters'} "
                        "(corpus rate: errors summed over utterances / reference length)",
                        extractor=f"recogniser: {recogniser}", colour_space="n/a", crop="n/a", resize="n/a",
                        samples=len(ref),
                        notes=f"text normalisation: {norm}")
    counts = {"substitutions": out.substitutions, "deletions": out.deletions, "insertions": out.insertions,
              "hits": out.hits}
    return MetricResult(float(value), card, higher_is_better=False,
                        extra={**counts, "per_utterance": per, "reference": ref, "hypothesis": hyp, "alignment": out})


def wer(reference: str | Sequence[str], hypothesis: str | Sequence[str], *, normalise: bool = True,
        numbers: bool = True, recogniser: str = "none (given transcripts)") -> MetricResult:
    """Word error rate (lower is better); ``extra["per_utterance"]`` holds each utterance's own WER.

    ``recogniser`` names what produced ``hypothesis`` (it goes into the card); use :func:`transcribe`
    to run one. ``extra`` has the S/D/I/hit counts and the jiwer alignment.
    """
    return _rate("WER", reference, hypothesis, normalise, numbers, recogniser)


def cer(reference: str | Sequence[str], hypothesis: str | Sequence[str], *, normalise: bool = True,
        numbers: bool = True, recogniser: str = "none (given transcripts)") -> MetricResult:
    """Character error rate (spaces count as characters), as :func:`wer` otherwise."""
    return _rate("CER", reference, hypothesis, normalise, numbers, recogniser)


def transcribe(media: str | Path | Sequence[str | Path], recogniser: Recogniser | Callable[[str | Path], str],
               name: str | None = None) -> tuple[list[str], str]:
    """Run ``recogniser`` on each media file: ``(transcripts, recogniser name)`` for :func:`wer`'s ``recogniser=``."""
    if not isinstance(media, (str, Path)) and not (isinstance(media, Sequence) and not isinstance(media, bytes)):
        raise BadInputError("media", f"is {type(media).__name__}", "Pass a file path or a list of file paths")
    files = [media] if isinstance(media, (str, Path)) else list(media)
    if not callable(recogniser):
        raise BadInputError("recogniser", f"is {type(recogniser).__name__}, not callable",
                            "Pass a function path -> transcript, e.g. hf_recogniser()")
    label = name or getattr(recogniser, "name", None)
    if not label:
        raise BadInputError("name", "the recogniser has no name", "Pass name='model and weights used'")
    for f in files:
        if not isinstance(f, (str, Path)) or not Path(f).is_file():
            raise BadInputError(f"'{f}'", "is not a file", "Pass paths of video or audio files")
    return [str(recogniser(f)) for f in files], label


class _HFRecogniser:
    """A ``transformers`` speech-recognition pipeline on a file's audio (16 kHz mono)."""

    def __init__(self, model: str, device: str) -> None:
        try:
            from transformers import pipeline
        except ImportError:
            raise BackendUnavailable("transformers", "pip install transformers") from None
        try:
            self._pipe = pipeline("automatic-speech-recognition", model=model, device=device)
        except OSError as e:  # the hub could not be reached and the model is not cached
            raise WeightsUnavailable(model, f"https://huggingface.co/{model}", "the Hugging Face cache ($HF_HOME)",
                                     str(e), instead="or pass a local folder holding the downloaded model as the "
                                     "`model=` argument of hf_recogniser (transformers loads a folder as a model).",
                                     arg="model") from None
        self.name = f"{model} (transformers ASR pipeline, audio track at 16 kHz)"

    def __call__(self, media: str | Path) -> str:
        from ..io import load_audio

        audio, sr = load_audio(media, sr=16000)
        return str(self._pipe({"raw": np.asarray(audio, np.float32), "sampling_rate": sr})["text"])


def hf_recogniser(model: str = "openai/whisper-small", device: str = "cpu") -> Recogniser:
    """A speech recogniser from the Hugging Face hub (needs ``transformers`` and network or a cache).

    Raises :class:`~thglib.errors.BackendUnavailable` without ``transformers`` and
    :class:`~thglib.errors.WeightsUnavailable` when the model cannot be loaded.
    """
    return _HFRecogniser(model, device)
