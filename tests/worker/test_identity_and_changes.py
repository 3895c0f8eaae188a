"""One name per service across backends, and what changed said first on the answer."""

from aegis.rca_worker.change_words import with_changes
from aegis.rca_worker.evidence import Change, EvidenceBundle, LogTemplate, MetricSeries, TraceOrigin
from aegis.rca_worker.identity import unify
from aegis.shared.rca import Evidence, RootCauseCandidate


def _bundle() -> EvidenceBundle:
    return EvidenceBundle(
        start=0,
        end=3600,
        services=["payment", "payment-svc", "shop/payment-service", "cart"],
        metrics=[MetricSeries(service="payment", signal="error_ratio", query="q", points=[(0, 0.0)])],
        log_templates=[
            LogTemplate(
                service="payment-svc",
                template="NPE",
                count=3,
                first_seen=1,
                last_seen=2,
                sample="NPE",
                query="l",
            ),
            LogTemplate(
                service="legacy-pay", template="x", count=1, first_seen=1, last_seen=1, sample="x", query="l"
            ),
        ],
        trace_origins=[
            TraceOrigin(trace_id="t", service="shop/payment-service", operation="op", time=1, excerpt="e")
        ],
        edges=[("cart", "shop/payment-service")],
    )


def test_names_that_differ_by_namespace_or_suffix_become_the_workload_name() -> None:
    """Loki's `payment-svc` and Jaeger's `shop/payment-service` are Prometheus's `payment`, and say so."""
    unified = unify(_bundle(), {"legacy-pay": "payment"})
    assert unified.services == ["cart", "payment"]
    assert {t.service for t in unified.log_templates} == {"payment"}
    assert unified.trace_origins[0].service == "payment"
    assert unified.edges == [("cart", "payment")]
    assert unified.aliases["payment"]["jaeger"] == "shop/payment-service"
    assert unified.aliases["payment"]["loki"] in {"payment-svc", "legacy-pay"}


def test_a_bundle_with_one_name_per_service_is_unchanged() -> None:
    """Nothing to unify: the very same bundle comes back."""
    bundle = EvidenceBundle(start=0, end=1, services=["a"])
    assert unify(bundle, {}) is bundle


def test_a_rollout_minutes_before_the_onset_is_said_first_with_its_query() -> None:
    """ "payment 在异常前 2 分钟发布了新版本" leads the hypothesis; its query leads the evidence."""
    rollout = Change(
        service="payment", time=880, kind="rollout", detail="new ReplicaSet payment-7c9", query="ksm"
    )
    bundle = EvidenceBundle(start=0, end=3600, services=["payment"], changes=[rollout])
    found = [
        RootCauseCandidate(
            rank=1,
            service="payment",
            hypothesis="payment 自 00:16:40 起异常",
            confidence=0.8,
            evidence=[Evidence(kind="metric", query="q", excerpt="e")],
        ),
        RootCauseCandidate(rank=2, service="cart", hypothesis="cart", confidence=0.1),
    ]
    zh = with_changes(found, bundle, 1000, "zh")
    assert zh[0].hypothesis.startswith("payment 在异常前 2 分钟发布了新版本（new ReplicaSet payment-7c9）。")
    assert [e.query for e in zh[0].evidence] == ["ksm", "q"]
    assert zh[1] == found[1]
    en = with_changes(found, bundle, 1000, "en")
    assert en[0].hypothesis.startswith("payment was rolled out 2 min before the anomaly")
