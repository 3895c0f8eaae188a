"""Reading .env.example: each variable is a line `NAME=value`, or `#NAME=value` when left unset."""

import re

from tests.deploy.catalogue import ROOT

ENV_EXAMPLE = ROOT / ".env.example"
_VARIABLE = re.compile(r"^#?([A-Z][A-Z0-9_]*)=")


def env_example_names() -> dict[str, bool]:
    """Each variable of .env.example → whether the comment lines just above it explain it."""
    names: dict[str, bool] = {}
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        match = _VARIABLE.match(line)
        if match:
            above = lines[index - 1] if index else ""
            names[match.group(1)] = above.startswith("# ") and not _VARIABLE.match(above)
    return names
