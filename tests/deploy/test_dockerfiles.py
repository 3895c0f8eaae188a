"""The one Dockerfile, built per deployable with its build arguments, checked statically (there is
no Docker engine here): a slim, multi-stage, non-root image that runs the distribution's console
script and holds exactly the distribution's dependencies at the tested versions."""

import re
from typing import Any

import pytest
import yaml
from packaging.utils import canonicalize_name

from tests.deploy.catalogue import DEPLOYABLES, ROOT, deployable
from tests.deploy.dependencies import (
    closure,
    constraints,
    imported_top_level_modules,
    local_distributions,
    providers,
)
from tests.deploy.dockerfiles import Stage, parse, pip_commands, pip_option, pip_requirements

# What only some services need; an image that carries one of these for another service is bloated.
ONLY_FOR = {
    "langchain-core": {"rca-worker"},
    "langgraph": {"rca-worker"},
    "openai": {"rca-worker"},
    "lark-oapi": {"notifier", "gateway-feishu"},
    "fastapi": {"alert-ingest", "gateway-feishu"},
}


def _build_args(folder: str) -> dict[str, str]:
    """The build arguments docker-compose.yml builds `folder`'s image with."""
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    build = compose["services"][folder]["build"]
    assert build == {"context": ".", "args": build["args"]}, "every image is built from the one Dockerfile"
    return {name: str(value) for name, value in build["args"].items()}


def _stages(folder: str) -> list[Stage]:
    return parse(ROOT / "Dockerfile", _build_args(folder))


def test_one_dockerfile_serves_every_deployable() -> None:
    """No service folder carries a Dockerfile of its own; compose passes SERVICE and its HTTP_PORT."""
    assert not [folder for folder in DEPLOYABLES if (ROOT / folder / "Dockerfile").exists()]
    for folder in DEPLOYABLES:
        args = _build_args(folder)
        assert args == {"SERVICE": folder, "PORT": str(deployable(folder).default_of("HTTP_PORT"))}


@pytest.mark.parametrize("folder", DEPLOYABLES)
def test_image_is_slim_multi_stage_and_non_root(folder: str) -> None:
    """Stages start from a slim Python image; the final one sets PYTHONUNBUFFERED and a non-root USER."""
    stages = _stages(folder)
    assert len(stages) >= 2, "build in one stage, run in another"
    for stage in stages:
        assert re.fullmatch(r"python:3\.1[1-9][.\d]*-slim(-\w+)?", stage.image), stage.image
    final = stages[-1]
    users = final.all("USER")
    assert users, "the final stage sets no USER (it would run as root)"
    user = users[-1].arguments.split(":")[0]
    assert user.isdigit(), "a numeric uid lets Kubernetes' runAsNonRoot verify it"
    assert int(user) > 0
    environment = " ".join(i.arguments for i in final.all("ENV"))
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", environment)
    copies = final.all("COPY") + final.all("ADD")
    assert not copies, "the final stage takes files only from the build stage"


@pytest.mark.parametrize("folder", DEPLOYABLES)
def test_entrypoint_is_the_distributions_console_script(folder: str) -> None:
    """ENTRYPOINT is exec form and runs the console script the pyproject declares, whose target exists."""
    service = deployable(folder)
    final = _stages(folder)[-1]
    (entrypoint,) = final.all("ENTRYPOINT")
    assert entrypoint.exec_form() == ["aegis-service"]
    links = " ".join(i.arguments for i in final.all("RUN"))
    assert f"ln -s /usr/local/bin/{service.script} /usr/local/bin/aegis-service" in links
    module_file = ROOT / folder / "src" / (service.entry_module.replace(".", "/") + ".py")
    assert module_file.exists(), f"{service.script} points at {service.entry_module}, which does not exist"
    assert re.search(rf"^def {service.entry_function}\(", module_file.read_text(encoding="utf-8"), re.M), (
        f"{service.entry_module} defines no {service.entry_function}()"
    )
    assert service.settings, f"{service.entry_module} loads no settings class with start_service(...)"


@pytest.mark.parametrize("folder", DEPLOYABLES)
def test_healthcheck_probes_the_port_the_service_listens_on(folder: str) -> None:
    """HEALTHCHECK (exec form) probes HTTP_PORT (/healthz), which the image sets to the port the
    service's settings default to, and EXPOSEs."""
    final = _stages(folder)[-1]
    (check,) = final.all("HEALTHCHECK")
    command = check.exec_form()
    assert command is not None, f"HEALTHCHECK is not exec form: {check.arguments}"
    assert command[0] == "python"
    script = command[-1]
    default = deployable(folder).default_of("HTTP_PORT")
    assert "os.environ['HTTP_PORT']" in script
    assert "/healthz" in script
    environment = " ".join(i.arguments for i in final.all("ENV"))
    assert re.search(rf"\bHTTP_PORT={default}\b", environment)
    (exposed,) = final.all("EXPOSE")
    assert exposed.arguments == str(default)


@pytest.mark.parametrize("folder", DEPLOYABLES)
def test_installs_only_its_distribution_at_the_tested_versions(folder: str) -> None:
    """Only shared/ and the service are built, with -c constraints.txt, and installed offline."""
    stages = _stages(folder)
    build, final = stages[0], stages[-1]
    copied = {i.arguments.split()[0] for i in build.all("COPY")}
    assert copied == {"constraints.txt", "shared/", f"{folder}/"}
    commands = [words for stage in stages for words in pip_commands(stage)]
    assert commands
    for words in commands:
        text = " ".join(words)
        assert not re.search(r"(--index-url|--extra-index-url|--trusted-host|-i )", text), text
        if words[0] in ("install", "wheel") and "--no-deps" not in words:
            assert any(c.endswith("constraints.txt") for c in pip_option(words, "-c", "--constraint")), text
    wheels = [pip_requirements(w) for w in pip_commands(build) if w[0] == "wheel"]
    assert sorted(wheels[0]) == sorted(["./shared", f"./{folder}"])
    distribution = deployable(folder).distribution
    assert wheels[1] == ["/wheels/aegis_*.whl"], "resolve from the two local wheels only"
    (install,) = [w for w in pip_commands(final) if w[0] == "install"]
    assert "--no-index" in install
    assert pip_requirements(install) == [distribution]


@pytest.mark.parametrize("folder", DEPLOYABLES)
def test_image_dependencies_are_exactly_the_distributions(folder: str) -> None:
    """The image holds its distribution's pinned closure: all its code imports, nothing others need."""
    distribution = deployable(folder).distribution
    packages = closure(distribution)
    local = set(local_distributions())
    assert packages & local == {canonicalize_name(distribution), canonicalize_name("aegis-shared")}
    pins = constraints()
    unpinned = sorted(packages - local - set(pins))
    assert not unpinned, f"{folder}'s image would install unpinned {unpinned}: add them to constraints.txt"
    missing = {
        module: path.relative_to(ROOT)
        for module, path in imported_top_level_modules(["shared", folder]).items()
        if not providers(module) & packages
    }
    assert not missing, f"{folder} imports modules its distribution does not depend on: {missing}"
    for package, owners in ONLY_FOR.items():
        if folder not in owners:
            assert canonicalize_name(package) not in packages, f"{folder}'s image would contain {package}"


def test_dockerignore_keeps_secrets_and_environments_out_of_the_build_context() -> None:
    """.dockerignore excludes .env, .git, .venv and the tests."""
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", ".git", ".venv", "tests"} <= ignored
