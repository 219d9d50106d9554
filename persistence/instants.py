"""Many instants of one column read back as one text value: `instant_list(column)` aggregates
them in the database as comma-separated microseconds since the epoch; `parse_instant_keys`
reads that text as integers, `parse_instants` as UTC datetimes.

Assign reads a channel's taken slots on every call, often a few hundred of them; one
aggregated value costs the database nothing more and spares the per-row work of the result
machinery (a row, a type conversion and a tuple per instant), which was most of the call's CPU.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class instant_list(FunctionElement[str]):
    """Aggregate: the column's instants as comma-separated epoch microseconds, NULL for none."""

    type = Text()
    inherit_cache = True
    name = "instant_list"


@compiles(instant_list, "postgresql")
def _postgresql(element: instant_list, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    # extract(epoch) is numeric (exact) on PostgreSQL 14 and later.
    return f"string_agg(((extract(epoch from {column}) * 1000000)::bigint)::text, ',')"


@compiles(instant_list, "sqlite")
def _sqlite(element: instant_list, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    # UTCDateTime stores 'YYYY-MM-DD HH:MM:SS.ffffff' (always six digits) on SQLite: whole
    # seconds from strftime over the text without its fraction (strftime would round .9995 up,
    # it keeps milliseconds), the microseconds from the text itself.
    return (
        f"group_concat(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000000"
        f" + CAST(substr({column}, 21, 6) AS INTEGER), ',')"
    )


def parse_instant_keys(text: str | None) -> list[int]:
    """The instants of an `instant_list` value as microseconds since the epoch (the instant
    keys of `allocator.free_slot.instant_key`), in the order the database gave them."""
    return list(map(int, text.split(","))) if text else []


def parse_instants(text: str | None) -> list[datetime]:
    """The instants of an `instant_list` value, UTC, in the order the database gave them."""
    return [_EPOCH + timedelta(microseconds=us) for us in parse_instant_keys(text)]
