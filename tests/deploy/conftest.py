"""Rendered charts shared by the deployment tests: each rendering happens once per session."""

import pytest

from tests.deploy.chart import ALL_ON, Manifest, render

RENDERINGS = {"defaults": {}, "every option on": ALL_ON}


@pytest.fixture(scope="session")
def renderings() -> dict[str, list[Manifest]]:
    """The chart rendered with its defaults and with every optional feature on."""
    return {label: render(values) for label, values in RENDERINGS.items()}


@pytest.fixture(scope="session", params=list(RENDERINGS))
def manifests(request: pytest.FixtureRequest, renderings: dict[str, list[Manifest]]) -> list[Manifest]:
    """Each rendering in turn."""
    return renderings[request.param]
