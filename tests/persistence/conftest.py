"""A migrated database of each backend, for the persistence tests to seed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from persistence import migrations
from persistence.database import Database


@pytest.fixture
def migrated(fresh_database_url: str) -> Iterator[Database]:
    """A fresh database of the backend under test, migrated to head; disposed afterwards."""
    migrations.upgrade(fresh_database_url)
    database = Database(fresh_database_url)
    yield database
    database.dispose()
