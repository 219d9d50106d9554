"""Pure domain values the allocator reasons about: videos, channels and what channels accept.

Frozen dataclasses only: no gRPC, no database. The server converts protobuf messages and ORM rows
into these at its edge. Times are timezone-aware UTC datetimes; "zero/empty" in a filter means
"no constraint", exactly as in the API.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, time


class Orientation(enum.Enum):
    """Frame orientation; UNSPECIFIED in a filter means any."""

    UNSPECIFIED = "UNSPECIFIED"
    VERTICAL = "VERTICAL"
    HORIZONTAL = "HORIZONTAL"
    SQUARE = "SQUARE"


class VideoState(enum.Enum):
    """Whether a video may be distributed."""

    READY = "READY"
    NOT_READY = "NOT_READY"
    RETIRED = "RETIRED"


class TransformationKind(enum.Enum):
    """What a channel's downstream transformer can do to a video."""

    TRIM = "TRIM"  # cut to at most `trim_seconds`
    CROP = "CROP"  # crop to `orientation`
    BURN_CAPTIONS = "BURN_CAPTIONS"  # burn in captions in `language`


@dataclass(frozen=True)
class Transformation:
    """A transformation a channel can apply, or one a distribution needs.

    TRIM uses `trim_seconds`; CROP uses `orientation`; BURN_CAPTIONS uses `language`.
    """

    kind: TransformationKind
    trim_seconds: int = 0
    orientation: Orientation = Orientation.UNSPECIFIED
    language: str = ""


@dataclass(frozen=True)
class ContentFilters:
    """What a channel accepts; every zero or empty field means no constraint."""

    min_duration_seconds: int = 0
    max_duration_seconds: int = 0
    min_height: int = 0
    min_width: int = 0
    orientation: Orientation = Orientation.UNSPECIFIED
    min_views: int = 0
    required_tags: tuple[str, ...] = ()
    any_tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    exclude_watermarked: bool = False
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preferences:
    """What a channel prefers among eligible videos (feeds the score, never eligibility)."""

    tag_weights: tuple[tuple[str, float], ...] = ()
    priority: int = 0


@dataclass(frozen=True)
class WeeklySlot:
    """Posting times: `local_time` on each ISO weekday in `days` (1 = Monday .. 7 = Sunday)."""

    days: tuple[int, ...]
    local_time: time
    weight: float = 1.0  # a placement here is worth score * weight


@dataclass(frozen=True)
class TimeWindow:
    """A half-open UTC window [start, end)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class PostingSchedule:
    """When a channel posts, in its own timezone; max_posts_per_day 0 means no cap."""

    slots: tuple[WeeklySlot, ...] = ()
    max_posts_per_day: int = 0
    blackouts: tuple[TimeWindow, ...] = ()


@dataclass(frozen=True)
class Channel:
    """A publishing account and everything the allocator needs to know about it."""

    id: str
    timezone: str = "UTC"
    active: bool = True
    available: bool = True
    filters: ContentFilters = field(default_factory=ContentFilters)
    preferences: Preferences = field(default_factory=Preferences)
    schedule: PostingSchedule = field(default_factory=PostingSchedule)
    transformations: tuple[Transformation, ...] = ()


@dataclass(frozen=True)
class Video:
    """A registered video; `source_url` is already normalised."""

    id: str
    source_url: str = ""
    duration_seconds: float = 0.0
    width: int = 0
    height: int = 0
    views: int = 0
    tags: tuple[str, ...] = ()
    watermarked: bool = False
    language: str = ""
    state: VideoState = VideoState.READY
    available_from: datetime | None = None
    expires_at: datetime | None = None

    @property
    def orientation(self) -> Orientation:
        """VERTICAL when taller than wide, HORIZONTAL when wider, SQUARE when equal."""
        if self.height > self.width:
            return Orientation.VERTICAL
        if self.width > self.height:
            return Orientation.HORIZONTAL
        return Orientation.SQUARE
