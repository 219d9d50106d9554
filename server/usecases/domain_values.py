"""Stored channels and videos, read into the allocator's domain values.

A channel's configuration (filters, preferences, schedule, transformations, retry policy) is
stored as the API's JSON with proto field names, default values omitted, int64 numbers as
strings, enums by name and times in RFC 3339. This module reads that JSON straight into frozen
dataclasses and writes the JSON of a transformation a distribution needs, so no use case goes
through protobuf.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from allocator import calendar, filters, scoring
from allocator import domain as d
from persistence import models

_DAYS = {
    f"DAY_OF_WEEK_{name}": number
    for number, name in enumerate(
        ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"), start=1
    )
}
_ORIENTATIONS = ("UNSPECIFIED", "VERTICAL", "HORIZONTAL", "SQUARE")
_KINDS = ("UNSPECIFIED", "TRIM", "CROP", "BURN_CAPTIONS")


class ChannelConfigError(ValueError):
    """The stored configuration holds a value no current server accepts."""


#: Reads (update_time, config) of channels by id, in one query.
ConfigReader = Callable[[list[str]], Mapping[str, tuple[datetime, Mapping[str, Any]]]]


def channel_to_domain(row: models.Channel) -> d.Channel:
    """A stored channel as the allocator's Channel (its configuration parsed once per version)."""
    return _channel(row, _CONFIGS.get(row))


