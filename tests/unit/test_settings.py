import pytest

from server.settings import Settings


def test_env_then_overrides():
    s = Settings.from_env(
        {"VDIST_ADDRESS": "0.0.0.0:1", "VDIST_ACCESS_LOG": "false", "VDIST_MAX_WORKERS": "4"},
        max_workers=8,
    )
    assert (s.address, s.access_log, s.max_workers) == ("0.0.0.0:1", False, 8)
    assert Settings.from_env({}).address == "127.0.0.1:50051"
    assert Settings.from_env({}).database_url.startswith("sqlite:///")


def test_bad_env_value_names_the_variable():
    with pytest.raises(SystemExit, match="VDIST_MAX_WORKERS"):
        Settings.from_env({"VDIST_MAX_WORKERS": "many"})
