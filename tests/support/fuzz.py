"""Descriptor-driven request mutation for the fuzz and poison tests.

Nothing here knows a field of the API by name: `mutations` walks the descriptor of a valid
request and, for every field by its type, proposes hostile values (integer boundaries, NaN and
infinities, Timestamps and Durations outside protobuf's range, over-long, multi-byte, NUL and
newline-terminated strings, unknown enum numbers, oversize repeated fields and maps), recursing
into nested messages. `garbage_payloads` gives bytes that do not parse as the request at all.
`call` sends a message or raw bytes and reduces the answer to an `Outcome`; `bad_outcome` says
whether that answer betrays a bug (INTERNAL, UNKNOWN, UNAVAILABLE, or RESOURCE_EXHAUSTED /
DEADLINE_EXCEEDED that did not come from the server's own error mapping, e.g. trailers too big
for the client because a huge value was echoed). `snapshot` fingerprints every table, so a
rejected call can be shown to have written nothing.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, message_factory, timestamp_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import Engine, MetaData, create_engine, select

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import resources_pb2 as pb
from persistence import models
from server.api.converters import dt_to_ts
from tests.support import factories
from tests.support.servers import ServerHandle, start_server

SEED = 20240607
SERVICE = svc.DESCRIPTOR.services_by_name["DistributionService"]
SERVICE_PATH = f"/{SERVICE.full_name}"
#: Strings and repeated fields this long probe size limits and echoing of values.
LONG = 10_000
#: How deep nested messages are mutated (the requests' own nesting is shallower).
MAX_DEPTH = 6
#: Every call gets this deadline; a hang is a bug as well.
CALL_TIMEOUT = 30.0
#: The server's own errors carry an ErrorInfo of this domain (server/api/status.py).
DOMAIN = "vdist.distribution.v1"
TIMESTAMP = timestamp_pb2.Timestamp.DESCRIPTOR.full_name
DURATION = duration_pb2.Duration.DESCRIPTOR.full_name

# Protobuf's own ranges (google/protobuf/timestamp.proto, duration.proto).
TS_MIN_SECONDS = -62135596800  # 0001-01-01T00:00:00Z
TS_MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z
DURATION_MAX_SECONDS = 315576000000  # +-10000 years
INT32_MAX, INT32_MIN = 2**31 - 1, -(2**31)
INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)

Step = tuple[str, int | None]
"""One step down a request: a field name, and the element index when the field is repeated."""


@dataclass(frozen=True)
class Mutation:
    """One hostile change of a request: set `leaf` of the message at `steps` by `apply`."""

    path: str
    label: str
    steps: tuple[Step, ...]
    leaf: str
    apply: Callable[[Message, str], None] = field(compare=False, repr=False)

    def applied_to(self, base: Message) -> Message:
        """A copy of `base` with this mutation applied."""
        request = type(base)()
        request.CopyFrom(base)
        self.apply(_resolve(request, self.steps), self.leaf)
        return request


def _resolve(root: Message, steps: tuple[Step, ...]) -> Message:
    target = root
    for name, index in steps:
        value = getattr(target, name)
        if index is None:
            target = value
            continue
        while len(value) <= index:
            value.add()
        target = value[index]
    return target


# --- values by type -----------------------------------------------------------------------


def _int_values(fd: FieldDescriptor) -> list[tuple[str, int]]:
    t = fd.type
    if t in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return [("0", 0), ("uint32 max", 2**32 - 1)]
    if t in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return [("0", 0), ("uint64 max", 2**64 - 1)]
    if t in (
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SFIXED32,
    ):
        return [("0", 0), ("-1", -1), ("int32 max", INT32_MAX), ("int32 min", INT32_MIN)]
    return [
        ("0", 0),
        ("-1", -1),
        ("2^31", 2**31),
        ("int64 max", INT64_MAX),
        ("int64 min", INT64_MIN),
    ]


def _float_values(fd: FieldDescriptor) -> list[tuple[str, float]]:
    values = [("NaN", float("nan")), ("+inf", float("inf")), ("-inf", float("-inf"))]
    values.append(("-0.0", -0.0))
    if fd.type == FieldDescriptor.TYPE_DOUBLE:
        values += [("1e308", 1e308), ("-1e308", -1e308), ("5e-324", 5e-324)]
    else:
        values += [("3.4e38", 3.4e38)]
    return values


def _string_values(original: str) -> list[tuple[str, str]]:
    base = original or "id"
    values = [
        ("empty", ""),
        (f"{LONG} chars", "x" * LONG),
        ("emoji", "\U0001f3ac\U0001f4fa\u2728"),
        ("Arabic-Indic digits", "\u0660\u0669:\u0660\u0660"),
        ("mixed-script digits", "1\u0669:3\u0660"),
        ("NUL inside", "a\x00b"),
        ("newline-terminated", f"{base}\n"),
        ("only spaces", "   "),
    ]
    if original:
        values.append(("NUL appended", f"{original}\x00"))
    return values


def _enum_values(fd: FieldDescriptor) -> list[tuple[str, int]]:
    top = max(v.number for v in fd.enum_type.values)
    return [("0 (UNSPECIFIED)", 0), ("unknown 99", 99), ("unknown -1", -1), ("max+1", top + 1)]


def _timestamps() -> list[tuple[str, int, int]]:
    now = int(datetime.now(UTC).timestamp())
    return [
        ("seconds before year 1", TS_MIN_SECONDS - 1, 0),
        ("seconds after year 9999", TS_MAX_SECONDS + 1, 0),
        ("seconds int64 max", INT64_MAX, 0),
        ("seconds int64 min", INT64_MIN, 0),
        ("nanos -1", now + 86400, -1),
        ("nanos 1e9", now + 86400, 1_000_000_000),
        ("nanos int32 max", now + 86400, INT32_MAX),
        ("negative seconds (1969)", -1, 0),
        ("epoch 0", 0, 0),
        ("year 1 (min valid)", TS_MIN_SECONDS, 0),
        ("year 9999 (max valid)", TS_MAX_SECONDS, 999_999_999),
    ]


def _durations() -> list[tuple[str, int, int]]:
    return [
        ("seconds > 10000 years", DURATION_MAX_SECONDS + 1, 0),
        ("seconds < -10000 years", -DURATION_MAX_SECONDS - 1, 0),
        ("seconds int64 max", INT64_MAX, 0),
        ("negative seconds", -1, 0),
        ("nanos -1", 0, -1),
        ("nanos 1e9", 0, 1_000_000_000),
        ("sign mismatch (1s, -1ns)", 1, -1),
        ("10000 years (max valid)", DURATION_MAX_SECONDS, 0),
    ]


def _scalar_values(fd: FieldDescriptor, original: Any) -> list[tuple[str, Any]]:
    t = fd.type
    if t == FieldDescriptor.TYPE_STRING:
        return _string_values(original or "")
    if t == FieldDescriptor.TYPE_BYTES:
        return [("empty", b""), (f"{LONG} bytes", b"\xff" * LONG)]
    if t == FieldDescriptor.TYPE_BOOL:
        return [("flipped", not original)]
    if t == FieldDescriptor.TYPE_ENUM:
        return _enum_values(fd)
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return _float_values(fd)
    return _int_values(fd)


def _is_map(fd: FieldDescriptor) -> bool:
    return fd.message_type is not None and fd.message_type.GetOptions().map_entry


def _wkt(desc: Descriptor | None) -> str | None:
    if desc is None:
        return None
    return desc.full_name if desc.full_name in (TIMESTAMP, DURATION) else None


# --- leaf operations ----------------------------------------------------------------------


def _set(value: Any) -> Callable[[Message, str], None]:
    def apply(parent: Message, name: str) -> None:
        setattr(parent, name, value)

    return apply


def _set_time(seconds: int, nanos: int) -> Callable[[Message, str], None]:
    def apply(parent: Message, name: str) -> None:
        target = getattr(parent, name)
        target.SetInParent()
        target.seconds = seconds
        target.nanos = nanos

    return apply


def _set_element(value: Any) -> Callable[[Message, str], None]:
    def apply(parent: Message, name: str) -> None:
        items = getattr(parent, name)
        if len(items):
            items[0] = value
        else:
            items.append(value)

    return apply


def _append(value: Any) -> Callable[[Message, str], None]:
    def apply(parent: Message, name: str) -> None:
        getattr(parent, name).append(value)

    return apply


def _replace_all(values: list[Any]) -> Callable[[Message, str], None]:
    def apply(parent: Message, name: str) -> None:
        items = getattr(parent, name)
        del items[:]
        items.extend(values)

    return apply


def _oversize_messages(count: int) -> Callable[[Message, str], None]:
    def apply(parent: Message, name: str) -> None:
        items = getattr(parent, name)
        first = items[0] if len(items) else items.add()
        copies = [type(first)() for _ in range(count - len(items))]
        for c in copies:
            c.CopyFrom(first)
        items.extend(copies)

    return apply


def _set_map(entries: dict[Any, Any]) -> Callable[[Message, str], None]:
    def apply(parent: Message, name: str) -> None:
        target = getattr(parent, name)
        target.clear()
        for key, value in entries.items():
            target[key] = value

    return apply


def _time_element(seconds: int, nanos: int) -> Callable[[Message, str], None]:
    def apply(parent: Message, name: str) -> None:
        items = getattr(parent, name)
        target = items[0] if len(items) else items.add()
        target.seconds = seconds
        target.nanos = nanos

    return apply


# --- the walk -------------------------------------------------------------------------------


def _default_of(fd: FieldDescriptor) -> Any:
    if fd.type == FieldDescriptor.TYPE_STRING:
        return "x"
    if fd.type == FieldDescriptor.TYPE_BYTES:
        return b"x"
    if fd.type == FieldDescriptor.TYPE_BOOL:
        return True
    if fd.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return 1.0
    return 1


def _time_values(full_name: str) -> list[tuple[str, int, int]]:
    return _timestamps() if full_name == TIMESTAMP else _durations()


def mutations(request: Message) -> list[Mutation]:
    """Every mutation of every field of `request`, recursing into nested messages."""
    return list(_walk(request, (), "", 0))


def _walk(msg: Message, steps: tuple[Step, ...], prefix: str, depth: int) -> Iterator[Mutation]:
    for fd in msg.DESCRIPTOR.fields:
        path = f"{prefix}.{fd.name}" if prefix else fd.name
        if _is_map(fd):
            yield from _map_mutations(msg, fd, steps, path)
        elif fd.is_repeated:
            yield from _repeated_mutations(msg, fd, steps, path, depth)
        elif fd.message_type is not None:
            wkt = _wkt(fd.message_type)
            if wkt:
                for label, seconds, nanos in _time_values(wkt):
                    yield Mutation(path, label, steps, fd.name, _set_time(seconds, nanos))
            elif depth < MAX_DEPTH:
                child = getattr(msg, fd.name)
                yield from _walk(child, (*steps, (fd.name, None)), path, depth + 1)
        else:
            for label, value in _scalar_values(fd, getattr(msg, fd.name)):
                yield Mutation(path, label, steps, fd.name, _set(value))


def _repeated_mutations(
    msg: Message, fd: FieldDescriptor, steps: tuple[Step, ...], path: str, depth: int
) -> Iterator[Mutation]:
    items = getattr(msg, fd.name)
    element = f"{path}[0]"
    if fd.message_type is not None:
        wkt = _wkt(fd.message_type)
        if wkt:
            for label, seconds, nanos in _time_values(wkt):
                yield Mutation(element, label, steps, fd.name, _time_element(seconds, nanos))
        elif depth < MAX_DEPTH:
            child = items[0] if len(items) else message_factory.GetMessageClass(fd.message_type)()
            yield from _walk(child, (*steps, (fd.name, 0)), element, depth + 1)
        yield Mutation(path, f"{LONG} elements", steps, fd.name, _oversize_messages(LONG))
        return
    first = items[0] if len(items) else _default_of(fd)
    for label, value in _scalar_values(fd, items[0] if len(items) else None):
        yield Mutation(element, label, steps, fd.name, _set_element(value))
    if fd.type == FieldDescriptor.TYPE_ENUM:
        for label, value in _enum_values(fd)[1:]:
            yield Mutation(path, f"{label} appended", steps, fd.name, _append(value))
    if fd.type == FieldDescriptor.TYPE_STRING:
        many: list[Any] = [f"{first}{i}" for i in range(LONG)]
    else:
        many = [first] * LONG
    yield Mutation(path, f"{LONG} elements", steps, fd.name, _replace_all(many))


def _map_mutations(
    msg: Message, fd: FieldDescriptor, steps: tuple[Step, ...], path: str
) -> Iterator[Mutation]:
    key_fd = fd.message_type.fields_by_name["key"]
    value_fd = fd.message_type.fields_by_name["value"]
    current = dict(getattr(msg, fd.name)) if value_fd.message_type is None else {}
    key0 = next(iter(current), _default_of(key_fd))
    value0 = current.get(key0, _default_of(value_fd)) if value_fd.message_type is None else None
    if value_fd.message_type is not None:
        return
    for label, key in _scalar_values(key_fd, key0):
        yield Mutation(f"{path}.key", label, steps, fd.name, _set_map({key: value0}))
    for label, value in _scalar_values(value_fd, value0):
        yield Mutation(f"{path}[{key0}]", label, steps, fd.name, _set_map({key0: value}))
    if key_fd.type == FieldDescriptor.TYPE_STRING:
        many = {f"{key0}{i}": value0 for i in range(LONG)}
        yield Mutation(path, f"{LONG} entries", steps, fd.name, _set_map(many))


def sample(items: list[Mutation], limit: int, rng: random.Random) -> list[Mutation]:
    """At most `limit` of `items`, drawn by `rng` (all of them, in order, when they fit)."""
    if len(items) <= limit:
        return items
    chosen = sorted(rng.sample(range(len(items)), limit))
    return [items[i] for i in chosen]


# --- garbage bytes ------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _string_path(desc: Descriptor, depth: int = 0) -> list[int] | None:
    """Field numbers down to the first string field reachable from `desc`."""
    for fd in desc.fields:
        if fd.type == FieldDescriptor.TYPE_STRING:
            return [fd.number]
    for fd in desc.fields:
        if fd.message_type is not None and not _wkt(fd.message_type) and depth < MAX_DEPTH:
            inner = _string_path(fd.message_type, depth + 1)
            if inner is not None:
                return [fd.number, *inner]
    return None


def _nested(numbers: list[int], payload: bytes) -> bytes:
    for number in reversed(numbers):
        payload = _varint(number << 3 | 2) + _varint(len(payload)) + payload
    return payload


def garbage_payloads(base: Message, rng: random.Random) -> list[tuple[str, bytes]]:
    """Bytes that do not parse as `base`'s type (and the valid request plus junk)."""
    payloads = [
        ("garbage bytes 0xff*8", b"\xff" * 8),
        ("truncated varint", b"\x08"),
        ("truncated length-delimited", b"\x0a\x05ab"),
        ("field number 0", b"\x00\x01"),
        ("stray end-group tag", b"\x0c"),
        ("length beyond message", b"\x0a\xff\xff\xff\xff\x0f"),
        ("random 64 bytes", rng.randbytes(64)),
        ("valid request + 0xff", base.SerializeToString() + b"\xff"),
    ]
    numbers = _string_path(base.DESCRIPTOR)
    if numbers:
        payloads += [
            ("invalid UTF-8 string", _nested(numbers, b"\xc3\x28")),
            ("UTF-8 surrogate string", _nested(numbers, b"\xed\xa0\x80")),
            ("overlong UTF-8 NUL", _nested(numbers, b"\xc0\x80")),
        ]
    return payloads


