"""Request validation: every field is checked before anything is read or written.

A `Violations` collector gathers every bad field of a request, so one answer lists them all;
`raise_if_any` turns them into INVALID_ARGUMENT with BadRequest field violations.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from datetime import datetime

from distribution.v1 import resources_pb2 as pb
from server.errors import FieldViolation, InvalidArgument

CHANNEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
VIDEO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
DISTRIBUTION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
MAX_PAGE_SIZE = 1000
MAX_TEXT = 2000
# Timestamps far outside any schedule are typos (and overflow some databases' ranges).
MIN_TIME = datetime(1970, 1, 2).astimezone()
MAX_TIME = datetime(9999, 1, 1).astimezone()


class Violations:
    """Collects field violations; `raise_if_any` raises them as one InvalidArgument."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        """Records that `field` is bad."""
        self.items.append(FieldViolation(field, description))

    def check(self, ok: bool, field: str, description: str) -> bool:
        """Records a violation unless `ok`; returns `ok`."""
        if not ok:
            self.add(field, description)
        return ok

    def raise_if_any(self) -> None:
        """Raises InvalidArgument naming every recorded field."""
        if self.items:
            raise InvalidArgument(list(self.items))

    # --- reusable field checks ---

    def identifier(self, value: str, field: str, pattern: re.Pattern[str], kind: str) -> bool:
        """A required id matching `pattern`."""
        if not value:
            self.add(field, f"{kind} id is required")
            return False
        return self.check(bool(pattern.match(value)), field, f"{value!r} is not a valid {kind} id")

    def identifiers(
        self,
        values: Sequence[str],
        field: str,
        pattern: re.Pattern[str],
        kind: str,
        *,
        max_items: int,
        required: bool = False,
    ) -> None:
        """A list of unique ids, at most `max_items`."""
        if required and not values:
            self.add(field, f"at least one {kind} id is required")
        if len(values) > max_items:
            self.add(field, f"at most {max_items} ids, got {len(values)}")
            return
        for i, value in enumerate(values):
            self.identifier(value, f"{field}[{i}]", pattern, kind)
        if len(set(values)) != len(values):
            self.add(field, "ids must be unique")

    def non_negative(self, value: float, field: str) -> None:
        """A number >= 0."""
        self.check(value >= 0, field, f"must be >= 0, got {value}")

    def text(self, value: str, field: str, *, max_length: int = MAX_TEXT) -> None:
        """Free text of bounded length."""
        self.check(len(value) <= max_length, field, f"at most {max_length} characters")

    def page_size(self, value: int, field: str = "page_size") -> int:
        """A page size 0..MAX_PAGE_SIZE; returns the effective size (0 -> 100)."""
        self.check(0 <= value <= MAX_PAGE_SIZE, field, f"must be between 0 and {MAX_PAGE_SIZE}")
        return value or 100

    def timestamp(self, message: object, field: str, path: str) -> None:
        """A set Timestamp inside a sane range."""
        if not message.HasField(field):  # type: ignore[attr-defined]
            return
        ts = getattr(message, field)
        ok = 0 <= ts.nanos < 1_000_000_000 and MIN_TIME.timestamp() <= ts.seconds
        self.check(ok and ts.seconds < MAX_TIME.timestamp(), path, "timestamp out of range")

    def timezone(self, value: str, field: str) -> None:
        """An IANA timezone name known to this server's tz database."""
        if not value:
            self.add(field, "timezone is required (an IANA name such as 'Europe/Berlin')")
            return
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.add(field, f"{value!r} is not an IANA timezone")

    def languages(self, values: Iterable[str], field: str) -> None:
        """BCP 47-looking language tags."""
        for i, value in enumerate(values):
            self.check(bool(LANGUAGE.match(value)), f"{field}[{i}]", f"{value!r} is no language")


def validate_channel(channel: pb.Channel, v: Violations, path: str = "channel") -> None:
    """Every field of a Channel an operator writes."""
    v.identifier(channel.id, f"{path}.id", CHANNEL_ID, "channel")
    v.text(channel.display_name, f"{path}.display_name", max_length=200)
    v.text(channel.platform, f"{path}.platform", max_length=64)
    v.timezone(channel.timezone, f"{path}.timezone")
    _validate_filters(channel.filters, v, f"{path}.filters")
    _validate_preferences(channel.preferences, v, f"{path}.preferences")
    _validate_schedule(channel.schedule, v, f"{path}.schedule")
    for i, t in enumerate(channel.transformations):
        _validate_transformation(t, v, f"{path}.transformations[{i}]")
    _validate_retry_policy(channel.retry_policy, v, f"{path}.retry_policy")


def _validate_filters(f: pb.ContentFilters, v: Violations, path: str) -> None:
    for name in ("min_duration_seconds", "max_duration_seconds", "min_height", "min_width"):
        v.non_negative(getattr(f, name), f"{path}.{name}")
    v.non_negative(f.min_views, f"{path}.min_views")
    if f.max_duration_seconds and f.min_duration_seconds > f.max_duration_seconds:
        v.add(f"{path}.max_duration_seconds", "must be >= min_duration_seconds")
    v.check(f.orientation in pb.Orientation.values(), f"{path}.orientation", "unknown value")
    for name in ("required_tags", "any_tags", "exclude_tags"):
        for i, tag in enumerate(getattr(f, name)):
            v.check(bool(tag.strip()), f"{path}.{name}[{i}]", "empty tag")
    v.languages(f.languages, f"{path}.languages")


