"""`problem_digest`: equal problems, equal digests; any one changed input, another digest."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import allocator
from allocator.digest import problem_digest
from allocator.problem import OPEN_END, OPEN_START, AllocationProblem, Mode


def _base() -> AllocationProblem:
    return AllocationProblem(
        mode=Mode.FILTER,
        num_channels=3,
        cand_video=[0, 1, 2, 0],
        cand_channel=[0, 0, 1, 2],
        cand_score=[5, 9, 7, 3],
        video_capacity=[2, 1, 1],
        video_source=[0, 1, 1],
        video_window_start=[OPEN_START, 1_000_000, OPEN_START],
        video_window_end=[OPEN_END, OPEN_END, 1_100_000],
        slot_channel=[0, 0, 1, 2],
        slot_time=[1_000_000, 1_003_600, 1_000_600, 1_001_200],
        slot_day=[10, 10, 10, 10],
        pin_video=[0],
        pin_channel=[1],
        pin_time=[999_000],
        min_hours_between=0,
    )


# Pins the byte layout: the same digest on every platform and in every release that reads
# the same problem (change _DIGEST_VERSION, and this value, if the layout ever changes).
BASE_DIGEST = "11b424e9775ea6af84b082082dfde4712deda6f87fede4956aa514d2fc2e3f44"


def test_digest_is_stable() -> None:
    digest = problem_digest(_base())
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest == BASE_DIGEST
    assert allocator.problem_digest is problem_digest


def test_equal_problems_have_equal_digests() -> None:
    p = _base()
    same = AllocationProblem(
        **{
            f.name: (
                np.asarray(getattr(p, f.name), np.int64).tolist()
                if isinstance(getattr(p, f.name), np.ndarray)
                else getattr(p, f.name)
            )
            for f in dataclasses.fields(p)
        }
    )
    assert problem_digest(same) == problem_digest(p)
    # Run settings are not inputs of the plan.
    settings_changed = dataclasses.replace(p, time_limit_seconds=1.0, num_workers=8)
    assert problem_digest(settings_changed) == problem_digest(p)


CHANGES: dict[str, Any] = {
    "mode": Mode.SCHEDULE,
    "num_channels": 4,
    "min_hours_between": 5,
    "cand_video": [0, 1, 2, 1],
    "cand_channel": [0, 0, 1, 1],
    "cand_score": [5, 9, 7, 4],
    "video_capacity": [2, 1, 0],
    "video_source": [0, 1, 2],
    "video_window_start": [OPEN_START, 1_000_001, OPEN_START],
    "video_window_end": [OPEN_END, OPEN_END, 1_100_001],
    "slot_channel": [0, 0, 1, 1],
    "slot_time": [1_000_000, 1_003_600, 1_000_600, 1_001_201],
    "slot_day": [10, 10, 10, 11],
    "pin_video": [1],
    "pin_channel": [2],
    "pin_time": [999_001],
}


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_any_one_change_changes_the_digest(field: str) -> None:
    p = _base()
    changed = dataclasses.replace(p, **{field: CHANGES[field]})
    assert problem_digest(changed) != problem_digest(p)


def _limited() -> AllocationProblem:
    """The base problem with two quota windows over channel 0's slots and a platform cap."""
    return dataclasses.replace(_base(), **LIMITS)


LIMITS: dict[str, Any] = {
    "window_capacity": [1, 1],
    "window_slot_ptr": [0, 1, 2],
    "window_slots": [0, 1],
    "channel_platform": [0, 0, 1],
    "vp_video": [0],
    "vp_platform": [0],
    "vp_capacity": [1],
    "slot_weight": [100, 100, 100, 100],
}
LIMIT_CHANGES: dict[str, Any] = {
    "window_capacity": [0, 1],
    "window_slot_ptr": [0, 0, 2],
    "window_slots": [0, 2],
    "channel_platform": [0, 1, 1],
    "vp_video": [2],
    "vp_platform": [1],
    "vp_capacity": [0],
    "slot_weight": [100, 250, 100, 100],
}


@pytest.mark.parametrize("field", sorted(LIMIT_CHANGES))
def test_any_one_limit_change_changes_the_digest(field: str) -> None:
    p = _limited()
    assert problem_digest(p) != problem_digest(_base())
    changed = dataclasses.replace(p, **{field: LIMIT_CHANGES[field]})
    assert problem_digest(changed) != problem_digest(p)


def test_every_input_field_is_covered() -> None:
    runtime = {"time_limit_seconds", "num_workers"}
    fields = {f.name for f in dataclasses.fields(AllocationProblem)} - runtime
    assert fields == set(CHANGES) | set(LIMIT_CHANGES)


def test_order_and_length_change_the_digest() -> None:
    p = _base()
    swapped = dataclasses.replace(
        p,
        cand_video=p.cand_video[[1, 0, 2, 3]],
        cand_channel=p.cand_channel[[1, 0, 2, 3]],
        cand_score=p.cand_score[[1, 0, 2, 3]],
    )
    no_pins = dataclasses.replace(p, pin_video=[], pin_channel=[], pin_time=[])
    digests = {problem_digest(q) for q in (p, swapped, no_pins)}
    assert len(digests) == 3


def test_digest_is_the_same_in_another_process() -> None:
    root = Path(__file__).resolve().parents[3]
    code = (
        "from tests.unit.allocator_opt.test_problem_digest import _base;"
        "from allocator.digest import problem_digest;"
        "print(problem_digest(_base()))"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, check=True, capture_output=True, text=True
    )
    assert out.stdout.strip() == problem_digest(_base())
