"""Code faults read from logs at every level: lines joined to their operation's calls, per statement."""

import tarfile
from pathlib import Path

import pytest

from aegis.rca_worker.evidence import EvidenceBundle, MetricSeries
from aegis.rca_worker.log_templates import TemplateCounter
from aegis.rca_worker.ranking.candidates import own_strength, rank_candidates
from aegis.rca_worker.ranking.features import collect_findings
from aegis.rca_worker.ranking.hypothesis import hypothesis
from aegis.simulator.rcaeval import find_cases, load_case

START, CHANGE, END = 1_700_000_000.0, 1_700_000_120.0, 1_700_000_240.0
CASES = Path(__file__).parent / "real_cases" / "cases.tar.xz"
CODE_FAULT = Path(__file__).parent / "real_cases" / "code_fault.tar.xz"


def _calls(
    counter: TemplateCounter,
    service: str,
    operation: str,
    lines: list[str],
    stops: frozenset[str] = frozenset(),
    since: float = START,
) -> None:
    """One call of `operation` every two seconds from `since`; each prints `lines`, but those in
    `stops` only before the change."""
    t = since
    while t < END:
        counter.add_call(service, operation, t)
        for line in lines:
            if line not in stops or t < CHANGE:
                counter.add(service, t + 0.1, line, operation)
        t += 2.0


def _bundle(counter: TemplateCounter, services: list[str], edges: list[tuple[str, str]]) -> EvidenceBundle:
    return EvidenceBundle(
        start=START,
        end=END,
        services=services,
        edges=edges,
        log_templates=counter.templates({}),
        change_hint=CHANGE,
    )


PRICE_LINES = [
    "p.c.PriceController#39 [query][Query price][RouteId: 12, TrainType: 3]",
    "p.c.PriceController#46 [query][Query price][RouteId: 12, TrainType: 3]",
]


def test_a_line_its_still_called_operation_stops_printing_points_at_the_service() -> None:
    """price's calls go on but one statement stops printing: price ranks first, the line as evidence."""
    counter = TemplateCounter(bucket_s=10.0)
    _calls(counter, "price", "PriceController.query", PRICE_LINES, stops=frozenset({PRICE_LINES[1]}))
    _calls(counter, "travel", "TravelController.query", ["t.c.TravelController#12 [query][done]"])
    ranking = rank_candidates(_bundle(counter, ["price", "travel"], [("travel", "price")]))
    top = ranking.services[0]
    assert top.service == "price"
    assert top.own > 0.5
    assert [x.template.sample for x in top.findings.own_logs if x.skipped] == [PRICE_LINES[1]]
    assert ranking.services[1].score == 0.0


def test_two_statements_are_two_templates_and_one_statement_is_one_whatever_its_words() -> None:
    """Lines alike but for their `Class#line` stay apart; one statement's varied lines stay together."""
    counter = TemplateCounter()
    counter.add("price", START, PRICE_LINES[0])
    counter.add("price", START, PRICE_LINES[1])
    counter.add("price", START + 1, "p.c.PriceController#46 [query][No price][route unknown, try later]")
    by_count = sorted((t.count, t.template) for t in counter.templates({}))
    assert [count for count, _ in by_count] == [1, 2]
    assert "PriceController#39" in by_count[0][1]
    assert "PriceController#46" in by_count[1][1]


def test_lines_of_an_operation_first_called_after_the_change_are_not_news() -> None:
    """An operation with no calls before the change has no normal: its lines score nothing."""
    counter = TemplateCounter(bucket_s=10.0)
    _calls(counter, "order", "OrderController.create", ["o.c.OrderController#49 [create][ok]"], since=CHANGE)
    found = collect_findings(_bundle(counter, ["order"], []), CHANGE)
    assert found["order"].own_logs == []
    assert found["order"].blame_logs == []


def test_a_failure_line_that_stops_is_recovery_and_not_evidence() -> None:
    """A service that stops printing its exception line while still called is not blamed for it."""
    counter = TemplateCounter(bucket_s=10.0)
    failing = "o.a.c.c.C.dispatcherServlet#175 Servlet.service() threw exception"
    _calls(counter, "preserve", "PreserveController.preserve", [failing], stops=frozenset({failing}))
    found = collect_findings(_bundle(counter, ["preserve"], []), CHANGE)
    assert found["preserve"].own_logs == []


