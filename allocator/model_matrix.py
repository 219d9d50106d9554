"""The columns and packing rows of the model over a set of surviving candidates.

CP-SAT (`allocator.cpsat`) and the LP relaxation (`allocator.lp`) solve this one matrix.

Columns. One Boolean per surviving candidate when the candidate can use any free slot of its
channel (the bulk). A candidate whose window cuts the channel's slots gets one Boolean per
channel-day wholly inside its window and one per slot of the days it cuts (`allocator.flow`
proves this exact). A candidate of a *timed* video (min_hours_between > 0 and the video may
get two uses or has pins) gets one Boolean per slot its window allows, minus the slots within
min_hours_between of its pins: only those candidates pay for slot precision.

With quota windows or platform caps (`allocator.limits`), a free candidate of a channel that
meets a window gets one Boolean per part of the channel instead of its root column.

Rows (all "<= rhs", all coefficients 1):
    video v          <= video_capacity[v]
    candidate e      <= 1                      (only when e has several columns)
    (source, c)      <= 1                      (groups with two or more members on c)
    channel c        <= free slots of c
    channel-day d    <= free slots of d        (day and slot columns)
    slot s           <= 1                      (slot columns)
    spacing (v, T)   <= 1                      (timed v: its slot columns in [T, T + gap))
    part q           <= free slots of q        (part, day and slot columns in the part)
    window w         <= window_capacity[w]     (the columns of the family window's parts)
    (video, platform)<= vp_capacity[r]         (the columns of the row's candidates)
Spacing rows are the maximal windows of the interval graph: one per slot time T of v where the
window [T, T + gap) reaches a time the previous window did not; two uses closer than the gap
always share one of these rows, so they are exactly the pairwise spacing rule, and as cliques
they are the strongest linear form of it.

Also here: `restrict` (the model on a subset of its columns, after reduced-cost fixing) and
`hint_from_assignment` (a plan as column values, the complete hint CP-SAT starts from).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from allocator.entries import expand_ranges, window_entries
from allocator.problem import AllocationProblem, BoolArray, Int64Array
from allocator.pruning import near_pin

ROOT, DAY, SLOT, PART = 0, 1, 2, 3
(
    ROW_VIDEO,
    ROW_CANDIDATE,
    ROW_GROUP,
    ROW_CHANNEL,
    ROW_CDAY,
    ROW_SLOT,
    ROW_SPACING,
    ROW_PART,
    ROW_WINDOW,
    ROW_VP,
) = range(10)


@dataclass(frozen=True, eq=False)
class ModelMatrix:
    """Columns and packing rows of the model over candidates `cand`."""

    cand: Int64Array  # surviving candidates (indices into the problem)
    col_cand: Int64Array  # position in `cand` of each column's candidate
    col_kind: Int64Array  # ROOT, DAY or SLOT
    col_where: Int64Array  # channel (ROOT), channel-day (DAY) or slot (SLOT)
    col_score: Int64Array
    rows: sp.csr_array  # rows x columns, 0/1
    row_kind: Int64Array
    row_key: Int64Array  # video, candidate position, group key, channel, cday, slot, or row id
    row_rhs: Int64Array
    spacing_video: Int64Array  # per spacing row: its video and window start
    spacing_start: Int64Array

    @property
    def num_columns(self) -> int:
        """Number of Boolean / LP columns."""
        return len(self.col_cand)


def build_matrix(
    problem: AllocationProblem,
    cand: Int64Array,
    timed_pairs: tuple[Int64Array, Int64Array] | None = None,
) -> ModelMatrix:
    """Columns and rows of the model restricted to candidates `cand`.

    timed_pairs: (candidate, slot) pairs that restrict the slot columns of timed candidates
    (column generation); by default every allowed slot is a column.
    """
    p = problem
    cand = np.unique(np.asarray(cand, np.int64))
    vid = p.cand_video[cand].astype(np.int64)
    ch = p.cand_channel[cand].astype(np.int64)
    lo, hi = p.slot_range(cand)
    free = (lo == p.channel_slot_ptr[ch]) & (hi == p.channel_slot_ptr[ch + 1]) & (hi > lo)
    timed = p.timed_videos[vid]
    pos = np.arange(len(cand), dtype=np.int64)

    # Columns: root for free untimed candidates; day/slot entries for windowed untimed ones;
    # every allowed slot for timed ones.
    root = np.flatnonzero(free & ~timed)
    win = np.flatnonzero(~free & ~timed & (hi > lo))
    d_own, d_day, s_own, s_slot = window_entries(p, lo[win], hi[win])
    tim = np.flatnonzero(timed & (hi > lo))
    if timed_pairs is None:
        t_own, t_slot = expand_ranges(lo[tim], hi[tim])
        t_pos = tim[t_own]
    else:
        pair_cand, pair_slot = (np.asarray(a, np.int64) for a in timed_pairs)
        at = np.minimum(np.searchsorted(cand, pair_cand), max(len(cand) - 1, 0))
        ok = (cand[at] == pair_cand) if len(cand) else np.zeros(len(at), bool)
        ok &= timed[at] & (pair_slot >= lo[at]) & (pair_slot < hi[at])
        uniq = np.unique((at[ok] << 32) | pair_slot[ok])
        t_pos, t_slot = uniq >> 32, uniq & 0xFFFFFFFF
    if len(t_pos):
        ok = ~near_pin(p, vid[t_pos], p.slot_time[t_slot])
        t_pos, t_slot = t_pos[ok], t_slot[ok]
    # A free candidate of a channel that meets a quota window enters one of its parts.
    part_ptr = np.searchsorted(p.part_channel, np.arange(p.num_channels + 1))
    parted = part_ptr[ch[root] + 1] > part_ptr[ch[root]]
    p_own, p_part = expand_ranges(part_ptr[ch[root[parted]]], part_ptr[ch[root[parted]] + 1])
    root_cols = root[~parted]
    col_cand = np.concatenate([pos[root_cols], win[d_own], win[s_own], t_pos, root[parted][p_own]])
    col_kind = np.concatenate(
        [
            np.full(len(root_cols), ROOT),
            np.full(len(d_own), DAY),
            np.full(len(s_own) + len(t_pos), SLOT),
            np.full(len(p_own), PART),
        ]
    ).astype(np.int64)
    col_where = np.concatenate([ch[root_cols], d_day, s_slot, t_slot, p_part]).astype(np.int64)
    order = np.lexsort((col_where, col_kind, col_cand))
    col_cand, col_kind, col_where = col_cand[order], col_kind[order], col_where[order]
    n_col = len(col_cand)
    col_score = p.cand_score[cand[col_cand]] * _column_factor(p, ch, col_cand, col_kind, col_where)
    col_day = np.full(n_col, -1, np.int64)
    col_day[col_kind == DAY] = col_where[col_kind == DAY]
    col_day[col_kind == SLOT] = p.slot_cday[col_where[col_kind == SLOT]]
    cols = np.arange(n_col, dtype=np.int64)
    c_vid, c_ch = vid[col_cand], ch[col_cand]

    blocks: list[tuple[int, Int64Array, Int64Array, Int64Array]] = []

    def add_rows(kind: int, key: Int64Array, members: Int64Array, rhs_of: object) -> None:
        """Rows grouping columns `members` by `key`; rhs_of maps unique keys to rhs."""
        if len(members) == 0:
            return
        uk, inv = np.unique(key, return_inverse=True)
        rhs = np.asarray(rhs_of(uk) if callable(rhs_of) else np.full(len(uk), rhs_of), np.int64)
        blocks.append((kind, uk, rhs, np.stack([inv, members])))

    add_rows(ROW_VIDEO, c_vid, cols, lambda k: p.video_capacity[k])
    n_cols_of = np.bincount(col_cand, minlength=len(cand))
    multi = n_cols_of[col_cand] > 1
    add_rows(ROW_CANDIDATE, col_cand[multi], cols[multi], 1)
    gkey_c = p.video_source[vid].astype(np.int64) * max(p.num_channels, 1) + ch
    _, g_inv, g_cnt = np.unique(gkey_c, return_inverse=True, return_counts=True)
    in_group = (g_cnt[g_inv] >= 2)[col_cand]
    gkey = gkey_c[col_cand]
    add_rows(ROW_GROUP, gkey[in_group], cols[in_group], 1)
    add_rows(ROW_CHANNEL, c_ch, cols, lambda k: p.channel_free[k])
    has_day = col_day >= 0
    add_rows(ROW_CDAY, col_day[has_day], cols[has_day], lambda k: p.cday_free[k])
    is_slot = col_kind == SLOT
    add_rows(ROW_SLOT, col_where[is_slot], cols[is_slot], 1)
    _limit_rows(p, cand, col_cand, col_kind, col_where, add_rows)
    sp_video, sp_start, sp_rows = _spacing_rows(p, c_vid, col_cand, col_kind, col_where, timed)
    if len(sp_video):
        blocks.append(
            (ROW_SPACING, np.arange(len(sp_video)), np.ones(len(sp_video), np.int64), sp_rows)
        )

    row_kind, row_key, row_rhs, r_idx, c_idx = [], [], [], [], []
    offset = 0
    for kind, keys, rhs, pairs in blocks:
        # Drop rows that can never bind (fewer members than the right-hand side).
        counts = np.bincount(pairs[0], minlength=len(keys))
        binding = counts > rhs
        if kind in (ROW_CANDIDATE,):
            binding = counts > 1
        new_id = np.full(len(keys), -1, np.int64)
        new_id[binding] = offset + np.arange(int(binding.sum()))
        keep = binding[pairs[0]]
        r_idx.append(new_id[pairs[0][keep]])
        c_idx.append(pairs[1][keep])
        row_kind.append(np.full(int(binding.sum()), kind, np.int64))
        row_key.append(keys[binding])
        row_rhs.append(rhs[binding])
        offset += int(binding.sum())
        if kind == ROW_SPACING:
            sp_video, sp_start = sp_video[binding], sp_start[binding]
    rows_i = np.concatenate(r_idx) if r_idx else np.zeros(0, np.int64)
    cols_i = np.concatenate(c_idx) if c_idx else np.zeros(0, np.int64)
    matrix = sp.csr_array((np.ones(len(rows_i), np.int8), (rows_i, cols_i)), shape=(offset, n_col))
    return ModelMatrix(
        cand=cand,
        col_cand=col_cand,
        col_kind=col_kind,
        col_where=col_where,
        col_score=col_score,
        rows=matrix,
        row_kind=np.concatenate(row_kind) if row_kind else np.zeros(0, np.int64),
        row_key=np.concatenate(row_key) if row_key else np.zeros(0, np.int64),
        row_rhs=np.concatenate(row_rhs) if row_rhs else np.zeros(0, np.int64),
        spacing_video=sp_video,
        spacing_start=sp_start,
    )


def _column_factor(
    p: AllocationProblem,
    ch: Int64Array,
    col_cand: Int64Array,
    col_kind: Int64Array,
    col_where: Int64Array,
) -> Int64Array:
    """What each column multiplies its candidate's score by (`allocator.weights`)."""
    factor = p.channel_factor[ch[col_cand]]
    for kind, of in (
        (PART, lambda w: p.part_factor[w]),
        (DAY, lambda w: p.slot_factor[p.cday_slot_ptr[w]]),
        (SLOT, lambda w: p.slot_factor[w]),
    ):
        sel = col_kind == kind
        factor[sel] = of(col_where[sel])
    return factor


