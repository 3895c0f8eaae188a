"""Rendering the Helm chart with the real Helm engine (helm-python-sdk embeds Helm v4), offline.

`ALL_ON` switches on every optional feature at once: the bundled three-node JetStream cluster with
NATS authentication, KEDA, the ServiceMonitor and both Ingresses.
"""

from typing import Any

import helm_python as helm
import yaml

from tests.deploy.catalogue import ROOT

CHART = ROOT / "deploy" / "helm" / "aegis"
RELEASE = "aegis"
NAMESPACE = "aegis"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod")
RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")

Manifest = dict[str, Any]

ALL_ON: dict[str, Any] = {
    "config": {"NATS_USER": "aegis", "FEISHU_EVENT_MODE": "http", "FEISHU_APP_ID": "cli_test"},
    "secrets": {"NATS_PASSWORD": "nats-password", "AEGIS_WEBHOOK_TOKEN": "webhook-token"},
    "nats": {"cluster": {"enabled": True}},
    "rcaWorker": {"keda": {"enabled": True}},
    "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "host": "aegis.example.test",
        "tls": [{"hosts": ["aegis.example.test"], "secretName": "aegis-tls"}],
    },
    "gatewayFeishu": {
        "ingress": {"enabled": True, "className": "nginx", "host": "feishu-callback.example.test"}
    },
}


def render_files(values: dict[str, Any]) -> dict[str, str]:
    """Template path → rendered text."""
    with helm.Chart.load(CHART) as chart:
        return chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)


def render(values: dict[str, Any]) -> list[Manifest]:
    """Every non-empty manifest the chart renders with `values`."""
    manifests: list[Manifest] = []
    for path, text in sorted(render_files(values).items()):
        if path.endswith((".yaml", ".yml")):
            manifests.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return manifests


def chart_values() -> dict[str, Any]:
    """The chart's default values."""
    with helm.Chart.load(CHART) as chart:
        return chart.values


def chart_schema() -> dict[str, Any]:
    """values.schema.json."""
    with helm.Chart.load(CHART) as chart:
        schema = chart.schema
    assert schema is not None, "the chart ships no values.schema.json"
    return schema


def named(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    """The one manifest of `kind` called `name`."""
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, rendered {len(found)}"
    return found[0]


def of_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def pod_spec(workload: Manifest) -> dict[str, Any]:
    """The pod spec inside a workload manifest."""
    spec = workload["spec"]
    if workload["kind"] == "Pod":
        return dict(spec)
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def workloads(manifests: list[Manifest]) -> list[Manifest]:
    return [m for m in manifests if m["kind"] in WORKLOAD_KINDS]


def component(name: str) -> str:
    """The resource name of an Aegis component in the test release."""
    return f"{RELEASE}-{name}"
