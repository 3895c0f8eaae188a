"""What the deployables are and which settings each reads, found in the code rather than listed here.

A service's settings are the class its console script passes to `start_service` (or, like the CLI,
to `load_settings`), so a variable added to any service shows up in every deployment check at once
(compose, .env.example, the chart, the README) without anyone editing these tests.
"""

import ast
import importlib
import tomllib
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOYABLES = ("alert-ingest", "gateway-feishu", "notifier", "rca-worker")


@dataclass(frozen=True)
class Setting:
    """One environment variable a service reads."""

    name: str
    secret: bool
    default: object


@dataclass(frozen=True)
class Deployable:
    """A service folder with its distribution, console script and settings."""

    folder: str
    distribution: str
    script: str
    entry_module: str
    entry_function: str
    settings: tuple[Setting, ...]

    @property
    def setting_names(self) -> set[str]:
        return {s.name for s in self.settings}

    def default_of(self, name: str) -> object:
        return next(s.default for s in self.settings if s.name == name)


def pyproject(folder: str) -> dict[str, typing.Any]:
    """The parsed `<folder>/pyproject.toml`."""
    with (ROOT / folder / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def _is_secret(annotation: object) -> bool:
    if annotation is SecretStr:
        return True
    return any(_is_secret(arg) for arg in typing.get_args(annotation))


def _env_name(cls: type[BaseSettings], field_name: str, info: FieldInfo) -> str:
    prefix = str(cls.model_config.get("env_prefix") or "")
    alias = info.validation_alias if isinstance(info.validation_alias, str) else None
    return (alias or f"{prefix}{field_name}").upper()


def settings_of(cls: type[BaseSettings]) -> tuple[Setting, ...]:
    """Every field of `cls` (inherited ones too) as the variable it is read from."""
    return tuple(
        Setting(
            _env_name(cls, name, info),
            _is_secret(info.annotation),
            info.get_default(call_default_factory=True),
        )
        for name, info in cls.model_fields.items()
    )


def _loaded_settings_classes(module_file: Path) -> list[type[BaseSettings]]:
    """The classes `module_file` passes to `start_service(...)` or `load_settings(...)`, resolved
    through its imports."""
    tree = ast.parse(module_file.read_text(encoding="utf-8"))
    imported = {
        alias.asname or alias.name: node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    classes = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("start_service", "load_settings")
            and node.args
            and isinstance(node.args[0], ast.Name)
        ):
            name = node.args[0].id
            cls = getattr(importlib.import_module(imported[name]), name)
            assert isinstance(cls, type), f"{name} is not a class"
            assert issubclass(cls, BaseSettings), f"{name} is not a settings class"
            classes.append(cls)
    return classes


@cache
def deployable(folder: str) -> Deployable:
    """The deployable in `folder`, with the settings its console script loads."""
    project = pyproject(folder)["project"]
    scripts: dict[str, str] = project.get("scripts", {})
    assert len(scripts) == 1, f"{folder}/pyproject.toml should declare one console script, has {scripts}"
    script, target = next(iter(scripts.items()))
    module, _, function = target.partition(":")
    module_file = ROOT / folder / "src" / Path(*module.split(".")).with_suffix(".py")
    settings: dict[str, Setting] = {}
    if module_file.exists():
        for cls in _loaded_settings_classes(module_file):
            settings.update((s.name, s) for s in settings_of(cls))
    return Deployable(folder, project["name"], script, module, function, tuple(settings.values()))


def all_settings() -> dict[str, Setting]:
    """Every variable any deployable reads, by name."""
    found: dict[str, Setting] = {}
    for folder in DEPLOYABLES:
        for setting in deployable(folder).settings:
            found.setdefault(setting.name, setting)
    return found
