"""The verified ID tokens a process remembers: least recently used first out, bounded by
count and by (estimated) bytes, so that many large distinct tokens cannot grow it."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")

ENTRY_OVERHEAD = 1024  # bytes an entry costs beyond its token and claims (estimate)


def cost(token: str) -> int:
    """Estimated bytes a cached token costs: the token, claims about as large, overhead."""
    return 2 * len(token) + ENTRY_OVERHEAD


class VerifiedTokens(Generic[V]):
    """Token -> what verifying it gave, LRU, at most `max_count` entries and `max_bytes`."""

    def __init__(self, max_count: int, max_bytes: int) -> None:
        self._items: OrderedDict[str, V] = OrderedDict()
        self._max_count = max_count
        self._max_bytes = max_bytes
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, token: str) -> V | None:
        found = self._items.get(token)
        if found is not None:
            self._items.move_to_end(token)
        return found

    def put(self, token: str, value: V) -> None:
        self.forget(token)
        self._items[token] = value
        self.bytes += cost(token)
        while self._items and (len(self._items) > self._max_count or self.bytes > self._max_bytes):
            oldest, _ = self._items.popitem(last=False)
            self.bytes -= cost(oldest)

    def forget(self, token: str) -> None:
        if self._items.pop(token, None) is not None:
            self.bytes -= cost(token)