# --- calling and judging --------------------------------------------------------------------


class ServerErrors(logging.Handler):
    """Collects the exceptions the in-process server logs, to name the cause of an INTERNAL."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.causes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keeps the type and text of a logged exception."""
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            self.causes.append(f"{type(exc).__name__}: {exc}".replace("\n", " "))

    def take(self) -> str:
        """The causes logged since the last take, joined."""
        causes, self.causes = self.causes, []
        return " | ".join(dict.fromkeys(causes))


@contextmanager
def server_errors() -> Iterator[ServerErrors]:
    """A ServerErrors handler on the root logger for the duration of the block."""
    handler = ServerErrors()
    root = logging.getLogger()
    root.addHandler(handler)
    _ACTIVE.append(handler)
    try:
        yield handler
    finally:
        _ACTIVE.remove(handler)
        root.removeHandler(handler)


_ACTIVE: list[ServerErrors] = []


@dataclass(frozen=True)
class Outcome:
    """What one call answered (and the server's logged exception, when there was one)."""

    code: grpc.StatusCode
    message: str
    server_error: bool
    response: Any = None
    cause: str = ""

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.code == grpc.StatusCode.OK


def _has_domain_info(exc: grpc.RpcError) -> bool:
    try:
        status = rpc_status.from_call(exc)  # type: ignore[arg-type]
    except ValueError:
        return False
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.domain == DOMAIN
    return False


