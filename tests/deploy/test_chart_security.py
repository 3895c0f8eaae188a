"""Read-only by construction: every pod is locked down, nothing can talk to the Kubernetes API,
and the network lets each component reach only what it needs."""

from typing import Any

from tests.deploy.catalogue import deployable
from tests.deploy.chart import (
    RBAC_KINDS,
    Manifest,
    chart_values,
    component,
    named,
    of_kind,
    pod_spec,
    render,
    workloads,
)


def _pod_problems(name: str, pod: dict[str, Any]) -> list[str]:
    problems = []
    pod_context = pod.get("securityContext", {})
    if pod.get("automountServiceAccountToken") is not False:
        problems.append(f"{name}: automountServiceAccountToken is not false")
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            problems.append(f"{name}: {flag}")
    if any("hostPath" in volume for volume in pod.get("volumes", [])):
        problems.append(f"{name}: mounts a hostPath")
    if pod_context.get("runAsUser") == 0:
        problems.append(f"{name}: runs as uid 0")
    containers = pod.get("initContainers", []) + pod["containers"]
    for container in containers:
        where = f"{name}/{container['name']}"
        context = container.get("securityContext", {})
        if not (context.get("runAsNonRoot") or pod_context.get("runAsNonRoot")):
            problems.append(f"{where}: runAsNonRoot is not true")
        if context.get("runAsUser") == 0:
            problems.append(f"{where}: runs as uid 0")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: root filesystem is writable")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: privilege escalation is not forbidden")
        if context.get("privileged"):
            problems.append(f"{where}: privileged")
        capabilities = context.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []) or capabilities.get("add"):
            problems.append(f"{where}: capabilities are not all dropped")
        seccomp = context.get("seccompProfile") or pod_context.get("seccompProfile") or {}
        if seccomp.get("type") != "RuntimeDefault":
            problems.append(f"{where}: seccomp profile is not RuntimeDefault")
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        empty_dirs = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        if mounts.get("/tmp") not in empty_dirs:  # noqa: S108 - the path checked, not a file used
            problems.append(f"{where}: /tmp is not a writable emptyDir")
    return problems


def test_every_pod_is_non_root_read_only_unprivileged_and_tokenless(manifests: list[Manifest]) -> None:
    """Each pod: non-root, read-only rootfs + emptyDir /tmp, no token, no escalation, drop ALL, seccomp."""
    pods = workloads(manifests)
    assert len(pods) >= 5
    problems = [p for w in pods for p in _pod_problems(f"{w['kind']} {w['metadata']['name']}", pod_spec(w))]
    assert not problems, "\n".join(problems)


def test_no_rbac_object_and_no_service_account_token(manifests: list[Manifest]) -> None:
    """No Role, ClusterRole or binding is rendered, and the ServiceAccount mounts no token."""
    assert not [f"{m['kind']} {m['metadata']['name']}" for m in manifests if m["kind"] in RBAC_KINDS]
    for account in of_kind(manifests, "ServiceAccount"):
        assert account["automountServiceAccountToken"] is False
    accounts = {a["metadata"]["name"] for a in of_kind(manifests, "ServiceAccount")}
    for workload in workloads(manifests):
        assert pod_spec(workload)["serviceAccountName"] in accounts


