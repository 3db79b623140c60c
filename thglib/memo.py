"""A small thread-safe memo keyed by the content of NumPy arrays (BLAKE2b of the bytes), bounded in size.

Used where one process sees the same pixels many times: a reference clip scored under many conditions
(:func:`thglib.eval.runner._track`), the faces of CSIM and the FD-dlib128 features
(:func:`thglib.metrics.identity.face_embedding`).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

__all__ = ["ContentMemo"]


class ContentMemo:
    """The last ``size`` values by key, least recently used evicted first; ``None`` is never stored."""

    def __init__(self, size: int = 4096) -> None:
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._size, self._lock = size, threading.Lock()

    @staticmethod
    def key(array: np.ndarray, *parts: object) -> tuple:
        """``(BLAKE2b-128 of the bytes, shape, dtype, *parts)`` of a C-contiguous copy of ``array`` if needed."""
        a = np.ascontiguousarray(array)
        return (hashlib.blake2b(a.data, digest_size=16).digest(), a.shape, a.dtype.str, *parts)

    def get(self, key: tuple) -> Any:
        """The value for ``key`` (now the most recent), or ``None``."""
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: tuple, value: Any) -> None:
        """Remember ``value`` under ``key``, evicting the least recently used beyond ``size``."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (so that a timing run starts cold)."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
