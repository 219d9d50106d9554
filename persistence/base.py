"""Declarative base, naming convention and the column types shared by every model."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import BigInteger, DateTime, Integer, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, class_mapper
from sqlalchemy.types import TypeDecorator

# Named constraints let Alembic create and drop them, SQLite batch migrations included.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every model; one MetaData with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases.

    PostgreSQL stores timestamptz; SQLite has no time type, so the value is stored as naive UTC
    text in one fixed format, which keeps equality (slot uniqueness) and ordering exact.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only autoincrements an INTEGER PRIMARY KEY, not a BIGINT one.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)


M = TypeVar("M", bound=Base)


def detached(model: type[M], values: Mapping[str, Any]) -> M:
    """An instance of `model` outside any session holding `values` (attribute name -> value),
    built the way the ORM's loader builds one: straight into the instance's dict, without the
    change events of the constructor (tens of microseconds a row on Assign's path, for rows
    that are only read). Attributes not given read as None, as on a new instance."""
    instance = class_mapper(model).class_manager.new_instance()
    instance.__dict__.update(values)
    return instance
