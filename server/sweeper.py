"""The missed-slot sweep of one server process: every `interval` seconds, one transaction that
handles the publications past their slot and grace (server/usecases/missed_slots.py). Every
replica runs one; SKIP LOCKED gives each publication to one of them."""

from __future__ import annotations

import logging
import threading

from persistence.database import Database
from server.usecases import missed_slots

log = logging.getLogger(__name__)


class MissedSlotSweeper:
    """A daemon thread that sweeps until stopped; `interval` 0 turns it off."""

    def __init__(self, db: Database, interval: float) -> None:
        self._db = db
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="missed-slots", daemon=True)

    def start(self) -> None:
        """Starts sweeping in the background."""
        if self._interval > 0:
            self._thread.start()

    def stop(self) -> None:
        """Stops after the sweep in flight, if any."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._interval + 30)

    def sweep_once(self) -> int:
        """One sweep in its own transaction; how many publications it handled."""
        return self._db.unit_of_work(missed_slots.sweep)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                handled = self.sweep_once()
            except Exception:  # a failed sweep is retried at the next tick, never fatal
                log.exception("missed-slot sweep failed")
                continue
            if handled:
                log.info("missed-slot sweep handled %d publication(s)", handled)