def call(server: ServerHandle, method: str, request: Message | bytes) -> Outcome:
    """Calls `method` with a message or with raw bytes and returns what it answered.

    Inside `server_errors()`, an error answer also names the exception the server logged.
    """
    errors = _ACTIVE[-1] if _ACTIVE else None
    if errors is not None:
        errors.take()
    if isinstance(request, bytes):
        stub = server.channel.unary_unary(
            f"{SERVICE_PATH}/{method}", request_serializer=None, response_deserializer=None
        )
    else:
        stub = getattr(server.stub, method)
    try:
        response = stub(request, timeout=CALL_TIMEOUT)
    except grpc.RpcError as exc:
        cause = errors.take() if errors is not None else ""
        return Outcome(exc.code(), exc.details() or "", _has_domain_info(exc), cause=cause)
    return Outcome(grpc.StatusCode.OK, "", False, response)


#: Answers that are always a bug.
ALWAYS_BAD = {
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DATA_LOSS,
}
#: Answers that are a bug unless the server's error mapping chose them (its ErrorInfo domain):
#: grpcio's own RESOURCE_EXHAUSTED (trailers too big) and a hang until the client's deadline.
BAD_UNLESS_SERVER = {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.DEADLINE_EXCEEDED}


def bad_outcome(outcome: Outcome) -> bool:
    """Whether `outcome` is a bug whatever the request was."""
    if outcome.code in ALWAYS_BAD:
        return True
    return outcome.code in BAD_UNLESS_SERVER and not outcome.server_error