def _limit_rows(
    p: AllocationProblem,
    cand: Int64Array,
    col_cand: Int64Array,
    col_kind: Int64Array,
    col_where: Int64Array,
    add_rows: Callable[[int, Int64Array, Int64Array, object], None],
) -> None:
    """Part, family window and (video, platform) rows (`allocator.limits`)."""
    if not (p.has_limits or p.num_parts):
        return
    cols = np.arange(len(col_cand), dtype=np.int64)
    col_part = np.full(len(col_cand), -1, np.int64)
    for kind, part_of in (
        (PART, lambda w: w),
        (DAY, lambda w: p.slot_part[p.cday_slot_ptr[w]]),
        (SLOT, lambda w: p.slot_part[w]),
    ):
        sel = col_kind == kind
        col_part[sel] = part_of(col_where[sel])
    has = col_part >= 0
    add_rows(ROW_PART, col_part[has], cols[has], lambda k: p.part_free[k])
    if p.num_parts:
        col_window = np.where(has, p.part_window[np.maximum(col_part, 0)], -1)
        has = col_window >= 0
        add_rows(ROW_WINDOW, col_window[has], cols[has], lambda k: p.model_windows.capacity[k])
    col_vp = p.cand_vp[cand[col_cand]]
    has = col_vp >= 0
    add_rows(ROW_VP, col_vp[has], cols[has], lambda k: p.vp_capacity[k])


