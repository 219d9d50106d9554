"""A task a server process runs in the background every `interval` seconds until stopped (the
database health probe, the missed-slot sweep)."""

from __future__ import annotations

import threading


class Periodic:
    """A daemon thread that calls `tick()` every `interval` seconds; `interval` 0 turns it off.
    Subclasses implement `tick`."""

    def __init__(self, name: str, interval: float) -> None:
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Starts ticking in the background."""
        if self._interval > 0:
            self._thread.start()

    def stop(self) -> None:
        """Stops after the tick in flight, if any."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._interval + 30)

    def tick(self) -> None:
        """One run of the task."""
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.tick()
