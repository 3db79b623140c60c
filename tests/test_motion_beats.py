"""Beat Align's chance level, its 95 % chance interval and the too-few-beats flag (issue #19, finding 3);
untrained pose networks name the motion metrics ``(untrained)`` (finding 5)."""

from __future__ import annotations

import numpy as np
import pytest

from thglib.errors import BadInputError
from thglib.face.pose import HeadPose
from thglib.metrics.card import UNTRAINED_TAG
from thglib.metrics.motion import (MAX_NULL_WIDTH, MIN_MOTION_BEATS, beat_align, beat_align_chance,
                                   beat_align_interval, beat_align_null, beat_align_score, diversity)

FPS = 25


def _random_beats(rng: np.random.Generator, seconds: float, per_s: float, n_frames: int) -> np.ndarray:
    return np.sort(rng.choice(n_frames, max(1, int(per_s * seconds)), replace=False))


@pytest.mark.parametrize("seconds", [5, 15])
def test_random_beats_fall_inside_the_interval_at_its_level(seconds: int) -> None:
    # independent audio (3/s) and motion (1/s) beats: BA is at chance, so the 95 % interval holds it
    # about 95 % of the time (these seeds: 96 % at 5 s, 91 % at 15 s; 89-97 % over other lengths and rates)
    rng = np.random.default_rng(seconds)
    n = seconds * FPS
    inside = []
    for _ in range(150):
        a, m = _random_beats(rng, seconds, 3.0, n), _random_beats(rng, seconds, 1.0, n - 1)
        lo, hi = beat_align_interval(a, m, n - 1)
        inside.append(lo <= beat_align(a, m) <= hi)
    assert 0.88 <= np.mean(inside) <= 1.0, np.mean(inside)


def test_interval_brackets_the_chance_level_and_narrows_with_length() -> None:
    rng = np.random.default_rng(7)
    widths = {}
    for seconds in (5, 30):
        n = seconds * FPS
        a, m = _random_beats(rng, seconds, 3.0, n), _random_beats(rng, seconds, 1.0, n - 1)
        lo, hi = beat_align_interval(a, m, n - 1)
        null = beat_align_null(a, m, n - 1, min_shift=1)
        assert lo <= beat_align_chance(a, m, n - 1) <= hi and len(null) == n - 2
        assert 0.92 <= np.mean((null >= lo) & (null <= hi)) <= 0.98  # quantiles of the null itself
        widths[seconds] = hi - lo
    assert widths[30] < MAX_NULL_WIDTH < widths[5], widths  # measured 0.12 and 0.28
    with pytest.raises(BadInputError, match="level"):
        beat_align_interval([3], [4], 50, level=1.0)


def test_perfect_alignment_is_above_the_interval() -> None:
    beats = np.arange(10, 740, 23)  # 32 beats in 30 s, motion pauses exactly on them
    lo, hi = beat_align_interval(beats, beats, 750)
    assert beat_align(beats, beats) == 1.0 > hi


def _walk(n: int, seed: int = 0) -> np.ndarray:
    return np.cumsum(np.random.default_rng(seed).normal(size=(n, 3)), axis=0)


def test_short_clip_is_flagged_not_meaningful() -> None:
    with pytest.warns(UserWarning, match="Beat Align not meaningful"):
        res = beat_align_score(_walk(125), beats=np.array([10, 40, 70, 100]), smooth=2.0)  # 5 s, 4 audio beats
    assert res.extra["meaningful"] is False and "4 audio" in res.extra["warnings"][0]
    assert "NOT MEANINGFUL" in res.card.notes and "chance interval" in res.card.notes
    lo, hi = res.extra["interval"]
    assert lo <= res.extra["chance"] <= hi and res.extra["above_chance"] == (res.value > hi)


def test_long_clip_with_many_beats_is_meaningful() -> None:
    rng = np.random.default_rng(2)
    n = 60 * FPS
    res = beat_align_score(_walk(n, 1), beats=_random_beats(rng, 60, 3.0, n), smooth=2.0)
    assert len(res.extra["kinematic_beats"]) >= MIN_MOTION_BEATS
    assert res.extra["meaningful"] is True and res.extra["warnings"] == []
    lo, hi = res.extra["interval"]
    assert hi - lo <= MAX_NULL_WIDTH and lo <= res.value <= hi  # random motion: at chance


def test_untrained_pose_network_names_the_motion_metrics() -> None:
    angles = _walk(200)
    fake = HeadPose(angles, "hopenet", "UNTRAINED Hopenet (random init, seed 0)",
                    "untrained network: angles illustrate the mechanics only")
    real = HeadPose(angles, "hopenet", "Hopenet (official weights)")
    assert diversity(fake).name == "Diversity" + UNTRAINED_TAG and diversity(real).name == "Diversity"
    beats = np.arange(5, 195, 9)
    assert beat_align_score(fake, beats=beats).name == "BeatAlign (untrained)"
    assert beat_align_score(real, beats=beats).name == "BeatAlign"
