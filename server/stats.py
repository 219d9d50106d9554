"""Statistics computed in SQL: counts grouped by the database, never by loading rows.

Scope: distributions whose scheduled time lies in [start_time, end_time), optionally on some
channels. Rates:
- success_rate = published / (published + failed), over distributions in a final state;
- error_rate = failed upload reports / all upload reports (a report is a PUBLISHED,
  RETRY_SCHEDULED or GAVE_UP decision of a distribution in scope; an expired lease is no
  report: its outcome is unknown);
- retries = automatic retries scheduled + operator retries (RETRY_SCHEDULED + RETRIED).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from distribution.v1 import distribution_service_pb2 as svc
from persistence import models
from persistence.database import Database
from server import converters
from server.validation import CHANNEL_ID, Violations

D = models.Distribution
_REPORT_KINDS = ("PUBLISHED", "RETRY_SCHEDULED", "GAVE_UP")
_ERROR_KINDS = ("RETRY_SCHEDULED", "GAVE_UP")
_RETRY_KINDS = ("RETRY_SCHEDULED", "RETRIED")


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


class Stats:
    """The Stats RPC."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def stats(self, request: svc.StatsRequest) -> svc.StatsResponse:
        """Totals, by state and method, rates and retries, overall and per channel."""
        v = Violations()
        v.identifiers(request.channel_ids, "channel_ids", CHANNEL_ID, "channel", max_items=1000)
        v.timestamp(request, "start_time", "start_time")
        v.timestamp(request, "end_time", "end_time")
        start = converters.opt_ts(request, "start_time")
        end = converters.opt_ts(request, "end_time")
        if start is not None and end is not None:
            v.check(start < end, "end_time", "must be after start_time")
        v.raise_if_any()
        scope = _scope(list(request.channel_ids), start, end)
        return self._db.transaction(lambda s: _compute(s, scope), readonly=True)


def _scope(
    channel_ids: list[str], start: datetime | None, end: datetime | None
) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = true()
    if channel_ids:
        condition = condition & D.channel_id.in_(channel_ids)
    if start is not None:
        condition = condition & (D.scheduled_at >= start)
    if end is not None:
        condition = condition & (D.scheduled_at < end)
    return condition


def _compute(session: Session, scope: ColumnElement[bool]) -> svc.StatsResponse:
    groups = session.execute(
        select(D.channel_id, D.state, D.method, func.count())
        .where(scope)
        .group_by(D.channel_id, D.state, D.method)
    ).all()
    reports = session.execute(
        select(models.Decision.kind, func.count())
        .join(D, D.id == models.Decision.distribution_id)
        .where(scope, models.Decision.kind.in_((*_REPORT_KINDS, "RETRIED")))
        .group_by(models.Decision.kind)
    ).all()
    by_kind = {kind: int(count) for kind, count in reports}

    response = svc.StatsResponse()
    per_channel: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"total": 0, "by_state": defaultdict(int), "by_method": defaultdict(int)}
    )
    for channel_id, state, method, count in groups:
        count = int(count)
        response.total += count
        response.by_state[state] += count
        response.by_method[method] += count
        entry = per_channel[channel_id]
        entry["total"] += count
        entry["by_state"][state] += count
        entry["by_method"][method] += count
    published = response.by_state.get("PUBLISHED", 0)
    failed = response.by_state.get("FAILED", 0)
    response.success_rate = _rate(published, published + failed)
    all_reports = sum(by_kind.get(k, 0) for k in _REPORT_KINDS)
    response.error_rate = _rate(sum(by_kind.get(k, 0) for k in _ERROR_KINDS), all_reports)
    response.retries = sum(by_kind.get(k, 0) for k in _RETRY_KINDS)
    for channel_id in sorted(per_channel):
        entry = per_channel[channel_id]
        ch_published, ch_failed = entry["by_state"]["PUBLISHED"], entry["by_state"]["FAILED"]
        response.channels.add(
            channel_id=channel_id,
            total=entry["total"],
            published=ch_published,
            failed=ch_failed,
            success_rate=_rate(ch_published, ch_published + ch_failed),
            by_method=dict(entry["by_method"]),
        )
    return response
