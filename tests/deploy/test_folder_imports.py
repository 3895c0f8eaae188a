"""What may import what across the top-level folders: the distributions, bench/ and demo/ never import
`tests`, and tests never import `bench` (what they share lives in the aegis-devkit distribution)."""

import ast
from pathlib import Path

from tests.deploy.catalogue import ROOT


def _imported_roots(path: Path) -> set[str]:
    """The top-level package of every module `path` imports."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def _sources(*folders: str) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]


def _importers(files: list[Path], package: str) -> list[str]:
    return [str(path.relative_to(ROOT)) for path in files if package in _imported_roots(path)]


def test_nothing_outside_tests_imports_tests() -> None:
    """The distributions, bench/ and demo/ run from installed wheels, where there is no `tests`."""
    distributions = [path.parent.name for path in ROOT.glob("*/pyproject.toml")]
    outside = _sources(*distributions, "bench", "demo")
    assert len(outside) > 100
    assert _importers(outside, "tests") == []


def test_tests_do_not_import_bench() -> None:
    """Benchmarks are run on demand; a test that needs their code finds it in aegis.devkit."""
    tests = _sources("tests")
    assert len(tests) > 100
    assert _importers(tests, "bench") == []
