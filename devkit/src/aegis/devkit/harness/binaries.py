"""Finding the server binaries tests need, and failing loudly when CI must have them."""

import os
import shutil
import sys
from pathlib import Path

import pytest


def integration_required() -> bool:
    """True when a missing server must fail the run instead of skipping (CI sets it)."""
    return os.environ.get("AEGIS_REQUIRE_INTEGRATION", "") not in ("", "0", "false")


def find_binary(*names: str) -> Path | None:
    """The first of `names` found beside this interpreter or on PATH."""
    for name in names:
        beside = Path(sys.executable).parent / name
        if beside.exists():
            return beside
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def require_binary(*names: str, package: str) -> Path:
    """The binary, or a skip naming the package to install (a failure under CI)."""
    path = find_binary(*names)
    if path is None:
        reason = f"{' / '.join(names)} not found: install {package}"
        if integration_required():
            pytest.fail(f"AEGIS_REQUIRE_INTEGRATION=1 but {reason}")
        pytest.skip(reason)
    return path
