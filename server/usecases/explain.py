"""Explain: the match of every requested (video, channel) pair, with the filters and scores that
AutoDistribute uses, the live duplicate and what blocks the pair now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from allocator import filters, scoring
from persistence import models
from persistence.base import utcnow
from persistence.repositories import Repositories
from server.usecases.availability import channel_blockers, video_blockers
from server.usecases.domain_values import channels_scoring, transformation_json, video_to_domain
from server.usecases.errors import NotFound


@dataclass(frozen=True)
class ExplainCommand:
    """Explain every pair of `video_ids` x `channel_ids` (empty: every channel)."""

    video_ids: tuple[str, ...]
    channel_ids: tuple[str, ...]


class PairExplanation(NamedTuple):
    """How one video matches one channel (a NamedTuple: one is built per pair, 500 a call for
    a wide Explain, and a frozen dataclass took longer to build than the match)."""

    video_id: str
    channel_id: str
    eligible: bool
    score: int
    failed_filters: tuple[str, ...]
    duplicate_of: str
    blockers: list[str]
    transformations: list[dict[str, Any]]
    best_slot_weight: float = 0.0  # 0: every slot of the channel weighs 1.0


def explain(repos: Repositories, command: ExplainCommand) -> list[PairExplanation]:
    """One explanation per pair, videos outer, channels inner, in request (or id) order.

    Three queries whatever the number of pairs (the videos, the channels, the live duplicates
    of every pair), and a fourth for the configurations of channel versions not compiled yet.
    Each channel's rules, tag weights and priority come compiled per version
    (`domain_values.channels_scoring`), and each video's tags are normalised once, so a pair
    costs one `filters.evaluate` and one `scoring.pair_total`.
    """
    now = utcnow()
    videos = _videos(repos, command.video_ids)
    rows = _channels(repos, command.channel_ids)
    duplicates = repos.wide.live_duplicates_indexed(
        [(v.id, v.source_url) for v in videos], [c.id for c in rows]
    )
    compiled = channels_scoring(rows, repos.channels.configs)
    targets = [
        (
            row.id,
            c.rules,
            c.weights,
            c.priority_points,
            channel_blockers(row, now),
            c.best_slot_weight,
        )
        for row, c in zip(rows, compiled, strict=True)
    ]
    evaluate, total, as_json = filters.evaluate, scoring.pair_total, transformation_json
    pairs = []
    for video in videos:
        dom_video = video_to_domain(video)
        tags = filters.normalise_tags(dom_video.tags)
        blocked = video_blockers(video, now)
        video_id = video.id
        for channel_id, rules, weights, priority_points, channel_blocked, best in targets:
            match = evaluate(dom_video, rules)
            pairs.append(
                PairExplanation(
                    video_id,
                    channel_id,
                    match.eligible,
                    total(dom_video, tags, rules, weights, priority_points, match),
                    match.failed_filters,
                    duplicates.get((video_id, channel_id), ""),
                    channel_blocked + blocked,
                    [as_json(t) for t in match.transformations],
                    best,
                )
            )
    return pairs


def _videos(repos: Repositories, video_ids: tuple[str, ...]) -> list[models.Video]:
    """The requested videos in request order; NotFound names the first missing one."""
    found = repos.videos.by_id_list(video_ids)
    for i, vid in enumerate(video_ids):
        if vid not in found:
            raise NotFound("video", vid, field=f"video_ids[{i}]")
    return [found[vid] for vid in video_ids]


def _channels(repos: Repositories, channel_ids: tuple[str, ...]) -> list[Any]:
    """The requested channels in request order (none requested: every channel, by id) as rows
    of their version and availability (`ChannelRepository.versions`: the Channel's attribute
    names, which `channel_blockers` reads too); NotFound names the first missing one."""
    if not channel_ids:
        return repos.channels.versions(None)
    found = {row.id: row for row in repos.channels.versions(channel_ids)}
    for i, cid in enumerate(channel_ids):
        if cid not in found:
            raise NotFound("channel", cid, field=f"channel_ids[{i}]")
    return [found[cid] for cid in channel_ids]
