"""The per-channel pair filter against a pair-by-pair reference, on generated input."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator.candidates import Candidates
from allocator.pair_filter import REASONS, PairRules, by_channel, filter_pairs


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**31 - 1))
def test_each_dropped_pair_names_the_first_reason_that_applies(seed: int) -> None:
    rng = np.random.default_rng(seed)
    videos, channels = int(rng.integers(1, 12)), int(rng.integers(1, 5))
    pairs = [(c, v) for c in range(channels) for v in range(videos) if rng.random() < 0.6]
    ptr = np.searchsorted([c for c, _ in pairs], np.arange(channels + 1))
    cands = Candidates(
        video_idx=np.array([v for _, v in pairs], np.int32),
        channel_idx=np.array([c for c, _ in pairs], np.int32),
        score=rng.integers(0, 10, len(pairs)).astype(np.int64),
        channel_ptr=ptr.astype(np.int64),
    )
    source = rng.integers(0, max(1, videos // 2), videos).astype(np.int64)
    live = [(int(rng.integers(channels)), int(rng.integers(videos))) for _ in range(3)]
    rules = PairRules(
        skipped_video=rng.random(videos) < 0.2,
        video_source=source,
        takes_work=rng.random(channels) < 0.8,
        has_free_slot=rng.random(channels) < 0.8,
        min_score=int(rng.integers(0, 4)),
        live_videos=by_channel(live[:2]),
        live_sources=by_channel((c, int(source[v])) for c, v in live[2:]),
    )
    got = filter_pairs(cands, rules, videos)

    kept, codes = [], {}
    for (c, v), s in zip(pairs, cands.score.tolist(), strict=True):
        if rules.skipped_video[v]:
            continue
        fails = {
            "DUPLICATE": (c, v) in live[:2]
            or (c, int(source[v])) in {(lc, int(source[lv])) for lc, lv in live[2:]},
            "CHANNEL_UNAVAILABLE": not rules.takes_work[c],
            "BELOW_MIN_SCORE": s < rules.min_score,
            "NO_FREE_SLOT": not rules.has_free_slot[c],
        }
        first = next((r for r in REASONS if fails[r]), None)
        if first is None:
            kept.append((v, c, s))
        else:
            codes.setdefault(v, set()).add(first)
    got_pairs = zip(got.video.tolist(), got.channel.tolist(), got.score.tolist(), strict=True)
    assert list(got_pairs) == kept
    assert got.skip_codes == codes
    want_count = np.bincount(cands.video_idx, minlength=videos)
    assert got.eligible_count.tolist() == want_count.tolist()
    best = np.zeros(videos, np.int64)
    np.maximum.at(best, cands.video_idx, cands.score)
    assert got.best_score.tolist() == best.tolist()
