"""A tiny LRU mapping used for R-tree nodes and decoded blocks, bounded by entries and bytes."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

V = TypeVar("V")


class LRU(Generic[V]):
    def __init__(self, maxsize: int = 128, maxbytes: int | None = None):
        self.maxsize = maxsize
        self.maxbytes = maxbytes
        self.nbytes = 0
        self._data: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        self._data.move_to_end(key)
        return entry[0]

    def put(self, key: Hashable, value: V, nbytes: int = 0) -> None:
        if self.maxsize <= 0 or (self.maxbytes is not None and nbytes > self.maxbytes):
            return
        old = self._data.pop(key, None)
        if old is not None:
            self.nbytes -= old[1]
        self._data[key] = (value, nbytes)
        self.nbytes += nbytes
        while len(self._data) > self.maxsize or (self.maxbytes is not None
                                                 and self.nbytes > self.maxbytes):
            _, (_, size) = self._data.popitem(last=False)
            self.nbytes -= size

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()
        self.nbytes = 0
