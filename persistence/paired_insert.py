"""One row and the decision that describes it, inserted by one statement on PostgreSQL.

Assign writes a distribution and its decision per channel. As two INSERTs that is two round
trips to the database inside the channel's lock; PostgreSQL runs both as one statement (the
first as a data-modifying CTE), which is atomic as a whole. SQLite has no such statement and
gets the two INSERTs in order, in the same transaction.

Every column of either table that has a Python-side default must be given: the statement is
literal SQL, so SQLAlchemy's defaults do not apply (a missing one is a ValueError, not a NULL).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, TextClause, bindparam, insert, text
from sqlalchemy.engine import Connection

from persistence.base import Base


def insert_with_decision(
    connection: Connection,
    model: type[Base],
    values: Mapping[str, Any],
    decision_model: type[Base],
    decision: Mapping[str, Any],
) -> None:
    """Inserts `values` into `model`'s table and `decision` into `decision_model`'s."""
    table = cast(Table, model.__table__)
    decisions = cast(Table, decision_model.__table__)
    # One statement on one database, two on the other: both refuse the same inputs.
    statement = _paired(table, tuple(values), decisions, tuple(decision))
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), dict(values))
        connection.execute(insert(decisions), dict(decision))
        return
    params = {f"r_{k}": v for k, v in values.items()}
    params.update({f"d_{k}": v for k, v in decision.items()})
    connection.execute(statement, params)


@lru_cache(maxsize=16)
def _paired(
    table: Table, names: tuple[str, ...], decisions: Table, decision_names: tuple[str, ...]
) -> TextClause:
    """`WITH added_row AS (INSERT ...) INSERT ...` for these columns, bound with their types."""
    binds = []
    parts = []
    for t, cols, prefix in ((table, names, "r_"), (decisions, decision_names, "d_")):
        missing = [c.name for c in t.columns if c.default is not None and c.name not in cols]
        if missing:
            raise ValueError(f"{t.name}: no value for {', '.join(missing)}")
        binds += [bindparam(prefix + n, type_=t.c[n].type) for n in cols]
        columns = ", ".join(f'"{n}"' for n in cols)
        marks = ", ".join(f":{prefix}{n}" for n in cols)
        parts.append(f'INSERT INTO "{t.name}" ({columns}) VALUES ({marks})')
    return text(f"WITH added_row AS ({parts[0]}) {parts[1]}").bindparams(*binds)
