"""Generates the Python API package `distribution.v1` from `protos/` (run by `make protos`: `python protos/generate.py [OUT]`).

The generated files are committed so that an install needs no protoc; a unit test regenerates
them into a temporary folder and fails when the committed copy is stale. Run it as its own
process: grpc_tools and ortools each carry a C++ protobuf, and loading both in one process
aborts.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
PACKAGE = Path("distribution") / "v1"


def proto_files() -> list[Path]:
    """The contract's .proto files, relative to protos/."""
    return sorted(p.relative_to(PROTO_ROOT) for p in (PROTO_ROOT / PACKAGE).glob("*.proto"))


def generate(out_dir: Path) -> None:
    """Writes *_pb2.py, *_pb2.pyi and *_pb2_grpc.py for every proto file under out_dir."""
    well_known = str(resources.files("grpc_tools") / "_proto")
    (out_dir / PACKAGE).mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *(str(p) for p in proto_files()),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed: " + " ".join(args))
    for package_dir in (out_dir / "distribution", out_dir / PACKAGE):
        (package_dir / "__init__.py").write_text('"""Generated from protos/; do not edit."""\n')


if __name__ == "__main__":
    # An optional argument names another output root (the freshness test uses a temp dir).
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT
    generate(out)
    sys.stdout.write(f"generated {PACKAGE} under {out} from {len(proto_files())} proto files\n")
