"""Per-process caches of derived data, reused only while a fingerprint of their inputs matches.

The app keeps three such things (the active-question index, each learner's fitted forgetting
model, each learner's plan for the day); each is cheap to check with one small query and
expensive to rebuild.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Generic, Hashable, TypeVar

V = TypeVar("V")


class FingerprintCache(Generic[V]):
    """A bounded, thread-safe map key -> (fingerprint, value), least recently used out first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, tuple[Any, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, fingerprint: Any, still_good: Callable[[V], bool] = lambda _v: True) -> V | None:
        """The value for `key` if it was made from the same inputs (and `still_good` agrees)."""
        with self._lock:
            hit = self._items.get(key)
            if hit is None or hit[0] != fingerprint or not still_good(hit[1]):
                return None
            self._items.move_to_end(key)
            return hit[1]

    def put(self, key: Hashable, fingerprint: Any, value: V) -> V:
        with self._lock:
            self._items[key] = (fingerprint, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value
