"""A small stand-in for the `grpcurl` command line, for tests of the documented examples.

grpcurl cannot be installed here, so `run(argv)` does what grpcurl does for the subset the docs
use, through server reflection only (no .proto files):

- flags before the positional arguments, Go style (`-d x`, `-d=x`, `--d x`): `-plaintext`,
  `-d <json>`, `-H 'key: value'` (repeatable), `-emit-defaults`, `-max-time <seconds>`;
- `grpcurl [flags] <address> list [<service>]`: services (or a service's methods), sorted;
- `grpcurl [flags] <address> <package.Service/Method>` (or `.../Service.Method`): one unary
  call. The request is read from `-d` (an empty message without it), field names in either
  proto (snake_case) or JSON (lowerCamelCase) spelling, enums by name; unknown fields fail.

Output and exit codes follow grpcurl's: the response as indented JSON with lowerCamelCase field
names (its default; `jq` paths must use them too: `.nextPageToken`); a failed call prints
`ERROR:\\n  Code: InvalidArgument\\n  Message: ...` and its google.rpc details on stderr and
exits 64 + the status code (67 for INVALID_ARGUMENT); a bad command line exits 2; any other
failure (no server, bad request JSON, unknown method) exits 1.

It can also be used by hand: `.venv/bin/python -m tests.support.grpcurl -plaintext
127.0.0.1:50051 list`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.rpc import status_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

#: grpcurl exits with this plus the gRPC status code when the call itself fails.
EXIT_CALL_FAILURE = 64
#: grpcurl's exit code for a command-line (usage) error.
EXIT_USAGE = 2
#: grpcurl's exit code for any other failure (connection, request data, unknown symbol).
EXIT_FAILURE = 1

_BOOL_FLAGS = frozenset({"plaintext", "emit-defaults"})
_VALUE_FLAGS = frozenset({"d", "H", "max-time"})


class UsageError(Exception):
    """The command line is not one grpcurl (or this stand-in) accepts."""


class Failure(Exception):
    """A failure that grpcurl reports on stderr with exit code 1."""


@dataclass
class Command:
    """A parsed grpcurl command line."""

    address: str
    verb: str  # "list" or "invoke"
    symbol: str = ""
    plaintext: bool = False
    data: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    emit_defaults: bool = False
    max_time: float | None = None


def parse_args(args: Sequence[str]) -> Command:
    """Parses grpcurl's arguments (without the program name); raises UsageError."""
    flags: dict[str, Any] = {"headers": []}
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "-":
        arg = args[i]
        i += 1
        if arg == "--":
            break
        name, has_value, value = arg.lstrip("-").partition("=")
        if name in _BOOL_FLAGS:
            if has_value and value.lower() not in ("true", "false", "1", "0"):
                raise UsageError(f"invalid boolean value {value!r} for flag -{name}")
            flags[name] = not has_value or value.lower() in ("true", "1")
        elif name in _VALUE_FLAGS:
            if not has_value:
                if i >= len(args):
                    raise UsageError(f"flag needs an argument: -{name}")
                value = args[i]
                i += 1
            if name == "H":
                flags["headers"].append(_header(value))
            else:
                flags[name] = value
        else:
            raise UsageError(f"flag provided but not defined: -{name}")
    positional = list(args[i:])
    if not positional:
        raise UsageError("Too few arguments.")
    address, rest = positional[0], positional[1:]
    if rest[:1] == ["list"]:
        if len(rest) > 2:
            raise UsageError("Too many arguments.")
        verb, symbol = "list", (rest[1] if len(rest) == 2 else "")
    elif rest[:1] == ["describe"]:
        raise UsageError("describe is not supported by this grpcurl stand-in")
    elif len(rest) == 1:
        verb, symbol = "invoke", rest[0]
    else:
        raise UsageError("Too few arguments." if not rest else "Too many arguments.")
    max_time = flags.get("max-time")
    try:
        timeout = float(max_time) if max_time is not None else None
    except ValueError:
        raise UsageError(f"invalid value {max_time!r} for flag -max-time") from None
    return Command(
        address=address,
        verb=verb,
        symbol=symbol,
        plaintext=bool(flags.get("plaintext", False)),
        data=flags.get("d"),
        headers=flags["headers"],
        emit_defaults=bool(flags.get("emit-defaults", False)),
        max_time=timeout,
    )


