"""Offline English text-to-speech with phoneme and word timings (eSpeak NG).

Talking-head demos need speech whose phonemes we know the timing of. eSpeak NG is a small formant
synthesiser (robotic, but small, fast and fully offline); the ``espeakng-loader`` wheel ships its
shared library and ``espeak-ng-data``, so no system install or network is needed.

We drive the C API (``speak_lib.h`` of https://github.com/espeak-ng/espeak-ng) through ctypes:
``espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, ..., espeakINITIALIZE_PHONEME_EVENTS)`` makes
``espeak_Synth`` call back with 16-bit audio at 22050 Hz and a list of events (word, sentence,
phoneme, end) each stamped with its sample index. eSpeak keeps global state, so one lock guards it.

Phoneme symbols are eSpeak's ASCII mnemonics (e.g. ``h @ l 'oU``; a leading ``'`` or ``,`` marks
primary/secondary stress). eSpeak's pause phonemes ``_`` and ``_:`` (commas, full stops, sentence
ends) and the silence before the first phoneme are reported as one symbol, :data:`PAUSE` (``"_"``).

Caveat: libespeak-ng has one global state per process, which :func:`synthesize` reloads on every call
(see :func:`_engine`). Another package driving the same library in this process (e.g. phonemizer)
would keep it loaded and share that state; call :func:`synthesize` from one place.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .errors import BackendUnavailable, BadInputError

__all__ = ["PAUSE", "Phoneme", "Word", "Speech", "synthesize", "list_voices"]

PAUSE = "_"  #: symbol of pause/silence segments in :attr:`Speech.phonemes`

_EV_END_OF_LIST, _EV_WORD, _EV_PHONEME = 0, 1, 7
_AUDIO_OUTPUT_SYNCHRONOUS, _POS_CHARACTER, _CHARS_UTF8, _PARAM_RATE = 2, 1, 1, 1
_INIT_PHONEME_EVENTS, _INIT_DONT_EXIT = 0x0001, 0x8000
_RATE_MIN, _RATE_MAX = 80, 450  # espeakRATE_MINIMUM / MAXIMUM, words per minute


@dataclass(frozen=True)
class Phoneme:
    """One phoneme (or pause, symbol ``"_"``) spanning ``[start_s, end_s)`` seconds of the audio."""

    symbol: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Word:
    """A word of the input spanning ``[start_s, end_s)`` s (end = next pause or word).

    ``text`` is the span of the input eSpeak reports for the word; numbers that expand into several
    spoken words give several entries pointing into the same digits.
    """

    text: str
    start_s: float
    end_s: float


@dataclass
class Speech:
    """Synthesised speech: mono float32 ``audio`` in [-1, 1] at ``sample_rate`` plus timings."""

    audio: np.ndarray
    sample_rate: int
    phonemes: list[Phoneme]
    words: list[Word] = field(default_factory=list)
    text: str = ""
    voice: str = ""
    rate: int = 0

    @property
    def duration_s(self) -> float:
        """Length of :attr:`audio` in seconds."""
        return len(self.audio) / self.sample_rate


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT`` of speak_lib.h."""

    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


class _Voice(ctypes.Structure):
    """``espeak_VOICE`` of speak_lib.h."""

    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_char_p),
                ("identifier", ctypes.c_char_p), ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte),
                ("variant", ctypes.c_ubyte), ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int),
                ("spare", ctypes.c_void_p)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


class _Engine:
    """The process-wide eSpeak NG instance; use only while holding :data:`_LOCK`."""

    def __init__(self) -> None:
        try:
            import espeakng_loader

            self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
            data = espeakng_loader.get_data_path()
        except (ImportError, OSError, RuntimeError) as exc:
            raise BackendUnavailable("espeak-ng", f"pip install espeakng-loader  ({exc})") from exc
        lib = self.lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        self.sample_rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 200, data.encode(),
                                                 _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT)
        if self.sample_rate <= 0:
            raise BackendUnavailable("espeak-ng", f"reinstall espeakng-loader (initialisation failed, data={data})")
        self.chunks: list[np.ndarray] = []
        self.events: list[tuple[int, int, int, int, bytes]] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: C holds only the pointer
        lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, n_samples, events) -> int:  # noqa: ANN001 (ctypes pointers)
        """Synth callback: store the samples and the (type, sample, text_pos, length, name) events."""
        if n_samples > 0 and wav:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
        i = 0
        while events[i].type != _EV_END_OF_LIST:
            ev = events[i]
            name = bytes(ev.id.string).split(b"\0")[0] if ev.type == _EV_PHONEME else b""
            self.events.append((ev.type, ev.sample, ev.text_position, ev.length, name))
            i += 1
        return 0  # 0 = continue synthesis

    def voices(self) -> dict[str, str]:
        """Map each voice's language code (e.g. ``'en-gb'``) to its identifier (``'gmw/en'``)."""
        if not hasattr(self, "_voices"):
            table, i, self._voices = self.lib.espeak_ListVoices(None), 0, {}
            while table[i]:
                v = table[i].contents  # languages: priority byte, then the code
                self._voices.setdefault(v.languages[1:].decode().lower(), v.identifier.decode())
                i += 1
        return self._voices

    def speak(self, text: str, voice: str, rate: int) -> tuple[np.ndarray, list]:
        """Synthesise ``text``; return int16 samples and the collected events."""
        base, plus, variant = voice.partition("+")
        ident = self.voices().get(base.lower(), base) + plus + variant
        if self.lib.espeak_SetVoiceByName(ident.encode()) != 0:
            raise BadInputError("voice", f"eSpeak NG has no voice '{voice}'",
                                "Pick one from thglib.tts.list_voices(), e.g. 'en-us' or 'en-gb'")
        self.lib.espeak_SetParameter(_PARAM_RATE, int(rate), 0)
        self.chunks, self.events = [], []
        raw = text.encode("utf-8") + b"\0"
        if self.lib.espeak_Synth(raw, len(raw), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None) != 0:
            raise BadInputError("text", "eSpeak NG refused to synthesise it", "Try shorter plain text")
        self.lib.espeak_Synchronize()
        audio = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.int16)
        return audio, self.events


