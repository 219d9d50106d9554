"""Explain: the match of every requested (video, channel) pair, with the filters and scores that
AutoDistribute uses, the live duplicate and what blocks the pair now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from allocator import domain as d
from allocator import filters, scoring
from persistence.base import utcnow
from persistence.repositories import Repositories
from server.usecases import lookups
from server.usecases.availability import channel_blockers, video_blockers
from server.usecases.domain_values import channels_to_domain, transformation_json, video_to_domain
from server.usecases.errors import NotFound


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
    """One explanation per pair, videos outer, channels inner, in request (or id) order.

    Three queries whatever the number of pairs (the videos, the channels, the live duplicates
    of every pair), and a fourth for the configurations of channel versions not parsed yet.
    """
    now = utcnow()
    videos = lookups.videos(repos, command.video_ids)
    rows = _channels(repos, command.channel_ids)
    duplicates = repos.distributions.live_duplicates(
        [(v.id, v.source_url) for v in videos], [c.id for c in rows]
    )
    channels = channels_to_domain(rows, repos.channels.configs)
    targets = [_Target.of(row, channel, now) for row, channel in zip(rows, channels, strict=True)]
    pairs = []
    for video in videos:
        dom_video = video_to_domain(video)
        blocked = video_blockers(video, now)
        for target in targets:
            pairs.append(_explain_pair(video.id, dom_video, blocked, target, duplicates))
    return pairs


def _channels(repos: Repositories, channel_ids: tuple[str, ...]) -> list[Any]:
    """The requested channels in request order (none requested: every channel, by id) as rows
    without their configuration (`ChannelRepository.without_config`: the Channel's attribute
    names, which `channel_blockers` reads too); NotFound names the first missing one."""
    if not channel_ids:
        return repos.channels.without_config(None)
    found = {row.id: row for row in repos.channels.without_config(channel_ids)}
    for i, cid in enumerate(channel_ids):
        if cid not in found:
            raise NotFound("channel", cid, field=f"channel_ids[{i}]")
    return [found[cid] for cid in channel_ids]


@dataclass(frozen=True)
class _Target:
    """What a channel contributes to each of its pairs, worked out once per call."""

    channel: d.Channel
    rules: filters.ChannelRules
    blockers: list[str]

    @classmethod
    def of(cls, row: Any, channel: d.Channel, now: datetime) -> _Target:
        return cls(channel, filters.compile_rules(channel), channel_blockers(row, now))


def _explain_pair(
    video_id: str,
    dom_video: d.Video,
    video_blocked: list[str],
    target: _Target,
    duplicates: dict[tuple[str, str], str],
) -> PairExplanation:
    channel = target.channel
    match = filters.evaluate(dom_video, target.rules)
    return PairExplanation(
        video_id=video_id,
        channel_id=channel.id,
        eligible=match.eligible,
        score=scoring.score(dom_video, channel, match).total,
        failed_filters=match.failed_filters,
        duplicate_of=duplicates.get((video_id, channel.id), ""),
        blockers=target.blockers + video_blocked,
        transformations=[transformation_json(t) for t in match.transformations],
    )
