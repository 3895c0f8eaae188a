"""One rule for "is service X named in this text", held by the finder and by each of its four users:
the gateway, the worker's scope step, the ranking's log blame and the guard's rewritten claims."""

import pytest

from aegis.gateway_feishu.question_scope import services_from_text
from aegis.rca_worker.evidence import EvidenceBundle, LogTemplate
from aegis.rca_worker.guard.claims import rewrite_claims
from aegis.rca_worker.ranking.features import collect_findings
from aegis.rca_worker.scoping import resolve_scope
from aegis.shared.questions import QuestionEvent
from aegis.shared.service_names import services_named

KNOWN = {
    "payment",
    "pay",
    "payment-gateway",
    "ts-order-service",
    "cart_v2",
    "redis6",
    "Checkout",
    "ad",
    "db.main",
}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("调用payment失败", ["payment"]),
        ("我已经重启了payment服务", ["payment"]),
        ("payment服务 5xx 变多了，ts-order-service 呢？", ["payment", "ts-order-service"]),
        ("cart_v2 和 redis6 都慢", ["cart_v2", "redis6"]),
        ("CHECKOUT is slow, so is PAYMENT.", ["Checkout", "payment"]),
        ("pay 挂了，payment 没事", ["pay", "payment"]),
        ("payment-gateway 超时", ["payment-gateway"]),
        ("pay-gateway 和 payments 页面", []),
        ("adding cartography to cart_v20", []),
        ("dial tcp payment:5432: connection refused", ["payment"]),
        ("GET /api/pay?x=1 失败（payment）", ["pay", "payment"]),
        ("foo.payment 不是服务名", []),
        ("连不上db.main了，pay 也慢", ["db.main", "pay"]),
        ("xdb.main 和 db.mainline", []),
        ("", []),
    ],
)
def test_a_name_counts_as_a_whole_token_whatever_surrounds_it(text: str, named: list[str]) -> None:
    """Chinese, spaces and punctuation bound a name; letters, digits, `_` and `-` extend it; any case."""
    assert services_named(text, KNOWN) == named


def test_names_come_in_the_order_they_first_appear_and_once() -> None:
    """The finder keeps reading order and reports a name written twice once."""
    assert services_named("ad 慢，payment 也慢，ad 又报错", KNOWN) == ["ad", "payment"]
    assert services_named("payment", []) == []


def test_the_guard_keeps_a_name_written_against_chinese() -> None:
    """`rewrite_claims("我已经重启了payment服务")` recommends restarting payment, not an unnamed service."""
    rewrite = rewrite_claims("我已经重启了payment服务", {"payment", "pay"}, "zh")
    assert rewrite.text == "建议人工评估是否需要重启 payment（Aegis 只读，未做任何变更）。"


def test_the_ranking_blames_a_callee_a_chinese_log_line_names() -> None:
    """A caller's new log line "调用payment失败" counts against payment, not against the caller."""
    change, end = 1_000_600.0, 1_001_200.0
    line = LogTemplate(
        service="checkout",
        template="调用payment失败 status <num>",
        count=80,
        first_seen=change,
        last_seen=end,
        sample="调用payment失败 status 503",
        query='{app="checkout"}',
        buckets=[(change + 60 * i, 8) for i in range(10)],
    )
    bundle = EvidenceBundle(
        start=1_000_000.0, end=end, services=["checkout", "payment", "pay"], log_templates=[line]
    )
    found = collect_findings(bundle, change)
    assert [f.template.sample for f in found["payment"].blame_logs] == [line.sample]
    assert found["pay"].blame_logs == []
    assert found["checkout"].own_logs == []


def test_the_gateway_and_the_scope_step_find_the_same_names() -> None:
    """A Feishu message and the worker read "调用payment失败，pay 呢" as naming payment and pay."""
    text = "调用payment失败，pay 呢"
    assert services_from_text(text, sorted(KNOWN)) == ["payment", "pay"]
    question = QuestionEvent(request_id="r1", source="feishu", text=text)
    assert resolve_scope(question, KNOWN, None, "none").named == ["pay", "payment"]
