"""thglib.memo.ContentMemo: keyed by content, least recently used evicted first."""

from __future__ import annotations

import numpy as np

from thglib.memo import ContentMemo


def test_content_keys_and_lru_eviction() -> None:
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert ContentMemo.key(a, "x") == ContentMemo.key(a.copy(), "x")  # content, not identity
    assert ContentMemo.key(a[:, ::2], "x") == ContentMemo.key(np.ascontiguousarray(a[:, ::2]), "x")
    assert ContentMemo.key(a, "x") != ContentMemo.key(a, "y") != ContentMemo.key(a.astype(np.int16), "y")
    assert ContentMemo.key(a, "x") != ContentMemo.key(a.reshape(4, 3), "x")  # same bytes, other shape
    m = ContentMemo(2)
    m.put(("a",), 1)
    m.put(("b",), 2)
    assert m.get(("a",)) == 1  # a is now the most recent
    m.put(("c",), 3)  # evicts b
    assert (m.get(("a",)), m.get(("b",)), m.get(("c",)), len(m)) == (1, None, 3, 2)
    m.clear()
    assert len(m) == 0 and m.get(("a",)) is None