def _shape(text: str) -> str:
    """A message with its numbers and quoted values blanked, so one cause groups as one."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    return re.sub(r"-?\d+", "N", text)


@dataclass
class Failures:
    """Every failure of a run, reported together at the end."""

    items: list[str] = field(default_factory=list)
    classes: dict[str, list[str]] = field(default_factory=dict)

    def add(self, rpc: str, path: str, label: str, outcome: Outcome, note: str = "") -> None:
        """Records one failure as 'RPC field mutation -> CODE: message [note] <= cause'."""
        message = outcome.message.replace("\n", "\\n")[:200]
        line = f"{rpc} {path} {label} -> {outcome.code.name}: {message}"
        if note:
            line += f" [{note}]"
        if outcome.cause:
            line += f" <= {outcome.cause[:200]}"
        self.items.append(line)
        key = f"{outcome.code.name}: {_shape(outcome.cause or message)[:100]}"
        self.classes.setdefault(key, []).append(f"{rpc} {path}")

    def add_text(self, line: str) -> None:
        """Records a failure already put in words."""
        self.items.append(line.replace("\n", "\\n"))

    def report(self) -> str:
        """All failures, one a line, duplicates folded, then the same grouped by cause."""
        unique = list(dict.fromkeys(self.items))
        lines = [f"{len(unique)} failures:", *unique, "", f"{len(self.classes)} by cause:"]
        for key, where in sorted(self.classes.items(), key=lambda kv: -len(kv[1])):
            places = list(dict.fromkeys(where))
            more = f" (+{len(places) - 6} more)" if len(places) > 6 else ""
            lines.append(f"{key}  @ {', '.join(places[:6])}{more}")
        return "\n".join(lines)

    def check(self) -> None:
        """Fails the test with the whole report when anything was recorded."""
        if self.items:
            pytest.fail(self.report(), pytrace=False)


# --- database fingerprints ------------------------------------------------------------------


class Snapshots:
    """Row counts and a hash of every row of every table of one database."""

    def __init__(self, database_url: str) -> None:
        self.engine: Engine = create_engine(database_url)
        self.metadata: MetaData = models.Base.metadata

    def take(self) -> dict[str, tuple[int, str]]:
        """{table: (row count, sha256 of the sorted rows)}."""
        result: dict[str, tuple[int, str]] = {}
        with self.engine.connect() as conn:
            for name, table in sorted(self.metadata.tables.items()):
                if name == "alembic_version":
                    continue
                rows = sorted(repr(tuple(row)) for row in conn.execute(select(table)))
                digest = hashlib.sha256("\n".join(rows).encode("utf-8", "backslashreplace"))
                result[name] = (len(rows), digest.hexdigest()[:16])
        return result

    def close(self) -> None:
        """Closes the engine's connections."""
        self.engine.dispose()


