"""The missed-slot sweep of one server process: every `interval` seconds, one transaction that
handles the publications past their slot and grace (server/usecases/missed_slots.py). Every
replica runs one; SKIP LOCKED gives each publication to one of them."""

from __future__ import annotations

import logging

from persistence.database import Database
from server.periodic import Periodic
from server.usecases import missed_slots

log = logging.getLogger(__name__)


class MissedSlotSweeper(Periodic):
    """Sweeps every `interval` seconds until stopped; `interval` 0 turns it off."""

    def __init__(self, db: Database, interval: float) -> None:
        super().__init__("missed-slots", interval)
        self._db = db

    def sweep_once(self) -> int:
        """One sweep in its own transaction; how many publications it handled."""
        return self._db.unit_of_work(missed_slots.sweep)

    def tick(self) -> None:
        try:
            handled = self.sweep_once()
        except Exception:  # a failed sweep is retried at the next tick, never fatal
            log.exception("missed-slot sweep failed")
            return
        if handled:
            log.info("missed-slot sweep handled %d publication(s)", handled)
