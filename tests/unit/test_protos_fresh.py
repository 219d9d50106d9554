"""The committed distribution/v1 package is exactly what `make protos` generates."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path("distribution") / "v1"
PROTO_DIR = ROOT / "protos" / PACKAGE


def test_generated_code_is_not_stale(tmp_path):
    # A separate process: grpc_tools' protoc and ortools cannot share one (two C++ protobufs).
    subprocess.run([sys.executable, "protos/generate.py", str(tmp_path)], cwd=ROOT, check=True)
    committed = ROOT / PACKAGE
    fresh = tmp_path / PACKAGE
    names = sorted(p.name for p in fresh.iterdir())
    assert names == sorted(p.name for p in committed.iterdir() if p.name != "__pycache__")
    stale = [n for n in names if (fresh / n).read_bytes() != (committed / n).read_bytes()]
    assert not stale, f"run `make protos`: {stale} differ from protos/"


def test_every_api_md_rpc_is_declared():
    from distribution.v1 import distribution_service_pb2 as svc

    methods = set(svc.DESCRIPTOR.services_by_name["DistributionService"].methods_by_name)
    assert methods >= {
        "UpsertChannel",
        "GetChannel",
        "ListChannels",
        "SetChannelAvailability",
        "UpsertVideos",
        "GetVideo",
        "ListVideos",
        "Assign",
        "AutoDistribute",
        "Retry",
        "Stats",
        "GetRun",
        "ListRuns",
        "GetDistribution",
        "ListDistributions",
        "CancelDistribution",
        "ListDecisions",
        "Explain",
        "LeasePublications",
        "ReportPublication",
    }


def test_every_message_and_field_has_a_comment():
    for proto in PROTO_DIR.glob("*.proto"):
        lines = proto.read_text().splitlines()
        for i, line in enumerate(lines):
            stripped = line.strip()
            is_decl = stripped.startswith(("message ", "enum ", "rpc ", "service ")) or (
                stripped.endswith(";")
                and "=" in stripped
                and not stripped.startswith(("option", "syntax", "package", "import"))
            )
            if is_decl:
                assert lines[i - 1].strip().startswith("//"), (
                    f"{proto.name}:{i + 1} lacks a comment"
                )
