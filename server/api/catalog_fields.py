"""The fields of a Channel and a Video as writers send them: every bound and every parser.

Each repeated field has a cap and each string a length no larger than its column (the caps are
listed in docs/api.md); enum numbers must be known values; times and durations are range-checked
before anything converts them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta

from distribution.v1 import resources_pb2 as pb
from server.api.validation import CHANNEL_ID, POOL_ID, VIDEO_ID, Violations

MAX_TAGS = 100
MAX_TAG_LENGTH = 100
MAX_LANGUAGES = 50
MAX_TAG_WEIGHTS = 200
MAX_SLOTS = 100
MAX_SLOT_WEIGHT = 100.0
MAX_BLACKOUTS = 100
MAX_TRANSFORMATIONS = 10
MAX_TRIM_SECONDS = 7 * 86400
MAX_VIDEO_SECONDS = 7 * 86400
MAX_INITIAL_BACKOFF = timedelta(days=1)
MAX_MAX_BACKOFF = timedelta(days=7)
MAX_MISSED_SLOT_GRACE = timedelta(days=7)
MAX_CHANNEL_POOLS = 8
MAX_POOL_LIMIT = 100_000
_WINDOWS = (pb.QUOTA_WINDOW_CALENDAR_DAY, pb.QUOTA_WINDOW_ROLLING_24H)
INT32_MAX = 2**31 - 1
_KINDS = (
    pb.TRANSFORMATION_KIND_TRIM,
    pb.TRANSFORMATION_KIND_CROP,
    pb.TRANSFORMATION_KIND_BURN_CAPTIONS,
)


def validate_channel(channel: pb.Channel, v: Violations, path: str = "channel") -> None:
    """Every field of a Channel an operator writes."""
    v.identifier(channel.id, f"{path}.id", CHANNEL_ID, "channel")
    v.text(channel.display_name, f"{path}.display_name", max_length=200)
    v.text(channel.platform, f"{path}.platform", max_length=64)
    v.timezone(channel.timezone, f"{path}.timezone")
    _validate_filters(channel.filters, v, f"{path}.filters")
    _validate_preferences(channel.preferences, v, f"{path}.preferences")
    _validate_schedule(channel.schedule, v, f"{path}.schedule")
    if v.items_at_most(channel.transformations, f"{path}.transformations", MAX_TRANSFORMATIONS):
        for i, t in enumerate(channel.transformations):
            _validate_transformation(t, v, f"{path}.transformations[{i}]")
    _validate_retry_policy(channel.retry_policy, v, f"{path}.retry_policy")
    _validate_missed_slot_policy(channel.missed_slot_policy, v, f"{path}.missed_slot_policy")
    _validate_pool_ids(channel.quota_pool_ids, v, f"{path}.quota_pool_ids")


def validate_quota_pool(pool: pb.QuotaPool, v: Violations, path: str = "pool") -> None:
    """Every field of a QuotaPool an operator writes (the output-only ones are ignored)."""
    v.identifier(pool.id, f"{path}.id", POOL_ID, "quota pool")
    v.text(pool.display_name, f"{path}.display_name", max_length=200)
    v.check(1 <= pool.limit <= MAX_POOL_LIMIT, f"{path}.limit", f"must be 1..{MAX_POOL_LIMIT}")
    v.check(
        pool.window in _WINDOWS,
        f"{path}.window",
        "must be QUOTA_WINDOW_CALENDAR_DAY or QUOTA_WINDOW_ROLLING_24H",
    )
    if pool.timezone:
        v.timezone(pool.timezone, f"{path}.timezone")


def _validate_pool_ids(values: Sequence[str], v: Violations, path: str) -> None:
    if not v.items_at_most(values, path, MAX_CHANNEL_POOLS):
        return
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        if v.identifier(value, f"{path}[{i}]", POOL_ID, "quota pool") and value in seen:
            v.add(f"{path}[{i}]", f"duplicate of {path}[{seen[value]}]")
        seen.setdefault(value, i)


def validate_video(video: pb.Video, v: Violations, path: str) -> None:
    """Every field of a Video an upstream pipeline writes (the URL is parsed by the caller)."""
    v.identifier(video.id, f"{path}.id", VIDEO_ID, "video")
    v.text(video.title, f"{path}.title")
    v.in_range(video.duration_seconds, 0, MAX_VIDEO_SECONDS, f"{path}.duration_seconds")
    v.non_negative(video.width, f"{path}.width")
    v.non_negative(video.height, f"{path}.height")
    v.non_negative(video.views, f"{path}.views")
    tags(video.tags, v, f"{path}.tags")
    if video.language:
        v.language(video.language, f"{path}.language")
    v.check(video.state in pb.VideoState.values(), f"{path}.state", "unknown value")
    start = v.time(video, "available_from", f"{path}.available_from")
    end = v.time(video, "expires_at", f"{path}.expires_at")
    if start is not None and end is not None:
        v.check(start < end, f"{path}.expires_at", "must be after available_from")


def tags(values: Sequence[str], v: Violations, path: str) -> None:
    """At most MAX_TAGS non-blank tags of at most MAX_TAG_LENGTH characters."""
    if v.items_at_most(values, path, MAX_TAGS):
        for i, tag in enumerate(values):
            v.check(
                bool(tag.strip()) and len(tag) <= MAX_TAG_LENGTH,
                f"{path}[{i}]",
                f"tags are 1-{MAX_TAG_LENGTH} characters, not blank",
            )


def _validate_filters(f: pb.ContentFilters, v: Violations, path: str) -> None:
    for name in ("min_duration_seconds", "max_duration_seconds", "min_height", "min_width"):
        v.non_negative(getattr(f, name), f"{path}.{name}")
    v.non_negative(f.min_views, f"{path}.min_views")
    if f.max_duration_seconds and f.min_duration_seconds > f.max_duration_seconds:
        v.add(f"{path}.max_duration_seconds", "must be >= min_duration_seconds")
    v.check(f.orientation in pb.Orientation.values(), f"{path}.orientation", "unknown value")
    for name in ("required_tags", "any_tags", "exclude_tags"):
        tags(getattr(f, name), v, f"{path}.{name}")
    if v.items_at_most(f.languages, f"{path}.languages", MAX_LANGUAGES):
        v.languages(f.languages, f"{path}.languages")


def _validate_preferences(p: pb.Preferences, v: Violations, path: str) -> None:
    if not v.items_at_most(list(p.tag_weights), f"{path}.tag_weights", MAX_TAG_WEIGHTS):
        return
    for tag, weight in p.tag_weights.items():
        v.check(
            bool(tag.strip()) and len(tag) <= MAX_TAG_LENGTH,
            f"{path}.tag_weights",
            f"tags are 1-{MAX_TAG_LENGTH} characters, not blank",
        )
        v.in_range(weight, -1000, 1000, f"{path}.tag_weights[{tag[:MAX_TAG_LENGTH]}]")
    v.check(0 <= p.priority <= 100, f"{path}.priority", "must be between 0 and 100")


def _validate_schedule(s: pb.PostingSchedule, v: Violations, path: str) -> None:
    if v.items_at_most(s.slots, f"{path}.slots", MAX_SLOTS):
        for i, slot in enumerate(s.slots):
            slot_path = f"{path}.slots[{i}]"
            v.check(bool(slot.days), f"{slot_path}.days", "at least one day is required")
            if v.items_at_most(slot.days, f"{slot_path}.days", 7):
                for j, day in enumerate(slot.days):
                    v.check(
                        day in range(1, 8),
                        f"{slot_path}.days[{j}]",
                        "must be DAY_OF_WEEK_MONDAY..SUNDAY",
                    )
            v.local_time(slot.local_time, f"{slot_path}.local_time")
            v.check(
                math.isfinite(slot.weight) and 0 <= slot.weight <= MAX_SLOT_WEIGHT,
                f"{slot_path}.weight",
                f"must be 0..{MAX_SLOT_WEIGHT:g} (0 means 1.0)",
            )
    v.check(0 <= s.max_posts_per_day <= 1440, f"{path}.max_posts_per_day", "must be 0..1440")
    if not v.items_at_most(s.blackouts, f"{path}.blackouts", MAX_BLACKOUTS):
        return
    for i, window in enumerate(s.blackouts):
        w_path = f"{path}.blackouts[{i}]"
        v.check(window.HasField("start_time"), f"{w_path}.start_time", "required")
        v.check(window.HasField("end_time"), f"{w_path}.end_time", "required")
        start = v.time(window, "start_time", f"{w_path}.start_time")
        end = v.time(window, "end_time", f"{w_path}.end_time")
        if start is not None and end is not None:
            v.check(start < end, f"{w_path}.end_time", "must be after start_time")


def _validate_transformation(t: pb.Transformation, v: Violations, path: str) -> None:
    if not v.check(
        t.kind in _KINDS,
        f"{path}.kind",
        "must be TRANSFORMATION_KIND_TRIM, _CROP or _BURN_CAPTIONS",
    ):
        return
    v.in_range(t.trim_seconds, 0, MAX_TRIM_SECONDS, f"{path}.trim_seconds")
    v.check(t.orientation in pb.Orientation.values(), f"{path}.orientation", "unknown value")
    if t.kind == pb.TRANSFORMATION_KIND_BURN_CAPTIONS:
        if not t.language:
            v.add(f"{path}.language", "a caption language is required")
        else:
            v.language(t.language, f"{path}.language")
    elif t.language:
        v.language(t.language, f"{path}.language")


def _validate_retry_policy(r: pb.RetryPolicy, v: Violations, path: str) -> None:
    v.check(0 <= r.max_attempts <= 100, f"{path}.max_attempts", "must be 0..100 (0: default)")
    initial = v.duration(
        r, "initial_backoff", f"{path}.initial_backoff", maximum=MAX_INITIAL_BACKOFF
    )
    longest = v.duration(r, "max_backoff", f"{path}.max_backoff", maximum=MAX_MAX_BACKOFF)
    v.check(
        r.backoff_multiplier == 0 or 1.0 <= r.backoff_multiplier <= 10.0,
        f"{path}.backoff_multiplier",
        "must be 1..10 (0: default)",
    )
    if initial is not None and longest is not None:
        v.check(initial <= longest, f"{path}.max_backoff", "must be >= initial_backoff")


def _validate_missed_slot_policy(p: pb.MissedSlotPolicy, v: Violations, path: str) -> None:
    v.duration(p, "grace", f"{path}.grace", maximum=MAX_MISSED_SLOT_GRACE)
    v.check(
        p.action in pb.MissedSlotAction.values(),
        f"{path}.action",
        "must be MISSED_SLOT_ACTION_REPLAN, _CANCEL or _PUBLISH_LATE (0: REPLAN)",
    )
