"""THG-Synth speech side: GRID sentences, phoneme -> viseme mapping, coarticulated mouth parameters."""

from __future__ import annotations

import numpy as np
import pytest

from thglib.errors import BadInputError
from thglib.synth import (GRID_SLOTS, MOUTH_PARAMS, VISEMES, coarticulate, frame_visemes, grid_sentence,
                          grid_sentences, phoneme_visemes, viseme_segments)
from thglib.synth.visemes import PHONEME_VISEMES, VISEME_TARGETS, VisemeSegment, _fallback
from thglib.tts import PAUSE, Phoneme, synthesize

OPEN = MOUTH_PARAMS.index("open")


def test_grid_grammar_and_seeds() -> None:
    sentences = grid_sentences(300, seed=11)
    for s in sentences:
        assert len(s.words) == 6
        for word, slot in zip(s.words, GRID_SLOTS.values()):
            assert word in slot
        assert "W" not in s.words
    assert grid_sentence(11) == sentences[0] and grid_sentence(12) == sentences[1]  # same seed, same sentence
    assert len({s.text for s in sentences}) > 290  # 64,000 possible: different seeds, different utterances
    for slot, words in GRID_SLOTS.items():  # every word of every slot gets drawn
        assert set(words) == {s.words[list(GRID_SLOTS).index(slot)] for s in sentences}
    with pytest.raises(BadInputError):
        grid_sentence(-1)


def test_letters_respelled_so_espeak_says_the_letter_name() -> None:
    a = next(s for s in grid_sentences(400) if s.words[3] == "A")
    assert a.text.split()[3] == "A" and a.spoken.split()[3] == "eh"
    spoken = [p.symbol for p in synthesize(a.spoken).phonemes]
    assert "'eI" in spoken  # "A" as the letter name /eI/, not the article /@/


def test_every_symbol_espeak_emits_for_english_has_a_table_entry() -> None:
    text = ("The quick brown fox jumps over the lazy dog. She sells sea shells; thin things, church "
            "judge, yes you, oil boy, hair ear poor air cure, measure, long hang ring, owl out, ago, car "
            "four bird. " + " ".join(s.spoken for s in grid_sentences(60)))
    symbols = {p.symbol.lstrip("',") for p in synthesize(text).phonemes} - {PAUSE}
    missing = {s for s in symbols if s not in PHONEME_VISEMES and s not in ("h", "?")}
    assert not missing, f"eSpeak symbols without a viseme entry: {missing}"


@pytest.mark.parametrize("symbol, expected", [
    ("p", ("PP",)), ("'m", ("PP",)), ("f", ("FF",)), ("D", ("TH",)), ("t#", ("DD",)), ("N", ("kk",)),
    ("tS", ("CH",)), ("z", ("SS",)), ("l", ("nn",)), ("r", ("RR",)), ("'A:", ("aa",)), (",E", ("E",)),
    ("i:", ("ih",)), ("O:", ("oh",)), ("'u:", ("ou",)), ("'aI", ("aa", "ih")), ("oU", ("oh", "ou")),
    ("_", ("sil",)), ("_:", ("sil",)), ("'o5#", ("oh",)), (";", ("ih",)), ("l;", ("nn",)),
])
def test_phoneme_visemes(symbol: str, expected: tuple[str, ...]) -> None:
    assert phoneme_visemes(symbol) == expected
    assert set(expected) <= set(VISEMES)


def test_table_only_uses_the_15_visemes() -> None:
    assert len(VISEMES) == 15 and set(VISEME_TARGETS) == set(VISEMES)
    assert {v for vs in PHONEME_VISEMES.values() for v in vs} <= set(VISEMES)
    assert _fallback("Q") == ("DD",) and _fallback("y:") == ("ih",)


def _speech_segments(text: str = "bin blue at F two now") -> tuple[list[VisemeSegment], float]:
    ph = synthesize(text).phonemes
    pad = [Phoneme(PAUSE, 0.0, 0.5)] + [Phoneme(p.symbol, p.start_s + 0.5, p.end_s + 0.5) for p in ph]
    end = pad[-1].end_s + 0.5
    return viseme_segments(pad + [Phoneme(PAUSE, pad[-1].end_s, end)]), end


def test_segments_cover_time_and_split_diphthongs_and_pauses() -> None:
    segs, end = _speech_segments()
    assert segs[0].start_s == 0 and abs(segs[-1].end_s - end) < 1e-9
    assert all(abs(a.end_s - b.start_s) < 1e-9 for a, b in zip(segs[:-1], segs[1:]))  # contiguous
    assert all(s.end_s - s.start_s <= 0.08 + 1e-9 for s in segs if s.viseme == "sil")
    now = [s for s in segs if s.phoneme == "'aU"]  # "now": diphthong aa -> ou
    assert [s.viseme for s in now] == ["aa", "ou"]


def test_h_takes_the_next_viseme() -> None:
    segs = viseme_segments([Phoneme("h", 0.0, 0.1), Phoneme("'oU", 0.1, 0.3)])
    assert segs[0].viseme == "oh" and segs[0].phoneme == "h"


def test_coarticulation_is_a_convex_blend_that_closes_lips_and_silence() -> None:
    segs, end = _speech_segments("a papa")
    t = np.arange(0, end, 0.005)
    m = coarticulate(segs, t)
    targets = np.array(list(VISEME_TARGETS.values()))
    assert np.all(m >= targets.min(axis=0) - 1e-6) and np.all(m <= targets.max(axis=0) + 1e-6)
    p_mid = [(s.start_s + s.end_s) / 2 for s in segs if s.viseme == "PP"]
    v_mid = [(s.start_s + s.end_s) / 2 for s in segs if s.phoneme == "'A:"]  # stressed vowel of "papa"
    at = lambda x: float(coarticulate(segs, np.array([x]))[0, OPEN])  # noqa: E731
    assert len(p_mid) == 2 and len(v_mid) == 1
    assert max(at(x) for x in p_mid) < 0.15 * at(v_mid[0])  # /p/ nearly closes the lips between vowels
    assert at(v_mid[0]) > 0.6 * VISEME_TARGETS["aa"][OPEN]  # ... without flattening the vowel
    deep_silence = t < 0.3  # >= 0.2 s before the first phoneme
    assert np.all(m[deep_silence, OPEN] < 5e-3)  # closed: under 0.3 px at 256² (IOD ~57 px)


def test_coarticulated_motion_is_smooth_at_25_fps() -> None:
    segs, end = _speech_segments()
    t = (np.arange(int(end * 25)) + 0.5) / 25
    m = coarticulate(segs, t)
    step = np.abs(np.diff(m[:, OPEN]))
    assert step.max() < 0.5 * np.ptp(m[:, OPEN])  # never jumps across the whole range in one frame
    hard = np.array([VISEME_TARGETS[VISEMES[v]][OPEN] for v in frame_visemes(segs, t)])  # no blending
    assert np.abs(np.diff(m[:, OPEN], 2)).mean() < np.abs(np.diff(hard, 2)).mean()


def test_frame_visemes_labels_the_covering_segment() -> None:
    segs = [VisemeSegment("sil", 0, 0.1), VisemeSegment("PP", 0.1, 0.2), VisemeSegment("aa", 0.2, 0.3)]
    lab = frame_visemes(segs, np.array([0.05, 0.15, 0.25, 0.35]))
    assert [VISEMES[i] for i in lab] == ["sil", "PP", "aa", "sil"]
    with pytest.raises(BadInputError):
        coarticulate([], np.zeros(3))
