"""The evidence is the floor of any model report: promotions need their own evidence, evidence stays
with its service, the ranking's first is demoted only against cited evidence, invented services and
copied placeholders never reach the card, and the card says in one line what the model added."""

import asyncio
import json
from typing import Any

import pytest

from aegis.devkit.fakes.llm import Reply, ScriptedLlm, report
from aegis.notifier.reply_cards import LinkOptions, render_result_card
from aegis.rca_worker.llm.digest import Digest, build_digest
from aegis.rca_worker.llm.floor import Citable, floor_report, unknown_services
from aegis.rca_worker.llm.report import EXAMPLE, InvalidReport, Report, parse_report
from aegis.rca_worker.pipeline.rank import Analysis
from aegis.shared.rca import RcaResult
from aegis.simulator.offline import analyse_offline
from aegis.simulator.scenarios import make_scenario
from aegis.simulator.telemetry import ScenarioTelemetry
from tests.worker.analysing import analyse_with, submitted
from tests.worker.asking import Backends

Planted = tuple[Analysis, Digest]


@pytest.fixture(scope="module")
def planted() -> Planted:
    """The planted payment incident, analysed offline, and its digest (E1–E4 are payment's)."""
    analysis = asyncio.run(analyse_offline(ScenarioTelemetry(make_scenario("exception", "payment", 1))))
    return analysis, build_digest(analysis.bundle, analysis.ranking, ["payment"], {}, 6000)


def _floor(planted: Planted, body: dict[str, Any], locale: str = "en") -> Any:
    analysis, digest = planted
    services = set(analysis.bundle.services)
    citable = Citable(digest.catalogue, digest.owners)
    return floor_report(
        Report.model_validate(body),
        analysis.to_result("r1", "api", locale="en"),
        citable,
        services,
        "qwen",
        locale,  # type: ignore[arg-type]
    )


def _ids(digest: Digest, service: str) -> list[str]:
    return [i for i, owners in digest.owners.items() if service in owners]


def test_the_planted_ranking_puts_payment_first(planted: Planted) -> None:
    """The premise of the cases below: the deterministic answer names payment first."""
    analysis, digest = planted
    assert analysis.to_result("r1", "api", locale="en").root_causes[0].service == "payment"
    assert _ids(digest, "payment")
    assert _ids(digest, "ad")


def test_a_schema_perfect_wrong_report_with_payments_evidence_on_ad_is_refused(
    planted: Planted,
) -> None:
    """ "#1 ad 80%" citing payment's evidence: ad has no evidence of its own here, so it is refused."""
    _, digest = planted
    body = report("ad is failing.", [("ad", "ad errors", 80, _ids(digest, "payment")[:2])])
    with pytest.raises(InvalidReport, match="evidence of its own"):
        _floor(planted, body)


def test_a_promotion_with_own_evidence_but_nothing_against_the_first_is_refused(
    planted: Planted,
) -> None:
    """A mid-size model's answer: checkout first (own evidence), payment's evidence on frontend."""
    _, digest = planted
    body = report(
        "checkout is the cause; orders-db is overloaded.",
        [
            ("checkout", "checkout errors", 0.8, _ids(digest, "checkout")),
            ("frontend", "frontend errors", 0.5, _ids(digest, "payment")),
        ],
        ["Check orders-db connections"],
    )
    with pytest.raises(InvalidReport, match="without citing evidence against payment"):
        _floor(planted, body)


def test_demoting_the_first_with_cited_counter_evidence_is_accepted_and_said(
    planted: Planted,
) -> None:
    """With counter-evidence the model may reorder; the card line says it disagrees and cites the ids."""
    _, digest = planted
    checkout, payment = _ids(digest, "checkout"), _ids(digest, "payment")
    body = {
        **report(
            "checkout starts it.",
            [("checkout", "own errors", 0.7, checkout), ("payment", "suffers", 0.4, payment)],
        ),
        "counter_evidence": payment[-1:],
    }
    conversion = _floor(planted, body)
    assert [c.service for c in conversion.result.root_causes] == ["checkout", "payment"]
    assert conversion.disagrees
    assert "disagrees with the ranking: puts checkout before payment" in conversion.contribution
    assert payment[-1] in conversion.contribution
    zh = _floor(planted, body, "zh")
    assert "与确定性排序不一致" in zh.contribution


def test_evidence_of_another_service_is_taken_off_a_candidate(
    planted: Planted,
) -> None:
    """payment keeps its own ids; catalog (kept in place, #2) loses payment's, and the note says whose."""
    _, digest = planted
    payment = _ids(digest, "payment")
    body = report(
        "payment fails.",
        [("payment", "NPE", 0.9, payment[:2]), ("catalog", "its reads fail", 0.3, [*payment[2:3], "E99"])],
    )
    conversion = _floor(planted, body)
    first, second = conversion.result.root_causes
    assert first.evidence == [digest.catalogue[i] for i in payment[:2]]
    assert all(e not in second.evidence for e in (digest.catalogue[i] for i in payment))
    assert any(f"{payment[2]} belongs to payment, not to catalog" in n for n in conversion.dropped)
    assert any("'E99' does not exist" in n for n in conversion.dropped)
    assert conversion.contribution.startswith("Model qwen: kept the ranking's order")


