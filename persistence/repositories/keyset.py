"""Keyset pagination: one page of rows after a (time, id) or (id,) key, in a fixed order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

R = TypeVar("R")


@dataclass(frozen=True)
class Page(Generic[R]):
    """Rows of one page, and whether more follow the last of them."""

    rows: list[R]
    more: bool


def keyset_page(
    session: Session,
    query: Select[Any],
    key: Sequence[InstrumentedAttribute[Any]],
    after: Sequence[Any] | None,
    size: int,
    *,
    descending: bool,
) -> Page[Any]:
    """`size` rows of `query` ordered by `key`, starting after the key value `after`."""
    if after is not None:
        column = key[0] if len(key) == 1 else tuple_(*key)
        value = after[0] if len(key) == 1 else tuple(after)
        query = query.where(column < value if descending else column > value)
    order = [c.desc() for c in key] if descending else list(key)
    rows = list(session.scalars(query.order_by(*order).limit(size + 1)))
    return Page(rows[:size], len(rows) > size)