def changed_tables(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> str:
    """The tables whose rows differ, with their counts, e.g. 'videos 3->4'."""
    return ", ".join(
        f"{name} {before.get(name, (0, ''))[0]}->{after.get(name, (0, ''))[0]}"
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    )


# --- servers on their own database ------------------------------------------------------------


@contextmanager
def isolated_server(
    backend: str, request: pytest.FixtureRequest, tmp_dir: Path
) -> Iterator[ServerHandle]:
    """A server on a new empty database of `backend`, closed (and dropped) afterwards."""
    if backend == "sqlite":
        handle = start_server(f"sqlite:///{tmp_dir}/fuzz-{uuid.uuid4().hex[:8]}.db")
        try:
            yield handle
        finally:
            handle.close()
        return
    from tests.conftest import create_postgres_database, drop_postgres_database

    admin = request.getfixturevalue("postgres_admin_dsn")
    url, name = create_postgres_database(admin)
    try:
        handle = start_server(url)
        try:
            yield handle
        finally:
            handle.close()
    finally:
        drop_postgres_database(admin, name)


# --- a valid world to start from ------------------------------------------------------------


def full_channel(channel_id: str) -> pb.Channel:
    """A channel with every part of its configuration set, so each nested field is walked."""
    now = datetime.now(UTC).replace(microsecond=0)
    c = factories.channel(
        channel_id,
        filters=pb.ContentFilters(
            min_duration_seconds=1,
            max_duration_seconds=600,
            min_height=100,
            min_width=100,
            orientation=pb.ORIENTATION_VERTICAL,
            min_views=1,
            required_tags=["cooking"],
            any_tags=["cooking", "food"],
            exclude_tags=["nsfw"],
            languages=["en"],
        ),
        preferences=pb.Preferences(tag_weights={"cooking": 2.5}, priority=10),
        retry_policy=pb.RetryPolicy(
            max_attempts=3,
            initial_backoff=duration_pb2.Duration(seconds=60),
            max_backoff=duration_pb2.Duration(seconds=3600),
            backoff_multiplier=2.0,
        ),
        transformations=[
            pb.Transformation(kind=pb.TRANSFORMATION_KIND_CROP, orientation=pb.ORIENTATION_SQUARE),
            pb.Transformation(kind=pb.TRANSFORMATION_KIND_TRIM, trim_seconds=60),
        ],
    )
    c.schedule.max_posts_per_day = 4
    c.schedule.blackouts.add(
        start_time=dt_to_ts(now + timedelta(days=30)), end_time=dt_to_ts(now + timedelta(days=31))
    )
    return c


def full_video(video_id: str) -> pb.Video:
    """A READY video with its availability window set."""
    now = datetime.now(UTC).replace(microsecond=0)
    return factories.video(
        video_id,
        tags=["cooking", "food"],
        available_from=dt_to_ts(now - timedelta(days=1)),
        expires_at=dt_to_ts(now + timedelta(days=90)),
    )


class World:
    """Real rows on one server, and fresh ones on demand, to build valid requests against."""

    def __init__(self, server: ServerHandle, tag: str) -> None:
        self.server = server
        self.stub = server.stub
        self.tag = tag
        self._count = 0
        self.now = datetime.now(UTC).replace(microsecond=0)
        # A roomy pool the full channel counts against, so that quota checks run on every
        # Assign, and a second one, so that ListQuotaPools has a next page.
        self.pool = pb.QuotaPool(
            id=f"fzq-{tag}",
            display_name="Fuzz pool",
            limit=100_000,
            window=pb.QUOTA_WINDOW_CALENDAR_DAY,
            timezone="America/Los_Angeles",
        )
        for quota_pool in (self.pool, pb.QuotaPool(id=f"fzq2-{tag}", limit=1, window=2)):
            self.stub.UpsertQuotaPool(svc.UpsertQuotaPoolRequest(pool=quota_pool))
        self.channel = full_channel(f"fz-{tag}")
        self.channel.quota_pool_ids.append(self.pool.id)
        self.plain = factories.channel(f"fz2-{tag}")
        self.video = full_video(f"fzv-{tag}")
        factories.setup(self.stub, [self.channel, self.plain], [self.video])
        assigned = self.stub.Assign(
            svc.AssignRequest(video_id=self.video.id, channel_ids=[self.channel.id])
        )
        self.distribution_id = assigned.results[0].distribution.id
        run = self.stub.AutoDistribute(
            svc.AutoDistributeRequest(
                mode=svc.AUTO_DISTRIBUTE_MODE_FILTER,
                video_ids=[self.new_video()],
                time_limit_seconds=5,
            )
        )
        self.run_id = run.run_id
        self.channel_token = self.stub.ListChannels(
            svc.ListChannelsRequest(page_size=1)
        ).next_page_token
        self.video_token = self.stub.ListVideos(svc.ListVideosRequest(page_size=1)).next_page_token
        self.pool_token = self.stub.ListQuotaPools(
            svc.ListQuotaPoolsRequest(page_size=1)
        ).next_page_token

    def restore(self) -> None:
        """Writes the valid pool, channels (active, available) and video back over any
        mutation."""
        self.stub.UpsertQuotaPool(svc.UpsertQuotaPoolRequest(pool=self.pool))
        for c in (self.channel, self.plain):
            valid = pb.Channel()
            valid.CopyFrom(c)
            valid.active = True
            self.stub.UpsertChannel(svc.UpsertChannelRequest(channel=valid))
            self.stub.SetChannelAvailability(
                svc.SetChannelAvailabilityRequest(channel_id=c.id, available=True)
            )
        self.stub.UpsertVideos(svc.UpsertVideosRequest(videos=[self.video]))

    def next_number(self) -> int:
        """A number not handed out before in this world (for unique ids and slots)."""
        self._count += 1
        return self._count

    def new_video(self) -> str:
        """Registers one more READY video and returns its id."""
        v = full_video(f"fzv-{self.tag}-{self.next_number()}")
        self.stub.UpsertVideos(svc.UpsertVideosRequest(videos=[v]))
        return v.id

    def due_distribution(self, channel_id: str | None = None) -> str:
        """A SCHEDULED distribution of a new video that is due now (forced into the past)."""
        video_id = self.new_video()
        when = self.now - timedelta(minutes=2) - timedelta(seconds=self._count)
        result = self.stub.Assign(
            svc.AssignRequest(
                video_id=video_id,
                channel_ids=[channel_id or self.plain.id],
                force=True,
                scheduled_at=dt_to_ts(when),
            )
        ).results[0]
        assert result.outcome == svc.ASSIGN_OUTCOME_ASSIGNED, result
        return str(result.distribution.id)

    def leased(self, channel_id: str | None = None) -> pb.Distribution | Any:
        """A lease of a new due distribution."""
        target = channel_id or self.plain.id
        # An accepted report may have marked the channel down, which holds its work.
        self.stub.SetChannelAvailability(
            svc.SetChannelAvailabilityRequest(channel_id=target, available=True)
        )
        wanted = self.due_distribution(target)
        leases = self.stub.LeasePublications(
            svc.LeasePublicationsRequest(
                worker_id="fuzz-worker", limit=100, lease_seconds=600, channel_ids=[target]
            )
        ).leases
        return next(lease for lease in leases if lease.distribution.id == wanted)

    def failed_distribution(self) -> str:
        """A FAILED distribution (leased, then reported as not retryable)."""
        lease = self.leased()
        self.stub.ReportPublication(
            svc.ReportPublicationRequest(
                distribution_id=lease.distribution.id,
                lease_token=lease.lease_token,
                failed=svc.FailedOutcome(error="fuzz", retryable=False),
            )
        )
        return str(lease.distribution.id)

    def scheduled_distribution(self) -> str:
        """A SCHEDULED distribution of a new video in the future."""
        video_id = self.new_video()
        # Off every calendar (a slot is a whole minute): an AutoDistribute mutation may have
        # filled the slot at this minute, and the time of day decides which minute it is.
        when = self.now.replace(second=30) + timedelta(days=2, minutes=self._count)
        result = self.stub.Assign(
            svc.AssignRequest(
                video_id=video_id,
                channel_ids=[self.plain.id],
                force=True,
                scheduled_at=dt_to_ts(when),
            )
        ).results[0]
        assert result.outcome == svc.ASSIGN_OUTCOME_ASSIGNED, result
        return str(result.distribution.id)


def health_checks(world: World) -> list[tuple[str, Message]]:
    """Ordinary calls that must keep answering OK whatever was stored before."""
    return [
        ("Explain", svc.ExplainRequest(video_ids=[world.video.id])),
        ("ListChannels", svc.ListChannelsRequest()),
        ("ListVideos", svc.ListVideosRequest()),
        ("ListDistributions", svc.ListDistributionsRequest()),
        (
            "AutoDistribute",
            svc.AutoDistributeRequest(
                mode=svc.AUTO_DISTRIBUTE_MODE_FILTER, dry_run=True, time_limit_seconds=5
            ),
        ),
    ]
