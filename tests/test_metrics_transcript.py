"""WER / CER (thglib.metrics.transcript) against jiwer and hand-computed Levenshtein alignments."""

from __future__ import annotations

import sys

import jiwer
import pytest

from thglib.errors import BackendUnavailable, BadInputError
from thglib.metrics.transcript import cer, hf_recogniser, normalise_text, transcribe, wer
from thglib.synth import grid_sentence


def test_hand_computed_word_alignment() -> None:
    # the cat sat on the mat -> oh the cat sit on mat: "oh" added (I), sat->sit (S), 2nd "the" dropped (D);
    # any other alignment needs more than 3 edits
    res = wer("the cat sat on the mat", "oh the cat sit on mat")
    assert (res.extra["substitutions"], res.extra["deletions"], res.extra["insertions"]) == (1, 1, 1)
    assert res.extra["hits"] == 4 and res.value == pytest.approx(3 / 6) and not res.higher_is_better


def test_hand_computed_character_alignment() -> None:
    # kitten -> sitting: k->s, e->i, +g: Levenshtein distance 3 over 6 reference characters
    assert cer("kitten", "sitting").value == pytest.approx(3 / 6)


def test_equals_jiwer_on_normalised_text_and_is_a_corpus_rate() -> None:
    refs = ["set blue at F one soon", "place red by G nine again please"]
    hyps = ["set blue F 1 soon now", "place bread by G nine again"]
    norm_r, norm_h = [normalise_text(t) for t in refs], [normalise_text(t) for t in hyps]
    res = wer(refs, hyps)
    assert res.value == pytest.approx(jiwer.wer(norm_r, norm_h))
    assert cer(refs, hyps).value == pytest.approx(jiwer.cer(norm_r, norm_h))
    errors = sum(jiwer.process_words(r, h).substitutions + jiwer.process_words(r, h).deletions
                 + jiwer.process_words(r, h).insertions for r, h in zip(norm_r, norm_h))
    assert res.value == pytest.approx(errors / sum(len(r.split()) for r in norm_r))  # not the mean of rates
    assert res.extra["per_utterance"].tolist() == pytest.approx([jiwer.wer(r, h) for r, h in zip(norm_r, norm_h)])


def test_normalisation() -> None:
    assert normalise_text("Hello,   World! It's 42 -- a co-operative.") == "hello world it's forty two a co operative"
    assert normalise_text("'Quoted' 3.5", numbers=False) == "quoted 3 5"
    # numbers as read aloud: zeros after the point kept, versions and decimal commas do not crash
    assert normalise_text("At 10.30, version 1.2.3") == "at ten point three zero version one point two point three"
    assert normalise_text("1,500 people; 1,5 kg") == "one thousand five hundred people one five kg"
    assert wer("Set blue at F one soon.", "set BLUE at f 1 soon").value == 0.0
    assert wer("Set blue at F one soon.", "set BLUE at f 1 soon", normalise=False).value > 0.5


def test_thg_synth_text_against_a_corrupted_hypothesis() -> None:
    words = grid_sentence(7).text.split()
    assert len(words) == 6  # GRID: command colour preposition letter digit adverb
    corrupted = words[:2] + ["a"] + words[3:5]  # one word substituted, the adverb dropped
    res = wer(grid_sentence(7).text, " ".join(corrupted))
    assert res.value == pytest.approx(2 / 6)
    assert res.card.extractor == "recogniser: none (given transcripts)"


def test_transcribe_names_the_recogniser(tmp_path) -> None:
    media = tmp_path / "clip.wav"
    media.write_bytes(b"RIFF")

    class Echo:
        name = "echo (test double)"

        def __call__(self, path):
            return "set blue at f one soon"

    texts, name = transcribe(media, Echo())
    res = wer("set blue at F one soon", texts, recogniser=name)
    assert res.value == 0.0 and "echo (test double)" in res.card.extractor
    with pytest.raises(BadInputError, match="name"):
        transcribe(media, lambda p: "x")
    with pytest.raises(BadInputError, match="missing.wav"):
        transcribe(tmp_path / "missing.wav", Echo())


def test_bad_input_and_missing_backend(monkeypatch) -> None:
    with pytest.raises(BadInputError, match="hypothesis"):
        wer(["a b", "c"], ["a b"])
    with pytest.raises(BadInputError, match="reference"):
        wer("  ...  ", "a")
    monkeypatch.setitem(sys.modules, "transformers", None)  # as if not installed
    with pytest.raises(BackendUnavailable, match="transformers"):
        hf_recogniser("openai/whisper-tiny")
