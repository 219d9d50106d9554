"""The contract in protos/ passes buf lint's STANDARD rules (buf.yaml), with buf from npm."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUF = ROOT / "node_modules" / ".bin" / "buf"
VERSION = "1.75.0"  # package.json pins it; package-lock.json holds its checksums


def _buf(*args: str) -> subprocess.CompletedProcess[str]:
    if not BUF.exists():
        pytest.fail(f"{BUF} is missing: `make test` installs it with `npm ci`")
    return subprocess.run(
        [str(BUF), *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_buf_is_the_pinned_version() -> None:
    done = _buf("--version")
    assert done.stdout.strip() == VERSION, done.stdout + done.stderr
    assert f'"@bufbuild/buf": "{VERSION}"' in (ROOT / "package.json").read_text()


def test_the_protos_pass_buf_lint() -> None:
    done = _buf("lint")
    assert done.returncode == 0, f"buf lint:\n{done.stdout}{done.stderr}"


def test_every_disabled_rule_gives_its_reason() -> None:
    lines = (ROOT / "buf.yaml").read_text().splitlines()
    start = lines.index("  except:")
    rules = [(i, line.strip()[2:]) for i, line in enumerate(lines) if line.startswith("    - ")]
    disabled = [(i, rule) for i, rule in rules if i > start]
    assert disabled, "buf.yaml disables no rule: drop this test's expectation"
    for i, rule in disabled:
        assert lines[i - 1].strip().startswith("# "), f"{rule} needs a one-line reason above it"


def test_buf_lint_catches_a_bad_proto(tmp_path: Path) -> None:
    shutil.copy(ROOT / "buf.yaml", tmp_path / "buf.yaml")
    bad = tmp_path / "protos" / "distribution" / "v1"
    bad.mkdir(parents=True)
    (bad / "bad.proto").write_text(
        'syntax = "proto3";\npackage distribution.v1;\nenum colour { RED = 0; }\n'
    )
    done = subprocess.run(
        [str(BUF), "lint"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0 and "colour" in done.stdout, done.stdout + done.stderr
