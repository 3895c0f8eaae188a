"""Loading lark-oapi without the 150 MB of Feishu APIs that Aegis never calls.

Importing anything from `lark_oapi` runs its package `__init__`, which imports all ~60 API
services of the SDK: about 150 MB of resident memory per process. Aegis needs messaging, the
tenant token and the long connection. `load_lean()` registers the packages `lark_oapi` and
`lark_oapi.api` as empty shells over the installed files, so the SDK's own modules (`lark_oapi.api.im.v1`,
`lark_oapi.core`, `lark_oapi.ws`) load on demand and unchanged. Anything that later asks a shell
for a name it lacks (`lark_oapi.Client`, say) makes the shell run the real `__init__` first, so
code that expects the full SDK still works, just without the saving.
"""

import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any


def _shell(name: str, folder: Path) -> types.ModuleType:
    module = types.ModuleType(name)
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = [str(folder)]
    module.__spec__ = spec
    module.__path__ = [str(folder)]
    module.__package__ = name
    module.__file__ = str(folder / "__init__.py")
    completed = False

    def complete(attribute: str) -> Any:
        nonlocal completed
        if completed:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
        completed = True
        code = compile((folder / "__init__.py").read_bytes(), str(folder / "__init__.py"), "exec")
        exec(code, module.__dict__)  # noqa: S102 - the installed SDK's own __init__, run on demand
        return getattr(module, attribute)

    module.__getattr__ = complete  # type: ignore[method-assign]
    return module


def load_lean() -> None:
    """Register the lean shells; a no-op when lark-oapi was already imported in full."""
    if "lark_oapi" in sys.modules:
        return
    spec = importlib.util.find_spec("lark_oapi")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("lark-oapi is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    package, api = _shell("lark_oapi", root), _shell("lark_oapi.api", root / "api")
    package.__dict__["api"] = api
    sys.modules["lark_oapi"] = package
    sys.modules["lark_oapi.api"] = api
