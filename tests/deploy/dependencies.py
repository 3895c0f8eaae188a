"""What an image of a deployable contains, computed without building it.

The Dockerfiles install one distribution (with aegis-shared) offline from wheels resolved under
constraints.txt, so the image holds exactly the dependency closure of that distribution: its
pyproject's requirements and theirs, recursively, with extras and markers evaluated the way pip
does. The closure is computed from the local pyprojects and the installed distributions' metadata.
"""

import ast
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from tests.deploy.catalogue import ROOT, pyproject


@cache
def local_distributions() -> dict[NormalizedName, str]:
    """Canonical name → folder of every distribution in the repository."""
    return {
        canonicalize_name(pyproject(path.parent.name)["project"]["name"]): path.parent.name
        for path in ROOT.glob("*/pyproject.toml")
    }


def _requires(name: NormalizedName) -> list[str]:
    folder = local_distributions().get(name)
    if folder is not None:
        return list(pyproject(folder)["project"].get("dependencies", []))
    return list(metadata.distribution(name).requires or [])


def closure(distribution: str) -> set[NormalizedName]:
    """`distribution` and everything it needs at run time, by canonical name."""
    extras_seen: dict[NormalizedName, set[str]] = {}
    pending: list[tuple[NormalizedName, set[str]]] = [(canonicalize_name(distribution), set())]
    while pending:
        name, extras = pending.pop()
        known = extras_seen.get(name)
        if known is not None and extras <= known:
            continue
        extras_seen[name] = (known or set()) | extras
        for line in _requires(name):
            requirement = Requirement(line)
            wanted = {"", *extras}
            if requirement.marker and not any(requirement.marker.evaluate({"extra": e}) for e in wanted):
                continue
            pending.append((canonicalize_name(requirement.name), set(requirement.extras)))
    return set(extras_seen)


@cache
def constraints() -> dict[NormalizedName, str]:
    """The pins of constraints.txt: canonical name → version."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """True for imports under `if TYPE_CHECKING:` or in a `try` that handles ImportError."""
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.If) and "TYPE_CHECKING" in ast.unparse(parent.test):
            return True
        if isinstance(parent, ast.Try) and node in parent.body:
            caught = " ".join(ast.unparse(h.type) for h in parent.handlers if h.type is not None)
            if "ImportError" in caught or "ModuleNotFoundError" in caught:
                return True
        node = parent
    return False


def imported_top_level_modules(folders: list[str]) -> dict[str, Path]:
    """Third-party top-level modules imported unconditionally by the sources of `folders`."""
    found: dict[str, Path] = {}
    for folder in folders:
        for path in sorted((ROOT / folder / "src").rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    modules = [node.module]
                else:
                    continue
                if _guarded(node, parents):
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top != "aegis" and top not in sys.stdlib_module_names:
                        found.setdefault(top, path)
    return found


def providers(module: str) -> set[NormalizedName]:
    """The installed distributions that provide top-level `module`."""
    return {canonicalize_name(d) for d in metadata.packages_distributions().get(module, [])}
