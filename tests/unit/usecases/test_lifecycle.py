"""The lifecycle table, without a database: every (state, event) pair, and the creation path."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from persistence.enums import LIVE_STATES, DistributionMethod, DistributionState
from persistence.models import Distribution
from server.usecases.lifecycle import (
    TRANSITIONS,
    Event,
    IllegalTransition,
    allowed,
    apply,
    new_distribution,
    states_allowing,
)

S = DistributionState
EXPECTED = {
    (S.SCHEDULED, Event.LEASE): S.PUBLISHING,
    (S.PUBLISHING, Event.LEASE): S.PUBLISHING,
    (S.PUBLISHING, Event.PUBLISHED): S.PUBLISHED,
    (S.PUBLISHING, Event.RETRY_LATER): S.SCHEDULED,
    (S.PUBLISHING, Event.GIVE_UP): S.FAILED,
    (S.ASSIGNED, Event.CANCEL): S.CANCELLED,
    (S.SCHEDULED, Event.CANCEL): S.CANCELLED,
    (S.FAILED, Event.OPERATOR_RETRY): S.SCHEDULED,
}


def test_the_table_is_exactly_the_documented_lifecycle():
    assert dict(TRANSITIONS) == EXPECTED


@pytest.mark.parametrize("state", list(DistributionState))
@pytest.mark.parametrize("event", list(Event))
def test_apply_moves_or_refuses_every_pair(state, event):
    row = Distribution(state=state)
    if (state, event) in EXPECTED:
        assert allowed(state, event)
        assert apply(row, event) is EXPECTED[(state, event)]
        assert row.state is EXPECTED[(state, event)]
    else:
        assert not allowed(state, event)
        with pytest.raises(IllegalTransition) as info:
            apply(row, event)
        assert row.state is state, "a refused event changes nothing"
        assert state.value in str(info.value) and event.value in str(info.value)


def test_final_states_have_no_way_out_but_an_operator_retry():
    for state in (S.PUBLISHED, S.CANCELLED):
        assert not any(allowed(state, event) for event in Event)
    assert [e for e in Event if allowed(S.FAILED, e)] == [Event.OPERATOR_RETRY]


def test_only_unleased_distributions_can_be_cancelled():
    assert states_allowing(Event.CANCEL) == [S.ASSIGNED, S.SCHEDULED]


def test_only_failed_and_cancelled_free_the_slot():
    freeing = {target for target in TRANSITIONS.values() if target not in LIVE_STATES}
    assert freeing == {S.FAILED, S.CANCELLED}


def test_new_distribution_is_scheduled_unattempted_and_unique():
    now = datetime(2030, 1, 1, 9, tzinfo=UTC)
    values = [
        new_distribution(
            video_id="v",
            channel_id="c",
            source_url="https://x.test/v",
            method=DistributionMethod.MANUAL,
            scheduled_at=now,
            score=7,
            reason="r",
            details={"code": "MANUAL"},
            transformations=[],
            max_attempts=5,
            actor="alice",
            now=now,
        )
        for _ in range(2)
    ]
    first = values[0]
    assert first["state"] is S.SCHEDULED
    assert (first["attempts"], first["max_attempts"], first["unconfirmed"]) == (0, 5, False)
    assert first["create_time"] == first["update_time"] == now
    assert first["run_id"] is None and first["duplicate_override"] is False
    assert values[0]["id"] != values[1]["id"]
    row = Distribution(**first)  # every key is a column
    assert row.state is S.SCHEDULED
