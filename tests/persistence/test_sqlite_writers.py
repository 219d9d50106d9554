"""SQLite writers of one process queue on a lock; one waiting past the busy timeout fails as
SQLite's own "database is locked" does, and is retried as transient."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from persistence import database
from persistence.database import Database, is_transient


def test_writers_take_turns_and_a_long_wait_is_a_transient_busy_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    db.transaction(lambda s: s.execute(text("CREATE TABLE t (n INTEGER)")))
    holding, release = threading.Event(), threading.Event()

    def hold(session: object) -> None:
        holding.set()
        release.wait(10)

    holder = threading.Thread(target=db.transaction, args=(hold,))
    holder.start()
    holding.wait(10)
    monkeypatch.setattr(database, "SQLITE_BUSY_SECONDS", 0.2)
    with pytest.raises(OperationalError) as caught:
        db.transaction(lambda s: s.execute(text("INSERT INTO t VALUES (1)")), attempts=1)
    assert is_transient(caught.value)
    # Reads never queue behind a writer.
    count = text("SELECT count(*) FROM t")
    assert db.transaction(lambda s: s.execute(count).scalar(), readonly=True) == 0
    release.set()
    holder.join(10)
    db.transaction(lambda s: s.execute(text("INSERT INTO t VALUES (2)")))
    assert db.transaction(lambda s: s.execute(text("SELECT n FROM t")).scalar()) == 2
    db.dispose()
