"""Strict schemas for the two custom resources the chart renders, KEDA's ScaledObject and
prometheus-operator's ServiceMonitor.

kubernetes-validate ships only the built-in kinds, and no package on the registries ships these
CRDs' schemas without side effects, so the fields the CRDs define (for the parts a chart sets) are
written out here, unknown fields rejected. Object metadata, label selectors and HPA behaviour are
checked against kubernetes-validate's own definitions for the same Kubernetes version.
"""

import json
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema
from referencing import Registry, Resource

_DEFINITIONS = "/api/_definitions.json#/$defs/"
_OBJECT_META = {"$ref": f"{_DEFINITIONS}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
_LABEL_SELECTOR = {"$ref": f"{_DEFINITIONS}io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"}
_HPA_BEHAVIOR = {"$ref": f"{_DEFINITIONS}io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerBehavior"}
_STRING = {"type": "string"}
_INT = {"type": "integer", "format": "int32"}
_BOOL = {"type": "boolean"}
# prometheus-operator's Duration.
_DURATION = {
    "type": "string",
    "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
}


def _closed(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def _resource(api_version: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://kubernetes.io/api/{kind.lower()}.json",
        **_closed(
            {
                "apiVersion": {"const": api_version},
                "kind": {"const": kind},
                "metadata": _OBJECT_META,
                "spec": spec,
            },
            ("apiVersion", "kind", "metadata", "spec"),
        ),
    }


# keda.sh/v1alpha1 ScaledObject, and the nats-jetstream scaler's documented metadata.
_NATS_JETSTREAM_METADATA = _closed(
    {
        key: _STRING
        for key in (
            "natsServerMonitoringEndpoint",
            "account",
            "stream",
            "consumer",
            "lagThreshold",
            "activationLagThreshold",
            "useHttps",
        )
    },
    ("natsServerMonitoringEndpoint", "account", "stream", "consumer", "lagThreshold"),
)
_TRIGGER = {
    **_closed(
        {
            "type": _STRING,
            "name": _STRING,
            "metadata": {"type": "object", "additionalProperties": _STRING},
            "authenticationRef": _closed({"name": _STRING, "kind": _STRING}, ("name",)),
            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
            "useCachedMetrics": _BOOL,
        },
        ("type", "metadata"),
    ),
    "if": {"properties": {"type": {"const": "nats-jetstream"}}},
    "then": {"properties": {"metadata": _NATS_JETSTREAM_METADATA}},
}
SCALED_OBJECT = _resource(
    "keda.sh/v1alpha1",
    "ScaledObject",
    _closed(
        {
            "scaleTargetRef": _closed(
                {"apiVersion": _STRING, "kind": _STRING, "name": _STRING, "envSourceContainerName": _STRING},
                ("name",),
            ),
            "pollingInterval": _INT,
            "cooldownPeriod": _INT,
            "initialCooldownPeriod": _INT,
            "idleReplicaCount": _INT,
            "minReplicaCount": _INT,
            "maxReplicaCount": _INT,
            "fallback": _closed(
                {"failureThreshold": _INT, "replicas": _INT, "behavior": _STRING},
                ("failureThreshold", "replicas"),
            ),
            "advanced": _closed(
                {
                    "restoreToOriginalReplicaCount": _BOOL,
                    "horizontalPodAutoscalerConfig": _closed({"name": _STRING, "behavior": _HPA_BEHAVIOR}),
                    "scalingModifiers": {"type": "object"},
                }
            ),
            "triggers": {"type": "array", "minItems": 1, "items": _TRIGGER},
        },
        ("scaleTargetRef", "triggers"),
    ),
)

# monitoring.coreos.com/v1 ServiceMonitor.
_ENDPOINT = _closed(
    {
        "port": _STRING,
        "targetPort": {"type": ["integer", "string"]},
        "path": _STRING,
        "scheme": {"enum": ["http", "https"]},
        "params": {"type": "object"},
        "interval": _DURATION,
        "scrapeTimeout": _DURATION,
        "honorLabels": _BOOL,
        "honorTimestamps": _BOOL,
        "trackTimestampsStaleness": _BOOL,
        "followRedirects": _BOOL,
        "enableHttp2": _BOOL,
        "filterRunning": _BOOL,
        "relabelings": {"type": "array", "items": {"type": "object"}},
        "metricRelabelings": {"type": "array", "items": {"type": "object"}},
        "tlsConfig": {"type": "object"},
        "authorization": {"type": "object"},
        "basicAuth": {"type": "object"},
        "oauth2": {"type": "object"},
        "bearerTokenSecret": {"type": "object"},
        "proxyUrl": _STRING,
    }
)
SERVICE_MONITOR = _resource(
    "monitoring.coreos.com/v1",
    "ServiceMonitor",
    _closed(
        {
            "selector": _LABEL_SELECTOR,
            "namespaceSelector": _closed({"any": _BOOL, "matchNames": {"type": "array", "items": _STRING}}),
            "endpoints": {"type": "array", "items": _ENDPOINT},
            "jobLabel": _STRING,
            "targetLabels": {"type": "array", "items": _STRING},
            "podTargetLabels": {"type": "array", "items": _STRING},
            "sampleLimit": _INT,
            "targetLimit": _INT,
            "labelLimit": _INT,
            "labelNameLengthLimit": _INT,
            "labelValueLengthLimit": _INT,
            "keepDroppedTargets": _INT,
            "attachMetadata": _closed({"node": _BOOL}),
            "scrapeProtocols": {"type": "array", "items": _STRING},
        },
        ("selector",),
    ),
)

SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): SCALED_OBJECT,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): SERVICE_MONITOR,
}


@cache
def _registry(kube_version: str) -> Registry[Any]:
    folder = files("kubernetes_validate") / "kubernetes-json-schema" / f"v{kube_version}.0-local-strict"
    definitions = json.loads((folder / "_definitions.json").read_text(encoding="utf-8"))
    resource: Resource[Any] = Resource.from_contents(definitions)
    return resource @ Registry()


def custom_resource_errors(manifest: dict[str, Any], kube_version: str) -> list[str] | None:
    """Problems of `manifest` against its CRD schema; None when it is not one of these kinds."""
    schema = SCHEMAS.get((manifest.get("apiVersion", ""), manifest.get("kind", "")))
    if schema is None:
        return None
    validator = jsonschema.Draft202012Validator(schema, registry=_registry(kube_version))
    return [
        f"{'.'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]
