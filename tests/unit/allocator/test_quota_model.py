"""`allocator.quota_model`: pools become windows over the slots, with their use taken off."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.quota_model import PoolSpec, quota_windows
from allocator.quota_windows import CALENDAR_DAY, ROLLING_24H, fits

H = 3600
T0 = int(datetime(2026, 3, 7, tzinfo=UTC).timestamp())  # the US DST change is on 2026-03-08


def _windows_of(q, s: int) -> list[int]:
    return [w for w in range(q.count) if s in q.slots[q.slot_ptr[w] : q.slot_ptr[w + 1]]]


def test_calendar_pool_windows_are_the_pools_local_days_across_dst() -> None:
    # Two channels, a slot every 6 hours for 3 days; the pool counts both, in Los Angeles.
    times = np.array([T0 + k * 6 * H for k in range(12)] * 2, np.int64)
    channel = np.repeat([0, 1], 12)
    order = np.lexsort((times, channel))
    pool = PoolSpec("yt", CALENDAR_DAY, 5, "America/Los_Angeles", (0, 1), used=(T0 + 9 * H,))
    q = quota_windows([pool], channel[order], times[order])
    starts = [datetime.fromtimestamp(int(s), UTC) for s in q.start]
    # Local midnights: 08:00 UTC in PST, 07:00 UTC from 2026-03-09 on (PDT).
    assert [(s.day, s.hour) for s in starts] == [(6, 8), (7, 8), (8, 8), (9, 7)]
    assert q.end[2] - q.start[2] == 23 * H  # the short day of the change
    assert np.all(np.diff(q.slot_ptr) > 0)
    # Every slot lies in exactly one window, and the live distribution at 09:00 UTC on the
    # 7th (01:00 PST) counts in the local day of the 7th, which began at 08:00 UTC.
    assert all(len(_windows_of(q, s)) == 1 for s in range(len(times)))
    assert q.used.tolist() == [0, 1, 0, 0]
    assert q.capacity.tolist() == [5, 4, 5, 5]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 72), min_size=1, max_size=12, unique=True),
    st.lists(st.integers(-30, 90), max_size=8),
    st.integers(1, 4),
)
def test_rolling_windows_allow_exactly_the_placements_that_fit(
    slot_hours: list[int], used_hours: list[int], limit: int
) -> None:
    times = np.array(sorted(T0 + h * H for h in slot_hours), np.int64)
    used = tuple(T0 + h * H for h in used_hours)
    q = quota_windows(
        [PoolSpec("ig", ROLLING_24H, limit, "UTC", (0,), used=used)],
        np.zeros(len(times), np.int64),
        times,
    )
    # A single new placement at slot s is allowed by the windows iff it fits the pool.
    for s in range(len(times)):
        by_windows = all(q.capacity[w] >= 1 for w in _windows_of(q, s))
        at = datetime.fromtimestamp(int(times[s]), UTC)
        assert by_windows == fits(
            ROLLING_24H, "UTC", limit, [datetime.fromtimestamp(u, UTC) for u in used], at
        )


def test_a_pool_reported_full_has_no_room_before_its_reset() -> None:
    times = np.array([T0 + k * 4 * H for k in range(6)], np.int64)
    pool = PoolSpec("tt", CALENDAR_DAY, 15, "UTC", (0,), full_until=T0 + 10 * H)
    q = quota_windows([pool], np.zeros(6, np.int64), times)
    held = [w for w in range(q.count) if q.capacity[w] == 0]
    assert len(held) == 1
    assert sorted(q.slots[q.slot_ptr[held[0]] : q.slot_ptr[held[0] + 1]].tolist()) == [0, 1, 2]
