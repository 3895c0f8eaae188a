"""The notifier's routes file ships as an example: compose mounts it, the chart renders it into a
ConfigMap the notifier mounts, and both are routes the notifier accepts."""

from typing import Any

import yaml

from aegis.notifier.routing import load_routes, parse_routes
from tests.deploy.catalogue import ROOT
from tests.deploy.chart import render

EXAMPLE = ROOT / "deploy" / "routes.example.yaml"


def test_the_example_routes_file_is_valid_and_mounted_by_compose() -> None:
    """deploy/routes.example.yaml parses, and compose mounts it where its comment says."""
    routes = load_routes(str(EXAMPLE))
    assert [r.name for r in routes] == ["payments", "search", "incidents"]
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    notifier = compose["services"]["notifier"]
    assert "./deploy/routes.example.yaml:/etc/aegis/routes.yaml:ro" in notifier["volumes"]
    assert "NOTIFIER_ROUTES_FILE" in notifier["environment"]


def test_the_chart_mounts_routes_from_values_as_a_configmap() -> None:
    """`notifier.routes` becomes a ConfigMap, mounted read-only, with NOTIFIER_ROUTES_FILE pointing at it."""
    example = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["routes"]
    manifests = render({"notifier": {"routes": example}})
    [config] = [
        m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"].endswith("-routes")
    ]
    assert [r.name for r in parse_routes(config["data"]["routes.yaml"], "chart")] == [
        "payments",
        "search",
        "incidents",
    ]
    [notifier] = [
        m for m in manifests if m["kind"] == "Deployment" and m["metadata"]["name"].endswith("notifier")
    ]
    pod = notifier["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["NOTIFIER_ROUTES_FILE"] == "/etc/aegis/routes/routes.yaml"
    mount = next(m for m in container["volumeMounts"] if m["name"] == "routes")
    assert mount == {"name": "routes", "mountPath": "/etc/aegis/routes", "readOnly": True}
    volume = next(v for v in pod["volumes"] if v["name"] == "routes")
    assert volume["configMap"]["name"] == config["metadata"]["name"]
    without = render({})
    assert not [m for m in without if m["kind"] == "ConfigMap" and m["metadata"]["name"].endswith("-routes")]
