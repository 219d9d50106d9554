"""Which eligible (video, channel) pairs become candidates, and why the others do not.

`build_instance` drops a pair whose video was skipped already, that duplicates a live
distribution (by video or by source URL), whose channel takes no work, that scores below
min_score, or whose channel has no free slot, in that order: each dropped pair names the
first reason that applies, and a video keeps the set of reasons of its dropped pairs.

The work goes channel by channel over `build_candidates`' rows, which come grouped so: at L
(9.8M pairs) whole-size masks, gathers and `isin` sorts cost more in fresh memory than the
tests themselves, and a channel's run of rows stays in cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from allocator.candidates import Candidates

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: The reasons in the order they are tried.
REASONS = ("DUPLICATE", "CHANNEL_UNAVAILABLE", "BELOW_MIN_SCORE", "NO_FREE_SLOT")


@dataclass(frozen=True)
class PairRules:
    """What the pairs are held against: per video, per channel, and the live pairs."""

    skipped_video: BoolArray  # per video: skipped before its pairs are looked at
    video_source: Int64Array  # per video: its source group
    takes_work: BoolArray  # per channel
    has_free_slot: BoolArray  # per channel
    min_score: int
    live_videos: Mapping[int, Int64Array]  # per channel: videos live on it
    live_sources: Mapping[int, Int64Array]  # per channel: source groups live on it


@dataclass(frozen=True)
class FilteredPairs:
    """The kept candidates (in `build_candidates`' order) and per-video figures of all."""

    video: npt.NDArray[np.int32]
    channel: npt.NDArray[np.int32]
    score: Int64Array
    eligible_count: Int64Array  # per video: channels whose filters it passes
    best_score: Int64Array  # per video: its best score on any eligible channel
    skip_codes: dict[int, set[str]]  # per video: why eligible pairs were dropped


def filter_pairs(cands: Candidates, rules: PairRules, num_videos: int) -> FilteredPairs:
    """The candidates of `cands` that pass `rules` (module docstring)."""
    cv, cs = cands.video_idx, cands.score
    count = np.zeros(num_videos, np.int64)
    best = np.zeros(num_videos, np.int64)
    keep = np.ones(len(cv), bool)
    dropped: dict[str, list[npt.NDArray[np.int32]]] = {r: [] for r in REASONS}
    for j in range(len(cands.channel_ptr) - 1):
        lo, hi = int(cands.channel_ptr[j]), int(cands.channel_ptr[j + 1])
        if lo == hi:
            continue
        rows, scores = cv[lo:hi], cs[lo:hi]
        # A video appears once per channel, so these are plain scatters.
        count[rows] += 1
        best[rows] = np.maximum(best[rows], scores)
        kept = _channel_keep(j, rows, scores, rules, dropped)
        if kept is not None:
            keep[lo:hi] = kept
    codes: dict[int, set[str]] = {}
    for reason, parts in dropped.items():
        if parts:
            for i in np.unique(np.concatenate(parts)).tolist():
                codes.setdefault(i, set()).add(reason)
    if keep.all():
        video, channel, score = cv, cands.channel_idx, cs
    else:
        video, channel, score = cv[keep], cands.channel_idx[keep], cs[keep]
    return FilteredPairs(video, channel, score, count, best, codes)


def _channel_keep(
    j: int,
    rows: npt.NDArray[np.int32],
    scores: Int64Array,
    rules: PairRules,
    dropped: dict[str, list[npt.NDArray[np.int32]]],
) -> BoolArray | None:
    """The kept rows of channel j (None: all of them); the videos of the dropped ones go to
    `dropped` under the first reason that applies."""
    keep = ~rules.skipped_video[rows]
    tests: Sequence[tuple[str, BoolArray | bool]] = (
        ("DUPLICATE", _duplicates(j, rows, rules)),
        ("CHANNEL_UNAVAILABLE", not rules.takes_work[j]),
        ("BELOW_MIN_SCORE", scores < rules.min_score),
        ("NO_FREE_SLOT", not rules.has_free_slot[j]),
    )
    for reason, fails in tests:
        if fails is False:
            continue
        hit = keep & fails
        if hit.any():
            dropped[reason].append(rows[hit])
            keep &= ~hit
    return None if keep.all() else keep


def _duplicates(j: int, rows: npt.NDArray[np.int32], rules: PairRules) -> BoolArray | bool:
    """Rows of channel j whose video, or whose source, is live on it (False: none)."""
    videos, sources = rules.live_videos.get(j), rules.live_sources.get(j)
    if videos is None and sources is None:
        return False
    dup = np.zeros(len(rows), bool)
    if videos is not None:
        dup |= np.isin(rows, videos)
    if sources is not None:
        dup |= np.isin(rules.video_source[rows], sources)
    return dup


def by_channel(pairs: Iterable[tuple[int, int]]) -> dict[int, Int64Array]:
    """(channel, value) pairs as each channel's sorted values."""
    grouped: dict[int, list[int]] = {}
    for channel, value in pairs:
        grouped.setdefault(channel, []).append(value)
    return {j: np.unique(np.array(v, np.int64)) for j, v in grouped.items()}
