"""Stored video values, read straight into the allocator's Video: the fast path of a plan's
scope, where 100k videos come as plain rows (`VideoRepository.ready_values`), not ORM objects.

It gives exactly what `domain_values.video_to_domain` gives for the same stored video.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from allocator import domain as d

_STATES = {str(state.value): state for state in d.VideoState}


def videos_from_values(rows: Iterable[Sequence[Any]]) -> list[d.Video]:
    """Rows of `persistence.repositories.catalog.VALUE_COLUMNS` as allocator Videos."""
    return [
        d.Video(
            id=video_id,
            source_url=source_url,
            duration_seconds=duration,
            width=width,
            height=height,
            views=views,
            tags=tuple(tags),
            watermarked=watermarked,
            language=language,
            state=_STATES[str(state)],
            available_from=available_from,
            expires_at=expires_at,
        )
        for (
            video_id,
            source_url,
            duration,
            width,
            height,
            views,
            tags,
            watermarked,
            language,
            state,
            available_from,
            expires_at,
        ) in rows
    ]
