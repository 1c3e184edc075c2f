"""A work-stealing deque in shared memory.

A ring of fixed-size slots in an anonymous shared mapping (inherited by the
forked workers), guarded by one lock.  The owner pushes and pops at the tail
(newest first: depth-first order keeps the number of pending directories
small); a thief takes the oldest half at the head (the shallowest, biggest
subtrees).  Payloads that do not fit a slot, or a ring that is full, go to the
owner's private overflow list, which only the owner sees.
"""

from __future__ import annotations

import mmap
import struct

SLOT = 1024  # bytes per slot, including the 4-byte length
CAPACITY = 2048  # slots per deque: 2 MiB of shared memory per worker
_HDR = struct.Struct("qq")  # head, tail (monotonic counters)
_LEN = struct.Struct("I")


class SharedDeque:
    def __init__(self, lock, capacity: int = CAPACITY, slot: int = SLOT):
        self.lock = lock
        self.capacity = capacity
        self.slot = slot
        self._map = mmap.mmap(-1, _HDR.size + capacity * slot)
        self.overflow: list[bytes] = []  # owner-private

    # --- owner side ----------------------------------------------------------
    def push(self, payload: bytes) -> None:
        if len(payload) + _LEN.size > self.slot:
            self.overflow.append(payload)
            return
        with self.lock:
            head, tail = _HDR.unpack_from(self._map, 0)
            if tail - head >= self.capacity:
                self.overflow.append(payload)
                return
            off = _HDR.size + (tail % self.capacity) * self.slot
            _LEN.pack_into(self._map, off, len(payload))
            self._map[off + _LEN.size: off + _LEN.size + len(payload)] = payload
            _HDR.pack_into(self._map, 0, head, tail + 1)

    def pop(self) -> bytes | None:
        if self.overflow:
            return self.overflow.pop()
        with self.lock:
            head, tail = _HDR.unpack_from(self._map, 0)
            if tail == head:
                return None
            tail -= 1
            payload = self._read(tail)
            _HDR.pack_into(self._map, 0, head, tail)
            return payload

    # --- thief side ----------------------------------------------------------
    def steal(self) -> list[bytes]:
        """Take the oldest half (at least one) of the shared entries."""
        if self.approx_size() == 0:
            return []  # cheap unlocked peek: don't contend for an empty deque
        with self.lock:
            head, tail = _HDR.unpack_from(self._map, 0)
            n = tail - head
            if n <= 0:
                return []
            take = max(1, n // 2)
            out = [self._read(head + i) for i in range(take)]
            _HDR.pack_into(self._map, 0, head + take, tail)
            return out

    def approx_size(self) -> int:
        head, tail = _HDR.unpack_from(self._map, 0)
        return tail - head

    def _read(self, index: int) -> bytes:
        off = _HDR.size + (index % self.capacity) * self.slot
        (n,) = _LEN.unpack_from(self._map, off)
        return self._map[off + _LEN.size: off + _LEN.size + n]
