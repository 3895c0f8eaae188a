"""The Helm chart renders with the real Helm engine, lints clean, and every manifest is valid."""

import copy
from typing import Any

import helm_python as helm
import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tests.deploy.chart import ALL_ON, CHART, Manifest, chart_schema, render
from tests.deploy.crd_schemas import custom_resource_errors

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the reference version.
KUBE_VERSIONS = ("1.27", "1.30")


def test_every_optional_feature_renders_its_objects(renderings: dict[str, list[Manifest]]) -> None:
    """Defaults render the core set; every option on adds KEDA, the ServiceMonitor and the Ingresses."""
    kinds = {label: sorted(m["kind"] for m in manifests) for label, manifests in renderings.items()}
    defaults, all_on = kinds["defaults"], kinds["every option on"]
    for kind in ("Deployment", "Service", "ConfigMap", "Secret", "ServiceAccount", "StatefulSet"):
        assert kind in defaults
    assert defaults.count("Deployment") == 4
    assert "HorizontalPodAutoscaler" in defaults
    assert "PodDisruptionBudget" in defaults
    assert "NetworkPolicy" in defaults
    for kind in ("ScaledObject", "ServiceMonitor"):
        assert kind in all_on
        assert kind not in defaults
    assert all_on.count("Ingress") == 2
    assert "Ingress" not in defaults
    # KEDA owns the rca-worker HPA when it is on.
    assert "HorizontalPodAutoscaler" not in all_on


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_every_manifest_is_valid_kubernetes(manifests: list[Manifest], kube_version: str) -> None:
    """Each rendered object validates strictly (no unknown fields) against its Kubernetes or CRD schema."""
    problems: list[str] = []
    for manifest in manifests:
        label = f"{manifest.get('kind')} {manifest.get('metadata', {}).get('name')}"
        custom = custom_resource_errors(manifest, kube_version)
        if custom is not None:
            problems.extend(f"{label}: {problem}" for problem in custom)
            continue
        try:
            kubernetes_validate.validate(manifest, kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            problems.append(f"{label}: {path}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(f"{label}: {error.message}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("values", [{}, ALL_ON], ids=["defaults", "every option on"])
def test_lint_passes(values: dict[str, Any]) -> None:
    """`helm lint --strict` reports no warning or error."""
    report = helm.lint(CHART, values, strict=True, kube_version="v1.30.0")
    findings = [m for m in report["messages"] if m["severity"] >= 2]
    assert not report["errors"], report
    assert not findings, report


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"replicaCount": 3}, "replicaCount"),
        ({"notifier": {"replicas": 2}}, "replicas"),
        ({"config": {"FEISHU_APP_SECRET": "s"}}, "FEISHU_APP_SECRET"),
        ({"config": {"NATS_URL": "nats://elsewhere:4222"}}, "NATS_URL"),
        ({"config": {"WEBHOOK_MAX_BODY_BYTES": 1048576}}, "string"),
        ({"nats": {"bundled": False}}, "url"),
        ({"nats": {"cluster": {"enabled": True, "replicas": 2}}}, "replicas"),
        ({"podSecurity": {"runAsUser": 0}}, "runAsUser"),
    ],
)
def test_schema_rejects_values_that_would_deploy_something_else(
    values: dict[str, Any], complaint: str
) -> None:
    """values.schema.json stops a typo, a second notifier, a secret in the ConfigMap or root up front."""
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError, match=complaint):
        chart.validate_schema(values)
    with pytest.raises(helm.HelmError):
        render(values)


def test_schema_accepts_the_defaults_and_every_option() -> None:
    """The shipped values and the every-option values satisfy the schema."""
    assert chart_schema()["additionalProperties"] is False
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema({})
        chart.validate_schema(ALL_ON)


def test_custom_resource_schemas_reject_what_their_crds_would(renderings: dict[str, list[Manifest]]) -> None:
    """The CRD checks have teeth: a misspelt field or a trigger without its consumer is reported."""
    manifests = {m["kind"]: m for m in renderings["every option on"]}
    scaled = copy.deepcopy(manifests["ScaledObject"])
    scaled["spec"]["minReplicas"] = 1
    del scaled["spec"]["triggers"][0]["metadata"]["consumer"]
    problems = custom_resource_errors(scaled, "1.30")
    assert problems is not None
    assert any("minReplicas" in p for p in problems)
    assert any("consumer" in p for p in problems)
    monitor = copy.deepcopy(manifests["ServiceMonitor"])
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    assert custom_resource_errors(monitor, "1.30")
