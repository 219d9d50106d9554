"""Explain: the match of every requested (video, channel) pair, with the filters and scores that
AutoDistribute uses, the live duplicate and what blocks the pair now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from allocator import domain as d
from allocator import filters, scoring
from persistence import models
from persistence.base import utcnow
from persistence.repositories import Repositories
from server.usecases import lookups
from server.usecases.availability import channel_blockers, video_blockers
from server.usecases.domain_values import channel_to_domain, transformation_json, video_to_domain


@dataclass(frozen=True)
class ExplainCommand:
    """Explain every pair of `video_ids` x `channel_ids` (empty: every channel)."""

    video_ids: tuple[str, ...]
    channel_ids: tuple[str, ...]


@dataclass(frozen=True)
class PairExplanation:
    """How one video matches one channel."""

    video_id: str
    channel_id: str
    eligible: bool
    score: int
    failed_filters: tuple[str, ...]
    duplicate_of: str
    blockers: list[str]
    transformations: list[dict[str, Any]]


def explain(repos: Repositories, command: ExplainCommand) -> list[PairExplanation]:
    """One explanation per pair, videos outer, channels inner, in request (or id) order."""
    now = utcnow()
    videos = [
        lookups.video(repos, vid, f"video_ids[{i}]") for i, vid in enumerate(command.video_ids)
    ]
    if command.channel_ids:
        channels = [
            lookups.channel(repos, cid, f"channel_ids[{i}]")
            for i, cid in enumerate(command.channel_ids)
        ]
    else:
        channels = repos.channels.all()
    dom_channels = [(c, channel_to_domain(c)) for c in channels]
    pairs = []
    for video in videos:
        dom_video = video_to_domain(video)
        for channel, dom_channel in dom_channels:
            pairs.append(_explain_pair(repos, video, dom_video, channel, dom_channel, now))
    return pairs


def _explain_pair(
    repos: Repositories,
    video: models.Video,
    dom_video: d.Video,
    channel: models.Channel,
    dom_channel: d.Channel,
    now: datetime,
) -> PairExplanation:
    match = filters.check(dom_video, dom_channel)
    duplicate = repos.distributions.live_duplicate(video.id, video.source_url, channel.id)
    return PairExplanation(
        video_id=video.id,
        channel_id=channel.id,
        eligible=match.eligible,
        score=scoring.score(dom_video, dom_channel, match).total,
        failed_filters=match.failed_filters,
        duplicate_of=duplicate.id if duplicate else "",
        blockers=channel_blockers(channel, now) + video_blockers(video, now),
        transformations=[transformation_json(t) for t in match.transformations],
    )
