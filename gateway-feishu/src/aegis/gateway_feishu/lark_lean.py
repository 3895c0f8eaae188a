"""Loading lark-oapi's long-connection client and event dispatcher without 24 unused APIs.

`lark_oapi.ws.client` imports `EventDispatcherHandler`, whose module star-imports the event
processors of 24 API families (approval, calendar, hire, payroll...) to annotate its 200
`register_*` methods: about 90 MB of resident memory, for a gateway that handles two event types
and must stay under 120 MB. `load_lean_events()` first applies `aegis.shared.lark_sdk.load_lean()`,
then puts a stand-in module in place of each processor module the gateway does not use. A
stand-in carries the same public names (read from the installed SDK's source, so it follows SDK
upgrades) bound to placeholder classes that raise if anything tries to use them. `im.v1` (messages)
and the card callback load for real, as does everything else the dispatcher and the client run.
"""

import ast
import importlib.util
import re
import sys
import types
from pathlib import Path

from aegis.shared.lark_sdk import load_lean

USED_PROCESSORS = frozenset({"lark_oapi.api.im.v1.processor"})
_STAR_IMPORT = re.compile(r"^from (lark_oapi\.api\.[\w.]+\.processor) import \*", re.MULTILINE)


class _Unavailable:
    """Stands in for an event type of an API family the gateway never loads."""

    def __init__(self, *_args: object, **_kwargs: object) -> None:
        raise RuntimeError(
            f"{type(self).__name__} is not loaded: aegis.gateway_feishu loads lark-oapi's event "
            "dispatcher with only the im.v1 and card-callback event types"
        )


def _package_root() -> Path:
    spec = importlib.util.find_spec("lark_oapi")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("lark-oapi is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _public_names(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.update(alias.asname or alias.name for alias in node.names)
    return {name for name in names if not name.startswith("_") and name != "*"}


def _stand_in(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name, f"Stand-in for {name} (see aegis.gateway_feishu.lark_lean).")
    for public in _public_names(source):
        setattr(module, public, type(public, (_Unavailable,), {"__module__": name}))
    return module


def load_lean_events() -> None:
    """Make `lark_oapi.ws` and `lark_oapi.event` importable without the unused API families.

    A no-op for modules already imported (the full SDK, say): stand-ins never replace real ones.
    """
    load_lean()
    if "lark_oapi.event.dispatcher_handler" in sys.modules:
        return
    root = _package_root()
    dispatcher_source = (root / "event" / "dispatcher_handler.py").read_text(encoding="utf-8")
    for name in _STAR_IMPORT.findall(dispatcher_source):
        if name in USED_PROCESSORS or name in sys.modules:
            continue
        path = root.joinpath(*name.split(".")[1:]).with_suffix(".py")
        sys.modules[name] = _stand_in(name, path.read_text(encoding="utf-8"))