def _spacing_rows(
    p: AllocationProblem,
    c_vid: Int64Array,
    col_cand: Int64Array,
    col_kind: Int64Array,
    col_where: Int64Array,
    timed: BoolArray,
) -> tuple[Int64Array, Int64Array, Int64Array]:
    """Maximal spacing windows of every timed video: (video, start, [row; column] pairs)."""
    gap = p.spacing_seconds
    sel = np.flatnonzero((col_kind == SLOT) & timed[col_cand])
    empty = np.zeros(0, np.int64)
    if gap <= 0 or len(sel) == 0:
        return empty, empty, np.zeros((2, 0), np.int64)
    v = c_vid[sel]
    t = p.slot_time[col_where[sel]]
    order = np.lexsort((t, v))
    sel, v, t = sel[order], v[order], t[order]
    n = len(sel)
    # For each column i (as a window start), the window holds columns [i, end_i).
    key = (v << 42) + (t - p.time_origin + (1 << 41))
    end = np.searchsorted(key, key + gap, side="left")
    first_of_time = np.r_[True, (v[1:] != v[:-1]) | (t[1:] != t[:-1])]
    prev_end = np.r_[-1, end[:-1]]
    same_video_prev = np.r_[False, v[1:] == v[:-1]]
    maximal = first_of_time & ~(same_video_prev & (end <= prev_end))
    # A window whose columns all belong to one candidate adds nothing to the candidate row.
    c = col_cand[sel]
    change = np.r_[0, np.cumsum(c[1:] != c[:-1])]  # run id of equal consecutive candidates
    starts = np.flatnonzero(maximal)
    spans_two = change[np.minimum(end[starts] - 1, n - 1)] != change[starts]
    # change[] counts candidate switches in time order; equal ids means a single candidate.
    starts = starts[spans_two & (end[starts] - starts >= 2)]
    if len(starts) == 0:
        return empty, empty, np.zeros((2, 0), np.int64)
    owner, member = expand_ranges(starts, end[starts])
    return v[starts], t[starts], np.stack([owner, sel[member]])


