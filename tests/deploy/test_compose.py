"""docker-compose.yml is a valid Compose file that runs the stack the way the services expect:
each gets exactly the variables it reads, NATS is healthy before anyone needs it, rca-worker runs
twice, and the profiles bring the observability stack and the LLM."""

import copy
import json
import re
from importlib.resources import files
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.catalogue import DEPLOYABLES, ROOT, deployable
from tests.deploy.env_example import env_example_names

COMPOSE = ROOT / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def _compose_schema() -> dict[str, Any]:
    # The Compose specification's schema as check-jsonschema vendors it.
    text = (files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text(
        encoding="utf-8"
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def _errors(document: dict[str, Any]) -> list[str]:
    schema = _compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [
        f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)
    ]


def test_compose_file_follows_the_compose_specification() -> None:
    """docker-compose.yml validates against the Compose specification's JSON schema."""
    assert not _errors(_compose())


def test_the_compose_schema_check_has_teeth() -> None:
    """A misspelt service key or a malformed depends_on condition is reported."""
    broken = copy.deepcopy(_compose())
    broken["services"]["nats"]["healthchek"] = broken["services"]["nats"].pop("healthcheck")
    broken["services"]["notifier"]["depends_on"]["nats"]["condition"] = "service_ready"
    problems = "\n".join(_errors(broken))
    assert "healthchek" in problems
    assert "service_ready" in problems


@pytest.mark.parametrize("folder", DEPLOYABLES)
def test_each_service_gets_exactly_the_variables_it_reads(folder: str) -> None:
    """The service's `environment` names every setting its code reads, and nothing else."""
    service = _compose()["services"][folder]
    given = set(service["environment"])
    reads = deployable(folder).setting_names
    assert not reads - given, f"{folder} reads {sorted(reads - given)}, which compose never passes"
    assert not given - reads, f"compose passes {folder} {sorted(given - reads)}, which it does not read"


def test_stack_starts_in_health_order_with_two_rca_workers() -> None:
    """Services start after NATS (JetStream volume, monitoring port) is healthy; rca-worker runs twice."""
    services = _compose()["services"]
    nats = services["nats"]
    assert "--jetstream" in nats["command"] or "-js" in nats["command"]
    assert any(v.endswith(":/data") for v in nats["volumes"])
    assert any(p.endswith(":8222") for p in nats["ports"])
    assert "8222/healthz" in " ".join(nats["healthcheck"]["test"])
    for folder in DEPLOYABLES:
        service = services[folder]
        assert service["build"]["context"] == "."
        assert service["build"]["args"]["SERVICE"] == folder
        assert service["depends_on"]["nats"]["condition"] == "service_healthy"
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert "profiles" not in service
    assert services["rca-worker"]["deploy"]["replicas"] == 2
    assert services["notifier"]["deploy"]["replicas"] == 1
    assert services["alertmanager"]["depends_on"]["alert-ingest"]["condition"] == "service_healthy"


def test_profiles_bring_the_observability_stack_and_the_llm() -> None:
    """`observability`: Prometheus, Alertmanager, Loki, Promtail, Jaeger and a workload; `llm`: Ollama."""
    services = _compose()["services"]
    profiles: dict[str, set[str]] = {}
    for name, service in services.items():
        for profile in service.get("profiles", []):
            profiles.setdefault(profile, set()).add(name)
    assert {"prometheus", "alertmanager", "loki", "promtail", "jaeger", "telemetry-seed"} <= profiles[
        "observability"
    ]
    assert "ollama" in profiles["llm"]
    worker = services["rca-worker"]["environment"]
    assert "prometheus:9090" in worker["PROMETHEUS_BASE_URL"]
    assert "loki:3100" in worker["LOKI_BASE_URL"]
    assert "jaeger:16686" in worker["JAEGER_BASE_URL"]
    assert "ollama:11434" in worker["OLLAMA_BASE_URL"]


def test_alertmanager_posts_to_alert_ingest_with_the_webhook_token() -> None:
    """The profile's Alertmanager posts to alert-ingest's webhook with the AEGIS_WEBHOOK_TOKEN bearer."""
    compose = _compose()
    config = yaml.safe_load((ROOT / "deploy/compose/alertmanager/alertmanager.yml").read_text())
    (webhook,) = config["receivers"][0]["webhook_configs"]
    port = compose["services"]["alert-ingest"]["environment"]["HTTP_PORT"]
    assert webhook["url"] == f"http://alert-ingest:{port}/alertmanager/webhook"
    authorization = webhook["http_config"]["authorization"]
    (mounted,) = compose["services"]["alertmanager"]["configs"]
    assert authorization["type"] == "Bearer"
    assert authorization["credentials_file"] == mounted["target"]
    assert compose["configs"][mounted["source"]]["content"] == "${AEGIS_WEBHOOK_TOKEN:-}"
    assert (
        compose["services"]["alert-ingest"]["environment"]["AEGIS_WEBHOOK_TOKEN"]
        == "${AEGIS_WEBHOOK_TOKEN:-}"
    )


def test_every_variable_compose_interpolates_is_in_env_example() -> None:
    """Each ${NAME} docker-compose.yml reads from .env or the shell is listed in .env.example."""
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text(encoding="utf-8")))
    assert interpolated
    missing = interpolated - set(env_example_names())
    assert not missing, f".env.example lacks {sorted(missing)}"
