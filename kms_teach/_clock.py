"""The simulated clock.

Rotation schedules, deletion windows, import-token lifetimes and grant dates all
read time from a :class:`Clock`, never from the system directly, so a learner
can watch a year of key rotations in a second and a test is reproducible.

By default the clock runs with the wall clock (so key creation dates look
real) plus an offset that :meth:`Clock.advance` grows. ``Clock(start=...,
frozen=True)`` stands still except when advanced.
"""

from __future__ import annotations

import datetime as _dt
import threading
from typing import Callable

__all__ = ["Clock"]

UTC = _dt.timezone.utc


class Clock:
    """Simulated time: ``now()`` is a timezone-aware UTC datetime.

    >>> clock = Clock(start=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc), frozen=True)
    >>> clock.advance(days=365)
    """

    def __init__(
        self,
        start: _dt.datetime | None = None,
        *,
        frozen: bool = False,
        wall: Callable[[], _dt.datetime] | None = None,
    ):
        self._wall = wall or (lambda: _dt.datetime.now(UTC))
        self._lock = threading.Lock()
        self._frozen = frozen
        self._listeners: list[Callable[[_dt.datetime], None]] = []
        wall_now = self._wall()
        if start is None:
            start = wall_now
        if start.tzinfo is None:
            raise ValueError("Clock start must be timezone-aware (e.g. tzinfo=datetime.timezone.utc)")
        start = start.astimezone(UTC)
        # now() = wall() + offset when running; = fixed when frozen.
        self._offset = start - wall_now
        self._fixed = start

    @property
    def frozen(self) -> bool:
        return self._frozen

    def now(self) -> _dt.datetime:
        if self._frozen:
            return self._fixed
        return self._wall() + self._offset

    def advance(
        self,
        delta: _dt.timedelta | None = None,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> _dt.datetime:
        """Move simulated time forward and return the new ``now()``.

        Everything that falls due in between (automatic rotations, deletions at
        the end of their waiting period, expiring key material) happens, in
        order, before this returns.
        """
        step = (delta or _dt.timedelta()) + _dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if step < _dt.timedelta():
            raise ValueError("the simulated clock only moves forward")
        with self._lock:
            self._offset += step
            self._fixed += step
        now = self.now()
        for listener in list(self._listeners):
            listener(now)
        return now

    def set(self, when: _dt.datetime) -> _dt.datetime:
        """Jump forward to ``when`` (never backward)."""
        if when.tzinfo is None:
            raise ValueError("time must be timezone-aware")
        return self.advance(when - self.now())

    def subscribe(self, listener: Callable[[_dt.datetime], None]) -> None:
        self._listeners.append(listener)

    # persisted by the store so that a reopened Cloud continues where it was
    def to_state(self) -> dict:
        return {"frozen": self._frozen, "now": self.now().isoformat(), "offset": self._offset.total_seconds()}

    @classmethod
    def from_state(cls, state: dict) -> "Clock":
        if state["frozen"]:
            return cls(_dt.datetime.fromisoformat(state["now"]), frozen=True)
        clock = cls()
        clock._offset = _dt.timedelta(seconds=state["offset"])
        # never earlier than what was last persisted
        persisted = _dt.datetime.fromisoformat(state["now"])
        if clock.now() < persisted:
            clock._offset += persisted - clock.now()
        return clock

    def __repr__(self) -> str:
        return f"Clock(now={self.now().isoformat()}, frozen={self._frozen})"
