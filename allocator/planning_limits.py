"""A scope's platform limits as problem arrays: quota pools and the per-platform video cap.

`build_instance` calls `limit_fields` once the free slots and candidates are known; the
result goes straight into `AllocationProblem` (see `allocator.limits` for the model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from allocator.problem import Int64Array
from allocator.quota_model import PoolSpec, QuotaWindows, quota_windows


@dataclass(frozen=True)
class ScopePool:
    """A quota pool of the scope's channels: kind (`allocator.quota_windows`), limit, zone,
    every member channel (in the scope or not), the instants of the live distributions that
    count against it, and until when the platform reported it full (None: it did not)."""

    id: str
    kind: str
    limit: int
    timezone: str
    channel_ids: tuple[str, ...]
    used: tuple[datetime, ...] = ()
    full_until: datetime | None = None


def limit_fields(
    pools: Sequence[ScopePool],
    channel_index: Mapping[str, int],
    slot_channel: npt.NDArray[np.integer[Any]],
    slot_time: Int64Array,
    cap: int,
    channel_platforms: Sequence[str],
    live_platform_uses: Mapping[tuple[int, str], int],
    cand_video: npt.NDArray[np.integer[Any]],
    cand_channel: npt.NDArray[np.integer[Any]],
) -> tuple[dict[str, Any], QuotaWindows]:
    """The problem's window and platform-cap fields, and the windows for reporting.

    `cap` is max_channels_per_platform (0: none); `live_platform_uses[(video, platform)]`
    counts the live distributions of scope video `video` on channels of that platform.
    Only (video, platform) rows that can bind (more candidates than channels left) are kept.
    """
    specs = [
        PoolSpec(
            id=pool.id,
            kind=pool.kind,
            limit=pool.limit,
            timezone=pool.timezone,
            channels=tuple(channel_index[c] for c in pool.channel_ids if c in channel_index),
            used=tuple(int(t.timestamp()) for t in pool.used),
            full_until=int(pool.full_until.timestamp()) if pool.full_until else 0,
        )
        for pool in pools
    ]
    windows = quota_windows(specs, slot_channel, slot_time)
    fields: dict[str, Any] = {
        "window_capacity": windows.capacity,
        "window_slot_ptr": windows.slot_ptr,
        "window_slots": windows.slots,
    }
    if cap <= 0:
        return fields, windows
    names = sorted({p for p in channel_platforms if p})
    code = {name: i for i, name in enumerate(names)}
    channel_platform = np.array([code.get(p, -1) for p in channel_platforms], np.int32)
    platform = channel_platform[cand_channel].astype(np.int64)
    on = platform >= 0
    key = cand_video[on].astype(np.int64) * max(len(names), 1) + platform[on]
    keys, counts = np.unique(key, return_counts=True)
    video, plat = np.divmod(keys, max(len(names), 1))
    left = np.array(
        [
            max(0, cap - live_platform_uses.get((int(v), names[int(f)]), 0))
            for v, f in zip(video.tolist(), plat.tolist(), strict=True)
        ],
        np.int64,
    )
    binding = counts > left
    fields.update(
        channel_platform=channel_platform,
        vp_video=video[binding].astype(np.int32),
        vp_platform=plat[binding].astype(np.int32),
        vp_capacity=left[binding].astype(np.int32),
    )
    return fields, windows
