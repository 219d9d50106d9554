"""Access: every method x every role, tokens and client certificates, TLS and mTLS, the actor.

The servers here run on the session database of each backend with a tokens file, and are
called over real (TLS) channels; certificates are made at run time with trustme.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import trustme
from google.protobuf import symbol_database
from grpc_health.v1 import health_pb2, health_pb2_grpc

from distribution.v1 import distribution_service_pb2 as svc
from distribution.v1 import distribution_service_pb2_grpc as svc_grpc
from distribution.v1 import resources_pb2 as pb
from server.api.access import REQUIRED, Role, may_call
from server.api.transport import UnsafeExposure
from server.app import create_server
from server.settings import Settings
from tests.support.factories import channel, video
from tests.support.servers import ServerHandle, start_server

SERVICE = svc.DESCRIPTOR.services_by_name["DistributionService"]
TOKENS = {role: f"token-of-{role.value}-0123456789" for role in Role}
WORKER_CN = "upload-worker-1"


def _tokens_file(path: Path, tokens: dict[Role, str]) -> Path:
    principals = [
        {"name": f"{role.value}-1", "role": role.value, "token_sha256": _sha(token)}
        for role, token in tokens.items()
    ]
    principals.append({"name": WORKER_CN, "role": "publisher", "client_cn": WORKER_CN})
    path.write_text(json.dumps({"principals": principals}))
    return path


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


@pytest.fixture(scope="module")
def guarded(database_url, tmp_path_factory) -> ServerHandle:
    """A server with access control on the session database."""
    path = _tokens_file(tmp_path_factory.mktemp("access") / "tokens.json", TOKENS)
    handle = start_server(database_url, tokens_file=str(path))
    yield handle
    handle.close()


# --- the role table, exhaustively -------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    method: str
    flags: tuple[str, ...] = ()

    def request(self):
        message = symbol_database.Default().GetSymbol(
            SERVICE.methods_by_name[self.method].input_type.full_name
        )()
        for flag in self.flags:
            setattr(message, flag, True)
        return message

    def least_role(self) -> Role:
        return Role.OPERATOR if self.flags else REQUIRED[self.method]


CASES = [Case(m.name) for m in SERVICE.methods] + [
    Case("Assign", ("force",)),
    Case("Assign", ("allow_duplicate",)),
]


def test_every_method_is_in_the_role_table():
    assert {m.name for m in SERVICE.methods} == set(REQUIRED)


@pytest.mark.parametrize("case", CASES, ids=lambda c: "+".join((c.method, *c.flags)))
def test_every_method_by_every_role(guarded, case):
    call = getattr(guarded.stub, case.method)
    for credentials in ([], _bearer("not-a-known-token"), [("authorization", "Basic x")]):
        with pytest.raises(grpc.RpcError) as info:
            call(case.request(), metadata=credentials)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED, case
        assert "authorization: Bearer" in info.value.details()
    for role, token in TOKENS.items():
        try:
            call(case.request(), metadata=_bearer(token))
            code = grpc.StatusCode.OK
        except grpc.RpcError as exc:
            code = exc.code()
        if may_call(role, case.least_role()):
            assert code not in (
                grpc.StatusCode.UNAUTHENTICATED,
                grpc.StatusCode.PERMISSION_DENIED,
            ), (case, role, code)
        else:
            assert code == grpc.StatusCode.PERMISSION_DENIED, (case, role, code)


def test_the_role_hierarchy():
    assert may_call(Role.ADMIN, Role.READER) and may_call(Role.OPERATOR, Role.SCHEDULER)
    assert not may_call(Role.SCHEDULER, Role.OPERATOR)
    assert not may_call(Role.ADMIN, Role.PUBLISHER)
    assert not may_call(Role.PUBLISHER, Role.READER)


def test_health_is_open_and_reflection_open_by_default(guarded):
    health = health_pb2_grpc.HealthStub(guarded.channel)
    assert health.Check(health_pb2.HealthCheckRequest()).status == 1


# --- the actor ------------------------------------------------------------------------------


def test_the_principal_is_the_actor_and_the_header_only_on_behalf_of(guarded, uid):
    admin, operator = _bearer(TOKENS[Role.ADMIN]), _bearer(TOKENS[Role.OPERATOR])
    cid, vid = f"acc-{uid}", f"accv-{uid}"
    guarded.stub.UpsertChannel(svc.UpsertChannelRequest(channel=channel(cid)), metadata=admin)
    guarded.stub.UpsertVideos(svc.UpsertVideosRequest(videos=[video(vid)]), metadata=admin)
    result = guarded.stub.Assign(
        svc.AssignRequest(video_id=vid, channel_ids=[cid]),
        metadata=[*operator, ("x-vdist-actor", "bob")],
    ).results[0]
    assert result.distribution.actor == "operator-1"
    decisions = guarded.stub.ListDecisions(
        svc.ListDecisionsRequest(distribution_id=result.distribution.id), metadata=operator
    ).decisions
    assert [d.actor for d in decisions] == ["operator-1"]
    assert decisions[0].details["on_behalf_of"] == "bob"


def test_an_unauthenticated_forced_assign_changes_nothing(guarded, uid):
    admin = _bearer(TOKENS[Role.ADMIN])
    cid, vid = f"acf-{uid}", f"acfv-{uid}"
    guarded.stub.UpsertChannel(svc.UpsertChannelRequest(channel=channel(cid)), metadata=admin)
    guarded.stub.UpsertVideos(svc.UpsertVideosRequest(videos=[video(vid)]), metadata=admin)
    forced = svc.AssignRequest(video_id=vid, channel_ids=[cid], force=True)
    for metadata in ([], _bearer(TOKENS[Role.SCHEDULER]), [("x-vdist-actor", "admin")]):
        with pytest.raises(grpc.RpcError) as info:
            guarded.stub.Assign(forced, metadata=metadata)
        assert info.value.code() in (
            grpc.StatusCode.UNAUTHENTICATED,
            grpc.StatusCode.PERMISSION_DENIED,
        )
    reader = _bearer(TOKENS[Role.READER])
    assert not guarded.stub.ListDistributions(
        svc.ListDistributionsRequest(video_id=vid), metadata=reader
    ).distributions
    assert not guarded.stub.ListDecisions(
        svc.ListDecisionsRequest(video_id=vid), metadata=reader
    ).decisions


# --- TLS and mTLS ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _pem_files(tmp: Path, ca: trustme.CA) -> dict[str, str]:
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    client_cert = ca.issue_cert(WORKER_CN, common_name=WORKER_CN)
    files = {
        "ca": ca.cert_pem,
        "cert": server_cert.cert_chain_pems[0],
        "key": server_cert.private_key_pem,
        "client_cert": client_cert.cert_chain_pems[0],
        "client_key": client_cert.private_key_pem,
    }
    paths = {}
    for name, blob in files.items():
        paths[name] = str(tmp / f"{name}.pem")
        blob.write_to_path(paths[name])
    return paths


def _secure_stub(address: str, pem: dict[str, str], *, client_cert: bool, token: str = ""):
    credentials = grpc.ssl_channel_credentials(
        root_certificates=Path(pem["ca"]).read_bytes(),
        private_key=Path(pem["client_key"]).read_bytes() if client_cert else None,
        certificate_chain=Path(pem["client_cert"]).read_bytes() if client_cert else None,
    )
    if token:
        credentials = grpc.composite_channel_credentials(
            credentials, grpc.access_token_call_credentials(token)
        )
    channel = grpc.secure_channel(address, credentials)
    return channel, svc_grpc.DistributionServiceStub(channel)


def _serve_tls(database_url, tmp_path, pem, **extra):
    tokens = _tokens_file(tmp_path / "tokens.json", TOKENS)
    settings = Settings.from_env(
        environ={},
        address="127.0.0.1:0",
        database_url=database_url,
        access_log=False,
        tokens_file=str(tokens),
        tls_cert_file=pem["cert"],
        tls_key_file=pem["key"],
        **extra,
    )
    return create_server(settings)


def test_tls_with_a_bearer_token(database_url, tmp_path, ca):
    pem = _pem_files(tmp_path, ca)
    running = _serve_tls(database_url, tmp_path, pem)
    try:
        address = f"127.0.0.1:{running.port}"
        channel, stub = _secure_stub(address, pem, client_cert=False, token=TOKENS[Role.READER])
        assert stub.ListChannels(svc.ListChannelsRequest(page_size=1)) is not None
        channel.close()
        plain = grpc.insecure_channel(address)
        with pytest.raises(grpc.RpcError) as info:
            svc_grpc.DistributionServiceStub(plain).ListChannels(
                svc.ListChannelsRequest(), timeout=3
            )
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE  # no TLS, no handshake
        plain.close()
    finally:
        running.stop(grace=0)


def test_mtls_client_certificate_names_the_principal(database_url, tmp_path, ca, uid):
    pem = _pem_files(tmp_path, ca)
    running = _serve_tls(database_url, tmp_path, pem, tls_client_ca_file=pem["ca"])
    try:
        address = f"127.0.0.1:{running.port}"
        channel, stub = _secure_stub(address, pem, client_cert=True)
        leases = stub.LeasePublications(
            svc.LeasePublicationsRequest(worker_id=f"w-{uid}", channel_ids=[f"none-{uid}"])
        )
        assert list(leases.leases) == []
        with pytest.raises(grpc.RpcError) as info:
            stub.ListChannels(svc.ListChannelsRequest())
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED  # a publisher only
        channel.close()
        no_cert, stub = _secure_stub(address, pem, client_cert=False, token=TOKENS[Role.ADMIN])
        with pytest.raises(grpc.RpcError) as info:
            stub.ListChannels(svc.ListChannelsRequest(), timeout=3)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE  # the handshake needs a cert
        no_cert.close()
    finally:
        running.stop(grace=0)


# --- exposure and reloading -----------------------------------------------------------------


def test_an_open_server_refuses_a_non_loopback_address(database_url):
    settings = Settings.from_env(environ={}, address="0.0.0.0:0", database_url=database_url)
    with pytest.raises(UnsafeExposure, match="VDIST_TOKENS_FILE"):
        create_server(settings)
    running = create_server(
        Settings.from_env(environ={}, address="0.0.0.0:0", database_url=database_url, insecure=True)
    )
    running.stop(grace=0)


def test_sighup_reloads_the_tokens_file(database_url, tmp_path):
    path = _tokens_file(tmp_path / "tokens.json", {Role.READER: "old-token-123"})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{s.getsockname()[1]}"
    env = {
        **os.environ,
        "VDIST_ADDRESS": address,
        "VDIST_DATABASE_URL": database_url,
        "VDIST_TOKENS_FILE": str(path),
        "VDIST_ACCESS_LOG": "false",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"],
        env=env,
        cwd=Path(__file__).parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        channel = grpc.insecure_channel(address)
        grpc.channel_ready_future(channel).result(timeout=30)
        stub = svc_grpc.DistributionServiceStub(channel)
        stub.ListChannels(svc.ListChannelsRequest(), metadata=_bearer("old-token-123"))
        _tokens_file(path, {Role.READER: "new-token-456"})
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while True:
            try:
                stub.ListChannels(svc.ListChannelsRequest(), metadata=_bearer("new-token-456"))
                break
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.UNAUTHENTICATED
                assert time.monotonic() < deadline, "SIGHUP did not reload the tokens file"
                time.sleep(0.1)
        with pytest.raises(grpc.RpcError) as info:
            stub.ListChannels(svc.ListChannelsRequest(), metadata=_bearer("old-token-123"))
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        channel.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_broken_tokens_file_is_refused_at_start(database_url, tmp_path):
    bad = tmp_path / "tokens.json"
    bad.write_text(
        json.dumps({"principals": [{"name": "x", "role": "boss", "token_sha256": "00"}]})
    )
    from server.api.access import PrincipalsFileError

    with pytest.raises(PrincipalsFileError, match=r"principals\[0\]"):
        create_server(
            Settings.from_env(
                environ={}, address="127.0.0.1:0", database_url=database_url, tokens_file=str(bad)
            )
        )


def test_tokens_are_never_stored_in_clear(tmp_path):
    path = _tokens_file(tmp_path / "tokens.json", TOKENS)
    text = path.read_text()
    assert not any(token in text for token in TOKENS.values())


_ = pb  # the resources module registers the message types the requests refer to


# --- the real grpcurl, exactly as docs/operations.md shows -------------------------------------

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
GRPCURL = Path(sys.executable).parent / "grpcurl"


def _doc_example(name: str) -> str:
    text = OPERATIONS.read_text()
    block = text.split(f"<!-- tls-example: {name} -->", 1)[1]
    return block.split("```sh\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize("example", ["token", "mtls"])
def test_grpcurl_over_tls_as_the_operations_guide_shows(database_url, tmp_path, ca, example):
    pem = _pem_files(tmp_path, ca)
    for name, target in (
        ("ca", "ca.pem"),
        ("client_cert", "worker.pem"),
        ("client_key", "worker.key"),
    ):
        Path(tmp_path / target).write_bytes(Path(pem[name]).read_bytes())
    extra = {"tls_client_ca_file": pem["ca"]} if example == "mtls" else {}
    running = _serve_tls(database_url, tmp_path, pem, **extra)
    try:
        script = _doc_example(example).replace("localhost:50051", f"localhost:{running.port}")
        env = {
            **os.environ,
            "TOKEN": TOKENS[Role.READER],
            "PATH": f"{GRPCURL.parent}:{os.environ['PATH']}",
        }
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        json.loads(done.stdout or "{}")
        unauthenticated = script.replace('-H "authorization: Bearer $TOKEN"', "")
        if example == "token":
            denied = subprocess.run(
                ["bash", "-c", unauthenticated],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert "Unauthenticated" in denied.stderr
    finally:
        running.stop(grace=0)
