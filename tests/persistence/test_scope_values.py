"""A plan's scope read as plain values equals the scope read through ORM objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from persistence import models
from persistence.enums import DistributionMethod, DistributionState, VideoState
from server.usecases.domain_values import video_to_domain
from server.usecases.scope_values import videos_from_values

T = datetime(2030, 1, 1, 9, tzinfo=UTC)


@pytest.fixture
def db(migrated):
    migrated.transaction(_seed)
    return migrated


def _seed(session):
    for cid in ("c1", "c2"):
        session.add(models.Channel(id=cid, timezone="UTC", config={}))
    states = [VideoState.READY, VideoState.NOT_READY, VideoState.READY, VideoState.RETIRED]
    for i, state in enumerate(states):
        session.add(
            models.Video(
                id=f"v{3 - i}",
                source_url=f"https://x.test/{i}",
                title="t",
                duration_seconds=12.5 * i,
                width=1920 - i,
                height=1080 + i,
                views=2**40 + i,
                tags=["Cooking", "é"][: i % 3],
                watermarked=bool(i % 2),
                language="de-AT" if i else "",
                state=state,
                available_from=T + timedelta(hours=i) if i % 2 == 0 else None,
                expires_at=T + timedelta(days=i) if i else None,
            )
        )
    session.flush()
    # Live rows: of a READY video on c2, of a NOT_READY video on c1, of a RETIRED one on c2,
    # and a cancelled one (not live) of a READY video.
    for n, (video, channel, state) in enumerate(
        [
            ("v3", "c2", DistributionState.SCHEDULED),
            ("v2", "c1", DistributionState.PUBLISHED),
            ("v0", "c2", DistributionState.SCHEDULED),
            ("v1", "c2", DistributionState.CANCELLED),
        ]
    ):
        session.add(
            models.Distribution(
                id=f"d{n}",
                video_id=video,
                channel_id=channel,
                source_url=f"https://x.test/{video}",
                method=DistributionMethod.MANUAL,
                state=state,
                scheduled_at=T + timedelta(hours=n),
            )
        )


def test_ready_values_give_the_orm_path_s_videos_in_id_order(db):
    def read(repos):
        V = models.Video
        orm = repos._session.scalars(
            select(V).where(V.state == VideoState.READY).order_by(V.id)
        ).all()
        return videos_from_values(repos.videos.ready_values()), [video_to_domain(v) for v in orm]

    fast, orm = db.unit_of_work(read, readonly=True)
    assert [v.id for v in fast] == ["v1", "v3"]
    assert fast == orm


def test_live_pairs_of_every_ready_video_match_the_explicit_list(db):
    def read(repos):
        ids = [row[0] for row in repos.videos.ready_values()]
        return (
            sorted(repos.distributions.live_pairs(["c1"], None)),
            sorted(repos.distributions.live_pairs(["c1"], ids)),
        )

    by_subquery, by_list = db.unit_of_work(read, readonly=True)
    # c1's live row (v2, not READY) and the READY video v3's row on c2; not the RETIRED
    # video's row on c2, nor the cancelled one.
    assert [(r[0], r[1]) for r in by_subquery] == [("v2", "c1"), ("v3", "c2")]
    assert by_subquery == by_list
