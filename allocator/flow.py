"""The exact min-cost flow for the flow-shaped core, and its integer duals.

Network (weights w_e = fill_weight + score_e; cost = -w_e):

    src -(k_v)-> video v -(1, -w_e)-> channel root c -(free slots of c)-> sink
    src -(big, 0)-> sink                                    (bypass: leaving a slot empty)

A video whose window does not cover every free slot of channel c ("windowed" on c) cannot use
the root: its candidate arc goes to a private node that enters the channel through the days
fully inside its window and, on the days its window cuts, through single slots:

    v -(1, -w_e)-> vc_e -(2)-> day d -(free slots of d)-> root c
                    vc_e -(2)-> slot s -(1)-> day(s)

Exactness of the day/slot entries: an integer flow puts at most one video on each slot node,
at most n_d videos through day d and at most S_c on channel c. Give every slot-entered video
its slot (distinct, by the slot arcs); day d then has n_d minus those slots left, at least the
number of whole-day entries of d (day arc); every free video then finds one of the
S_c - (windowed) remaining slots (root arc). So every integer flow is a feasible assignment, and
every assignment is a flow: the network is exact. Videos without a cut window, the bulk, keep a
single arc to the root: 10M candidates stay 10M arcs, not 10M x 14 days. (A segment tree over
the slots needs fewer entry arcs, O(log slots), but SimpleMinCostFlow solved M's network in
1.0 s with it against 0.48 s with these shallow day/slot entries.)

Same-source groups with two or more kept members on a channel get a node with one unit of
capacity: v -(1, -w_e)-> group(g, c) -(1)-> root c (or -> the entries of the group's window).
When members of such a group have different windows on c, the group enters through the union
of their windows: a relaxation, flagged `exact=False`.

SCHEDULE mode: fill_weight M = 1 + 2 * (F + 1) * max|score| where F bounds the number of
assignments, so M * filled dominates any score difference: the flow maximises the fill first,
then the score (lexicographic).

Duals. SimpleMinCostFlow does not expose node potentials, so they are recomputed from the
optimal flow: shortest-path distances from a virtual root (0-cost arcs to every node) in the
residual graph. The residual graph of an optimal flow has no negative cycle, so the distances
exist, are integers, and satisfy cost + d(tail) - d(head) >= 0 on every residual arc, which is
the optimality condition. The residual graph has negative arcs, so Dijkstra is out; an LP
would give floats to round and costs seconds. Bellman-Ford it is, written as whole-array numpy
passes that stop when a pass changes nothing: shortest paths here alternate video/channel and
are short (33 passes on the 20k x 300 instance: 0.03 s for 286k residual arcs), whereas
scipy.sparse.csgraph.bellman_ford took 44 s on the same graph. Each capacitated arc's dual is then
max(0, -(cost + d(tail) - d(head))), which is the row dual of the LP in `allocator.problem`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from allocator.entries import window_entries
from allocator.flow_duals import potentials, root_parts
from allocator.limits import windows_exact
from allocator.problem import AllocationProblem, DualCertificate, Int64Array, Mode
from allocator.weights import Levels, max_abs_value


class FlowError(RuntimeError):
    """SimpleMinCostFlow did not return an optimum (a bug: the bypass makes it feasible)."""


@dataclass(frozen=True, eq=False)
class FlowResult:
    """The flow optimum over a set of candidates and its dual certificate."""

    chosen: Int64Array  # candidate indices (into the problem) with flow 1
    chosen_part: Int64Array  # the part each chosen candidate enters (-1: its channel has none)
    objective: int  # total score of `chosen`
    filled: int
    weighted: int  # sum of fill_weight + score over `chosen`
    exact: bool  # the network is exactly the model on these candidates
    duals: DualCertificate
    seconds: float
    potentials_seconds: float
    mcf_seconds: float  # SimpleMinCostFlow.solve alone


def fill_weight(problem: AllocationProblem) -> int:
    """M for SCHEDULE mode (0 for FILTER): larger than any difference of total scores."""
    if problem.mode is Mode.FILTER:
        return 0
    if problem.num_candidates == 0:
        return 1
    max_fill = min(int(problem.video_capacity.sum()), problem.num_slots)
    # A plan with one more assignment must beat any score difference, and the certified fill
    # bound floor(B / (M - max|score|)) must separate fills: (2F + 1) * max|score| < M.
    return 1 + 2 * (max_fill + 1) * max_abs_value(problem)


def _has_groups(gkey: Int64Array) -> bool:
    """Whether two of the keys are equal (a same-source group of two or more)."""
    ordered = np.sort(gkey)
    return bool(len(ordered) > 1 and np.any(ordered[1:] == ordered[:-1]))


class _Arcs:
    """Growing arc list; each block remembers where it starts."""

    def __init__(self) -> None:
        self.tails: list[Int64Array] = []
        self.heads: list[Int64Array] = []
        self.caps: list[Int64Array] = []
        self.costs: list[Int64Array] = []
        self.count = 0

    def add(self, tails: Int64Array, heads: Int64Array, caps: object, costs: object) -> int:
        n = len(tails)
        self.tails.append(np.asarray(tails, np.int64))
        self.heads.append(np.asarray(heads, np.int64))
        self.caps.append(np.broadcast_to(np.asarray(caps, np.int64), (n,)))
        self.costs.append(np.broadcast_to(np.asarray(costs, np.int64), (n,)))
        start = self.count
        self.count += n
        return start

    def arrays(self) -> tuple[Int64Array, Int64Array, Int64Array, Int64Array]:
        return (
            np.concatenate(self.tails),
            np.concatenate(self.heads),
            np.concatenate(self.caps),
            np.concatenate(self.costs),
        )


def solve_flow(
    problem: AllocationProblem, cand: Int64Array | None = None, with_duals: bool = True
) -> FlowResult:
    """Min-cost flow optimum over candidates `cand` (all by default), with integer duals.

    with_duals=False skips the potentials (the duals are then all zero: no certificate).
    """
    t0 = time.perf_counter()
    p = problem
    cand = np.arange(p.num_candidates, dtype=np.int64) if cand is None else np.asarray(cand)
    big_m = fill_weight(p)
    V, C, D, S = p.num_videos, p.num_channels, p.num_cdays, p.num_slots
    vid = p.cand_video[cand].astype(np.int64)
    ch = p.cand_channel[cand].astype(np.int64)
    # On a leveled channel (slot weights differ) the value depends on the slot: the candidate
    # arc carries the fill weight, its entries the value (`allocator.weights`).
    lev = p.channel_leveled[ch]
    weight = p.cand_score[cand] * p.channel_factor[ch] + big_m
    lo, hi = p.slot_range(cand)
    usable = (hi > lo) & (weight > 0)
    free = (lo == p.channel_slot_ptr[ch]) & (hi == p.channel_slot_ptr[ch + 1])

    SRC, SINK = 0, 1
    base_v = 2
    base_r = base_v + V
    base_d = base_r + C
    base_s = base_d + D
    nxt = base_s + S

    # Same-source groups with >= 2 usable members on one channel. On leveled channels a
    # group node would lose each member's value: there the groups are left out (exact=False).
    gkey = p.video_source[vid].astype(np.int64) * max(C, 1) + ch
    exact = not _has_groups(gkey[usable & lev])
    grouping = usable & ~lev
    gk_u, g_inv, g_cnt = np.unique(gkey[grouping], return_inverse=True, return_counts=True)
    grouped = np.zeros(len(cand), bool)
    group_of = np.full(len(cand), -1, np.int64)
    idx_usable = np.flatnonzero(grouping)
    multi = g_cnt[g_inv] >= 2
    grouped[idx_usable[multi]] = True
    gid_compact = np.full(len(gk_u), -1, np.int64)
    gid_compact[g_cnt >= 2] = np.arange(int((g_cnt >= 2).sum()))
    group_of[idx_usable[multi]] = gid_compact[g_inv[multi]]
    n_groups = int((g_cnt >= 2).sum())
    if n_groups:
        members = np.flatnonzero(grouped)
        gm = group_of[members]
        g_lo = np.full(n_groups, np.iinfo(np.int64).max)
        g_hi = np.full(n_groups, -1, np.int64)
        g_lo2 = np.full(n_groups, -1, np.int64)
        g_hi2 = np.full(n_groups, np.iinfo(np.int64).max)
        np.minimum.at(g_lo, gm, lo[members])
        np.maximum.at(g_hi, gm, hi[members])
        np.maximum.at(g_lo2, gm, lo[members])
        np.minimum.at(g_hi2, gm, hi[members])
        if np.any((g_lo != g_lo2) | (g_hi != g_hi2)):
            exact = False  # members with different windows: the union is a relaxation
        g_ch = np.zeros(n_groups, np.int64)
        g_ch[gm] = ch[members]
        g_free = (g_lo == p.channel_slot_ptr[g_ch]) & (g_hi == p.channel_slot_ptr[g_ch + 1])
    base_g = nxt
    nxt += n_groups
    windowed = usable & ~free & ~grouped
    w_idx = np.flatnonzero(windowed)
    base_w = nxt
    nxt += len(w_idx)
    if n_groups:
        gw_idx = np.flatnonzero(~g_free)
        base_go = nxt
        nxt += len(gw_idx)
    # Quota windows and platform caps (`allocator.limits`): parts, windows, (video, platform).
    rows = p.cand_vp[cand]
    vp_rows = np.unique(rows[usable & (rows >= 0)])
    base_vp = nxt
    nxt += len(vp_rows)
    win_ids = np.unique(p.part_window[p.part_window >= 0])
    base_p = nxt
    base_win = base_p + p.num_parts
    nxt = base_win + len(win_ids)
    # Free candidates of leveled channels: a node each, entering one weight level of the
    # channel (a node per (channel, factor)), which enters that level's parts.
    lf_idx = np.flatnonzero(usable & free & lev)
    levels = Levels.of(p)
    base_lf = nxt
    base_lv = base_lf + len(lf_idx)
    nxt = base_lv + levels.count
    n_nodes = nxt

    arcs = _Arcs()
    supply = int(np.minimum(p.video_capacity, np.bincount(vid[usable], minlength=V)).sum()) + 1
    arcs.add(np.full(V, SRC), base_v + np.arange(V), p.video_capacity.astype(np.int64), 0)
    a_vp = arcs.add(
        base_v + p.vp_video[vp_rows].astype(np.int64),
        base_vp + np.arange(len(vp_rows)),
        p.vp_capacity[vp_rows],
        0,
    )
    # A channel that meets a quota window enters its parts instead of the sink directly.
    parted = np.zeros(C, bool)
    parted[p.part_channel] = True
    plain = np.flatnonzero(~parted)
    a_root = arcs.add(base_r + plain, np.full(len(plain), SINK), p.channel_free[plain], 0)
    a_rp = arcs.add(base_r + p.part_channel, base_p + np.arange(p.num_parts), supply + 1, 0)
    part_head = np.full(p.num_parts, SINK, np.int64)
    in_win = p.part_window >= 0
    part_head[in_win] = base_win + np.searchsorted(win_ids, p.part_window[in_win])
    a_part = arcs.add(base_p + np.arange(p.num_parts), part_head, p.part_free, 0)
    a_win = arcs.add(
        base_win + np.arange(len(win_ids)),
        np.full(len(win_ids), SINK),
        p.model_windows.capacity[win_ids],
        0,
    )
    day_first = p.cday_slot_ptr[:-1]
    day_head = base_r + p.slot_channel[day_first].astype(np.int64)
    day_part = p.slot_part[day_first] if D else np.zeros(0, np.int64)
    day_head[day_part >= 0] = base_p + day_part[day_part >= 0]
    a_day = arcs.add(base_d + np.arange(D), day_head, p.cday_free, 0)
    a_slot = arcs.add(base_s + np.arange(S), base_d + p.slot_cday, 1, 0)
    arcs.add(np.array([SRC]), np.array([SINK]), supply + 1, 0)
    a_lp = arcs.add(base_lv + levels.of_part[levels.parts], base_p + levels.parts, supply + 1, 0)
    # Candidate arcs, from the video or from its (video, platform) node.
    head = base_r + ch
    head[windowed] = base_w + np.arange(len(w_idx))
    head[lf_idx] = base_lf + np.arange(len(lf_idx))
    if n_groups:
        head[grouped] = base_g + group_of[grouped]
    tail = base_v + vid
    capped = usable & (rows >= 0)
    tail[capped] = base_vp + np.searchsorted(vp_rows, rows[capped])
    c_idx = np.flatnonzero(usable)
    cost = np.where(lev, -big_m, -weight)
    a_cand = arcs.add(tail[c_idx], head[c_idx], 1, cost[c_idx])
    l_own, l_level = levels.entries(ch[lf_idx])
    a_level = arcs.add(
        base_lf + l_own,
        base_lv + l_level,
        1,
        -p.cand_score[cand[lf_idx]][l_own] * levels.factor[l_level],
    )
    # Entries of windowed candidates (worth score * factor on a leveled channel).
    entries = [window_entries(p, lo[w_idx], hi[w_idx])]
    w_score = np.where(lev[w_idx], p.cand_score[cand[w_idx]], 0)
    day_factor = p.slot_factor[p.cday_slot_ptr[:-1]] if D else np.zeros(0, np.int64)
    a_entry = [
        arcs.add(
            base_w + entries[0][0],
            base_d + entries[0][1],
            2,
            -w_score[entries[0][0]] * day_factor[entries[0][1]],
        )
    ]
    a_entry.append(
        arcs.add(
            base_w + entries[0][2],
            base_s + entries[0][3],
            2,
            -w_score[entries[0][2]] * p.slot_factor[entries[0][3]],
        )
    )
    a_group = 0
    if n_groups:
        g_head = base_r + g_ch
        g_head[gw_idx] = base_go + np.arange(len(gw_idx))
        a_group = arcs.add(base_g + np.arange(n_groups), g_head, 1, 0)
        entries.append(window_entries(p, g_lo[gw_idx], g_hi[gw_idx]))
        a_entry.append(arcs.add(base_go + entries[1][0], base_d + entries[1][1], 2, 0))
        a_entry.append(arcs.add(base_go + entries[1][2], base_s + entries[1][3], 2, 0))

    tails, heads, caps, costs = arcs.arrays()
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(n_nodes, np.int64)
    supplies[SRC] = supply
    supplies[SINK] = -supply
    smcf.set_nodes_supplies(np.arange(n_nodes), supplies)
    t_mcf = time.perf_counter()
    status = smcf.solve()
    mcf_s = time.perf_counter() - t_mcf
    if status != smcf.OPTIMAL:
        raise FlowError(f"SimpleMinCostFlow status {status}")
    flows = smcf.flows(np.arange(len(tails)))
    t_pot = time.perf_counter()
    if with_duals:
        d = potentials(n_nodes, tails, heads, caps, costs, flows)
    else:
        d = np.zeros(n_nodes, np.int64)
        costs = np.zeros_like(costs)  # every arc dual max(0, -(0 + 0 - 0)) = 0
    pot_s = time.perf_counter() - t_pot

    def arc_dual(start: int, n: int) -> Int64Array:
        sl = slice(start, start + n)
        return np.maximum(0, -(costs[sl] + d[tails[sl]] - d[heads[sl]]))

    cand_flow = flows[a_cand : a_cand + len(c_idx)]
    chosen = cand[c_idx[cand_flow > 0]]
    gkeys = gk_u[g_cnt >= 2] if n_groups else np.zeros(0, np.int64)
    channel_dual = np.zeros(C, np.int64)
    channel_dual[plain] = arc_dual(a_root, len(plain))
    window_dual = np.zeros(p.model_windows.count, np.int64)
    window_dual[win_ids] = arc_dual(a_win, len(win_ids))
    vp_dual = np.zeros(len(p.vp_video), np.int64)
    vp_dual[vp_rows] = arc_dual(a_vp, len(vp_rows))
    duals = DualCertificate(
        denominator=1,
        fill_weight=big_m,
        video=arc_dual(0, V),
        channel=channel_dual,
        cday=arc_dual(a_day, D),
        slot=arc_dual(a_slot, S),
        group_key=gkeys,
        group_value=arc_dual(a_group, n_groups) if n_groups else np.zeros(0, np.int64),
        timed_video=np.zeros(V, bool),
        window=window_dual if p.has_limits else np.zeros(0, np.int64),
        part=arc_dual(a_part, p.num_parts),
        video_platform=vp_dual if p.has_limits else np.zeros(0, np.int64),
    )
    part_of = np.full(len(cand), -1, np.int64)
    if p.num_parts:
        # Each chosen candidate's part, read off the flow: windowed ones (and windowed
        # groups) by the entry that carries their unit, the rest by the root's part arcs.
        owners = [np.full(len(w_idx), -1, np.int64), np.full(n_groups, -1, np.int64)]
        owner_ids = [np.arange(len(w_idx)), gw_idx if n_groups else np.zeros(0, np.int64)]
        for k, (d_own, d_day, s_own, s_slot) in enumerate(entries):
            for a, own, part in (
                (a_entry[2 * k], d_own, p.slot_part[p.cday_slot_ptr[d_day]]),
                (a_entry[2 * k + 1], s_own, p.slot_part[s_slot]),
            ):
                used = flows[a : a + len(own)] > 0
                owners[k][owner_ids[k][own[used]]] = part[used]
        part_of[w_idx] = owners[0]
        if n_groups:
            part_of[grouped] = owners[1][group_of[grouped]]
        picked = c_idx[cand_flow > 0]
        at_root = picked[(part_of[picked] < 0) & parted[ch[picked]] & ~lev[picked]]
        at_root = at_root[np.argsort(ch[at_root], kind="stable")]
        root_flow = flows[a_rp : a_rp + p.num_parts]
        part_of[at_root] = root_parts(p, lo[at_root], hi[at_root], root_flow)
        # Free candidates of leveled channels: the level their unit took, then that level's
        # parts in the counts its arcs carry.
        taken = flows[a_level : a_level + len(l_own)] > 0
        by_level = np.argsort(l_level[taken], kind="stable")
        lf_taken = lf_idx[l_own[taken]][by_level]
        part_of[lf_taken] = levels.parts_in_counts(
            l_level[taken][by_level], flows[a_lp : a_lp + len(levels.parts)]
        )
    order = np.argsort(chosen, kind="stable")
    chosen_part = part_of[c_idx[cand_flow > 0]][order]
    factor = p.channel_factor[p.cand_channel[chosen[order]]]
    in_part = chosen_part >= 0
    factor[in_part] = p.part_factor[chosen_part[in_part]]
    score_sum = int((p.cand_score[chosen[order]] * factor).sum())
    return FlowResult(
        chosen=chosen[order],
        chosen_part=chosen_part,
        objective=score_sum,
        filled=len(chosen),
        weighted=score_sum + big_m * len(chosen),
        exact=exact and windows_exact(p),
        duals=duals,
        seconds=time.perf_counter() - t0,
        potentials_seconds=pot_s,
        mcf_seconds=mcf_s,
    )