def test_a_shift_the_request_mix_explains_scores_nothing() -> None:
    """A branch printed on 40 % of calls, then on 25 %, is the requests' mix, not a new code path."""
    counter = TemplateCounter(bucket_s=10.0)
    line = "s.s.SeatServiceImpl#151 [getLeftTicket][Get Order tickets result]"
    for i in range(480):  # a call every half second: 240 before the change, 240 after
        t = START + 0.5 * i
        counter.add_call("seat", "SeatController.getLeftTicket", t)
        if (i % 5 < 2) if t < CHANGE else (i % 4 == 0):
            counter.add("seat", t + 0.1, line, "SeatController.getLeftTicket")
    found = collect_findings(_bundle(counter, ["seat"], []), CHANGE)
    assert found["seat"].own_logs == []


def _sparse_calls(counter: TemplateCounter, calls_before: int, line_from: int) -> None:
    """`calls_before` calls of seat's create before the change, 12 after; from the `line_from`-th call
    after on, each prints a branch line it never printed before."""
    operation, line = "SeatController.create", "s.s.SeatServiceImpl#69 [distributeSeat][Other Capital]"
    for i in range(calls_before):
        counter.add_call("seat", operation, START + i * (CHANGE - START) / calls_before)
    for i in range(12):
        t = CHANGE + 5.0 + 10.0 * i
        counter.add_call("seat", operation, t)
        if i >= line_from:
            counter.add("seat", t + 0.1, line, operation)


def test_a_new_branch_the_few_calls_before_may_just_not_have_taken_scores_nothing() -> None:
    """Half of 12 calls print a new line: after two calls before that is a request's parameters
    (a 40 % chance they both took the other branch), after thirty it is a new code path."""
    few, many = TemplateCounter(bucket_s=10.0), TemplateCounter(bucket_s=10.0)
    _sparse_calls(few, 2, 6)
    _sparse_calls(many, 30, 6)
    assert collect_findings(_bundle(few, ["seat"], []), CHANGE)["seat"].own_logs == []
    (found,) = collect_findings(_bundle(many, ["seat"], []), CHANGE)["seat"].own_logs
    assert found.burst > 3
    assert not found.skipped


def test_a_new_failure_line_is_news_however_few_the_calls_before() -> None:
    """A line that says the call failed is no branch of the normal path: two calls before suffice."""
    counter = TemplateCounter(bucket_s=10.0)
    operation = "FoodController.getAllFood"
    for i in range(2):
        counter.add_call("food", operation, START + 30.0 * i)
    for i in range(12):
        t = CHANGE + 5.0 + 10.0 * i
        counter.add_call("food", operation, t)
        if i >= 6:
            counter.add(
                "food", t + 0.1, "f.s.FoodServiceImpl#245 [getAllFood][Get Food Request Failed!]", operation
            )
    (found,) = collect_findings(_bundle(counter, ["food"], []), CHANGE)["food"].own_logs
    assert found.burst > 3


def _failing_calls(counter: TemplateCounter, service: str, calls_before: int, failing: int) -> None:
    """`calls_before` calls of `service`'s query before the change, 12 after, of which the last
    `failing` print a failure line never printed before."""
    operation = "Controller.query"
    for i in range(calls_before):
        counter.add_call(service, operation, START + i * (CHANGE - START) / calls_before)
    for i in range(12):
        t = CHANGE + 5.0 + 10.0 * i
        counter.add_call(service, operation, t)
        if i >= 12 - failing:
            counter.add(service, t + 0.1, f"{service}.Impl#7 [query][Query Failed!]", operation)


def test_a_new_failure_line_weighs_by_how_surely_the_calls_before_would_have_shown_it() -> None:
    """Both fail on half their calls after the change: none in ten calls before says more than
    none in three, and a failure on one call in twelve after three clean calls is noise."""
    counter = TemplateCounter(bucket_s=10.0)
    _failing_calls(counter, "food", 10, 6)
    _failing_calls(counter, "order", 3, 6)
    _failing_calls(counter, "route", 3, 1)
    found = collect_findings(_bundle(counter, ["food", "order", "route"], []), CHANGE)
    (food,), (order,) = found["food"].own_logs, found["order"].own_logs
    assert food.burst == 15.0
    assert 3.0 < order.burst < food.burst
    assert found["route"].own_logs == []


