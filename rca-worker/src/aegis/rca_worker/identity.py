"""One name per service across backends: the deployment, the Loki `app`, the Jaeger `service.name`.

Backends name a service their own way (`payment` the workload, `payment-svc` in Loki, `shop/payment`
or `payment-service` in traces). Names that differ only by a namespace prefix or a `-service`,
`-svc`, `-api`, `-app`, `-server` suffix are taken as one service, named as Prometheus (the
workload) names it, then Jaeger, then Loki; `SERVICE_ALIASES` overrides or adds to that. The bundle
keeps, per service, the names the other backends used (`aliases`), so the answer can show them.
"""

import re
from collections.abc import Mapping

from aegis.rca_worker.evidence import EvidenceBundle, SourceName

_SUFFIX = re.compile(r"-(?:service|svc|api|app|server)$")


def normalise(name: str) -> str:
    """The comparable core of a service name: lower case, no `ns/` or `ns.` prefix, no role suffix."""
    core = name.lower().rsplit("/", 1)[-1]
    return _SUFFIX.sub("", core)


def identities(names: Mapping[SourceName, set[str]], overrides: Mapping[str, str]) -> dict[str, str]:
    """{name a backend used: the service's one name}, for every name that is not already that one."""
    preferred: dict[str, str] = {}
    for source in ("prometheus", "jaeger", "loki"):
        for name in sorted(names.get(source, set())):
            preferred.setdefault(normalise(name), name)
    mapping = {}
    for source_names in names.values():
        for name in source_names:
            one = overrides.get(name) or preferred.get(normalise(name), name)
            if one != name:
                mapping[name] = one
    return mapping


def unify(bundle: EvidenceBundle, overrides: Mapping[str, str]) -> EvidenceBundle:
    """The bundle with every service under its one name, and the other names kept in `aliases`."""
    names: dict[SourceName, set[str]] = {
        "prometheus": {m.service for m in bundle.metrics} | {c.service for c in bundle.changes},
        "loki": {t.service for t in bundle.log_templates},
        "jaeger": {s.service for s in bundle.trace_stats} | {o.service for o in bundle.trace_origins},
    }
    mapping = identities(names, overrides)
    if not mapping:
        return bundle
    aliases: dict[str, dict[str, str]] = {}
    for source, source_names in names.items():
        for name in source_names & mapping.keys():
            aliases.setdefault(mapping[name], {})[source] = name

    def one(name: str) -> str:
        return mapping.get(name, name)

    return bundle.model_copy(
        update={
            "services": sorted({one(s) for s in bundle.services}),
            "edges": sorted({(one(a), one(b)) for a, b in bundle.edges if one(a) != one(b)}),
            "metrics": [m.model_copy(update={"service": one(m.service)}) for m in bundle.metrics],
            "changes": [c.model_copy(update={"service": one(c.service)}) for c in bundle.changes],
            "log_templates": [t.model_copy(update={"service": one(t.service)}) for t in bundle.log_templates],
            "trace_stats": [s.model_copy(update={"service": one(s.service)}) for s in bundle.trace_stats],
            "trace_origins": [o.model_copy(update={"service": one(o.service)}) for o in bundle.trace_origins],
            "aliases": aliases,
        }
    )
