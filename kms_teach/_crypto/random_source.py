"""Layer 1: where the simulator's random bytes come from (injected, so a seeded cloud is reproducible)."""

from __future__ import annotations

import hashlib
import itertools
import os
from typing import Callable

__all__ = ["RandomSource"]


class RandomSource:
    """Where the simulator's random bytes come from.

    The default draws from the operating system (``os.urandom``). ``seed=...``
    gives a deterministic stream (SHAKE-256 over the seed and a counter) so that
    a course run or a test is reproducible.

    Fidelity: AWS draws from an HSM's NIST SP 800-90A DRBG; a seeded stream here
    is predictable by design and only for teaching and tests.
    """

    __slots__ = ("_seed", "_counter", "_counts", "token_bytes")

    def __init__(self, seed: int | bytes | str | None = None):
        self._counter = 0
        self._counts = itertools.count(1)
        if seed is None:
            self._seed = None
            self.token_bytes: Callable[[int], bytes] = os.urandom
        else:
            if isinstance(seed, int):
                seed = seed.to_bytes(seed.bit_length() // 8 + 1, "big", signed=True)
            elif isinstance(seed, str):
                seed = seed.encode("utf-8")
            self._seed = bytes(seed)
            self.token_bytes = self._seeded

    @property
    def seeded(self) -> bool:
        return self._seed is not None

    def _seeded(self, n: int) -> bytes:
        # next() on a shared itertools.count is atomic: two threads never draw the same block.
        counter = next(self._counts)
        self._counter = counter
        return hashlib.shake_256(self._seed + counter.to_bytes(8, "big")).digest(n)

    def state(self) -> int:
        """The counter of a seeded stream (persisted so a reopened store continues it)."""
        return self._counter

    def restore(self, counter: int) -> None:
        self._counter = counter
        self._counts = itertools.count(counter + 1)
