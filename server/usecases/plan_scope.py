"""An AutoDistribute command, and what its run plans over, read in the run's transaction:
the videos and the locked channels in scope, the live distributions (pins, taken slots,
duplicates) and, when the run re-plans, the distributions it may move or drop."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from allocator.planning import LivePair, Scope
from allocator.problem import Mode
from allocator.release import Released
from persistence.base import utcnow
from persistence.enums import DistributionMethod
from persistence.repositories import Repositories
from server.usecases import lookups
from server.usecases.availability import available_now
from server.usecases.domain_values import channel_to_domain, video_to_domain
from server.usecases.plan_quotas import scope_pools
from server.usecases.retry_policy import policy_for
from server.usecases.scope_values import videos_from_values

#: Re-planning leaves alone what is due within this time, unless freeze_until says otherwise.
DEFAULT_FREEZE = timedelta(hours=1)


@dataclass(frozen=True)
class AutoDistributeCommand:
    """One planning run over [start, end); empty id lists mean every READY video or active
    channel. `parameters` is the request as the caller sent it, kept on the run record."""

    mode: Mode
    video_ids: tuple[str, ...]
    channel_ids: tuple[str, ...]
    start: datetime
    end: datetime
    max_channels_per_video: int
    min_score: int
    min_hours_between: int
    time_limit_seconds: float
    dry_run: bool
    actor: str
    parameters: Mapping[str, Any]
    #: A dry run's input_digest that this run must match (empty: no check).
    expected_input_digest: str = ""
    #: A dry run's plan_digest that this run's plan must match (empty: no check).
    expected_plan_digest: str = ""
    #: Re-planning: SCHEDULED AUTO_* distributions from freeze_until on may move or drop, each
    #: that leaves its channel costing change_penalty.
    replan: bool = False
    freeze_until: datetime | None = None
    change_penalty: int = 1
    #: How long a dry run's proposal can be applied.
    proposal_ttl: timedelta = timedelta(hours=24)
    #: At most this many live channels of one platform per video (0: no cap).
    max_channels_per_platform: int = 0

    @property
    def method(self) -> DistributionMethod:
        """The method recorded on the run's distributions."""
        if self.mode is Mode.FILTER:
            return DistributionMethod.AUTO_FILTER
        return DistributionMethod.AUTO_SCHEDULE


def load_scope(repos: Repositories, request: AutoDistributeCommand) -> tuple[Scope, dict[str, int]]:
    """The run's scope (its channels row-locked), and each channel's max attempts."""
    now = utcnow()
    channel_ids = list(request.channel_ids) or repos.channels.active_ids()
    channels = lookups.locked_channels(repos, channel_ids)
    if request.video_ids:
        videos = [video_to_domain(v) for v in lookups.videos(repos, request.video_ids)]
        video_ids: list[str] | None = [v.id for v in videos]
    else:
        videos = videos_from_values(repos.videos.ready_values())
        video_ids = None  # every READY video: the database matches them itself
    capped = request.max_channels_per_platform > 0
    live = [
        LivePair(*row)
        for row in repos.distributions.live_pairs(
            [c.id for c in channels], video_ids, with_platform=capped
        )
    ]
    released: list[Released] = []
    if request.replan:
        freeze = max(request.freeze_until or now + DEFAULT_FREEZE, request.start)
        in_scope = {v.id for v in videos}
        rows = repos.distributions.movable([c.id for c in channels], freeze, request.end)
        released = [Released(*row) for row in rows if row.video_id in in_scope]
        # A released distribution is no pin: its slot and its pair are the plan's to give.
        held = {(r.channel_id, r.scheduled_at) for r in released}
        live = [p for p in live if (p.channel_id, p.scheduled_at) not in held]
    scope = Scope(
        mode=request.mode,
        videos=videos,
        channels=[channel_to_domain(c) for c in channels],
        channel_unavailable_until=[
            None if available_now(c, now) else c.unavailable_until for c in channels
        ],
        channel_takes_work=[_takes_work(c, now, request.end) for c in channels],
        live=live,
        start=request.start,
        end=request.end,
        max_channels_per_video=request.max_channels_per_video,
        min_score=request.min_score,
        min_hours_between=request.min_hours_between,
        time_limit_seconds=request.time_limit_seconds,
        released=sorted(released, key=lambda r: (r.channel_id, r.scheduled_at)),
        change_penalty=request.change_penalty,
        quota_pools=scope_pools(
            repos, [c.id for c in channels], request.start, request.end, released
        ),
        channel_platforms=[c.platform for c in channels],
        max_channels_per_platform=request.max_channels_per_platform,
    )
    return scope, {c.id: policy_for(c).max_attempts for c in channels}


def _takes_work(channel: Any, now: datetime, end: datetime) -> bool:
    """Active, and available now or back before the horizon ends."""
    return channel.active and (
        available_now(channel, now)
        or (channel.unavailable_until is not None and channel.unavailable_until < end)
    )
