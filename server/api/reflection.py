"""Server reflection as grpcurl and buf curl expect it: both protocol versions, JSON names set.

grpcio-reflection serves `grpc.reflection.v1alpha` from descriptors copied out of the generated
code, which carry no `json_name`; grpcurl then prints `.proto` field names (`next_page_token`)
where protojson, and every page of docs/api.md, use lowerCamelCase (`nextPageToken`). This
module fills `json_name` in every served FileDescriptorProto, and serves the same service again
as `grpc.reflection.v1` (the protocol's stable name, tried first by buf curl): the two versions'
messages are identical on the wire, so v1 is v1alpha's descriptor under the new package name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.rpc import error_details_pb2  # noqa: F401  (registers the error detail types)
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

V1ALPHA_NAME = reflection.SERVICE_NAME
V1_NAME = "grpc.reflection.v1.ServerReflection"
_V1_FILE = "grpc/reflection/v1/reflection.proto"


def json_name(field_name: str) -> str:
    """protoc's JSON name of a field: lowerCamelCase, underscores dropped (`run_id` -> `runId`)."""
    parts = field_name.split("_")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def _fill_json_names(messages: Iterable[descriptor_pb2.DescriptorProto]) -> None:
    for message in messages:
        for field in message.field:
            if not field.HasField("json_name"):
                field.json_name = json_name(field.name)
        _fill_json_names(message.nested_type)


def with_json_names(serialized: bytes) -> bytes:
    """A serialized FileDescriptorProto with `json_name` set on every field."""
    proto = descriptor_pb2.FileDescriptorProto.FromString(serialized)
    _fill_json_names(proto.message_type)
    return proto.SerializeToString()


class JsonNameReflection(reflection.ReflectionServicer):
    """grpcio-reflection's servicer, answering with descriptors that carry JSON names."""

    def ServerReflectionInfo(self, request_iterator: Any, context: Any) -> Iterator[Any]:
        for response in super().ServerReflectionInfo(request_iterator, context):
            if response.HasField("file_descriptor_response"):
                files = response.file_descriptor_response.file_descriptor_proto
                fixed = [with_json_names(f) for f in files]
                del files[:]
                files.extend(fixed)
            yield response


def _v1_messages() -> tuple[type[Any], type[Any]]:
    """Request and response classes of grpc.reflection.v1, made from v1alpha's descriptor."""
    pool = descriptor_pool.Default()
    try:
        file = pool.FindFileByName(_V1_FILE)
    except KeyError:
        proto = descriptor_pb2.FileDescriptorProto()
        reflection_pb2.DESCRIPTOR.CopyToProto(proto)
        proto.name, proto.package = _V1_FILE, "grpc.reflection.v1"
        pool.Add(proto)
        file = pool.FindFileByName(_V1_FILE)
    request = message_factory.GetMessageClass(file.message_types_by_name["ServerReflectionRequest"])
    response = message_factory.GetMessageClass(
        file.message_types_by_name["ServerReflectionResponse"]
    )
    return request, response


def add_reflection(server: grpc.Server, service_names: Iterable[str]) -> None:
    """Serves reflection (v1alpha and v1) for `service_names` and for itself."""
    names = (*service_names, V1ALPHA_NAME, V1_NAME)
    servicer = JsonNameReflection(names)
    v1_request, v1_response = _v1_messages()

    def v1_stream(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        # Same wire format: re-read each v1 message as v1alpha and back.
        alpha = (
            reflection_pb2.ServerReflectionRequest.FromString(r.SerializeToString())
            for r in requests
        )
        for answer in servicer.ServerReflectionInfo(alpha, context):
            yield v1_response.FromString(answer.SerializeToString())

    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(
                V1_NAME,
                {
                    "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                        v1_stream,
                        request_deserializer=v1_request.FromString,
                        response_serializer=v1_response.SerializeToString,
                    )
                },
            )
        ]
    )
