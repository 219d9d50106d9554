"""The package's public surface: `import allocator` re-exports its entry points, without cycles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import allocator


def test_every_name_in_all_is_exported() -> None:
    missing = [name for name in allocator.__all__ if not hasattr(allocator, name)]
    assert missing == []


def test_entry_points_are_the_functions_of_their_modules() -> None:
    from allocator.greedy import greedy
    from allocator.planning import build_instance
    from allocator.solve import solve

    assert allocator.solve is solve
    assert allocator.greedy is greedy
    assert allocator.build_instance is build_instance


@pytest.mark.parametrize(
    "module", ["allocator", "allocator.planning", "allocator.candidates", "allocator.solve"]
)
def test_a_fresh_interpreter_imports_each_entry_module(module: str) -> None:
    # A fresh process: in this one the package is already imported, which would hide a cycle.
    root = Path(allocator.__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=root)
