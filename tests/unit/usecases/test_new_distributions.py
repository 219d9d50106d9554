"""The bulk builder of a plan's distributions makes what the one-by-one builder makes."""

from __future__ import annotations

from datetime import UTC, datetime

from persistence.enums import DistributionMethod
from server.usecases.lifecycle import PlannedValues, new_distribution, new_distributions

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _values(i: int) -> PlannedValues:
    return PlannedValues(
        video_id=f"v{i}",
        channel_id="c",
        source_url=f"https://x.test/{i}",
        scheduled_at=datetime(2030, 1, 2, i, tzinfo=UTC),
        score=100 + i,
        reason=f"planned {i}",
        details={"code": "AUTO", "score": {"total": 100 + i}},
        transformations=[{"kind": "TRANSFORMATION_KIND_TRIM"}] if i else [],
        max_attempts=3 + i,
    )


def test_new_distributions_equal_new_distribution_but_for_their_ids():
    common = {"method": DistributionMethod.AUTO_FILTER, "actor": "a", "run_id": "r", "now": NOW}
    many = new_distributions((_values(i) for i in range(3)), **common)
    one_by_one = [new_distribution(**_values(i)._asdict(), **common) for i in range(3)]
    assert [{**row, "id": ""} for row in many] == [{**row, "id": ""} for row in one_by_one]
    assert len({row["id"] for row in many + one_by_one}) == 6