class ChannelVersion(Protocol):
    """The columns of a channel row that `channels_to_domain` reads (no configuration)."""

    @property
    def id(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def active(self) -> bool: ...
    @property
    def available(self) -> bool: ...
    @property
    def update_time(self) -> datetime: ...


def channels_to_domain(rows: Sequence[ChannelVersion], read: ConfigReader) -> list[d.Channel]:
    """Channels read without their configuration as the allocator's Channels, in row order.

    Cached versions need no configuration; the others are read with one call of `read` (the
    version it returns with each configuration is the one cached).
    """
    parsed = {row.id: _CONFIGS.cached(row.id, row.update_time) for row in rows}
    missing = [cid for cid, p in parsed.items() if p is None]
    if missing:
        for cid, (version, config) in read(missing).items():
            parsed[cid] = _CONFIGS.put(cid, version, config)
    return [_channel(row, _present(parsed[row.id], row.id)) for row in rows]


def _present(parsed: ParsedConfig | None, channel_id: str) -> ParsedConfig:
    if parsed is None:  # deleted between the two reads: channels are never deleted
        raise ChannelConfigError(f"channel {channel_id!r} has no configuration")
    return parsed


def _channel(row: ChannelVersion, parsed: ParsedConfig) -> d.Channel:
    return d.Channel(
        id=row.id,
        timezone=row.timezone,
        active=row.active,
        available=row.available,
        filters=parsed.filters,
        preferences=parsed.preferences,
        schedule=parsed.schedule,
        transformations=parsed.transformations,
    )


def video_to_domain(row: models.Video) -> d.Video:
    """A stored video as the allocator's Video."""
    return d.Video(
        id=row.id,
        source_url=row.source_url,
        duration_seconds=row.duration_seconds,
        width=row.width,
        height=row.height,
        views=row.views,
        tags=tuple(row.tags),
        watermarked=row.watermarked,
        language=row.language,
        state=d.VideoState(row.state),
        available_from=row.available_from,
        expires_at=row.expires_at,
    )


def schedule_of(row: models.Channel) -> d.PostingSchedule:
    """The channel's posting schedule."""
    return _CONFIGS.get(row).schedule


@dataclass(frozen=True)
class ParsedConfig:
    """The parts of a channel's configuration the allocator reads, as domain values."""

    filters: d.ContentFilters
    preferences: d.Preferences
    schedule: d.PostingSchedule
    transformations: tuple[d.Transformation, ...]


def parse_config(config: Mapping[str, Any]) -> ParsedConfig:
    """A stored configuration read into domain values (raises ChannelConfigError)."""
    return ParsedConfig(
        filters=_filters(config.get("filters", {})),
        preferences=_preferences(config.get("preferences", {})),
        schedule=_schedule(config.get("schedule", {})),
        transformations=tuple(_transformation(t) for t in config.get("transformations", [])),
    )


T = TypeVar("T")


class VersionedCache(Generic[T]):
    """`build(config)` of channel configurations, at most `size` of them, least recently used
    out first.

    Keyed by the row's version, (channel id, update_time): every write of a channel row moves
    its update_time on, and the result depends on nothing else. `get` (a loaded row) also
    compares the row's configuration with the one built from (deep equality, about a
    microsecond), so a configuration changed in a session without a new update_time yet is
    built afresh rather than served stale, and not cached. Safe to share between threads;
    builds run outside the lock.
    """

    def __init__(self, build: Callable[[Mapping[str, Any]], T], size: int = 4096) -> None:
        self._build = build
        self._size = size
        self._entries: OrderedDict[tuple[str, datetime], tuple[Any, T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, row: models.Channel) -> T:
        """The parsed configuration of a row loaded with its `config`."""
        config = row.config
        if row.update_time is None:  # not flushed yet: no version to key on
            return self._build(config)
        key = (row.id, row.update_time)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == config:
                self._entries.move_to_end(key)
                return entry[1]
        if entry is not None:
            return self._build(config)
        return self.put(row.id, row.update_time, config)

    def cached(self, channel_id: str, version: datetime) -> T | None:
        """What was built from that version, if cached."""
        return self.cached_many([(channel_id, version)])[0]

    def cached_many(self, versions: Sequence[tuple[str, datetime]]) -> list[T | None]:
        """`cached` of each (channel id, version), under one acquisition of the lock."""
        out: list[T | None] = []
        with self._lock:
            for key in versions:
                entry = self._entries.get(key)
                if entry is None:
                    out.append(None)
                else:
                    self._entries.move_to_end(key)
                    out.append(entry[1])
        return out

    def put(self, channel_id: str, version: datetime, config: Mapping[str, Any]) -> T:
        """Builds from the configuration stored with that version and caches it."""
        parsed = self._build(config)
        # A private copy: the caller's dict may be changed in place afterwards.
        snapshot = copy.deepcopy(config)
        with self._lock:
            self._entries[(channel_id, version)] = (snapshot, parsed)
            self._entries.move_to_end((channel_id, version))
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return parsed

    def clear(self) -> None:
        """Forgets every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class ConfigCache(VersionedCache[ParsedConfig]):
    """Parsed channel configurations (`parse_config`) by version; see `VersionedCache`."""

    def __init__(self, size: int = 4096) -> None:
        # Looked up at each call, so that a test may count the parses.
        super().__init__(lambda config: parse_config(config), size)


#: The process-wide cache behind channel_to_domain and schedule_of.
_CONFIGS = ConfigCache()


def _schedule(s: Mapping[str, Any]) -> d.PostingSchedule:
    return d.PostingSchedule(
        slots=tuple(
            d.WeeklySlot(
                days=tuple(_day(day) for day in slot.get("days", [])),
                local_time=calendar.parse_local_time(slot.get("local_time", "")),
                weight=float(slot.get("weight", 0.0)) or 1.0,
            )
            for slot in s.get("slots", [])
        ),
        max_posts_per_day=int(s.get("max_posts_per_day", 0)),
        blackouts=tuple(
            d.TimeWindow(_time(w["start_time"]), _time(w["end_time"]))
            for w in s.get("blackouts", [])
        ),
    )


def transformation_json(value: d.Transformation) -> dict[str, Any]:
    """A transformation as the API's JSON (how a distribution stores what it needs)."""
    json: dict[str, Any] = {"kind": f"TRANSFORMATION_KIND_{value.kind.value}"}
    if value.trim_seconds:
        json["trim_seconds"] = value.trim_seconds
    if value.orientation is not d.Orientation.UNSPECIFIED:
        json["orientation"] = f"ORIENTATION_{value.orientation.value}"
    if value.language:
        json["language"] = value.language
    return json


def _filters(f: Mapping[str, Any]) -> d.ContentFilters:
    return d.ContentFilters(
        min_duration_seconds=int(f.get("min_duration_seconds", 0)),
        max_duration_seconds=int(f.get("max_duration_seconds", 0)),
        min_height=int(f.get("min_height", 0)),
        min_width=int(f.get("min_width", 0)),
        orientation=_orientation(f.get("orientation")),
        min_views=int(f.get("min_views", 0)),
        required_tags=tuple(f.get("required_tags", ())),
        any_tags=tuple(f.get("any_tags", ())),
        exclude_tags=tuple(f.get("exclude_tags", ())),
        exclude_watermarked=bool(f.get("exclude_watermarked", False)),
        languages=tuple(f.get("languages", ())),
    )


def _preferences(p: Mapping[str, Any]) -> d.Preferences:
    weights = p.get("tag_weights", {})
    return d.Preferences(
        tag_weights=tuple(sorted((tag, float(w)) for tag, w in weights.items())),
        priority=int(p.get("priority", 0)),
    )


def _transformation(t: Mapping[str, Any]) -> d.Transformation:
    return d.Transformation(
        kind=d.TransformationKind(_enum(t.get("kind"), "TRANSFORMATION_KIND_", _KINDS)),
        trim_seconds=int(t.get("trim_seconds", 0)),
        orientation=_orientation(t.get("orientation")),
        language=str(t.get("language", "")),
    )


def _orientation(value: Any) -> d.Orientation:
    return d.Orientation(_enum(value, "ORIENTATION_", _ORIENTATIONS))


def _enum(value: Any, prefix: str, names: tuple[str, ...]) -> str:
    """The short name of a stored enum (its name, or a number when the JSON kept one)."""
    if value is None:
        return names[0]
    if isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    if isinstance(value, str) and value.removeprefix(prefix) in names:
        return value.removeprefix(prefix)
    raise ChannelConfigError(f"unknown {prefix.rstrip('_').lower()} {value!r}")


def _day(value: Any) -> int:
    if isinstance(value, int):
        return value
    if value in _DAYS:
        return _DAYS[value]
    raise ChannelConfigError(f"unknown day {value!r}")


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


class ChannelScoring(NamedTuple):
    """What matching and scoring a video on a channel need of its configuration, compiled once
    per version: the normalised filters with their fixing transformations, the tag weights in
    milli-units and the priority's points."""

    rules: filters.ChannelRules
    weights: Mapping[str, int]
    priority_points: int
    best_slot_weight: float = 0.0  # its best WeeklySlot.weight; 0.0 when all weigh 1.0


def _channel_scoring(config: Mapping[str, Any]) -> ChannelScoring:
    parsed = parse_config(config)
    channel = d.Channel(id="", filters=parsed.filters, transformations=parsed.transformations)
    weights = [slot.weight for slot in parsed.schedule.slots]
    return ChannelScoring(
        rules=filters.compile_rules(channel),
        weights=scoring.milli_tag_weights(parsed.preferences),
        priority_points=scoring.priority_part(parsed.preferences.priority),
        best_slot_weight=0.0 if all(w == 1.0 for w in weights) else max(weights),
    )


#: The process-wide cache behind channels_scoring.
_SCORING: VersionedCache[ChannelScoring] = VersionedCache(_channel_scoring)


def channels_scoring(rows: Sequence[ChannelVersion], read: ConfigReader) -> list[ChannelScoring]:
    """Each channel's `ChannelScoring`, in row order, for callers that match one video on many
    channels (Explain): no Channel, no hashing of filters or preferences per call.

    Like `channels_to_domain`, cached versions need no configuration and the others are read
    with one call of `read`.
    """
    keys = [(row.id, row.update_time) for row in rows]
    built = dict(zip((cid for cid, _ in keys), _SCORING.cached_many(keys), strict=True))
    missing = [cid for cid, b in built.items() if b is None]
    if missing:
        for cid, (version, config) in read(missing).items():
            built[cid] = _SCORING.put(cid, version, config)
    out = []
    for row in rows:
        found = built[row.id]
        if found is None:  # deleted between the two reads: channels are never deleted
            raise ChannelConfigError(f"channel {row.id!r} has no configuration")
        out.append(found)
    return out