_LOCK = threading.Lock()


@contextmanager
def _engine() -> Iterator[_Engine]:
    """A freshly loaded eSpeak NG (call with :data:`_LOCK` held).

    eSpeak keeps synthesis state (pitch jitter) in static variables that survive
    ``espeak_Terminate``, so the same text spoken twice in one process differs by milliseconds.
    Unloading the library (``dlclose``) after each use and loading it again resets that state, which
    makes :func:`synthesize` deterministic: same text, voice and rate → identical samples. Loading
    costs ~30 ms.
    """
    engine = _Engine()
    try:
        yield engine
    finally:
        engine.lib.espeak_Terminate()
        handle = engine.lib._handle
        del engine
        try:
            import _ctypes

            _ctypes.dlclose(handle)
        except (ImportError, AttributeError, OSError):  # pragma: no cover - non-POSIX platforms
            pass


def _phonemes(events: list, n_samples: int, native_sr: int) -> list[Phoneme]:
    """Phoneme segments from events: each ends where the next starts; pauses merged into ``"_"``."""
    marks: list[tuple[int, str]] = [(0, PAUSE)]
    for kind, sample, _pos, _len, name in events:
        if kind != _EV_PHONEME or sample >= n_samples:
            continue
        symbol = PAUSE if name.startswith(b"_") else name.decode("utf-8", "replace")
        if sample <= marks[-1][0]:
            marks[-1] = (marks[-1][0], symbol)  # zero-length segment: the later event wins
        elif symbol != PAUSE or marks[-1][1] != PAUSE:
            marks.append((sample, symbol))
    ends = [s for s, _ in marks[1:]] + [n_samples]
    return [Phoneme(sym, s / native_sr, e / native_sr) for (s, sym), e in zip(marks, ends)]


def _words(text: str, events: list, phonemes: list[Phoneme], native_sr: int) -> list[Word]:
    """Word segments: WORD events give start and text span; a word ends at the next pause or word."""
    starts = [(sample / native_sr, pos, length) for kind, sample, pos, length, _ in events if kind == _EV_WORD]
    pauses = [p.start_s for p in phonemes if p.symbol == PAUSE]
    end_audio = phonemes[-1].end_s if phonemes else 0.0
    words = []
    for i, (t, pos, length) in enumerate(starts):
        nxt = starts[i + 1][0] if i + 1 < len(starts) else end_audio
        end = min([nxt] + [p for p in pauses if p > t])
        words.append(Word(text[pos - 1:pos - 1 + length], t, max(end, t)))
    return words


def synthesize(text: str, *, voice: str = "en-us", rate: int = 160, sr: int = 16000) -> Speech:
    """Speak ``text`` with eSpeak NG; return audio at ``sr`` Hz with phoneme and word timings.

    ``voice`` is an eSpeak voice name (``list_voices()``; variants like ``"en-us+f3"`` work),
    ``rate`` is in words per minute (80–450). Audio is synthesised at 22050 Hz and resampled with
    soxr; timings are in seconds and do not depend on ``sr``. Deterministic: the same
    arguments give identical samples and timings (eSpeak is reloaded for every call).
    """
    if not isinstance(text, str) or not text.strip():
        raise BadInputError("text", "is empty", "Pass at least one word to speak")
    if not isinstance(voice, str) or not voice:
        raise BadInputError("voice", f"must be a voice name, got {voice!r}", "See thglib.tts.list_voices()")
    from .validate import count, sample_rate

    count(rate, "rate", lo=_RATE_MIN, hi=_RATE_MAX, fix=f"Pass a speaking rate of {_RATE_MIN}..{_RATE_MAX} words "
          "per minute (eSpeak's range), e.g. 160")
    sample_rate(sr, "sr")
    with _LOCK, _engine() as engine:
        pcm, events = engine.speak(text, voice, int(rate))
        native = engine.sample_rate
    audio = pcm.astype(np.float32) / 32768.0
    if sr != native:
        import soxr

        audio = soxr.resample(audio, native, sr)
    phonemes = _phonemes(events, len(pcm), native)
    if all(p.symbol == PAUSE for p in phonemes):
        raise BadInputError("text", f"{text!r} has nothing eSpeak can pronounce", "Pass words to speak")
    return Speech(audio=np.clip(audio, -1.0, 1.0).astype(np.float32), sample_rate=int(sr),
                  phonemes=phonemes, words=_words(text, events, phonemes, native), text=text,
                  voice=voice, rate=int(rate))


def list_voices() -> list[str]:
    """Language codes of the installed eSpeak NG voices (``'en-us'``, ``'en-gb'``, ``'de'``, ...).

    Each is a valid ``voice`` for :func:`synthesize`, optionally with a variant (``'en-gb+f3'``).
    """
    with _LOCK, _engine() as engine:
        return sorted(engine.voices())