def test_the_normal_path_a_recovering_service_prints_again_is_not_evidence() -> None:
    """preserve failed on every call before and stops failing: the lines of its completed calls
    that it prints anew are its normal path resuming, not a new one."""
    counter = TemplateCounter(bucket_s=10.0)
    failing = "o.a.c.c.C.dispatcherServlet#175 Servlet.service() threw exception"
    done = "p.s.PreserveServiceImpl#179 [preserve][Do Order Complete]"
    t = START
    while t < END:
        counter.add_call("preserve", "PreserveController.preserve", t)
        counter.add("preserve", t + 0.1, failing if t < CHANGE else done, "PreserveController.preserve")
        t += 20.0
    found = collect_findings(_bundle(counter, ["preserve"], []), CHANGE)
    assert found["preserve"].own_logs == []


def _named_callee_bundle(callee_cpu_after: float, callee_logs: bool = False) -> EvidenceBundle:
    """checkout starts logging "call to payment failed"; payment's CPU moves to `callee_cpu_after`,
    and with `callee_logs` payment starts printing a line of its own too."""
    counter = TemplateCounter(bucket_s=10.0)
    for i in range(240):  # a line a second before and after; a failed call twice a second after
        t = START + i
        counter.add("checkout", t, "order placed")
        counter.add("payment", t, "charge accepted")
        if callee_logs and t >= CHANGE:
            counter.add("payment", t, "ledger lock wait exceeded, retrying")
        if t >= CHANGE:
            counter.add("checkout", t, "call to payment failed status 503")
            counter.add("checkout", t + 0.5, "call to payment failed status 504")
    cpu = MetricSeries(
        service="payment",
        signal="cpu",
        query="cpu",
        points=[
            (START + 10 * i, 0.2 + 0.01 * (i % 3) if START + 10 * i < CHANGE else callee_cpu_after)
            for i in range(24)
        ],
    )
    return EvidenceBundle(
        start=START,
        end=END,
        services=["checkout", "payment"],
        edges=[("checkout", "payment")],
        metrics=[cpu],
        log_templates=counter.templates({}),
        change_hint=CHANGE,
    )


def test_a_callee_named_in_a_callers_line_is_blamed_only_when_it_shows_something_itself() -> None:
    """ "call to payment failed" adds to payment's score when payment's CPU moved or its own lines
    did, not when it is quiet."""
    quiet = {s.service: s for s in rank_candidates(_named_callee_bundle(0.2)).services}
    busy = {s.service: s for s in rank_candidates(_named_callee_bundle(0.9)).services}
    logging = {s.service: s for s in rank_candidates(_named_callee_bundle(0.2, callee_logs=True)).services}
    assert quiet["payment"].own == 0.0
    assert busy["payment"].own > own_strength(busy["payment"].findings, 0.0, 0.0) > 0.0
    assert logging["payment"].own > 0.5
    assert busy["payment"].findings.blame_logs
    assert quiet["payment"].findings.blame_logs


@pytest.fixture(scope="module")
def train_ticket_case(tmp_path_factory: pytest.TempPathFactory) -> EvidenceBundle:
    """The committed Train Ticket delay case, loaded as `aegis eval --dataset` loads it."""
    root = tmp_path_factory.mktemp("real-tt")
    with tarfile.open(CASES) as archive:
        archive.extractall(root, filter="data")
    case = next(c for c in find_cases(root) if c.case_id == "ts-route-service_network-delay/1")
    return load_case(case)


def test_recorded_lines_are_joined_to_the_operation_of_the_span_they_carry(
    train_ticket_case: EvidenceBundle,
) -> None:
    """Nezha's lines carry span ids: nearly all templates know their operation and its calls."""
    templates = train_ticket_case.log_templates
    joined = [t for t in templates if t.operation]
    assert len(joined) >= 0.9 * len(templates) > 0
    assert all(sum(c for _, c in t.calls) >= t.count / 10 for t in joined)


def test_a_real_exception_seen_only_as_a_vanished_info_line_ranks_its_service_first(
    tmp_path: Path,
) -> None:
    """Nezha's price-service exception: no error line, one INFO statement stops; price ranks first."""
    with tarfile.open(CODE_FAULT) as archive:
        archive.extractall(tmp_path, filter="data")
    (case,) = find_cases(tmp_path)
    ranking = rank_candidates(load_case(case))
    top = ranking.services[0]
    assert top.service == case.root == "ts-price-service"
    skipped = [x.template.template for x in top.findings.own_logs if x.skipped]
    assert any("PriceController#46" in t for t in skipped)
    said = hypothesis(top, ranking.change, "en")
    assert "PriceController.query is still called but no longer logs 'p.c.PriceController#46" in said
