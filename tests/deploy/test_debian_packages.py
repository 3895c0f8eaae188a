"""`make test` sets up a fresh Debian machine: it installs the packages the tests need when it can,
and otherwise stops with the exact command to run, so no test of a real server skips for want of one."""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.catalogue import ROOT

EVERYTHING = "prometheus prometheus-alertmanager openssl"  # and python3-venv, before .venv exists


def _debian_packages(path: str, *prefix: str) -> subprocess.CompletedProcess[str]:
    make = shutil.which("make")
    assert make is not None, "make is what runs the tests"
    return subprocess.run(
        [*prefix, make, "-s", "-C", str(ROOT), "debian-packages"],
        env={"PATH": path, "HOME": "/nonexistent"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def bare() -> Iterator[Path]:
    """An empty folder anyone may read (`nobody` too), to hold a PATH of a few tools."""
    with tempfile.TemporaryDirectory(prefix="aegis-path-") as folder:
        os.chmod(folder, 0o755)  # noqa: S103 - `nobody` runs make from it
        yield Path(folder)


def _bare_path(folder: Path, *tools: str) -> str:
    """A PATH holding only `tools` (found on this machine's PATH): no servers, no python, no apt."""
    for tool in tools:
        found = shutil.which(tool)
        assert found is not None, tool
        (folder / tool).symlink_to(found)
    return str(folder)


def test_a_machine_with_every_package_needs_nothing_done() -> None:
    """With the servers present (installed by an earlier `make test` if they were not), it says nothing."""
    done = _debian_packages(os.environ["PATH"])
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_without_apt_it_stops_with_the_exact_command(bare: Path) -> None:
    """No apt-get: it fails, naming every missing package in one apt-get line (sudo unless root)."""
    done = _debian_packages(_bare_path(bare, "id"))
    sudo = "" if os.geteuid() == 0 else "sudo "
    assert done.returncode != 0
    assert done.stderr.splitlines()[:2] == [
        f"make test needs the Debian packages {EVERYTHING}; install them with:",
        f"    {sudo}apt-get update && {sudo}apt-get install -y --no-install-recommends {EVERYTHING}",
    ]


def test_a_user_without_root_is_told_to_use_sudo(bare: Path) -> None:
    """Not root: nothing is installed; the command to run starts with sudo."""
    nobody: tuple[str, ...] = ()
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv is not None, "util-linux's setpriv runs make as nobody"
        nobody = (setpriv, "--reuid=65534", "--regid=65534", "--clear-groups")
    done = _debian_packages(_bare_path(bare, "id", "apt-get"), *nobody)
    assert done.returncode != 0
    command = f"    sudo apt-get update && sudo apt-get install -y --no-install-recommends {EVERYTHING}"
    # nobody may not see this checkout's .venv, and is then told of python3-venv too
    assert any(line.startswith(command) for line in done.stderr.splitlines()), done.stderr
