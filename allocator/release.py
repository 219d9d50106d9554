"""Re-planning's inputs: the distributions a run may move or drop, found among the candidates
and the free slots of the problem built around them (`allocator.planning.build_instance`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Released:
    """A live distribution a re-planning run may move within its channel or drop."""

    distribution_id: str
    video_id: str
    channel_id: str
    scheduled_at: datetime
    score: int


def release_candidates(
    released: Sequence[Released],
    video_index: Mapping[str, int],
    channel_index: Mapping[str, int],
    cand_video: npt.NDArray[np.int32],
    cand_channel: npt.NDArray[np.int32],
) -> Int64Array:
    """Each released distribution's candidate index, -1 when its pair is no candidate (it
    fails the filters now, its channel takes no work, its video is not READY...)."""
    out = np.full(len(released), -1, np.int64)
    if not released or len(cand_video) == 0:
        return out
    width = max(1, len(channel_index))
    keys = cand_video.astype(np.int64) * width + cand_channel
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    wanted = np.array(
        [
            video_index[r.video_id] * width + channel_index[r.channel_id]
            if r.video_id in video_index and r.channel_id in channel_index
            else -1
            for r in released
        ],
        np.int64,
    )
    at = np.minimum(np.searchsorted(sorted_keys, wanted), len(keys) - 1)
    found = (wanted >= 0) & (sorted_keys[at] == wanted)
    out[found] = order[at[found]]
    return out


def release_slots(
    released: Sequence[Released],
    channel_index: Mapping[str, int],
    slot_channel: npt.NDArray[np.int32],
    slot_time: Int64Array,
) -> Int64Array:
    """Each released distribution's slot index among the free slots, -1 when its time is no
    longer a free slot of its channel (an outage, a schedule change, a blackout)."""
    out = np.full(len(released), -1, np.int64)
    if not released or len(slot_time) == 0:
        return out
    # Slots are sorted by (channel, time): one int64 key each (epoch seconds fit 32 bits),
    # all the released ones looked up at once.
    keys = slot_channel.astype(np.int64) << 32 | slot_time
    channel = np.array([channel_index.get(r.channel_id, -1) for r in released], np.int64)
    time = np.array([int(r.scheduled_at.timestamp()) for r in released], np.int64)
    wanted = channel << 32 | time
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    found = (channel >= 0) & (keys[at] == wanted)
    out[found] = at[found]
    return out