def _header(value: str) -> tuple[str, str]:
    key, colon, val = value.partition(":")
    if not colon or not key.strip():
        raise UsageError(f"invalid header {value!r}: expected 'name: value'")
    return key.strip().lower(), val.strip()


class _Reflection:
    """Descriptors fetched from the server's reflection service into a private pool."""

    def __init__(self, channel: grpc.Channel, timeout: float | None) -> None:
        self._stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        self._timeout = timeout
        self.pool = descriptor_pool.DescriptorPool()
        self._added: set[str] = set()

    def _ask(self, request: reflection_pb2.ServerReflectionRequest) -> Any:
        [response] = list(self._stub.ServerReflectionInfo(iter([request]), timeout=self._timeout))
        if response.HasField("error_response"):
            raise Failure(response.error_response.error_message or "reflection error")
        return response

    def services(self) -> list[str]:
        """The services the server lists."""
        response = self._ask(reflection_pb2.ServerReflectionRequest(list_services=""))
        return sorted(s.name for s in response.list_services_response.service)

    def load_symbol(self, symbol: str) -> None:
        """Adds the file defining `symbol` (and its imports) to the pool."""
        try:
            response = self._ask(
                reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)
            )
        except Failure as exc:
            raise Failure(f"Symbol not found: {symbol}: {exc}") from None
        self._add_files(response.file_descriptor_response.file_descriptor_proto)

    def _load_file(self, name: str) -> None:
        response = self._ask(reflection_pb2.ServerReflectionRequest(file_by_filename=name))
        self._add_files(response.file_descriptor_response.file_descriptor_proto)

    def _add_files(self, serialized: Sequence[bytes]) -> None:
        files = {}
        for blob in serialized:
            proto = descriptor_pb2.FileDescriptorProto.FromString(blob)
            files[proto.name] = proto
        for name in files:
            self._add_file(name, files)

    def _add_file(self, name: str, files: dict[str, descriptor_pb2.FileDescriptorProto]) -> None:
        if name in self._added:
            return
        if name not in files:
            self._load_file(name)
            return
        proto = files[name]
        for dependency in proto.dependency:
            self._add_file(dependency, files)
        self.pool.Add(proto)
        self._added.add(name)

    def method(self, symbol: str) -> MethodDescriptor:
        """The method named `package.Service/Method` or `package.Service.Method`."""
        full = symbol.replace("/", ".")
        service_name, _, method_name = full.rpartition(".")
        if not service_name or not method_name:
            raise Failure(f"Symbol not found: {symbol}")
        self.load_symbol(service_name)
        try:
            service = self.pool.FindServiceByName(service_name)
        except KeyError:
            raise Failure(f"Symbol not found: {service_name}: not a service") from None
        if method_name not in service.methods_by_name:
            raise Failure(
                f'service "{service_name}" does not include a method named "{method_name}"'
            )
        return service.methods_by_name[method_name]

    def message_class(self, descriptor: Any) -> type[Message]:
        """The message class of a descriptor of this pool."""
        return message_factory.GetMessageClass(descriptor)

    def resolve_any(self, type_url: str) -> None:
        """Loads the type of an Any (e.g. a google.rpc error detail), when the server knows it."""
        name = type_url.rpartition("/")[2]
        try:
            self.pool.FindMessageTypeByName(name)
        except KeyError:
            self.load_symbol(name)


def _to_json(message: Message, pool: descriptor_pool.DescriptorPool, emit_defaults: bool) -> str:
    return json_format.MessageToJson(
        message,
        indent=2,
        descriptor_pool=pool,
        always_print_fields_with_no_presence=emit_defaults,
        ensure_ascii=False,
    )


def _code_name(code: grpc.StatusCode) -> str:
    """Go's spelling of a status code, as grpcurl prints it (INVALID_ARGUMENT: InvalidArgument)."""
    return "".join(part.capitalize() for part in code.name.split("_"))


