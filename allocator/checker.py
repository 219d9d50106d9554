"""The independent plan checker: integer arithmetic only, no solver, no shared solver code.

`check_plan` recomputes everything a plan claims before anything is written:

* every row is a real candidate, with that candidate's video, channel and score;
* every slot exists, belongs to the row's channel, and holds at most one assignment;
* a video takes at most `video_capacity` channels, each (video, channel) and each
  (source group, channel) at most once, and every slot lies in the video's window;
* with min_hours_between, the slots of one video (with its pins) are that far apart;
* no quota window takes more than its capacity, no video more channels of a platform than
  its cap row allows;
* objective and filled are the sums they claim;
* the dual certificate, evaluated over ALL candidates, bounds the objective as reported; an
  OPTIMAL plan's bound equals its objective.

The bound is the LP bound described in `allocator.problem.DualCertificate`, recomputed here
with its own code (slot enumeration, not the range-minimum tables the pruning uses), so a bug
in the solver side cannot certify itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.checker_limits import (
    ImpliedWindowError,
    SlotPrices,
    best_entries,
    channel_top,
    check_implied,
    factors,
    leveled,
    max_value,
    near_pin,
    segment_best,
    spacing_sum,
    window_slots,
)
from allocator.limits import (
    channel_min_extra,
    limit_row_value,
    vp_dual,
    window_use,
)
from allocator.problem import (
    OPEN_END,
    OPEN_START,
    AllocationProblem,
    DualCertificate,
    Int64Array,
    Mode,
    Plan,
    SolverStatus,
)

_CHUNK = 4_000_000  # (candidate, slot) pairs evaluated at once: bounds the checker's memory
# Candidates priced at once. Whole-problem temporaries (9.8M candidates at L, a dozen arrays)
# cost more in fresh memory than in arithmetic: chunks of a few MB are reused and stay cached.
_CANDIDATES = 1 << 19


class PlanCheckError(ValueError):
    """A plan or its certificate failed an independent check; `what` names the check."""

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(f"{what}: {detail}")
        self.what = what
        self.detail = detail


@dataclass(frozen=True)
class CheckReport:
    """What the checker recomputed."""

    objective: int
    filled: int
    weighted_bound: int | None
    score_bound: int | None
    fill_bound: int | None


def check_plan(problem: AllocationProblem, plan: Plan) -> CheckReport:
    """Verify `plan` against `problem`; raise PlanCheckError on the first failure."""
    p = problem
    n = len(plan.candidate)
    for name in ("video", "channel", "slot", "score"):
        if len(getattr(plan, name)) != n:
            raise PlanCheckError("shape", f"plan.{name} has {len(getattr(plan, name))} != {n}")
    cand = np.asarray(plan.candidate, np.int64)
    if n and (cand.min() < 0 or cand.max() >= p.num_candidates):
        raise PlanCheckError("candidate", "index outside the candidate list")
    _same("video", plan.video, p.cand_video[cand])
    _same("channel", plan.channel, p.cand_channel[cand])
    _same("score", plan.score, p.cand_score[cand])
    slot = np.asarray(plan.slot, np.int64)
    if n and (slot.min() < 0 or slot.max() >= p.num_slots):
        raise PlanCheckError("slot", "index outside the slot list")
    _same("slot channel", p.slot_channel[slot], plan.channel)
    _unique("slot capacity", slot, "slot used twice")
    vid = np.asarray(plan.video, np.int64)
    ch = np.asarray(plan.channel, np.int64)
    cmax = max(p.num_channels, 1)
    _unique("duplicate video", vid * cmax + ch, "video twice on one channel")
    _unique("duplicate source", p.video_source[vid].astype(np.int64) * cmax + ch, "source twice")
    per_video = np.bincount(vid, minlength=p.num_videos)
    over = np.flatnonzero(per_video > p.video_capacity)
    if len(over):
        raise PlanCheckError("video capacity", f"video {over[0]} on {per_video[over[0]]} channels")
    per_day = np.bincount(p.slot_cday[slot], minlength=p.num_cdays)
    if np.any(per_day > np.bincount(p.slot_cday, minlength=p.num_cdays)):
        raise PlanCheckError("day capacity", "more assignments than free slots on a day")
    t = p.slot_time[slot]
    outside = (t < p.video_window_start[vid]) | (t >= p.video_window_end[vid])
    if np.any(outside):
        raise PlanCheckError("window", f"video {vid[outside][0]} outside its window")
    _checkspacing_sum(p, vid, t)
    over = np.flatnonzero(window_use(p, slot) > p.window_capacity)
    if len(over):
        raise PlanCheckError("quota window", f"window {over[0]} over its capacity")
    rows = p.cand_vp[cand]
    per_row = np.bincount(rows[rows >= 0], minlength=len(p.vp_video))
    over = np.flatnonzero(per_row > p.vp_capacity)
    if len(over):
        raise PlanCheckError("platform cap", f"video {p.vp_video[over[0]]} over its platform cap")
    objective = int((p.cand_score[cand] * factors(p)[slot]).sum())
    if objective != plan.objective:
        raise PlanCheckError("objective", f"plan says {plan.objective}, recomputed {objective}")
    if n != plan.filled:
        raise PlanCheckError("filled", f"plan says {plan.filled}, recomputed {n}")
    return _check_bound(p, plan, objective, n)


def _same(what: str, a: object, b: object) -> None:
    a_arr, b_arr = np.asarray(a, np.int64), np.asarray(b, np.int64)
    if not np.array_equal(a_arr, b_arr):
        i = int(np.argmax(a_arr != b_arr))
        raise PlanCheckError(what, f"row {i}: {a_arr[i]} != {b_arr[i]}")


def _unique(what: str, key: Int64Array, detail: str) -> None:
    s = np.sort(key)
    if len(s) > 1 and np.any(s[1:] == s[:-1]):
        raise PlanCheckError(what, detail)


def _checkspacing_sum(p: AllocationProblem, vid: Int64Array, t: Int64Array) -> None:
    gap = p.spacing_seconds
    if gap <= 0:
        return
    all_v = np.concatenate([vid, p.pin_video.astype(np.int64)])
    all_t = np.concatenate([t, p.pin_time])
    is_new = np.concatenate([np.ones(len(vid), bool), np.zeros(len(p.pin_video), bool)])
    order = np.lexsort((all_t, all_v))
    v_s, t_s, new_s = all_v[order], all_t[order], is_new[order]
    close = (v_s[1:] == v_s[:-1]) & (t_s[1:] - t_s[:-1] < gap) & (new_s[1:] | new_s[:-1])
    if np.any(close):
        i = int(np.argmax(close))
        raise PlanCheckError("min_hours_between", f"video {v_s[i]} at {t_s[i]} and {t_s[i + 1]}")


def _check_bound(p: AllocationProblem, plan: Plan, objective: int, filled: int) -> CheckReport:
    cert = plan.certificate
    if cert is None:
        if plan.status is SolverStatus.OPTIMAL:
            raise PlanCheckError("certificate", "an OPTIMAL plan needs a certificate")
        return CheckReport(objective, filled, None, None, None)
    weighted = certificate_bound(p, cert)
    big_m = cert.fill_weight
    if p.mode is Mode.FILTER:
        if big_m != 0:
            raise PlanCheckError("certificate", "FILTER mode certificate with a fill weight")
        score_bound, fill_bound = weighted, None
    else:
        smax = max_value(p)
        if big_m <= smax:
            raise PlanCheckError("certificate", f"fill weight {big_m} <= max |score| {smax}")
        # Any plan: M * fill + score <= weighted and score >= -fill * smax.
        fill_bound = weighted // (big_m - smax)
        score_bound = weighted - big_m * filled
        if plan.fill_bound < fill_bound:
            raise PlanCheckError(
                "fill bound", f"reported {plan.fill_bound} < certified {fill_bound}"
            )
        if plan.status is SolverStatus.OPTIMAL and fill_bound != filled:
            raise PlanCheckError("fill bound", f"OPTIMAL but fill {filled} < bound {fill_bound}")
    if plan.best_bound < score_bound:
        raise PlanCheckError("bound", f"reported {plan.best_bound} < certified {score_bound}")
    if objective > score_bound:
        raise PlanCheckError("bound", f"objective {objective} above certified bound {score_bound}")
    if plan.status is SolverStatus.OPTIMAL and plan.best_bound != objective:
        raise PlanCheckError("bound", f"OPTIMAL but bound {plan.best_bound} != {objective}")
    return CheckReport(objective, filled, weighted, score_bound, fill_bound)


def certificate_bound(p: AllocationProblem, cert: DualCertificate) -> int:
    """ceil(LP dual value / denominator) of the certificate, over every candidate."""
    den = int(cert.denominator)
    if den < 1:
        raise PlanCheckError("certificate", f"denominator {den} < 1")
    shapes = {
        "video": (cert.video, p.num_videos),
        "channel": (cert.channel, p.num_channels),
        "cday": (cert.cday, p.num_cdays),
        "slot": (cert.slot, p.num_slots),
        "timed_video": (cert.timed_video, p.num_videos),
    }
    for name, (arr, size) in shapes.items():
        if len(arr) != size:
            raise PlanCheckError("certificate", f"{name} has {len(arr)} duals, needs {size}")
    for name, size in (
        ("window", p.model_windows.count),
        ("part", p.num_parts),
        ("video_platform", len(p.vp_video)),
    ):
        if len(getattr(cert, name)) not in (0, size):
            raise PlanCheckError("certificate", f"{name} has {len(getattr(cert, name))} duals")
    for name in (
        "video",
        "channel",
        "cday",
        "slot",
        "group_value",
        "spacing_value",
        "window",
        "part",
        "video_platform",
    ):
        arr = getattr(cert, name)
        if len(arr) and int(np.min(arr)) < 0:
            raise PlanCheckError("certificate", f"negative {name} dual")
    gk = np.asarray(cert.group_key, np.int64)
    if len(gk) != len(cert.group_value) or (len(gk) > 1 and np.any(gk[1:] <= gk[:-1])):
        raise PlanCheckError("certificate", "group keys must be sorted, unique, one per value")
    try:
        check_implied(p, cert)
    except ImpliedWindowError as exc:
        raise PlanCheckError("certificate", str(exc)) from exc
    rows = (
        int((p.video_capacity.astype(np.int64) * cert.video).sum())
        + int((np.bincount(p.slot_channel, minlength=p.num_channels) * cert.channel).sum())
        + int((np.bincount(p.slot_cday, minlength=p.num_cdays) * cert.cday).sum())
        + int(cert.slot.sum())
        + int(np.sum(cert.group_value))
        + int(np.sum(cert.spacing_value))
        + limit_row_value(p, cert)
    )
    prices = _ChannelPrices.of(p, cert)
    total = rows + sum(
        _excess(p, cert, prices, lo, min(lo + _CANDIDATES, p.num_candidates))
        for lo in range(0, p.num_candidates, _CANDIDATES)
    )
    return -((-total) // den)


@dataclass(frozen=True)
class _ChannelPrices:
    """What every candidate chunk reads: the slot prices and, per channel, its cheapest slot,
    its largest factor and whether its factors differ."""

    slots: SlotPrices
    cheapest: Int64Array  # per channel: its cheapest slot `extra`
    top: Int64Array  # per channel: its largest slot factor
    leveled: np.ndarray  # per channel: slots of different factors

    @classmethod
    def of(cls, p: AllocationProblem, cert: DualCertificate) -> _ChannelPrices:
        slots = SlotPrices.of(p, cert)
        return cls(
            slots=slots,
            cheapest=channel_min_extra(p, slots.extra),
            top=channel_top(p),
            leveled=leveled(p),
        )


def _excess(
    p: AllocationProblem, cert: DualCertificate, prices: _ChannelPrices, lo: int, hi: int
) -> int:
    """sum over candidates [lo, hi) of den * value - the duals their cheapest entry pays, where
    positive (the LP's reduced-cost part of the bound)."""
    den = int(cert.denominator)
    cand = np.arange(lo, hi)
    vid = p.cand_video[lo:hi].astype(np.int64)
    ch = p.cand_channel[lo:hi].astype(np.int64)
    base = cert.video[vid] + cert.channel[ch] + vp_dual(p, cert, cand)
    gk = np.asarray(cert.group_key, np.int64)
    if len(gk):
        key = p.video_source[vid].astype(np.int64) * max(p.num_channels, 1) + ch
        pos = np.minimum(np.searchsorted(gk, key), len(gk) - 1)
        base += np.where(gk[pos] == key, cert.group_value[pos], 0)
    on_leveled = prices.leveled[ch]
    need = (p.cand_score[lo:hi] * prices.top[ch] + cert.fill_weight) * den - base
    # Entry prices are >= 0, so a candidate whose video/channel/group duals already cover its
    # weight adds nothing: only the others need their window's slots enumerated.
    entry = _entry_prices(p, cert, prices, cand, (need > 0) & ~on_leveled)
    excess = np.where(entry < 0, 0, np.maximum(0, need - np.maximum(entry, 0)))
    excess[on_leveled] = 0
    todo = np.flatnonzero(on_leveled & (need > 0))
    if len(todo) == 0:
        return int(excess.sum())
    best = best_entries(p, cert, cand[todo], prices.slots)
    return int(excess.sum()) + int(np.maximum(best - base[todo], 0).sum())


def _entry_prices(
    p: AllocationProblem,
    cert: DualCertificate,
    prices: _ChannelPrices,
    cand: Int64Array,
    wanted: np.ndarray,
) -> Int64Array:
    """Cheapest allowed entry of each candidate of `cand` that is `wanted`; -1 when it has none
    (no LP column). Candidates not wanted get 0 (the caller does not need their price)."""
    n = len(cand)
    ch = p.cand_channel[cand].astype(np.int64)
    vid = p.cand_video[cand].astype(np.int64)
    c_lo, c_hi = prices.slots.ptr[ch], prices.slots.ptr[ch + 1]
    ws, we = p.video_window_start[vid], p.video_window_end[vid]
    if len(p.slot_time):
        first_t = p.slot_time[c_lo.clip(0, len(p.slot_time) - 1)]
        last_t = p.slot_time[(c_hi - 1).clip(0, len(p.slot_time) - 1)]
    else:
        first_t = last_t = np.zeros(n, np.int64)
    covers = (c_hi > c_lo) & (ws <= first_t) & (we > last_t)
    timed = cert.timed_video[vid]
    # Quota windows and parts price every slot (0 without them); a candidate that may use
    # any slot of its channel enters at the channel's cheapest.
    extra = prices.slots.extra
    out = np.where(covers & ~timed, prices.cheapest[ch], -1).astype(np.int64)
    todo = np.flatnonzero(~(covers & ~timed) & (c_hi > c_lo) & wanted)
    if len(todo) == 0:
        return out
    # Only the slots inside each one's window can take it.
    w_lo, w_hi = window_slots(p, prices.slots, ch[todo], vid[todo])
    counts = w_hi - w_lo
    starts = np.cumsum(counts) - counts
    top = np.iinfo(np.int64).max
    i = 0
    while i < len(todo):
        j = int(np.searchsorted(starts, starts[i] + _CHUNK, side="left"))
        j = max(j, i + 1)
        sel = todo[i:j]
        lens = counts[i:j]
        owner = np.repeat(np.arange(len(sel)), lens)
        slot = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens - w_lo[i:j], lens)
        v_o = vid[sel][owner]
        t = p.slot_time[slot]
        allowed = (t >= ws[sel][owner]) & (t < we[sel][owner])
        tim = timed[sel][owner]
        price = cert.cday[p.slot_cday[slot]] + cert.slot[slot] + extra[slot]
        if p.spacing_seconds > 0:
            allowed &= ~(tim & near_pin(p, v_o, t))
            price = price + np.where(tim, spacing_sum(p, cert, v_o, t), 0)
        best = segment_best(np.where(allowed, price, top), lens, top, "min")
        out[sel] = np.where(best == top, -1, best)
        i = j
    return out


__all__ = ["OPEN_END", "OPEN_START", "CheckReport", "PlanCheckError", "certificate_bound"]
