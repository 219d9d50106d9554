"""The pinned dependency set is what is installed (an unpinned install picks ortools 9.10)."""

from importlib.metadata import version


def test_ortools_is_9_15():
    assert version("ortools").startswith("9.15.")


def test_protobuf_is_6_33():
    assert version("protobuf").startswith("6.33.")


def test_grpc_family_is_one_release():
    releases = {
        version(p)
        for p in ("grpcio", "grpcio-reflection", "grpcio-health-checking", "grpcio-status")
    }
    assert len(releases) == 1 and releases.pop().startswith("1.81.")
