"""Seeded benchmark instances: domain videos and channels, and the allocation problem they make.

The problem is built as the server builds it, by `allocator.planning.build_instance`.

Videos: tags drawn from a Zipf-popular vocabulary (a few tags everywhere, a long tail), views
lognormal and correlated with how popular the video's tags are, a mix of orientations,
durations and languages, some availability windows inside the horizon, and a few re-uploads
sharing a source URL. Channels: 40 IANA time zones (DST and half-hour offsets included), 1-10
posting times a day, content filters built from the same tag vocabulary (so eligibility is
correlated with popularity), tag weights, priorities and some transformations. The horizon is
14 days from Monday 2026-03-23, across the European DST change of 2026-03-29.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime

import numpy as np

from allocator.domain import (
    Channel,
    ContentFilters,
    Orientation,
    PostingSchedule,
    Preferences,
    Transformation,
    TransformationKind,
    Video,
    WeeklySlot,
)
from allocator.planning import Scope, build_instance
from allocator.problem import AllocationProblem, Mode

HORIZON_START = datetime(2026, 3, 23, tzinfo=UTC)
HORIZON_DAYS = 14
ZONES = (
    "UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Rome",
    "Europe/Warsaw", "Europe/Kyiv", "Europe/Istanbul", "Europe/Moscow", "Africa/Lagos",
    "Africa/Cairo", "Africa/Johannesburg", "Asia/Dubai", "Asia/Tehran", "Asia/Kolkata",
    "Asia/Kathmandu", "Asia/Dhaka", "Asia/Bangkok", "Asia/Shanghai", "Asia/Tokyo",
    "Asia/Seoul", "Asia/Jakarta", "Asia/Manila", "Australia/Sydney", "Australia/Adelaide",
    "Australia/Lord_Howe", "Pacific/Auckland", "Pacific/Chatham", "Pacific/Honolulu",
    "America/Anchorage", "America/Los_Angeles", "America/Denver", "America/Chicago",
    "America/New_York", "America/Halifax", "America/St_Johns", "America/Sao_Paulo",
    "America/Mexico_City", "America/Santiago",
)  # fmt: skip
LANGUAGES = ("en", "de", "fr", "es", "pt", "ja", "hi", "ar")


@dataclass(frozen=True)
class Spec:
    """Instance size and rules."""

    name: str
    videos: int
    channels: int
    days: int = HORIZON_DAYS
    max_channels_per_video: int = 3
    min_hours_between: int = 0
    window_share: float = 0.1
    mode: Mode = Mode.FILTER
    tags: int = 400
    any_tags: tuple[int, int] = (6, 14)
    time_limit: float = 60.0


SPECS = {
    "S": Spec("S", 1_000, 20, time_limit=20.0),
    "M": Spec("M", 20_000, 300),
    "L": Spec("L", 100_000, 500, time_limit=120.0),
    "staggered": Spec(
        "staggered", 2_000, 50, min_hours_between=48, window_share=0.3, time_limit=60.0
    ),
}


@dataclass(frozen=True)
class Instance:
    """Domain objects of one instance."""

    spec: Spec
    videos: list[Video]
    channels: list[Channel]
    start: datetime
    end: datetime


def generate(spec: Spec, seed: int = 0) -> Instance:
    """Seeded videos and channels for `spec`."""
    rng = np.random.default_rng(seed)
    start = HORIZON_START
    end = start + timedelta(days=spec.days)
    tag_p = 1.0 / np.arange(1, spec.tags + 1) ** 1.1  # Zipf popularity of tags
    tag_p /= tag_p.sum()
    tag_names = [f"t{i}" for i in range(spec.tags)]
    return Instance(
        spec=spec,
        videos=_videos(spec, rng, tag_p, tag_names, start, end),
        channels=_channels(spec, rng, tag_p, tag_names),
        start=start,
        end=end,
    )


def _videos(
    spec: Spec,
    rng: np.random.Generator,
    tag_p: np.ndarray,
    tag_names: list[str],
    start: datetime,
    end: datetime,
) -> list[Video]:
    n = spec.videos
    n_tags = rng.integers(2, 7, n)
    all_tags = rng.choice(spec.tags, size=(n, 6), p=tag_p)
    # Popular tags -> more views: lognormal around a mean that grows with tag popularity.
    popularity = np.log(tag_p[all_tags[:, 0]] * spec.tags)
    views = np.exp(rng.normal(8.0 + 0.8 * popularity, 1.5)).astype(np.int64)
    orient = rng.choice(3, n, p=[0.5, 0.4, 0.1])
    short = rng.integers(720, 1440, n)
    width = np.where(orient == 0, short, np.where(orient == 1, short * 16 // 9, short))
    height = np.where(orient == 0, short * 16 // 9, short)
    duration = rng.lognormal(4.5, 1.0, n).round(1)
    language = rng.choice(len(LANGUAGES), n, p=[0.45, 0.12, 0.1, 0.1, 0.08, 0.06, 0.05, 0.04])
    horizon_s = int((end - start).total_seconds())
    window = rng.random(n)
    offset = rng.integers(0, horizon_s, n)
    length = rng.integers(2 * 86_400, 6 * 86_400, n)
    sources = [f"https://videos.example/{i}" for i in range(n)]
    dup = np.flatnonzero(rng.random(n) < 0.02)
    for i in dup:
        if i > 0:
            sources[i] = sources[int(rng.integers(0, i))]
    videos = []
    for i in range(n):
        available_from = expires_at = None
        w = window[i]
        if w < spec.window_share / 2:
            available_from = start + timedelta(seconds=int(offset[i]))
        elif w < spec.window_share:
            expires_at = start + timedelta(seconds=int(offset[i]))
            if w < spec.window_share * 0.75:
                available_from = expires_at - timedelta(seconds=int(length[i]))
        videos.append(
            Video(
                id=f"v{i}",
                source_url=sources[i],
                duration_seconds=float(duration[i]),
                width=int(width[i]),
                height=int(height[i]),
                views=int(views[i]),
                tags=tuple(tag_names[t] for t in all_tags[i, : n_tags[i]]),
                watermarked=bool(rng.random() < 0.1),
                language=LANGUAGES[int(language[i])],
                available_from=available_from,
                expires_at=expires_at,
            )
        )
    return videos


def _channels(
    spec: Spec, rng: np.random.Generator, tag_p: np.ndarray, tag_names: list[str]
) -> list[Channel]:
    channels = []
    # Channels pick their topics from a flatter distribution than videos use: niche channels.
    topic_p = np.sqrt(tag_p) / np.sqrt(tag_p).sum()
    for c in range(spec.channels):
        n_any = int(rng.integers(*spec.any_tags))
        any_tags = rng.choice(spec.tags, size=n_any, replace=False, p=topic_p)
        weights = rng.choice(spec.tags, size=5, replace=False, p=tag_p)
        per_day = int(rng.integers(1, 11))
        minutes = sorted(rng.choice(24 * 60 // 15, size=per_day, replace=False) * 15)
        times = tuple(
            WeeklySlot(days=(1, 2, 3, 4, 5, 6, 7), local_time=dtime(m // 60, m % 60))
            for m in minutes
        )
        orientation = (Orientation.UNSPECIFIED, Orientation.VERTICAL, Orientation.HORIZONTAL)[
            int(rng.choice(3, p=[0.6, 0.25, 0.15]))
        ]
        transformations: list[Transformation] = []
        if rng.random() < 0.5:
            transformations.append(Transformation(TransformationKind.TRIM, trim_seconds=60))
        if rng.random() < 0.3:
            transformations.append(Transformation(TransformationKind.CROP, orientation=orientation))
        languages = ()
        if rng.random() < 0.3:
            languages = tuple(rng.choice(LANGUAGES, size=2, replace=False).tolist())
        channels.append(
            Channel(
                id=f"ch{c}",
                timezone=ZONES[c % len(ZONES)],
                filters=ContentFilters(
                    max_duration_seconds=int(rng.choice([0, 60, 180, 600])),
                    orientation=orientation,
                    min_views=int(rng.choice([0, 0, 100, 1000])),
                    any_tags=tuple(tag_names[t] for t in any_tags),
                    exclude_watermarked=bool(rng.random() < 0.3),
                    languages=languages,
                ),
                preferences=Preferences(
                    tag_weights=tuple(
                        (tag_names[t], float(rng.uniform(-0.5, 3.0))) for t in weights
                    ),
                    priority=int(rng.integers(0, 10)),
                ),
                schedule=PostingSchedule(slots=times),
                transformations=tuple(transformations),
            )
        )
    return channels


@dataclass(frozen=True)
class Built:
    """The allocation problem of an instance and how long the translation took."""

    problem: AllocationProblem
    instance_seconds: float  # build_instance: video table, candidates, free slots, arrays


def build_problem(instance: Instance, time_limit: float | None = None) -> Built:
    """The problem the server would build, through `allocator.planning.build_instance`.

    The scope: every video and channel, all channels available, nothing live, min_score 0.
    """
    spec = instance.spec
    n = len(instance.channels)
    scope = Scope(
        mode=spec.mode,
        videos=instance.videos,
        channels=instance.channels,
        channel_unavailable_until=[None] * n,
        channel_takes_work=[True] * n,
        live=[],
        start=instance.start,
        end=instance.end,
        max_channels_per_video=spec.max_channels_per_video,
        min_score=0,
        min_hours_between=spec.min_hours_between,
        time_limit_seconds=time_limit if time_limit is not None else spec.time_limit,
    )
    t0 = time.perf_counter()
    problem = build_instance(scope).problem
    return Built(problem=problem, instance_seconds=time.perf_counter() - t0)
