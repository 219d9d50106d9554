"""The first keep set of the pruning (`allocator.pruning`): the candidates its first flow sees.

Any keep set is safe (the pruning prices every dropped candidate and adds the violators);
a good one saves flow solves, the bulk of the allocator's time from 50k videos up. It holds

each channel's best candidates, as deep as its list must go to hold FILL_FACTOR x its free
slots of expected units (at least KEEP_FACTOR x free slots): a video in the lists of m channels
can only take k of them, so each counts min(1, k / m). A channel whose best candidates are
popular videos, wanted by many channels, reaches further down its list. That is when the slots
are the scarce side (more video units than free slots). Otherwise (5k-20k videos at 1,500
channels) no list of units reaches its target, channels do not fill, and the videos' choices
decide: each channel's best KEEP_FACTOR x free slots and each video's best KEEP_FACTOR x k.

At 100k x 1,500 the fixed 3 x free slots and 3 x k (before) took 2 flow solves: 143 channels
filled their lists to the end in the first and found their violators down to rank 100 x free
slots. The depth by expected units took 1 solve on 626k candidates instead of 1.16M then 1.37M,
and without the videos' lists (3 x k gave 813k more candidates, 0.5 x k 150k, both no fewer
solves at M, L, 50k or 100k: the channels' lists hold what the optimum takes).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from allocator.entries import expand_ranges
from allocator.problem import AllocationProblem, BoolArray, Int64Array

# The least depth of a channel's list, in free slots. With 1.5 (DESIGN.md's figure) M and L
# needed 2-3 flow solves; 3.0 keeps the lists of uncontested channels a solve away from final.
KEEP_FACTOR = 3.0
# A channel's list holds this many times its free slots of expected units (see the docstring);
# measured at 100k x 1,500: 1.5 left 69 violators for a second solve, 2.0 none.
FILL_FACTOR = 2.0
# Passes of the expected-units estimate: deeper lists make more videos contested. One pass at
# 100k x 1,500 deepened 1,404 channels, the second 1,470.
DEPTH_PASSES = 2


def top_per_group(
    group: npt.NDArray[np.integer], score: Int64Array, quota: Int64Array
) -> BoolArray:
    """Mask of the `quota[g]` highest-scoring members of every group g (ties: lower index).

    Each group's cut is found on the sorted keys (a plain sort: at 100k x 1,500 a stable
    argsort of the 29M keys took 2-6 s, the sort 0.5 s); only the members tied at a cut are
    ranked by index.
    """
    n = len(group)
    if n == 0:
        return np.zeros(0, bool)
    g = group.astype(np.int64)
    key = _group_score_key(g, score)
    ordered = np.sort(key)
    groups = np.arange(len(quota), dtype=np.int64)
    start = np.searchsorted(ordered, groups << 32)
    end = np.searchsorted(ordered, (groups + 1) << 32)
    take = np.minimum(np.asarray(quota, np.int64), end - start)
    cut = np.full(len(quota), -1, np.int64)  # the key of each group's last kept member
    cut[take > 0] = ordered[(start + take - 1)[take > 0]]
    # Members strictly better than the cut, then as many tied at it as places are left.
    left = take - (np.searchsorted(ordered, cut) - start)
    cut_g = cut[g]
    keep = key < cut_g
    tied = np.flatnonzero(key == cut_g)
    by_group = np.argsort(g[tied], kind="stable")
    tied_g = g[tied][by_group]
    rank = np.arange(len(tied)) - np.searchsorted(tied_g, tied_g, side="left")
    keep[tied[by_group][rank < left[tied_g]]] = True
    return keep


def _group_score_key(group: Int64Array, score: Int64Array) -> Int64Array:
    """One int64 key that orders by group, then by descending score (|score| < 2**30)."""
    return (group << 32) | ((1 << 31) - 1 - score).astype(np.int64)


def initial_keep(
    problem: AllocationProblem, factor: float = KEEP_FACTOR, fill: float = FILL_FACTOR
) -> BoolArray:
    """The first keep set (module docstring); fill=0: always the fixed lists."""
    p = problem
    least = np.ceil(factor * p.channel_free).astype(np.int64)
    keep = np.zeros(p.num_candidates, bool)
    if p.num_candidates == 0:
        return keep
    if fill > 0 and p.video_capacity.sum() > p.channel_free.sum():
        keep[_contested_lists(p, least, fill)] = True
        return keep
    keep = top_per_group(p.cand_channel, p.cand_score, least)
    keep |= top_per_group(
        p.cand_video, p.cand_score, np.ceil(factor * p.video_capacity).astype(np.int64)
    )
    return keep


def _contested_lists(p: AllocationProblem, least: Int64Array, fill: float) -> Int64Array:
    """Candidates of each channel's list, deep enough for `fill` x free slots of expected
    units and at least `least`."""
    ch = p.cand_channel.astype(np.int64)
    order = _by_channel_and_score(ch, p.cand_score)
    size = np.bincount(ch, minlength=p.num_channels)
    start = np.cumsum(size) - size
    vid_sorted = p.cand_video[order]
    target = fill * p.channel_free
    cap = p.video_capacity.astype(np.float64)
    depth = np.minimum(least, size)
    for _ in range(DEPTH_PASSES):
        wanted = np.bincount(vid_sorted[expand_ranges(start, start + depth)[1]], minlength=len(cap))
        units = np.minimum(1.0, cap / np.maximum(wanted, 1))[vid_sorted]
        # Cumulative units are non-decreasing over the whole order: one search per channel
        # finds where its own units reach the target.
        reached = np.cumsum(units, out=units)
        before = np.where(start > 0, reached[np.maximum(start - 1, 0)], 0.0)
        need = np.searchsorted(reached, before + target, side="left") + 1 - start
        depth = np.minimum(np.maximum(least, need), size)
        del units, reached
    return order[expand_ranges(start, start + depth)[1]]


def _by_channel_and_score(ch: Int64Array, score: Int64Array) -> Int64Array:
    """Candidate order by channel, then descending score, then index (the same order on any
    machine). When channel, score offset and index fit one int64, a plain sort of those keys
    gives it (0.5 s at 100k x 1,500, a stable argsort 2 s); candidates already grouped by
    channel (build_candidates' order) sort each channel's run alone."""
    n = len(ch)
    top = int(score.max())
    i_bits = max(n - 1, 1).bit_length()
    s_bits = max(top - int(score.min()), 1).bit_length()
    if int(ch.max()).bit_length() + s_bits + i_bits > 63:
        return np.argsort(_group_score_key(ch, score), kind="stable")
    if n > 1 and bool(np.all(ch[1:] >= ch[:-1])):
        # Runs of a few thousand keys sort in cache: 0.3 s at L (9.8M candidates) against
        # 0.8 s for one sort of all the keys, and no whole-size temporaries.
        order = np.empty(n, np.int64)
        ends = np.append(np.flatnonzero(ch[1:] != ch[:-1]) + 1, n)
        start = 0
        for end in ends.tolist():
            run = ((top - score[start:end]) << i_bits) | np.arange(start, end, dtype=np.int64)
            run.sort()
            order[start:end] = run
            start = end
    else:
        order = (ch << (s_bits + i_bits)) | ((top - score) << i_bits) | np.arange(n, dtype=np.int64)
        order.sort()
    order &= (1 << i_bits) - 1
    return order
