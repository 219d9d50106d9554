"""Starting the real server for tests, and a typed client on it."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from server.app import RunningServer, create_server
from server.settings import Settings


@dataclass
class ServerHandle:
    """A running server and a stub connected to it over the network."""

    running: RunningServer
    channel: grpc.Channel
    stub: svc_grpc.DistributionServiceStub
    address: str
    database_url: str

    def close(self) -> None:
        """Closes the client and stops the server."""
        self.channel.close()
        self.running.stop(grace=1)


def start_server(database_url: str, **overrides: object) -> ServerHandle:
    """Migrates `database_url` and serves it on 127.0.0.1 on a free port."""
    settings = Settings.from_env(
        environ={},
        address="127.0.0.1:0",
        database_url=database_url,
        access_log=False,
        max_workers=32,
        **overrides,
    )
    running = create_server(settings)
    address = f"127.0.0.1:{running.port}"
    channel = grpc.insecure_channel(address)
    grpc.channel_ready_future(channel).result(timeout=10)
    return ServerHandle(
        running, channel, svc_grpc.DistributionServiceStub(channel), address, database_url
    )
