"""thglib.tts: offline eSpeak NG speech with phoneme timings (no network, no system espeak)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from thglib.errors import BadInputError
from thglib.tts import PAUSE, Speech, list_voices, synthesize

SENTENCE = "The quick brown fox jumps over the lazy dog"


def _rms(speech: Speech, start_s: float, end_s: float) -> float:
    seg = speech.audio[int(start_s * speech.sample_rate):int(end_s * speech.sample_rate)]
    return float(np.sqrt(np.mean(seg.astype(np.float64) ** 2)))


@pytest.mark.parametrize("sr", [16000, 22050, 24000])
def test_audio_format(sr: int) -> None:
    s = synthesize("Hello world", sr=sr)
    assert s.sample_rate == sr and s.audio.dtype == np.float32 and s.audio.ndim == 1
    assert 0.3 < s.duration_s < 3.0
    assert np.abs(s.audio).max() <= 1.0 and _rms(s, 0, s.duration_s) > 0.01
    assert s.text == "Hello world" and s.voice == "en-us"


def test_duration_grows_with_text_and_shrinks_with_rate() -> None:
    one, two = synthesize(SENTENCE), synthesize(SENTENCE + " and " + SENTENCE)
    assert two.duration_s > 1.7 * one.duration_s
    slow, fast = synthesize(SENTENCE, rate=120), synthesize(SENTENCE, rate=300)
    assert fast.duration_s < 0.7 * slow.duration_s


def test_phoneme_timings_cover_the_audio() -> None:
    s = synthesize(SENTENCE)
    starts = np.array([p.start_s for p in s.phonemes])
    assert len(s.phonemes) > 25  # ~33 phonemes in the pangram
    assert starts[0] == 0.0 and np.all(np.diff(starts) > 0)
    assert all(p.end_s > p.start_s for p in s.phonemes)
    assert all(a.end_s == b.start_s for a, b in zip(s.phonemes, s.phonemes[1:]))
    assert s.phonemes[-1].end_s == pytest.approx(s.duration_s, abs=1e-3)
    assert [w.text for w in s.words] == SENTENCE.split()
    assert all(0 <= w.start_s < w.end_s <= s.duration_s for w in s.words)


def test_punctuation_gives_silent_pause() -> None:
    s = synthesize("Hello, world. Good morning.")
    speech_rms = _rms(s, 0, s.duration_s)
    inner = [p for p in s.phonemes[1:-1] if p.symbol == PAUSE and p.end_s - p.start_s > 0.05]
    assert len(inner) >= 2  # after the comma and after the full stop
    for p in inner:
        assert _rms(s, p.start_s + 0.01, p.end_s - 0.01) < 0.1 * speech_rms
    assert PAUSE not in {p.symbol for p in synthesize("Hello world").phonemes[1:-1]}


def test_voices_selectable() -> None:
    voices = list_voices()
    assert {"en-us", "en-gb"} <= set(voices) and len(voices) > 50
    us, gb, female = (synthesize("Good morning", voice=v) for v in ("en-us", "en-gb", "en-us+f3"))
    for other in (gb, female):
        n = min(len(us.audio), len(other.audio))
        assert not np.allclose(us.audio[:n], other.audio[:n], atol=1e-3)
    with pytest.raises(BadInputError, match="voice"):
        synthesize("hi", voice="no-such-voice")


def test_repeatable_and_thread_safe() -> None:
    texts = ["one two three", "four five six seven", "eight nine", "ten eleven twelve thirteen fourteen"]
    ref = {t: synthesize(t) for t in texts}
    results: dict[str, Speech] = {}
    threads = [threading.Thread(target=lambda t=t: results.__setitem__(t, synthesize(t))) for t in texts]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert set(results) == set(texts)
    for t, r in results.items():  # each thread got its own words, phonemes and audio back
        assert [w.text for w in r.words] == t.split()
        assert r.phonemes == ref[t].phonemes  # deterministic: identical timings ...
        assert np.array_equal(r.audio, ref[t].audio)  # ... and identical samples


@pytest.mark.parametrize("kwargs", [{"text": ""}, {"text": "   "}, {"text": "..."}, {"text": "hi", "rate": 10},
                                    {"text": "hi", "sr": 0}])
def test_bad_input(kwargs: dict) -> None:
    text = kwargs.pop("text")
    with pytest.raises(BadInputError):
        synthesize(text, **kwargs)