def column_lookup(matrix: ModelMatrix, problem: AllocationProblem) -> tuple[Int64Array, int]:
    """Sorted composite keys of the columns (candidate position, kind, where) and the radix."""
    radix = max(problem.num_slots, problem.num_channels, problem.num_cdays, problem.num_parts) + 1
    key = (matrix.col_cand * 4 + matrix.col_kind) * radix + matrix.col_where
    return key, radix


def hint_from_assignment(
    problem: AllocationProblem, matrix: ModelMatrix, chosen: Int64Array, slots: Int64Array
) -> BoolArray:
    """Column values for candidates `chosen` placed in `slots` (a complete hint).

    Each chosen candidate sets its root column, else its slot's part column, else the column of
    its slot's whole day, else its slot column. Candidates outside the model are ignored.
    """
    p = problem
    hint = np.zeros(matrix.num_columns, bool)
    if len(chosen) == 0:
        return hint
    key, radix = column_lookup(matrix, p)
    pos = np.searchsorted(matrix.cand, chosen)
    pos_c = np.minimum(pos, len(matrix.cand) - 1)
    present = matrix.cand[pos_c] == chosen
    pos, slots = pos_c[present], np.asarray(slots, np.int64)[present]
    for kind in (ROOT, PART, DAY, SLOT):
        if kind == ROOT:
            where = p.cand_channel[matrix.cand[pos]].astype(np.int64)
        elif kind == PART:
            where = p.slot_part[slots]
        else:
            where = p.slot_cday[slots] if kind == DAY else slots
        want = (pos * 4 + kind) * radix + where
        at = np.minimum(np.searchsorted(key, want), len(key) - 1)
        hit = key[at] == want
        hint[at[hit]] = True
        pos, slots = pos[~hit], slots[~hit]
    return hint


def restrict(matrix: ModelMatrix, keep: BoolArray) -> ModelMatrix:
    """The model on the columns `keep` (rows left without columns are dropped)."""
    cols = np.flatnonzero(keep)
    sub = matrix.rows[:, cols].tocsr()
    nonempty = np.diff(sub.indptr) > 0
    rows = np.flatnonzero(nonempty)
    sp_rows = rows[matrix.row_kind[rows] == ROW_SPACING]
    sp_index = np.cumsum(matrix.row_kind == ROW_SPACING) - 1
    return ModelMatrix(
        cand=matrix.cand,
        col_cand=matrix.col_cand[cols],
        col_kind=matrix.col_kind[cols],
        col_where=matrix.col_where[cols],
        col_score=matrix.col_score[cols],
        rows=sub[rows].tocsr(),
        row_kind=matrix.row_kind[rows],
        row_key=matrix.row_key[rows],
        row_rhs=matrix.row_rhs[rows],
        spacing_video=matrix.spacing_video[sp_index[sp_rows]],
        spacing_start=matrix.spacing_start[sp_index[sp_rows]],
    )