def test_invented_services_leave_the_summary_and_next_actions(
    planted: Planted,
) -> None:
    """A sentence or action naming `orders-db` (not in the evidence) is dropped; the rest stays."""
    _, digest = planted
    body = report(
        "payment throws NullPointerException. The orders-db service is overloaded.",
        [("payment", "NPE", 0.9, _ids(digest, "payment"))],
        ["Check payment's last deploy", "Check the orders-db connection pool", "Look at `inventory-svc`"],
    )
    conversion = _floor(planted, body)
    assert conversion.result.summary == "payment throws NullPointerException."
    assert conversion.result.next_actions == ["Check payment's last deploy"]
    assert len(conversion.dropped) == 3


@pytest.mark.parametrize(
    ("text", "unknown"),
    [
        ("The orders-db is slow", ["orders-db"]),
        ("billing 服务报错", ["billing"]),
        ("the inventory service times out", ["inventory"]),
        ("check `deploy/ledger-api`", ["ledger-api"]),
        ("payment-7d9f8 restarted; the upstream service and the on-call follow-up", []),
        ("run `kubectl get pods` on the payment service", []),
    ],
)
def test_service_like_names_are_found_in_prose(text: str, unknown: list[str]) -> None:
    """Names that read as a service, pod or database and are not in the evidence; pods of known ones pass."""
    assert unknown_services(text, {"payment", "checkout"}) == unknown


def test_the_prompts_example_copied_back_is_refused(planted: Planted) -> None:
    """A report that is the prompt's example (placeholders verbatim) is not an answer."""
    with pytest.raises(InvalidReport, match="copied the prompt's example"):
        _floor(planted, {**EXAMPLE, "root_causes": [{**EXAMPLE["root_causes"][0], "service": "payment"}]})


def test_values_are_normalised_before_validation() -> None:
    """Confidence 80 or "80%" is 0.8; evidence ids written as one string become a list."""
    parsed = parse_report(
        '{"summary": "s", "root_causes": [{"service": "payment", "hypothesis": "h", '
        '"confidence": "80%", "evidence": "E1, E2"}, '
        '{"service": "cart", "hypothesis": "h", "confidence": 35, "evidence": ["E3"]}]}'
    )
    assert [c.confidence for c in parsed.root_causes] == [0.8, 0.35]
    assert parsed.root_causes[0].evidence == ["E1", "E2"]


@pytest.mark.parametrize(
    "answer",
    [
        '<think>which service?</think>\n```json\n{"summary": "s", "root_causes": []}\n```',
        'Here is my report: {"summary": "s", "root_causes": []} — hope it helps.',
        '```bash\nkubectl get pods\n```\nReport: ```json\n{"summary": "s", "root_causes": []}\n```',
        '```json\n{"summary": "line one\nline two", "root_causes": []}\n```',
    ],
)
def test_the_report_is_found_in_a_text_answer(answer: str) -> None:
    """In a fence after a think block, between sentences, after another fence, with a raw newline."""
    assert parse_report(answer).summary.startswith(("s", "line one"))


def test_a_text_answer_without_json_is_invalid() -> None:
    """Prose alone is no report: InvalidReport says so."""
    with pytest.raises(InvalidReport, match="no JSON object"):
        parse_report("I could not find a root cause.")


async def test_the_wrong_report_reaches_the_asker_as_degraded_with_payment_first(
    llm: ScriptedLlm, backends: Backends, incident: ScenarioTelemetry
) -> None:
    """Through the real client: the schema-perfect wrong answer leaves the deterministic answer, degraded."""
    wrong = report("ad is failing.", [("ad", "ad errors", 0.8, ["E1", "E2"])], ["Restart ad"])
    llm.script(submitted(wrong))
    result: RcaResult = (await analyse_with(llm, backends, incident, "doubao"))["result"]
    assert result.degraded
    assert result.model == "none"
    assert result.model_contribution is None
    assert result.root_causes[0].service == "payment"
    assert "unusable answer" in (result.degraded_reason or "")


async def test_a_schema_slip_gets_one_repair_then_the_report_is_used(
    llm: ScriptedLlm, backends: Backends, incident: ScenarioTelemetry
) -> None:
    """A report missing its summary is sent back once with the problem; the repaired one is the answer."""
    good = report("payment throws NPE.", [("payment", "NPE in payment (E2)", 0.9, ["E1", "E2"])])
    slip = {k: v for k, v in good.items() if k != "summary"}

    llm.script(submitted(slip), Reply(content=json.dumps(good)))
    state = await analyse_with(llm, backends, incident, "doubao")
    result = state["result"]
    assert not result.degraded, result.degraded_reason
    assert result.summary == "payment throws NPE."
    assert "summary" in llm.seen[1].text()
    assert "could not be read" in llm.seen[1].text()
    assert (
        result.model_contribution
        == "Model doubao: kept the ranking's order; wrote the summary and hypotheses."
    )


def test_the_answer_card_carries_the_models_line(planted: Planted) -> None:
    """The one line about what the model added is on the card the asker reads."""
    analysis, _ = planted
    line = "Model qwen: kept the ranking's order; wrote the summary and hypotheses."
    result = analysis.to_result("r1", "api", locale="en").model_copy(update={"model_contribution": line})
    card = json.dumps(render_result_card(result, LinkOptions(), "en"), ensure_ascii=False)
    assert f"🤖 {line}" in card
