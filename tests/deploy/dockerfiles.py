"""Reading a Dockerfile without Docker: its stages and instructions, continuation lines joined."""

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword (upper case) and the rest of the line."""

    keyword: str
    arguments: str

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction, or None for the shell form."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":
            text = text.split("CMD", 1)[1] if "CMD" in text else ""
        value: object
        try:
            value = json.loads(text.strip())
        except json.JSONDecodeError:
            return None
        return [str(part) for part in value] if isinstance(value, list) else None


@dataclass
class Stage:
    """A build stage: FROM's image (ARGs resolved), its name, and its instructions."""

    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def parse(path: Path, build_args: dict[str, str] | None = None) -> list[Stage]:
    """The stages of the Dockerfile at `path` built with `build_args` (`--build-arg`), every
    `${NAME}` of an ARG resolved as Docker (or, in RUN, the shell) would see it."""
    given = build_args or {}
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in _logical_lines(path.read_text(encoding="utf-8")):
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name] = given.get(name, default)
            if not stages:
                continue
        elif keyword not in ("FROM", "ENTRYPOINT", "CMD", "HEALTHCHECK"):
            rest = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), rest)
        if keyword == "FROM":
            words = rest.split()
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), words[0])
            stage_name = words[2] if len(words) > 2 and words[1].upper() == "AS" else None
            stages.append(Stage(image, stage_name))
            continue
        assert stages, f"{path}: {keyword} before the first FROM"
        stages[-1].instructions.append(Instruction(keyword, rest))
    return stages


def pip_commands(stage: Stage) -> list[list[str]]:
    """Each `pip …` command in the stage's RUN instructions, as its words (after `pip`)."""
    commands = []
    for run in stage.all("RUN"):
        for command in re.split(r"&&|;", run.arguments):
            words = shlex.split(command)
            while words and words[0].startswith("--mount="):
                words = words[1:]
            if words[:1] == ["pip"]:
                commands.append(words[1:])
            elif words[:3] in (["python", "-m", "pip"], ["python3", "-m", "pip"]):
                commands.append(words[3:])
    return commands


# pip options that take a value, so that the value is not mistaken for a requirement.
_PIP_VALUED = {
    "-c",
    "--constraint",
    "-r",
    "--requirement",
    "-w",
    "--wheel-dir",
    "-f",
    "--find-links",
    "-t",
    "--target",
    "--python",
    "--root",
    "--prefix",
}


def pip_requirements(words: list[str]) -> list[str]:
    """The requirements (names, paths, wheel files) a pip command names, options left out."""
    named: list[str] = []
    skip = False
    for word in words[1:]:
        if skip:
            skip = False
        elif word in _PIP_VALUED:
            skip = True
        elif not word.startswith("-"):
            named.append(word)
    return named


def pip_option(words: list[str], *names: str) -> list[str]:
    """The values given to option `names` (e.g. -c / --constraint) in a pip command."""
    values = []
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                values.append(words[index + 1])
            elif word.startswith(f"{name}="):
                values.append(word.split("=", 1)[1])
    return values
