"""Quota pools as model rows: the windows of `AllocationProblem` built from pool descriptions.

Each pool becomes windows over the free slots of its channels, with what its live
distributions already use taken off the limit (`allocator.limits` explains how the model
uses them):

* CALENDAR_DAY: one window per local day of the pool's timezone (`allocator.quota_windows`),
  so the windows of one pool partition its slots;
* ROLLING_24H: one window [a, a + 24 h) per instant a at which a slot or a live
  distribution of the pool sits. That is enough: any 24 hours that hold a new placement hold
  no more than the window starting at the first instant inside them. Windows with the same
  slots keep the smallest capacity;
* a pool the platform reported full (`full_until`) gets one window of capacity 0 over its
  slots before that instant.

Windows come pool by pool in time order, which is the order `allocator.limits` picks its
disjoint family in: a rolling pool's family is then a tiling of 24-hour spans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from allocator.problem import Int64Array
from allocator.quota_windows import (
    CALENDAR_DAY,
    ROLLING_24H,
    UnknownWindowKind,
    windows_overlapping,
)

_DAY_S = 86_400


@dataclass(frozen=True)
class PoolSpec:
    """One quota pool, as the planner sees it.

    `channels`: indices of the problem's channels that count against it. `used`: epoch seconds
    of every live distribution that counts against it (any channel, in the run or not).
    `full_until`: epoch seconds before which it has no room (0: none).
    """

    id: str
    kind: str
    limit: int
    timezone: str
    channels: tuple[int, ...]
    used: tuple[int, ...] = ()
    full_until: int = 0


@dataclass(frozen=True, eq=False)
class QuotaWindows:
    """The windows' model arrays and, per window, its pool, span and use before the plan."""

    capacity: Int64Array
    slot_ptr: Int64Array
    slots: Int64Array
    pool: Int64Array
    start: Int64Array
    end: Int64Array
    used: Int64Array

    @property
    def count(self) -> int:
        """W."""
        return len(self.capacity)


def quota_windows(
    pools: Sequence[PoolSpec], slot_channel: npt.NDArray[np.integer[Any]], slot_time: Int64Array
) -> QuotaWindows:
    """Every pool's windows over the slots (`slot_channel[s]`, `slot_time[s]` epoch seconds)."""
    rows: list[tuple[int, int, int, int, Int64Array]] = []  # pool, start, end, used, slots
    for i, pool in enumerate(pools):
        mine = np.flatnonzero(np.isin(slot_channel, np.asarray(pool.channels, np.int64)))
        mine = mine[np.argsort(slot_time[mine], kind="stable")]
        times = slot_time[mine]
        used = np.sort(np.asarray(pool.used, np.int64))
        if len(mine) == 0:
            continue
        if pool.kind == CALENDAR_DAY:
            spans = _calendar_spans(pool.timezone, int(times[0]), int(times[-1]))
        elif pool.kind == ROLLING_24H:
            spans = _rolling_spans(times, used)
        else:
            raise UnknownWindowKind(pool.kind)
        seen: dict[tuple[int, int], int] = {}
        for start, end in spans:
            lo, hi = np.searchsorted(times, [start, end])
            if hi <= lo:
                continue
            n_used = int(np.searchsorted(used, end) - np.searchsorted(used, start))
            if (int(lo), int(hi)) in seen:  # same slots: the fuller window decides
                j = seen[(int(lo), int(hi))]
                if n_used > rows[j][3]:
                    rows[j] = (i, start, end, n_used, rows[j][4])
                continue
            seen[(int(lo), int(hi))] = len(rows)
            rows.append((i, start, end, n_used, mine[lo:hi]))
        if pool.full_until > int(times[0]):
            cut = int(np.searchsorted(times, pool.full_until))
            rows.append((i, int(times[0]), pool.full_until, pool.limit, mine[:cut]))
    limits = np.array([pools[r[0]].limit for r in rows], np.int64)
    used_arr = np.array([r[3] for r in rows], np.int64)
    sizes = [len(r[4]) for r in rows]
    return QuotaWindows(
        capacity=np.maximum(limits - used_arr, 0),
        slot_ptr=np.cumsum([0, *sizes]).astype(np.int64),
        slots=np.concatenate([r[4] for r in rows]).astype(np.int64) if rows else _EMPTY,
        pool=np.array([r[0] for r in rows], np.int64),
        start=np.array([r[1] for r in rows], np.int64),
        end=np.array([r[2] for r in rows], np.int64),
        used=used_arr,
    )


_EMPTY = np.zeros(0, np.int64)


def _calendar_spans(timezone: str, first: int, last: int) -> list[tuple[int, int]]:
    lo = datetime.fromtimestamp(first, UTC)
    hi = datetime.fromtimestamp(last + 1, UTC)
    return [
        (int(a.timestamp()), int(b.timestamp()))
        for a, b in windows_overlapping(CALENDAR_DAY, timezone, lo, hi)
    ]


def _rolling_spans(times: Int64Array, used: Int64Array) -> list[tuple[int, int]]:
    near = used[(used > int(times[0]) - _DAY_S) & (used <= int(times[-1]))]
    starts = np.unique(np.concatenate([times, near]))
    return [(int(a), int(a) + _DAY_S) for a in starts.tolist()]
