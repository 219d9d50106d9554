"""Random ids in bulk are ordinary version-4 UUID texts."""

from __future__ import annotations

import uuid

from server.usecases.random_ids import uuid4_texts


def test_uuid4_texts_are_distinct_version_4_uuids_as_str_writes_them():
    ids = uuid4_texts(5000)
    assert len(set(ids)) == 5000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_no_ids():
    assert uuid4_texts(0) == []