def test_each_container_gets_only_the_secrets_its_service_reads(manifests: list[Manifest]) -> None:
    """Secret keys reach a container only by secretKeyRef, and only the SecretStr settings of its service."""
    configmap = named(manifests, "ConfigMap", component("config"))
    secret = named(manifests, "Secret", component("secrets"))
    all_secret_names = {
        s.name
        for folder in ("alert-ingest", "gateway-feishu", "notifier", "rca-worker")
        for s in deployable(folder).settings
        if s.secret
    }
    assert not all_secret_names & set(configmap["data"]), "a secret setting is in the ConfigMap"
    assert set(secret.get("stringData", {})) <= set(chart_values()["secrets"])
    for folder in ("alert-ingest", "gateway-feishu", "notifier", "rca-worker"):
        readable = {s.name for s in deployable(folder).settings if s.secret}
        container = pod_spec(named(manifests, "Deployment", component(folder)))["containers"][0]
        refs = {
            e["name"]: e["valueFrom"]["secretKeyRef"]
            for e in container.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        assert set(refs) <= readable, f"{folder} is given secrets it does not read: {set(refs) - readable}"
        # NATS_PASSWORD of the bundled NATS is the service's own user's password, from its own key.
        own_password = "NATS_PASSWORD_" + folder.upper().replace("-", "_")
        assert all(
            ref["key"] in (name, own_password if name == "NATS_PASSWORD" else name)
            and ref["name"] == component("secrets")
            for name, ref in refs.items()
        )
        assert not any("secretRef" in source for source in container.get("envFrom", []))


def test_notifier_runs_exactly_one_replica(manifests: list[Manifest]) -> None:
    """The notifier paces Feishu sends per process: one replica, replaced with Recreate, never autoscaled."""
    notifier = named(manifests, "Deployment", component("notifier"))
    assert notifier["spec"]["replicas"] == 1
    assert notifier["spec"]["strategy"] == {"type": "Recreate"}
    scaled = [
        m["spec"]["scaleTargetRef"]["name"]
        for m in manifests
        if m["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
    ]
    assert component("notifier") not in scaled
    assert "replicas" not in chart_values()["notifier"]


def _egress_ports(policy: Manifest) -> set[int]:
    return {port["port"] for rule in policy["spec"]["egress"] for port in rule.get("ports", [])}


def test_network_policies_allow_only_what_each_component_needs(manifests: list[Manifest]) -> None:
    """Every pod has ingress+egress policies; egress is DNS and NATS plus Feishu or backends and the LLM."""
    values = chart_values()["networkPolicy"]
    dns, nats = set(values["dns"]["ports"]), {4222}
    feishu = set(values["egress"]["feishu"]["ports"])
    backends = set(values["egress"]["observability"]["ports"]) | set(values["egress"]["llm"]["ports"])
    expected = {
        "alert-ingest": dns | nats,
        "gateway-feishu": dns | nats | feishu,
        "notifier": dns | nats | feishu,
        "rca-worker": dns | nats | backends,
        "nats": dns | {6222},
    }
    policies = {p["metadata"]["name"]: p for p in of_kind(manifests, "NetworkPolicy")}
    for name, ports in expected.items():
        policy = policies[component(name)]
        assert sorted(policy["spec"]["policyTypes"]) == ["Egress", "Ingress"]
        assert _egress_ports(policy) == ports, name
    selected = [p["spec"]["podSelector"]["matchLabels"] for p in policies.values()]
    for workload in workloads(manifests):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert any(s.items() <= labels.items() for s in selected), workload["metadata"]["name"]


def test_ingresses_expose_only_the_webhook_the_analysis_api_and_the_feishu_callback() -> None:
    """alert-ingest's Ingress routes only the webhook and /api/ops/analyze*, the gateway's its callback."""
    manifests = render({"ingress": {"enabled": True}, "gatewayFeishu": {"ingress": {"enabled": True}}})
    allowed = {
        component("alert-ingest"): {"/alertmanager/webhook", "/api/ops/analyze", "/api/ops/analyze/stream"},
        component("gateway-feishu"): {"/feishu/receive"},
    }
    ingresses = of_kind(manifests, "Ingress")
    assert {i["metadata"]["name"] for i in ingresses} == set(allowed)
    for ingress in ingresses:
        name = ingress["metadata"]["name"]
        paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
        assert {p["path"] for p in paths} == allowed[name]
        assert {p["pathType"] for p in paths} == {"Exact"}
        assert {p["backend"]["service"]["name"] for p in paths} == {name}
        named(manifests, "Service", name)
