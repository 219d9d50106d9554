"""`problem_digest`: a stable fingerprint of an allocation problem's inputs.

Equal digests mean equal inputs, so a server can tell a user whether a plan it showed in a dry
run is still the plan the same inputs give (`allocator.solve` is deterministic for them).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from allocator.problem import AllocationProblem

# What `problem_digest` covers, in this order: every input that can change the plan.
_DIGEST_ARRAYS: tuple[tuple[str, str], ...] = (
    ("cand_video", "<i4"),
    ("cand_channel", "<i4"),
    ("cand_score", "<i8"),
    ("video_capacity", "<i4"),
    ("video_source", "<i4"),
    ("video_window_start", "<i8"),
    ("video_window_end", "<i8"),
    ("slot_channel", "<i4"),
    ("slot_time", "<i8"),
    ("slot_day", "<i4"),
    ("pin_video", "<i4"),
    ("pin_channel", "<i4"),
    ("pin_time", "<i8"),
)
# Quota windows and platform caps: written only when present, so that the digests of problems
# without them stay what they were.
_LIMIT_ARRAYS: tuple[tuple[str, str], ...] = (
    ("window_capacity", "<i8"),
    ("window_slot_ptr", "<i8"),
    ("window_slots", "<i8"),
    ("channel_platform", "<i4"),
    ("vp_video", "<i4"),
    ("vp_platform", "<i4"),
    ("vp_capacity", "<i4"),
    ("slot_weight", "<i8"),
)
_DIGEST_VERSION = b"vdist.allocator.AllocationProblem/1"


def problem_digest(problem: AllocationProblem) -> str:
    """SHA-256 (hex) of every input of `problem` that can change its plan.

    Covers the mode, num_channels, min_hours_between and every array (candidates, scores,
    capacities, sources, windows, slots, days, pins, quota windows and platform caps when
    there are any), in their order (indices are the
    tie-breaks). Not time_limit_seconds and num_workers: run settings, not inputs (for the
    same time limit the plan does not depend on num_workers; see `allocator.solve`).

    Stable across processes, platforms and Python hash seeds: each field is written as its
    name, its length and its values in a fixed little-endian integer type, after a version
    tag, so equal problems give equal digests and a change to any one field changes it.
    """
    h = hashlib.sha256()
    h.update(_DIGEST_VERSION + b"\0")
    for name, value in (
        ("mode", problem.mode.value),
        ("num_channels", str(int(problem.num_channels))),
        ("min_hours_between", str(int(problem.min_hours_between))),
    ):
        h.update(f"{name}={value}\0".encode())
    limits = len(problem.window_capacity) > 0 or len(problem.vp_video) > 0
    limits = limits or len(problem.slot_weight) > 0
    for name, dtype in _DIGEST_ARRAYS + (_LIMIT_ARRAYS if limits else ()):
        values = np.ascontiguousarray(getattr(problem, name), dtype=np.dtype(dtype))
        h.update(f"{name}:{dtype}:{len(values)}\0".encode())
        h.update(values.tobytes())
    return h.hexdigest()
