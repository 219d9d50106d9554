"""buf curl (from npm, like `buf lint`) calls the real server over gRPC through reflection.

buf curl 1.75.0 prints an error's details as `type` and base64 `value` and never decodes them:
it reads them with the types compiled into buf, which have no google.rpc error details, even
when the server's reflection (or `--schema`) has them. So this test checks that buf curl
resolves the service by reflection, gets the code and the ErrorInfo detail, and decodes that
detail itself; grpcurl, which resolves details by reflection, prints it decoded
(docs/api.md).
"""

import base64
import json
import subprocess
from pathlib import Path

import pytest
from google.rpc import error_details_pb2

from tests.support.servers import ServerHandle

ROOT = Path(__file__).resolve().parents[2]
BUF = ROOT / "node_modules" / ".bin" / "buf"
NOT_FOUND_EXIT = 5 * 8  # buf curl exits with the Connect code times 8


def test_buf_curl_gets_the_error_info_of_a_missing_channel(server: ServerHandle) -> None:
    if not BUF.exists():
        pytest.fail(f"{BUF} is missing: `make test` installs it with `npm ci`")
    done = subprocess.run(
        [
            str(BUF),
            "curl",
            "--protocol",
            "grpc",
            "--http2-prior-knowledge",
            f"http://{server.address}/distribution.v1.DistributionService/GetChannel",
            "-d",
            '{"id": "nope"}',
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == NOT_FOUND_EXIT, done.stdout + done.stderr
    error = json.loads(done.stderr)
    assert error["code"] == "not_found"
    assert error["message"] == "channel 'nope' not found"
    [detail] = error["details"]
    assert detail["type"] == "google.rpc.ErrorInfo"
    value = detail["value"] + "=" * (-len(detail["value"]) % 4)
    info = error_details_pb2.ErrorInfo.FromString(base64.b64decode(value))
    assert info.reason == "NOT_FOUND" and info.domain == "vdist.distribution.v1"
    assert dict(info.metadata) == {"kind": "channel", "name": "nope"}


def test_buf_curl_reads_a_response_by_reflection(server: ServerHandle, uid: str) -> None:
    channel = f"buf-{uid}"
    upsert = {"channel": {"id": channel, "timezone": "UTC"}}
    url = f"http://{server.address}/distribution.v1.DistributionService/"
    common = [str(BUF), "curl", "--protocol", "grpc", "--http2-prior-knowledge"]
    done = subprocess.run(
        [*common, url + "UpsertChannel", "-d", json.dumps(upsert)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["id"] == channel and "createTime" in answer  # lowerCamelCase, as grpcurl