def _validate_preferences(p: pb.Preferences, v: Violations, path: str) -> None:
    for tag, weight in p.tag_weights.items():
        v.check(bool(tag.strip()), f"{path}.tag_weights", "empty tag")
        v.check(
            math.isfinite(weight) and abs(weight) <= 1000,
            f"{path}.tag_weights[{tag}]",
            "weight must be finite, between -1000 and 1000",
        )
    v.check(0 <= p.priority <= 100, f"{path}.priority", "must be between 0 and 100")


def _validate_schedule(s: pb.PostingSchedule, v: Violations, path: str) -> None:
    for i, slot in enumerate(s.slots):
        slot_path = f"{path}.slots[{i}]"
        v.check(bool(slot.days), f"{slot_path}.days", "at least one day is required")
        for j, day in enumerate(slot.days):
            v.check(
                day in range(1, 8), f"{slot_path}.days[{j}]", "must be DAY_OF_WEEK_MONDAY..SUNDAY"
            )
        v.check(
            bool(HHMM.match(slot.local_time)),
            f"{slot_path}.local_time",
            f"{slot.local_time!r} is not a local time HH:MM between 00:00 and 23:59",
        )
    v.check(0 <= s.max_posts_per_day <= 1440, f"{path}.max_posts_per_day", "must be 0..1440")
    for i, window in enumerate(s.blackouts):
        w_path = f"{path}.blackouts[{i}]"
        if v.check(window.HasField("start_time"), f"{w_path}.start_time", "required") and v.check(
            window.HasField("end_time"), f"{w_path}.end_time", "required"
        ):
            v.timestamp(window, "start_time", f"{w_path}.start_time")
            v.timestamp(window, "end_time", f"{w_path}.end_time")
            v.check(
                window.start_time.ToNanoseconds() < window.end_time.ToNanoseconds(),
                f"{w_path}.end_time",
                "must be after start_time",
            )


def _validate_transformation(t: pb.Transformation, v: Violations, path: str) -> None:
    if not v.check(
        t.kind
        in (
            pb.TRANSFORMATION_KIND_TRIM,
            pb.TRANSFORMATION_KIND_CROP,
            pb.TRANSFORMATION_KIND_BURN_CAPTIONS,
        ),
        f"{path}.kind",
        "must be TRANSFORMATION_KIND_TRIM, _CROP or _BURN_CAPTIONS",
    ):
        return
    v.non_negative(t.trim_seconds, f"{path}.trim_seconds")
    if t.kind == pb.TRANSFORMATION_KIND_BURN_CAPTIONS:
        v.check(
            bool(LANGUAGE.match(t.language)), f"{path}.language", "a caption language is required"
        )


def _validate_retry_policy(r: pb.RetryPolicy, v: Violations, path: str) -> None:
    v.check(0 <= r.max_attempts <= 100, f"{path}.max_attempts", "must be 0..100 (0: default)")
    for name in ("initial_backoff", "max_backoff"):
        d = getattr(r, name)
        v.check(d.seconds >= 0 and d.nanos >= 0, f"{path}.{name}", "must not be negative")
    v.check(
        r.backoff_multiplier == 0 or 1.0 <= r.backoff_multiplier <= 10.0,
        f"{path}.backoff_multiplier",
        "must be 1..10 (0: default)",
    )
    if r.HasField("initial_backoff") and r.HasField("max_backoff"):
        v.check(
            r.initial_backoff.ToNanoseconds() <= r.max_backoff.ToNanoseconds(),
            f"{path}.max_backoff",
            "must be >= initial_backoff",
        )


def validate_video(video: pb.Video, v: Violations, path: str) -> None:
    """Every field of a Video an upstream pipeline writes (the URL is checked by the caller)."""
    v.identifier(video.id, f"{path}.id", VIDEO_ID, "video")
    v.text(video.title, f"{path}.title")
    v.check(
        math.isfinite(video.duration_seconds) and 0 <= video.duration_seconds <= 86400 * 7,
        f"{path}.duration_seconds",
        "must be between 0 and 604800",
    )
    v.non_negative(video.width, f"{path}.width")
    v.non_negative(video.height, f"{path}.height")
    v.non_negative(video.views, f"{path}.views")
    for i, tag in enumerate(video.tags):
        v.check(bool(tag.strip()) and len(tag) <= 100, f"{path}.tags[{i}]", "empty or long tag")
    if video.language:
        v.check(bool(LANGUAGE.match(video.language)), f"{path}.language", "not a language tag")
    v.check(video.state in pb.VideoState.values(), f"{path}.state", "unknown value")
    v.timestamp(video, "available_from", f"{path}.available_from")
    v.timestamp(video, "expires_at", f"{path}.expires_at")
    if video.HasField("available_from") and video.HasField("expires_at"):
        v.check(
            video.available_from.ToNanoseconds() < video.expires_at.ToNanoseconds(),
            f"{path}.expires_at",
            "must be after available_from",
        )


def validate_request_id(value: str, v: Violations) -> None:
    """An optional idempotency key of printable ASCII."""
    if value:
        v.check(bool(REQUEST_ID.match(value)), "request_id", "1-128 printable ASCII characters")