def _status_text(rpc_error: grpc.RpcError, reflection: _Reflection, emit_defaults: bool) -> str:
    code = rpc_error.code()  # type: ignore[attr-defined]
    lines = [f"ERROR:\n  Code: {_code_name(code)}\n  Message: {rpc_error.details()}\n"]  # type: ignore[attr-defined]
    details = b""
    for key, value in rpc_error.trailing_metadata() or ():  # type: ignore[attr-defined]
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            details = value
    status = status_pb2.Status.FromString(details) if details else status_pb2.Status()
    if status.details:
        lines.append("  Details:\n")
    for n, detail in enumerate(status.details, start=1):
        prefix = f"  {n})"
        try:
            reflection.resolve_any(detail.type_url)
            any_class = reflection.message_class(
                reflection.pool.FindMessageTypeByName("google.protobuf.Any")
            )
            text = _to_json(
                any_class.FromString(detail.SerializeToString()), reflection.pool, emit_defaults
            )
        except (Failure, KeyError, TypeError, json_format.Error, grpc.RpcError) as exc:
            lines.append(f"{prefix}\tError parsing detail message: {exc}\n")
            continue
        pad = " " * len(prefix) + "\t"
        first, *rest = text.split("\n")
        lines.append(f"{prefix}\t{first}\n" + "".join(f"{pad}{line}\n" for line in rest))
    return "".join(lines)


def _invoke(command: Command, channel: grpc.Channel, out: list[str], err: TextIO) -> int:
    reflection = _Reflection(channel, command.max_time)
    if command.verb == "list":
        if not command.symbol:
            out.extend(f"{name}\n" for name in reflection.services())
            return 0
        reflection.load_symbol(command.symbol)
        try:
            service = reflection.pool.FindServiceByName(command.symbol)
        except KeyError:
            raise Failure(f'"{command.symbol}" is not a service') from None
        out.extend(f"{m.full_name}\n" for m in sorted(service.methods, key=lambda m: m.full_name))
        return 0
    method = reflection.method(command.symbol)
    reflection.load_symbol("google.protobuf.Any")  # for error details and Any fields
    request_class = reflection.message_class(method.input_type)
    response_class = reflection.message_class(method.output_type)
    request = request_class()
    full_method = f"{method.containing_service.full_name}/{method.name}"
    if command.data is not None and command.data.strip():
        try:
            json_format.Parse(command.data, request, descriptor_pool=reflection.pool)
        except json_format.ParseError as exc:
            raise Failure(
                f'Error invoking method "{full_method}": error getting request data: {exc}'
            ) from None
    call = channel.unary_unary(
        f"/{full_method}",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_class.FromString,
    )
    try:
        response = call(request, metadata=command.headers or None, timeout=command.max_time)
    except grpc.RpcError as exc:
        err.write(_status_text(exc, reflection, command.emit_defaults))
        return EXIT_CALL_FAILURE + exc.code().value[0]  # type: ignore[attr-defined]
    out.append(_to_json(response, reflection.pool, command.emit_defaults) + "\n")
    return 0


def run(argv: Sequence[str], *, stderr: TextIO | None = None) -> tuple[int, str]:
    """Runs a grpcurl command line (`argv[0]` is the program name); returns (exit code, stdout).

    What grpcurl prints on stderr (errors) is written to `stderr` (default: sys.stderr).
    """
    err = stderr if stderr is not None else sys.stderr
    try:
        command = parse_args(list(argv[1:]))
    except UsageError as exc:
        err.write(f"{exc}\nTry 'grpcurl -help' for more details.\n")
        return EXIT_USAGE, ""
    if not command.plaintext:
        err.write(
            f"Failed to dial target host {command.address!r}: this stand-in speaks plaintext "
            "only; pass -plaintext\n"
        )
        return EXIT_FAILURE, ""
    out: list[str] = []
    channel = grpc.insecure_channel(command.address)
    try:
        grpc.channel_ready_future(channel).result(timeout=command.max_time or 10)
        return _invoke(command, channel, out, err), "".join(out)
    except grpc.FutureTimeoutError:
        err.write(f"Failed to dial target host {command.address!r}: context deadline exceeded\n")
        return EXIT_FAILURE, ""
    except Failure as exc:
        err.write(f"{exc}\n")
        return EXIT_FAILURE, "".join(out)
    except grpc.RpcError as exc:  # the reflection service itself failed
        err.write(f"Failed to use server reflection: {exc.details()}\n")  # type: ignore[attr-defined]
        return EXIT_FAILURE, "".join(out)
    finally:
        channel.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: `python -m tests.support.grpcurl -plaintext HOST:PORT list`."""
    code, text = run(["grpcurl", *(sys.argv[1:] if argv is None else argv)])
    sys.stdout.write(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
