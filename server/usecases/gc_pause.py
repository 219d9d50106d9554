"""The cyclic garbage collector paused around a large planning call.

A plan of 23k distributions makes about a million container objects (rows, details, domain
values) that live until the call ends; each full collection the allocations trigger scans
all of them again, and none finds garbage: 0.5 s of CPU in the non-solve stages of bench size
M. Reference counting still frees everything at once; only reference cycles wait until the
collector is back on.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager


class _Pause:
    """Counts the calls in a pause, so that concurrent ones switch the collector on only when
    the last leaves, and only if it was on when the first came."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._was_enabled = False

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._inside == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0 and self._was_enabled:
                    gc.enable()


_PAUSE = _Pause()


def collector_paused() -> AbstractContextManager[None]:
    """The collector off (process-wide) while the block runs."""
    return _PAUSE.held()
