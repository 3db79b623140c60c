"""Sample portraits and the synthetic moving-camera clip."""

from __future__ import annotations

import numpy as np
import pytest

from thglib.errors import BadInputError
from thglib.samples import PORTRAITS, moving_portrait, portrait


def test_portraits_match_their_library_sources() -> None:
    import matplotlib.cbook as cbook
    import matplotlib.image as mimage
    import skimage.data

    np.testing.assert_array_equal(portrait("astronaut"), skimage.data.astronaut())
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        ref = mimage.imread(f, format="jpg")
    np.testing.assert_array_equal(portrait("grace_hopper"), ref[..., :3])
    for name in PORTRAITS:
        img = portrait(name)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


def test_portrait_is_a_fresh_copy() -> None:
    a = portrait("astronaut")
    a[:] = 0
    assert portrait("astronaut").max() > 0


def test_credits_and_licences_are_listed() -> None:
    assert set(PORTRAITS) == {"astronaut", "grace_hopper"}
    for meta in PORTRAITS.values():
        assert meta["credit"] and "public domain" in meta["licence"].lower()


def test_unknown_portrait_names_the_choices() -> None:
    with pytest.raises(BadInputError, match="grace_hopper"):
        portrait("mona_lisa")


def test_moving_portrait_moves_and_zooms() -> None:
    clip = moving_portrait("astronaut", n_frames=12, size=64, period=12)
    assert clip.shape == (12, 64, 64, 3) and clip.dtype == np.uint8
    diffs = [np.abs(clip[t + 1].astype(int) - clip[t]).mean() for t in range(11)]
    assert min(diffs) > 1.0  # every frame differs from the previous one
    # one full period later the camera is back where it started
    again = moving_portrait("astronaut", n_frames=13, size=64, period=12)
    np.testing.assert_allclose(again[12].astype(int), again[0].astype(int), atol=2)


def test_moving_portrait_rejects_bad_sizes() -> None:
    with pytest.raises(BadInputError):
        moving_portrait(n_frames=0)
    with pytest.raises(BadInputError):
        moving_portrait(size=4)
