"""thglib.runtime: the environment helpers that have logic of their own."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from thglib import runtime


def test_attributes_sets_for_the_block_and_restores_even_on_error() -> None:
    a, b = SimpleNamespace(x=1), SimpleNamespace(y="old")
    with runtime.attributes([(a, "x", 2), (b, "y", "new")]):
        assert (a.x, b.y) == (2, "new")
    assert (a.x, b.y) == (1, "old")
    with pytest.raises(RuntimeError), runtime.attributes([(a, "x", 3), (a, "x", 4)]):  # the same one twice
        assert a.x == 4
        raise RuntimeError("boom")
    assert a.x == 1  # restored in reverse order: the first old value wins

